"""Alerts: stored in the real ``alerts`` table, delivered to a loopback stand-in of the
Telegram Bot API (and a webhook), never blocking, never showing a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.harness.app_server import ThreadServer
from tests.harness.processes import free_port
from walltrack.errors import ConfigurationError, ExternalAPIError, StoreError
from walltrack.live.live_store import LiveStore
from walltrack.logging import configure_logging
from walltrack.models.trading import Alert, AlertLevel
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.trading.alerts import (
    TELEGRAM_TEXT_LIMIT,
    AlertService,
    Notifier,
    TelegramNotifier,
    WebhookNotifier,
    notifiers_from_settings,
    telegram_text,
)

CHAT_ID = "-1001234567890"


def new_token() -> str:
    """A fresh token shaped like a real one, never registered with the log redaction: if
    it shows up in the output, the code leaked it (the redaction did not hide it)."""
    return f"{uuid.uuid4().int % 10**10}:AA{uuid.uuid4().hex}{uuid.uuid4().hex[:9]}"


class BotApiStandIn:
    """The two endpoints alerts use: Telegram's sendMessage and a generic webhook.

    ``mode``: ``ok`` · ``http_500`` · ``not_ok`` (HTTP 200 with ``{"ok": false}``) ·
    ``slow`` (answers after ``delay`` seconds, longer than the notifier timeout).
    """

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.hooks: list[dict[str, Any]] = []
        self.reset()
        self.app = Starlette(routes=[
            Route("/bot{token}/sendMessage", self.send_message, methods=["POST"]),
            Route("/hooks/{secret}", self.hook, methods=["POST"]),
        ])

    def reset(self) -> None:
        self.messages.clear()
        self.hooks.clear()
        self.mode = "ok"
        self.delay = 0.0

    async def _misbehave(self) -> JSONResponse | None:
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "http_500":
            return JSONResponse({"ok": False, "error_code": 500,
                                 "description": "Internal Server Error"}, status_code=500)
        if self.mode == "not_ok":
            return JSONResponse({"ok": False, "error_code": 400,
                                 "description": "Bad Request: chat not found"})
        return None

    async def send_message(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.messages.append({"token": request.path_params["token"], **body})
        failure = await self._misbehave()
        if failure is not None:
            return failure
        return JSONResponse({"ok": True, "result": {
            "message_id": len(self.messages), "date": int(time.time()),
            "chat": {"id": int(body["chat_id"]), "type": "supergroup"}, "text": body["text"]}})

    async def hook(self, request: Request) -> JSONResponse:
        self.hooks.append({"secret": request.path_params["secret"], "body": await request.json()})
        failure = await self._misbehave()
        return failure if failure is not None else JSONResponse({"received": True})


@pytest.fixture(scope="module")
def bot_server() -> Iterator[tuple[ThreadServer, BotApiStandIn]]:
    stand_in = BotApiStandIn()
    with ThreadServer(stand_in.app) as server:
        yield server, stand_in


@pytest.fixture
def bot(bot_server: tuple[ThreadServer, BotApiStandIn]) -> BotApiStandIn:
    bot_server[1].reset()
    return bot_server[1]


@pytest.fixture
def bot_url(bot_server: tuple[ThreadServer, BotApiStandIn], bot: BotApiStandIn) -> str:
    return bot_server[0].url


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_lines=True, stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def events(stream: io.StringIO, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


def stored(db: Database) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute("SELECT id, level, source, message, acknowledged, detail FROM alerts "
                    "ORDER BY at")
        return list(cur.fetchall())


class FailingStore:
    """An AlertStore whose database is gone."""

    def __init__(self) -> None:
        self.calls = 0

    async def add_alert(self, alert: Alert) -> None:
        self.calls += 1
        raise StoreError("live store (postgresql://db.example/wt): connection refused",
                         hint="check that the PostgreSQL server is running")


class SlowStore:
    """An AlertStore whose writes take ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.alerts: list[Alert] = []

    async def add_alert(self, alert: Alert) -> None:
        await asyncio.sleep(self.delay)
        self.alerts.append(alert)


# --- stored and delivered -------------------------------------------------------------------


async def test_an_alert_is_stored_logged_and_sent_to_telegram(
    db: Database, bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
    make_settings: Callable[..., Settings],
) -> None:
    token = new_token()
    settings = make_settings(telegram_bot_token=token, telegram_chat_id=CHAT_ID,
                             telegram_api_url=bot_url)
    store = LiveStore(db.url)
    service = AlertService(store, notifiers_from_settings(settings))
    try:
        alert = await service.raise_alert(AlertLevel.critical, "risk",
                                          "drawdown 21 % ≥ 20 %: trading paused",
                                          drawdown=0.21, limit=0.2)
        assert await service.drain()
    finally:
        await service.aclose()
        await store.close()

    rows = stored(db)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == alert.id
    assert (row["level"], row["source"]) == ("critical", "risk")
    assert row["message"] == "drawdown 21 % ≥ 20 %: trading paused"
    assert row["acknowledged"] is False
    assert row["detail"] == {"drawdown": 0.21, "limit": 0.2}

    assert len(bot.messages) == 1
    sent = bot.messages[0]
    assert sent["token"] == token
    assert sent["chat_id"] == CHAT_ID
    assert sent["text"] == "🚨 CRITICAL [risk] drawdown 21 % ≥ 20 %: trading paused"
    assert sent["disable_web_page_preview"] is True
    assert "parse_mode" not in sent
    assert (service.delivered, service.failed, service.store_failed) == (1, 0, 0)

    raised = events(logs, "alert_raised")
    assert len(raised) == 1
    assert raised[0]["level"] == "error"  # a critical alert is an error in the logs
    assert raised[0]["alert_level"] == "critical"
    assert raised[0]["source"] == "risk"
    assert raised[0]["message"] == "drawdown 21 % ≥ 20 %: trading paused"
    assert raised[0]["alert_id"] == alert.id
    delivered = events(logs, "alert_delivered")
    assert [(e["notifier"], e["alert_id"]) for e in delivered] == [("telegram", alert.id)]


@pytest.mark.parametrize(("level", "log_level", "marker"), [
    (AlertLevel.info, "info", "ℹ️ INFO"),
    (AlertLevel.warning, "warning", "⚠️ WARNING"),
])
async def test_the_log_level_and_the_marker_follow_the_alert_level(
    bot: BotApiStandIn, bot_url: str, logs: io.StringIO, level: AlertLevel, log_level: str,
    marker: str,
) -> None:
    store = SlowStore(0)
    service = AlertService(store, [TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID),
                                                    bot_url)])
    await service.raise_alert(level, "deadman", "webhook silent for 900 s")
    await service.aclose()
    assert bot.messages[0]["text"] == f"{marker} [deadman] webhook silent for 900 s"
    assert events(logs, "alert_raised")[0]["level"] == log_level
    assert [a.level for a in store.alerts] == [level]


def test_the_telegram_text_is_plain_and_within_the_limit() -> None:
    long = Alert(level=AlertLevel.warning, source="orders", message="x" * 5000)
    text = telegram_text(long)
    assert len(text) == TELEGRAM_TEXT_LIMIT and text.endswith("…")
    assert text.startswith("⚠️ WARNING [orders] xxx")
    # Telegram counts UTF-16 code units: characters beyond the BMP count twice.
    emoji = Alert(source="s", message="🚀" * 3000)
    assert len(telegram_text(emoji).encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT
    short = Alert(source="s", message="<b>not html</b> *nor* _markdown_")
    assert telegram_text(short) == "ℹ️ INFO [s] <b>not html</b> *nor* _markdown_"


async def test_the_webhook_receives_the_alert_as_json(
    db: Database, bot: BotApiStandIn, bot_url: str,
) -> None:
    store = LiveStore(db.url)
    service = AlertService(store, [WebhookNotifier(SecretStr(f"{bot_url}/hooks/s3cr3t-hook"))])
    try:
        alert = await service.raise_alert(AlertLevel.warning, "execution",
                                          "order failed after 3 attempts", order_id="o-1")
        assert await service.drain()
    finally:
        await service.aclose()
        await store.close()
    assert len(bot.hooks) == 1
    assert bot.hooks[0]["secret"] == "s3cr3t-hook"
    body = bot.hooks[0]["body"]
    assert body == alert.model_dump(mode="json")
    assert (body["level"], body["source"], body["detail"]) == (
        "warning", "execution", {"order_id": "o-1"})
    assert [r["id"] for r in stored(db)] == [alert.id]
    assert (service.delivered, service.failed) == (1, 0)


async def test_every_notifier_gets_the_alert_and_one_failing_spares_the_other(
    bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
) -> None:
    refused = f"http://127.0.0.1:{free_port()}"
    notifiers: list[Notifier] = [
        TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID), refused),
        WebhookNotifier(SecretStr(f"{bot_url}/hooks/ok")),
    ]
    store = SlowStore(0)
    service = AlertService(store, notifiers)
    await service.raise_alert(AlertLevel.info, "server", "started")
    await service.aclose()
    assert (service.delivered, service.failed) == (1, 1)
    assert len(bot.hooks) == 1
    failed = events(logs, "alert_delivery_failed")
    assert [e["notifier"] for e in failed] == ["telegram"]


# --- never blocking -------------------------------------------------------------------------


async def test_a_slow_notifier_never_delays_raise_alert(
    db: Database, bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
) -> None:
    bot.mode, bot.delay = "slow", 2.5
    timeout = 1.0
    store = LiveStore(db.url)
    await store.put_status("warm", {})  # connect first: the timing below is the alert alone
    notifier = TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID), bot_url)
    service = AlertService(store, [notifier], timeout=timeout)
    try:
        started = time.monotonic()
        alert = await service.raise_alert(AlertLevel.critical, "risk", "halted")
        elapsed = time.monotonic() - started
        assert elapsed < timeout / 4, f"raise_alert waited {elapsed:.2f} s"
        assert service.in_flight == 1
        assert [r["id"] for r in stored(db)] == [alert.id]  # stored before it returned
        assert await service.drain(timeout=timeout * 3)
    finally:
        await service.aclose()
        await store.close()
    assert (service.delivered, service.failed) == (0, 1)
    failed = events(logs, "alert_delivery_failed")
    assert len(failed) == 1
    assert failed[0]["notifier"] == "telegram" and failed[0]["alert_id"] == alert.id
    assert "timed out after 1 s" in failed[0]["error"]


@pytest.mark.parametrize("failure", ["http_500", "not_ok", "refused"])
async def test_a_failing_notifier_is_counted_and_the_alert_still_stored(
    db: Database, bot: BotApiStandIn, bot_url: str, logs: io.StringIO, failure: str,
) -> None:
    base = f"http://127.0.0.1:{free_port()}" if failure == "refused" else bot_url
    bot.mode = failure if failure != "refused" else "ok"
    store = LiveStore(db.url)
    service = AlertService(store, [TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID),
                                                    base)])
    try:
        alert = await service.raise_alert(AlertLevel.warning, "prices", "stale for 120 s")
        assert await service.drain()
    finally:
        await service.aclose()
        await store.close()
    assert [(r["id"], r["level"], r["source"]) for r in stored(db)] == [
        (alert.id, "warning", "prices")]
    assert (service.delivered, service.failed) == (0, 1)
    error = events(logs, "alert_delivery_failed")[0]["error"]
    assert error.startswith("ExternalAPIError: [telegram] POST ")
    assert "/bot***/sendMessage" in error
    expected = {"http_500": "HTTP 500", "not_ok": "chat not found",
                "refused": "ConnectError"}[failure]
    assert expected in error


async def test_a_failing_store_still_logs_and_delivers(
    bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
) -> None:
    store = FailingStore()
    service = AlertService(store, [TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID),
                                                    bot_url)])
    alert = await service.raise_alert(AlertLevel.critical, "store", "cannot write positions")
    await service.aclose()
    assert store.calls == 1
    assert service.store_failed == 1 and service.delivered == 1
    assert bot.messages[0]["text"] == "🚨 CRITICAL [store] cannot write positions"
    failed = events(logs, "alert_store_failed")
    assert len(failed) == 1
    assert failed[0]["alert_id"] == alert.id and failed[0]["source"] == "store"
    assert failed[0]["error"].startswith("StoreError: live store")
    assert len(events(logs, "alert_raised")) == 1


async def test_a_hanging_store_is_waited_for_at_most_the_timeout(
    bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
) -> None:
    store = SlowStore(1.0)
    service = AlertService(store, [WebhookNotifier(SecretStr(f"{bot_url}/hooks/h"))],
                           timeout=0.2)
    started = time.monotonic()
    alert = await service.raise_alert(AlertLevel.info, "jobs", "nightly scoring done")
    assert time.monotonic() - started < 0.8
    assert len(events(logs, "alert_store_slow")) == 1
    assert await service.drain(timeout=3)
    await service.aclose()
    assert [a.id for a in store.alerts] == [alert.id]  # the write finished in the background
    assert service.store_failed == 0 and service.delivered == 1


async def test_after_aclose_alerts_are_still_stored_but_not_sent(
    bot: BotApiStandIn, bot_url: str,
) -> None:
    store = SlowStore(0)
    service = AlertService(store, [TelegramNotifier(SecretStr(new_token()), SecretStr(CHAT_ID),
                                                    bot_url)])
    await service.aclose()
    await service.raise_alert(AlertLevel.info, "server", "stopping")
    assert await service.drain()
    assert len(store.alerts) == 1 and bot.messages == []
    assert (service.delivered, service.failed) == (0, 0)


# --- secrets --------------------------------------------------------------------------------


async def test_the_token_and_the_webhook_url_never_show(
    bot: BotApiStandIn, bot_url: str, logs: io.StringIO,
) -> None:
    token = new_token()
    hook_secret = f"hook-{uuid.uuid4().hex}"
    refused = f"http://127.0.0.1:{free_port()}"
    telegram_ok = TelegramNotifier(SecretStr(token), SecretStr(CHAT_ID), bot_url, timeout=0.3)
    telegram_refused = TelegramNotifier(SecretStr(token), SecretStr(CHAT_ID), refused)
    hook_ok = WebhookNotifier(SecretStr(f"{bot_url}/hooks/{hook_secret}?key={hook_secret}"),
                              timeout=0.3)
    hook_refused = WebhookNotifier(SecretStr(f"{refused}/hooks/{hook_secret}"))
    notifiers: list[Notifier] = [telegram_ok, telegram_refused, hook_ok, hook_refused]
    alert = Alert(level=AlertLevel.critical, source="test", message="boom")

    texts: list[str] = [repr(n) for n in notifiers]
    for mode in ("http_500", "not_ok", "slow"):
        bot.mode, bot.delay = mode, 1.0
        for notifier in notifiers:
            if mode == "not_ok" and notifier is hook_ok:
                continue  # an HTTP 200 is a success for a webhook, whatever its body
            try:
                await notifier.send(alert)
            except ExternalAPIError as exc:
                texts += [str(exc), repr(exc), exc.message]
            else:
                pytest.fail(f"{notifier!r} did not fail in mode {mode}")

    service = AlertService(SlowStore(0), notifiers, timeout=2.0)  # httpx times out first
    await service.raise_alert(AlertLevel.critical, "test", "all of them fail")
    assert await service.drain(timeout=3)
    await service.aclose()
    assert service.failed == 4

    output = logs.getvalue()
    assert output.count("alert_delivery_failed") == 4
    assert "/bot***/sendMessage" in output and f"{bot_url}/***" in output
    for text in [*texts, output]:
        assert token not in text
        assert token.split(":")[1] not in text
        assert hook_secret not in text
    assert any("bot***" in t for t in texts)


# --- settings -------------------------------------------------------------------------------


async def test_notifiers_from_settings(make_settings: Callable[..., Settings]) -> None:
    token, hook = new_token(), "https://hooks.example.com/services/T0/B0/xyz"

    def build(settings: Settings) -> list[Notifier]:
        return notifiers_from_settings(settings)

    assert build(make_settings()) == []
    assert build(make_settings(telegram_bot_token=token)) == []  # no chat id: no Telegram
    assert build(make_settings(telegram_chat_id=CHAT_ID)) == []
    assert build(make_settings(telegram_bot_token="", telegram_chat_id="",
                               alert_webhook_url="")) == []  # blank, as in .env.example

    telegram = build(make_settings(telegram_bot_token=token, telegram_chat_id=CHAT_ID))
    assert [type(n) for n in telegram] == [TelegramNotifier]
    assert telegram[0].name == "telegram"
    assert isinstance(telegram[0], TelegramNotifier)
    assert telegram[0].redacted_url == "https://api.telegram.org/bot***/sendMessage"

    webhook = build(make_settings(alert_webhook_url=hook))
    assert [n.name for n in webhook] == ["webhook"]
    assert isinstance(webhook[0], WebhookNotifier)
    assert webhook[0].redacted_url == "https://hooks.example.com/***"

    both = build(make_settings(telegram_bot_token=token, telegram_chat_id=CHAT_ID,
                               telegram_api_url="http://127.0.0.1:8081/", alert_webhook_url=hook))
    assert [n.name for n in both] == ["telegram", "webhook"]
    assert isinstance(both[0], TelegramNotifier)
    assert both[0].redacted_url == "http://127.0.0.1:8081/bot***/sendMessage"
    for notifier in [*telegram, *webhook, *both]:
        assert token not in repr(notifier) and "xyz" not in repr(notifier)
        await notifier.aclose()


@pytest.mark.parametrize("value", [
    "ftp://hooks.example.com/secret-path-123",
    "hooks.example.com/secret-path-123",
    "https:///secret-path-123",
])
def test_a_non_http_alert_webhook_url_is_refused_without_echoing_it(
    make_settings: Callable[..., Settings], value: str,
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_settings(alert_webhook_url=value)
    message = str(info.value)
    assert "WALLTRACK_ALERT_WEBHOOK_URL" in message
    assert "http:// or https://" in message
    assert "secret-path-123" not in message and value not in message


def test_alert_secrets_are_secret_and_registered(
    make_settings: Callable[..., Settings],
) -> None:
    token = new_token()
    settings = make_settings(telegram_bot_token=f"  {token} ", telegram_chat_id=CHAT_ID,
                             alert_webhook_url="https://hooks.example.com/T/xyz-secret")
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == token  # stripped
    for shown in (repr(settings), str(settings.model_dump())):
        assert token not in shown and "xyz-secret" not in shown and CHAT_ID not in shown
    assert {token, CHAT_ID, "https://hooks.example.com/T/xyz-secret"} <= set(settings.secrets())
    with pytest.raises(ConfigurationError) as info:
        make_settings(telegram_bot_token="123:abc/../../x")
    assert "WALLTRACK_TELEGRAM_BOT_TOKEN" in str(info.value)
    assert "abc/../../x" not in str(info.value)
