"""The production side of a live phase against the simulator, shared by the main command and
the tests: a real ``server.py`` process, the real webhook sync job, per-run secrets, the
simulator's clock moved on at an accelerated pace.

* :func:`live_secrets` — a fresh webhook auth header and operator token for one run; they go
  to the children through their environment only (never an argument, never printed).
* :func:`live_env` — the environment of ``server.py`` and the jobs: every API pointed at the
  simulator, the store at ``db_url``, the signal source ``webhook``, paper trading on.
* :class:`ServerProcess` — ``python server.py`` in a process group of its own, ready once
  ``/health`` answers, stopped with SIGTERM (SIGKILL after a grace) on exit.
* :func:`sync_webhooks_job` — ``jobs/sync_webhooks.py`` as the scheduler runs it: the watchlist
  registered with the simulator's Helius API.
* :func:`merged_config` — section updates merged into ``config`` for a block, then put back.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, SecretStr

import walltrack
from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.simulator.background import file_tail
from walltrack.store import Database

log = get_logger(__name__)

REPO = Path(walltrack.__file__).resolve().parents[1]
STOP_GRACE_SECONDS = 15.0


class LiveSecrets(BaseModel):
    """One run's secrets: generated here, handed to the children by environment only."""

    model_config = ConfigDict(frozen=True)

    webhook_auth_header: SecretStr
    operator_token: SecretStr


def live_secrets() -> LiveSecrets:
    return LiveSecrets(webhook_auth_header=SecretStr(secrets.token_urlsafe(32)),
                       operator_token=SecretStr(secrets.token_urlsafe(32)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_env(*, db_url: str, sim_url: str, data_dir: Path, port: int, keys: LiveSecrets,
             log_level: str = "WARNING") -> dict[str, str]:
    """The children's environment: this process's, this ``walltrack`` first on the path
    (a worktree or an editable install runs the same code in every process)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["WALLTRACK_LIVE_TRADING_ALLOWED"] = "false"  # paper only, whatever the config says
    return env | {
        "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DATA_DIR": str(data_dir),
        "WALLTRACK_SIGNAL_SOURCE": "webhook",
        "WALLTRACK_WEBHOOK_AUTH_HEADER": keys.webhook_auth_header.get_secret_value(),
        "WALLTRACK_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/helius",
        "WALLTRACK_OPERATOR_TOKEN": keys.operator_token.get_secret_value(),
        "WALLTRACK_HELIUS_API_URL": sim_url, "WALLTRACK_HELIUS_API_KEY": "simulator",
        "WALLTRACK_DEXSCREENER_URL": sim_url, "WALLTRACK_JUPITER_URL": sim_url,
        "WALLTRACK_SOLANA_RPC_URLS": f"{sim_url}/rpc", "WALLTRACK_TRADING_ENABLED": "true",
        "WALLTRACK_SERVER_HOST": "127.0.0.1", "WALLTRACK_SERVER_PORT": str(port),
        "WALLTRACK_LOG_LEVEL": log_level, "WALLTRACK_JUPITER_RPS": "1000",
        "WALLTRACK_DEXSCREENER_RPS": "1000", "WALLTRACK_RPC_RPS": "1000",
    }


def _stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("server_process_killed", pid=process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


class ServerProcess:
    """``python server.py --port P`` with ``env``; ``with`` it, or ``start`` / ``wait_ready``
    / ``stop``. Its output goes to a temporary log whose tail explains a failed start."""

    def __init__(self, env: Mapping[str, str], port: int) -> None:
        self.env = dict(env)
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        with tempfile.NamedTemporaryFile(prefix="walltrack-server-", suffix=".log",
                                         delete=False) as out:
            self._log_path = Path(out.name)
            self.process = subprocess.Popen(  # noqa: S603 — our interpreter, our script
                [sys.executable, str(REPO / "server.py"), "--host", "127.0.0.1", "--port",
                 str(self.port)], cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        log.info("server_process_started", pid=self.process.pid, port=self.port)

    def wait_ready(self, timeout: float = 120.0) -> str:
        assert self.process is not None, "start the server first"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise WallTrackError(
                    f"server.py exited with {self.process.returncode} before it was ready",
                    hint="its output:\n" + self.log_tail())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2.0).status_code < 500:
                    log.info("server_process_ready", pid=self.process.pid, port=self.port)
                    return self.url
            if time.monotonic() > deadline:
                raise WallTrackError(f"server.py did not answer /health within {timeout:.0f} s",
                                     hint="its output:\n" + self.log_tail())
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        if self.process is not None and self.process.returncode is None:
            _stop_group(self.process, grace)
            log.info("server_process_stopped", pid=self.process.pid,
                     returncode=self.process.returncode)
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def log_tail(self, lines: int = 40) -> str:
        return file_tail(self._log_path, lines)


def sync_webhooks_job(env: Mapping[str, str], *, timeout: float = 120.0) -> str:
    """Run ``jobs/sync_webhooks.py`` (the scheduler's job, a process of its own) and return
    its summary line; a failure becomes a WallTrackError with its output."""
    try:
        done = subprocess.run(  # noqa: S603 — our interpreter, our script
            [sys.executable, str(REPO / "jobs" / "sync_webhooks.py")], cwd=REPO, env=dict(env),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
            start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        raise WallTrackError(f"jobs/sync_webhooks.py did not finish within {timeout:.0f} s",
                             hint="see its job_runs row; is the simulator answering?") from exc
    if done.returncode != 0:
        raise WallTrackError(f"jobs/sync_webhooks.py failed (exit {done.returncode})",
                             hint="its output:\n" + (done.stderr or done.stdout)[-3000:])
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""


@contextlib.contextmanager
def merged_config(db: Database, updates: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
    """Merge ``updates`` (section → keys) into the ``config`` table for the block (as the
    config notebook would), then put back the sections as they were."""
    with db.connection() as conn:
        before = {key: row[0] for key in updates if (row := conn.execute(
            "SELECT value FROM config WHERE key = %s", (key,)).fetchone()) is not None}
        for key, value in updates.items():
            conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                         (Jsonb(dict(value)), key))
    try:
        yield
    finally:
        with db.connection() as conn:
            for key, value in before.items():
                conn.execute("UPDATE config SET value = %s WHERE key = %s", (Jsonb(value), key))


def wait_for(check: Callable[[], bool], timeout: float, *, every: float = 0.5) -> bool:
    """Poll ``check`` until it is true (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError, OSError):
            if check():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
