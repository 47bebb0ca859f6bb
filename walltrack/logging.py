"""structlog setup with a redaction step that runs on every event.

Events are named ``domain_action`` (``store_started``, ``helius_call``…) and carry bound
context. Output: JSON lines in production (or when stdout is not a terminal), readable lines
in a terminal; on stderr, or in a size-rotated file several processes share
(``WALLTRACK_LOG_FILE``, :class:`RotatingLogFile`). Redaction removes, wherever they
appear in an event (message, values, nested containers, rendered exceptions):

* every secret value registered from the settings (exact match);
* Solana keypairs, base58 or as a JSON array of 64 bytes (checked, so signatures stay);
* API keys in URLs and query strings (``api-key=…``, ``api_key=…``, ``apikey=…``, ``key=…``);
* Authorization / x-api-key header values;
* passwords inside database URLs (``postgresql://user:password@host``);
* values of keys whose name says they are secret (``password``, ``private_key``…).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"

_SECRET_KEY_NAMES = re.compile(
    r"(pass(word)?|secret|private[_-]?key|api[_-]?key|authorization|auth[_-]?header|token_secret)",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # password inside any URL with credentials: scheme://user:password@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s/]+)(?=@)"), "pre"),
    # api keys in query strings or key=value text
    (
        re.compile(
            r"(?P<pre>(?:api[-_]?key|apikey|access[-_]?token|auth[-_]?token|token|key|password)"
            r"\s*[=:]\s*)(?P<secret>[^&\s'\"<>,;]+)",
            re.IGNORECASE,
        ),
        "pre",
    ),
    # header lines and reprs: Authorization: xxx / 'x-api-key': 'xxx'
    (
        re.compile(
            r"(?P<pre>(?:authorization|x-api-key)['\"]?\s*[:=]\s*['\"]?)"
            r"(?P<secret>(?:Bearer\s+|Basic\s+)?[^'\"\s,}]+)",
            re.IGNORECASE,
        ),
        "pre",
    ),
)
# Secret keys and transaction signatures are both 64 bytes (86-88 base58 characters), so the
# shape alone cannot tell them apart: a candidate is redacted only when its second half is
# the public key of its first half, i.e. when it really is a keypair. Signatures stay.
_KEYPAIR_CANDIDATE = re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{86,88}\b")
_KEYPAIR_JSON = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]")

_registry_lock = threading.Lock()
_registered: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Remember secret values so that they are removed from every later log event."""
    with _registry_lock:
        for value in values:
            if value and len(value) >= 4:
                _registered.add(value)


def redact_text(text: str) -> str:
    """Remove every known secret and secret-looking token from ``text``."""
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, group in _PATTERNS:
        text = pattern.sub(lambda m, g=group: m.group(g) + REDACTED, text)
    text = _KEYPAIR_CANDIDATE.sub(_redact_if_keypair, text)
    return _KEYPAIR_JSON.sub(_redact_if_keypair_json, text)


def _is_keypair(raw: bytes) -> bool:
    if len(raw) != 64:
        return False
    from solders.keypair import Keypair  # local: keeps this module light to import

    try:
        return bytes(Keypair.from_seed(raw[:32]).pubkey()) == raw[32:]
    except ValueError:
        return False


def _redact_if_keypair(match: re.Match[str]) -> str:
    import base58

    try:
        raw = base58.b58decode(match.group(0))
    except ValueError:
        return match.group(0)
    return REDACTED if _is_keypair(raw) else match.group(0)


def _redact_if_keypair_json(match: re.Match[str]) -> str:
    numbers = [int(n) for n in re.findall(r"\d+", match.group(0))]
    if any(n > 255 for n in numbers):
        return match.group(0)
    return REDACTED if _is_keypair(bytes(numbers)) else match.group(0)


def redact_value(value: Any, key: str | None = None) -> Any:
    """Redact a value of any shape; keys that name a secret lose their value entirely."""
    if key is not None and _SECRET_KEY_NAMES.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (URLs, paths, models) is rendered, then redacted.
    return redact_text(str(value))


def redact_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last step before rendering, so nothing escapes it."""
    return {k: (redact_value(v, k) if k != "event" else redact_text(str(v)))
            for k, v in event_dict.items()}


def _stdlib_redacting_filter(record: logging.LogRecord) -> bool:
    # Third-party libraries (httpx, uvicorn…) log through stdlib: redact those too.
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    record.msg = redact_text(message)
    record.args = None
    return True


class RotatingLogFile:
    """A log file that several processes append to at once, rotated by size.

    The server and every job the scheduler starts share one file, so the standard
    ``RotatingFileHandler`` (one writer per file) would lose lines when two processes rotate
    it. Here each line is appended under an advisory lock (``<path>.lock``); the writer that
    finds the file past ``max_bytes`` rotates it (``path`` → ``path.1`` … ``path.<backups>``,
    the oldest dropped) and the others see the new inode and reopen. ``max_bytes=0`` never
    rotates: an outside logrotate may move the file, and it is reopened the same way
    (``WatchedFileHandler``'s behaviour). The file is created private (0600).
    """

    def __init__(self, path: Path, *, max_bytes: int = 0, backups: int = 5) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # threads of this process; flock orders processes
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._fd = -1
        self._inode = -1
        self._open()

    def _open(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._inode = os.fstat(self._fd).st_ino

    def _rotate(self) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = Path(f"{self.path}.{index}")
            if older.exists():
                older.replace(f"{self.path}.{index + 1}")
        self.path.replace(f"{self.path}.1")
        self._open()

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        with self._lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    current = None
                if current is None or current.st_ino != self._inode:
                    self._open()  # another process (or logrotate) moved it
                    current = os.fstat(self._fd)
                if self.max_bytes and current.st_size and \
                        current.st_size + len(data) > self.max_bytes:
                    self._rotate()
                os.write(self._fd, data)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return len(text)

    def flush(self) -> None:
        return None  # every write goes straight to the file

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                if fd >= 0:
                    os.close(fd)
            self._fd = self._lock_fd = -1


def configure_logging(
    *,
    level: str = "INFO",
    json_lines: bool | None = None,
    stream: TextIO | None = None,
    file: Path | None = None,
    max_bytes: int = 0,
    backups: int = 5,
) -> None:
    """Configure structlog (and stdlib logging) once per process.

    Events go to ``stream`` (stderr by default: stdout carries command results), or, when
    ``file`` is given, to that file instead (JSON lines, rotated at ``max_bytes`` keeping
    ``backups`` old files: :class:`RotatingLogFile`). ``json_lines=None`` picks JSON when the
    stream is not a terminal. structlog events and stdlib records (httpx, uvicorn…) take
    the same processors, so both pass the redaction and both come out as JSON lines.
    """
    out: TextIO | RotatingLogFile
    if file is not None:
        out = RotatingLogFile(file, max_bytes=max_bytes, backups=backups)
        json_lines = True  # a file is read by tools, never by eye
    else:
        out = stream or sys.stderr
    if json_lines is None:
        json_lines = not out.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Exceptions become text first, so the redaction sees their messages.
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, redact_processor,
                    renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # One write per event (message and newline together): lines never interleave.
        logger_factory=(structlog.WriteLoggerFactory(file=out)  # type: ignore[arg-type]
                        if isinstance(out, RotatingLogFile)
                        else structlog.PrintLoggerFactory(file=out)),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.addFilter(_stdlib_redacting_filter)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    redact_processor, renderer],
    ))
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's default config gives its loggers their own plain-text handlers and stops
    # them at "uvicorn": take them back, so their records too are redacted JSON lines.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    for noisy in ("httpx", "httpcore", "pgserver", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def configure_from_settings(settings: Any, stream: TextIO | None = None) -> None:
    """The process's logging from the settings: format, level, stream or rotating file."""
    from walltrack.settings import Environment, LogFormat

    fmt = settings.log_format
    json_lines: bool | None
    if fmt == LogFormat.json:
        json_lines = True
    elif fmt == LogFormat.console:
        json_lines = False
    else:
        json_lines = True if settings.env == Environment.production else None
    register_secrets(settings.secrets())
    configure_logging(level=settings.log_level, json_lines=json_lines, stream=stream,
                      file=settings.log_file, max_bytes=settings.log_max_bytes,
                      backups=settings.log_backups)


def get_logger(name: str | None = None, **context: Any) -> structlog.stdlib.BoundLogger:
    """A logger with bound context; name events ``domain_action``."""
    logger = structlog.get_logger(name) if name else structlog.get_logger()
    return logger.bind(**context) if context else logger


def _default_configuration() -> None:
    # Until a process configures logging itself, events still go through the redaction and
    # to stderr — never to stdout, where commands print their results (e.g. a JSON line).
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                redact_processor,
                structlog.processors.JSONRenderer(),
            ],
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=False,
        )


_default_configuration()
