"""A known fake secret written through every path never reaches the output."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from solders.keypair import Keypair

from walltrack.errors import ExternalAPIError
from walltrack.logging import configure_logging, get_logger, redact_text, register_secrets
from walltrack.store.database import redact_url

FAKE_API_KEY = "f00dcafe-1234-4bad-9e11-deadbeef0001"
FAKE_DB_PASSWORD = "pg-pass-Zx9!q"
FAKE_PRIVATE_KEY = str(Keypair.from_seed(bytes(range(32))))  # base58, 64 bytes → 87/88 chars


@pytest.fixture(params=[True, False], ids=["json", "console"])
def captured(request: pytest.FixtureRequest):
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_lines=request.param, stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def _emit_everything() -> None:
    log = get_logger("test", api_key_hint="bound")
    url = f"https://api.helius.xyz/v0/addresses/x/transactions?api-key={FAKE_API_KEY}&limit=5"
    log.info("helius_call", url=url)
    log.info(f"helius_call_inline {url}")
    log.info("request_sent", headers={"Authorization": f"Bearer {FAKE_API_KEY}",
                                      "x-api-key": FAKE_API_KEY})
    log.info("header_line", raw=f"Authorization: {FAKE_API_KEY}")
    log.info("db_connect", url=f"postgresql://trader:{FAKE_DB_PASSWORD}@db.example:5432/wt")
    log.info("wallet_loaded", keypair=FAKE_PRIVATE_KEY)
    log.info("nested", payload={"inner": [f"key={FAKE_API_KEY}", {"deep": FAKE_PRIVATE_KEY}]})
    log.info("named_secret", private_key=FAKE_PRIVATE_KEY, password=FAKE_DB_PASSWORD)
    try:
        raise ExternalAPIError(f"GET {url} failed for {FAKE_PRIVATE_KEY}", api="helius")
    except ExternalAPIError:
        log.exception("helius_failed")
    try:
        raise ValueError(f"bad key {FAKE_API_KEY} in postgresql://u:{FAKE_DB_PASSWORD}@h/db")
    except ValueError as exc:
        log.error("value_failed", error=exc)
    # Third-party libraries log through the standard library.
    logging.getLogger("httpx").warning("HTTP Request: GET %s", url)
    logging.getLogger("some.lib").error("connecting with Authorization: %s", FAKE_API_KEY)


def test_fake_secrets_never_reach_the_output(captured: io.StringIO) -> None:
    register_secrets([FAKE_API_KEY, FAKE_DB_PASSWORD])
    _emit_everything()
    output = captured.getvalue()
    assert "helius_call" in output and "helius_failed" in output and "HTTP Request" in output
    for secret in (FAKE_API_KEY, FAKE_DB_PASSWORD, FAKE_PRIVATE_KEY):
        assert secret not in output
    assert "[REDACTED]" in output


def test_patterns_work_without_registration(captured: io.StringIO) -> None:
    # Even a secret WallTrack never saw (e.g. in a third-party error) is caught by shape.
    unseen_key = "0a1b2c3d-unseen-key-777"
    unseen_pk = str(Keypair.from_seed(bytes([7] * 32)))
    log = get_logger("test")
    log.info("call", url=f"https://x.example/rpc?api-key={unseen_key}")
    log.info("call", url=f"postgresql://u:{unseen_key}@h:5432/db")
    log.info("call", message=f"Authorization: {unseen_key}")
    log.info("call", note=f"leaked {unseen_pk}")
    output = captured.getvalue()
    assert unseen_key not in output
    assert unseen_pk not in output


def test_json_lines_are_json_with_named_events() -> None:
    stream = io.StringIO()
    configure_logging(json_lines=True, stream=stream)
    get_logger("t", job="discover_tokens").info("job_started", tokens=3)
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["event"] == "job_started"
    assert record["job"] == "discover_tokens"
    assert record["tokens"] == 3
    assert record["level"] == "info"
    assert record["timestamp"].endswith("Z")
    structlog.reset_defaults()


def test_public_keys_and_signatures_are_not_redacted() -> None:
    # Addresses and signatures must stay readable: they are what the operator looks for.
    address = "So11111111111111111111111111111111111111112"
    assert redact_text(f"wallet {address}") == f"wallet {address}"
    keypair = Keypair.from_seed(bytes([9] * 32))
    signature = str(keypair.sign_message(b"a transaction"))
    assert len(signature) >= 86
    assert redact_text(f"tx {signature}") == f"tx {signature}"


def test_keypair_as_json_byte_array_is_redacted() -> None:
    raw = list(bytes(Keypair.from_seed(bytes([5] * 32))))
    assert redact_text(f"loaded {raw}") == "loaded [REDACTED]"
    not_a_key = list(range(64))
    assert str(not_a_key) in redact_text(f"bytes {not_a_key}")


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://user:pw@host:5432/db?sslmode=require") == \
        "postgresql://user:***@host:5432/db?sslmode=require"


def test_uvicorn_loggers_configured_by_uvicorn_come_back_to_our_output() -> None:
    # An in-process uvicorn with its default config gives "uvicorn" its own plain handler
    # and stops propagation; configuring our logging afterwards must take them back.
    import uvicorn

    uvicorn.Config(app=lambda *_: None, log_level="warning")
    stream = io.StringIO()
    try:
        configure_logging(level="INFO", json_lines=True, stream=stream)
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
        (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
        assert (line["event"], line["logger"]) == ("Invalid HTTP request received.",
                                                   "uvicorn.error")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
