"""Alerts: stored, logged, then delivered best-effort to Telegram and/or a webhook.

What :meth:`AlertService.raise_alert` guarantees, in this order:

1. **Stored first.** The alert (id, time, level, source, message, detail) is written to the
   ``alerts`` table before anything is sent. A store that fails or hangs is logged
   (``alert_store_failed``) and counted; it never raises into the caller, and the wait for
   it is bounded by the service timeout (a slow write finishes in the background).
2. **Always in the logs.** Every alert is also a structlog event ``alert_raised`` with
   ``alert_id``, ``alert_level``, ``source``, ``message`` and ``detail`` (``level`` itself
   is the log level: info, warning, or error for a critical alert) — :func:`log_alert`.
   Alerts written without this service (the operator's actions, the live deadman) call
   :func:`log_alert` after their write, so the logs hold every row of ``alerts``.
3. **Delivered best-effort, never blocking.** Each configured notifier gets the alert in a
   background task bounded by the timeout; ``raise_alert`` returns without waiting for
   them. A failed, refused or timed-out delivery is logged (``alert_delivery_failed``) and
   counted in :attr:`AlertService.failed`; a success is ``alert_delivered`` and
   :attr:`AlertService.delivered`. There is no retry: the stored row and the log line are
   the record, the chat message is a courtesy. Trading is never blocked by an alert.
4. **Secrets never shown.** The Telegram bot token is part of the Bot API URL and a webhook
   URL may embed a token: neither appears in an exception message, a log line or a repr
   (errors name ``…/bot***/sendMessage`` or the webhook's scheme and host only).

Notifiers come from the settings (:func:`notifiers_from_settings`): Telegram when
``WALLTRACK_TELEGRAM_BOT_TOKEN`` and ``WALLTRACK_TELEGRAM_CHAT_ID`` are both set, the
webhook when ``WALLTRACK_ALERT_WEBHOOK_URL`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

import httpx
import orjson
from pydantic import SecretStr

from walltrack.errors import ConfigurationError, ExternalAPIError
from walltrack.logging import get_logger
from walltrack.models.trading import Alert, AlertLevel
from walltrack.settings import Settings

__all__ = [
    "TELEGRAM_TEXT_LIMIT",
    "AlertService",
    "AlertStore",
    "Notifier",
    "TelegramNotifier",
    "WebhookNotifier",
    "log_alert",
    "notifiers_from_settings",
    "telegram_text",
]

TELEGRAM_TEXT_LIMIT = 4096  # sendMessage's limit on ``text``
_ERROR_TEXT_LIMIT = 300  # how much of an outside service's error description we keep

_log = get_logger(__name__)  # a lazy proxy: it follows later logging configuration


class Notifier(Protocol):
    """Somewhere an alert is sent. ``send`` raises on failure; ``aclose`` frees resources."""

    @property
    def name(self) -> str: ...

    async def send(self, alert: Alert) -> None: ...

    async def aclose(self) -> None: ...


class AlertStore(Protocol):
    """Where alerts are kept (``walltrack.live.live_store.LiveStore`` is one)."""

    async def add_alert(self, alert: Alert) -> None: ...


# --- notifiers ------------------------------------------------------------------------------


def _marker(level: AlertLevel) -> str:
    match level:
        case AlertLevel.critical:
            return "🚨 CRITICAL"
        case AlertLevel.warning:
            return "⚠️ WARNING"
        case _:
            return "ℹ️ INFO"


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, counted as UTF-16 code units (as Telegram counts them)."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit - 1:  # room for the ellipsis
            break
        kept.append(char)
        used += width
    return "".join(kept) + "…"


def telegram_text(alert: Alert) -> str:
    """The chat message: level marker, ``[source]``, message — plain text, within the limit."""
    return _truncate(f"{_marker(alert.level)} [{alert.source}] {alert.message}",
                     TELEGRAM_TEXT_LIMIT)


def _scrub(text: str, secrets: Sequence[str], replacement: str = "***") -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, replacement)
    return text


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TelegramNotifier:
    """Sends each alert to one chat through the Bot API's ``sendMessage``."""

    def __init__(
        self,
        token: SecretStr,
        chat_id: SecretStr,
        base_url: str,
        *,
        timeout: float = 5.0,
    ) -> None:
        if not token.get_secret_value() or not chat_id.get_secret_value():
            raise ConfigurationError(
                "the Telegram notifier needs a bot token and a chat id",
                hint="set WALLTRACK_TELEGRAM_BOT_TOKEN and WALLTRACK_TELEGRAM_CHAT_ID",
            )
        self._token = token
        self._chat_id = chat_id
        self._base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout)

    @property
    def name(self) -> str:
        return "telegram"

    @property
    def redacted_url(self) -> str:
        """The sendMessage URL with the token hidden: what errors and logs may show."""
        return f"{self._base_url}/bot***/sendMessage"

    def __repr__(self) -> str:
        return f"TelegramNotifier({self.redacted_url})"

    def _fail(self, message: str, *, status: int | None = None) -> ExternalAPIError:
        text = _scrub(message, [self._token.get_secret_value()])
        return ExternalAPIError(f"POST {self.redacted_url}: {text}", api="telegram",
                                status=status,
                                hint="check WALLTRACK_TELEGRAM_BOT_TOKEN, "
                                     "WALLTRACK_TELEGRAM_CHAT_ID and that the bot is in the chat")

    async def send(self, alert: Alert) -> None:
        payload = {
            "chat_id": self._chat_id.get_secret_value(),
            "text": telegram_text(alert),
            "disable_web_page_preview": True,
        }
        url = f"{self._base_url}/bot{self._token.get_secret_value()}/sendMessage"
        try:
            response = await self._client.post(url, json=payload)
        except httpx.HTTPError as exc:
            # httpx errors carry the request, hence the URL, hence the token: never chained.
            raise self._fail(_describe(exc)) from None
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        description = ""
        if isinstance(answer, dict):
            description = str(answer.get("description") or "")[:_ERROR_TEXT_LIMIT]
        if not response.is_success:
            raise self._fail(f"HTTP {response.status_code} {description}".rstrip(),
                             status=response.status_code)
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise self._fail(f"the Bot API refused the message: {description or 'ok is not true'}",
                             status=response.status_code)

    async def aclose(self) -> None:
        await self._client.aclose()


class WebhookNotifier:
    """POSTs each alert as JSON (``Alert.model_dump(mode="json")``) to one URL."""

    def __init__(self, url: SecretStr, *, timeout: float = 5.0) -> None:
        raw = url.get_secret_value().strip()
        try:
            parsed = httpx.URL(raw)
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.host:
            raise ConfigurationError("the alert webhook URL must be an http:// or https:// URL",
                                     hint="fix WALLTRACK_ALERT_WEBHOOK_URL")
        self._url = SecretStr(raw)
        port = f":{parsed.port}" if parsed.port is not None else ""
        self._shown = f"{parsed.scheme}://{parsed.host}{port}"
        # Everything after the host may hold the secret part; scrub each form of it.
        forms = [raw, str(parsed), parsed.raw_path.decode("ascii", "replace"), parsed.path,
                 parsed.query.decode("ascii", "replace"),
                 parsed.userinfo.decode("ascii", "replace")]
        self._secrets = [form for form in forms if form and form != "/"]
        self._client = httpx.AsyncClient(timeout=timeout)

    @property
    def name(self) -> str:
        return "webhook"

    @property
    def redacted_url(self) -> str:
        """Scheme and host only: the path or query may embed a token."""
        return f"{self._shown}/***"

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.redacted_url})"

    def _fail(self, message: str, *, status: int | None = None) -> ExternalAPIError:
        return ExternalAPIError(f"POST {self.redacted_url}: {_scrub(message, self._secrets)}",
                                api="alert_webhook", status=status,
                                hint="check WALLTRACK_ALERT_WEBHOOK_URL and the receiving end")

    async def send(self, alert: Alert) -> None:
        try:
            response = await self._client.post(self._url.get_secret_value(),
                                               json=alert.model_dump(mode="json"))
        except httpx.HTTPError as exc:
            raise self._fail(_describe(exc)) from None
        if not response.is_success:
            raise self._fail(f"HTTP {response.status_code}", status=response.status_code)

    async def aclose(self) -> None:
        await self._client.aclose()


def notifiers_from_settings(settings: Settings, *, timeout: float = 5.0) -> list[Notifier]:
    """Telegram when both its token and chat id are set; the webhook when its URL is set."""
    notifiers: list[Notifier] = []
    if settings.telegram_bot_token is not None and settings.telegram_chat_id is not None:
        notifiers.append(TelegramNotifier(settings.telegram_bot_token, settings.telegram_chat_id,
                                          str(settings.telegram_api_url), timeout=timeout))
    if settings.alert_webhook_url is not None:
        notifiers.append(WebhookNotifier(settings.alert_webhook_url, timeout=timeout))
    return notifiers


# --- the service ----------------------------------------------------------------------------


def log_alert(alert: Alert) -> None:
    """The ``alert_raised`` event of a stored alert, at the log level matching its level."""
    log = _log.bind(alert_id=alert.id, alert_level=alert.level.value, source=alert.source,
                    message=alert.message)
    match alert.level:
        case AlertLevel.critical:
            log.error("alert_raised", detail=alert.detail)
        case AlertLevel.warning:
            log.warning("alert_raised", detail=alert.detail)
        case _:
            log.info("alert_raised", detail=alert.detail)


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    # The detail goes to a JSONB column and a webhook body: anything unusual becomes text
    # here, so that neither can fail on it later.
    safe: dict[str, Any] = orjson.loads(
        orjson.dumps(detail, default=str, option=orjson.OPT_NON_STR_KEYS))
    return safe


class AlertService:
    """Stores, logs and delivers alerts; see the module docstring for the guarantees.

    ``delivered`` and ``failed`` count deliveries (one per alert and notifier),
    ``store_failed`` the alerts that could not be stored: simple ints for health/status.
    """

    def __init__(
        self,
        store: AlertStore,
        notifiers: Sequence[Notifier],
        *,
        timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._notifiers = tuple(notifiers)
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs: tasks are not GC'd
        self._closed = False
        self.delivered = 0
        self.failed = 0
        self.store_failed = 0

    @property
    def notifiers(self) -> tuple[Notifier, ...]:
        return self._notifiers

    @property
    def in_flight(self) -> int:
        """Background tasks (deliveries, slow store writes) not finished yet."""
        return len(self._tasks)

    async def raise_alert(self, level: AlertLevel, source: str, message: str,
                          **detail: Any) -> Alert:
        """Store and log the alert, start its deliveries, return it.

        Never raises for a failing store or notifier, never waits for a delivery, and waits
        for the store at most ``timeout`` seconds.
        """
        alert = Alert(level=AlertLevel(level), source=source, message=message,
                      detail=_json_safe(detail))
        log = _log.bind(alert_id=alert.id, alert_level=alert.level.value, source=alert.source,
                        message=alert.message)
        stored = self._spawn(self._store.add_alert(alert), alert, None)
        # asyncio.wait neither raises the task's error (its done callback logs it) nor
        # cancels a slow write: that one finishes in the background.
        await asyncio.wait({stored}, timeout=self._timeout)
        if not stored.done():
            log.warning("alert_store_slow", timeout_s=self._timeout)
        log_alert(alert)
        if not self._closed:
            for notifier in self._notifiers:
                self._spawn(self._deliver(notifier, alert), alert, notifier)
        return alert

    def _spawn(self, work: Coroutine[Any, Any, None], alert: Alert,
               notifier: Notifier | None) -> asyncio.Task[None]:
        """A background task, referenced until it ends; its failure is logged and counted
        whatever it is (so no delivery or store error can escape into the caller)."""
        kind = f"deliver:{notifier.name}" if notifier is not None else "store"
        task = asyncio.create_task(work, name=f"alert-{kind}:{alert.id}")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                error = "cancelled before it finished"
            elif (exc := finished.exception()) is not None:
                error = (f"timed out after {self._timeout:g} s"
                         if isinstance(exc, TimeoutError) else _describe(exc))
            else:
                return
            if notifier is None:
                self.store_failed += 1
                _log.error("alert_store_failed", alert_id=alert.id,
                           alert_level=alert.level.value, source=alert.source,
                           message=alert.message, error=error)
            else:
                self.failed += 1
                _log.warning("alert_delivery_failed", notifier=notifier.name,
                             alert_id=alert.id, error=error)

        task.add_done_callback(done)
        return task

    async def _deliver(self, notifier: Notifier, alert: Alert) -> None:
        await asyncio.wait_for(notifier.send(alert), self._timeout)
        self.delivered += 1
        _log.info("alert_delivered", notifier=notifier.name, alert_id=alert.id)

    # A bound on waiting, not an operation timeout: asyncio.timeout would cancel the work.
    async def drain(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for in-flight work (shutdown, tests); True when
        nothing is left. Nothing is cancelled."""
        pending = set(self._tasks)
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return not self._tasks

    async def aclose(self) -> None:
        """Stop delivering, drain, cancel what is left, then close the notifiers."""
        self._closed = True
        # Every delivery is bounded by the timeout already: this wait is only a backstop.
        if not await self.drain(self._timeout + 1.0):
            leftovers = set(self._tasks)
            for task in leftovers:
                task.cancel()
            await asyncio.wait(leftovers)
        for notifier in self._notifiers:
            try:
                await notifier.aclose()
            except (httpx.HTTPError, OSError, RuntimeError) as exc:
                _log.warning("alert_notifier_close_failed", notifier=notifier.name,
                             error=_describe(exc))
