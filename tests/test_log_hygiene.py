"""Log hygiene: where logs go (JSON on stderr, or a rotating file several processes share),
every alert in the logs whatever path wrote it, and a whole simulated day of real processes
with every secret set whose captured output holds none of them."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import secrets as rnd
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import base58
import httpx
import polars as pl
import pytest
import structlog
from solders.keypair import Keypair

from tests.harness.processes import free_port
from tests.live.conftest import live_market, live_sim, watch  # noqa: F401 - fixtures of the deadman rig
from tests.live.test_deadman import FakeClock, deliver, rig  # noqa: F401
from tests.live.test_polling import WINDOW, advance
from tests.trading.test_live_phase import configure
from tests.ui.test_config_view import good_validation, settings_for_live
from walltrack.app.trading_api import record_override
from walltrack.lab.replay import SIMULATOR_FORWARD
from walltrack.live.deadman import Deadman
from walltrack.live.live_store import LiveStore
from walltrack.logging import RotatingLogFile, configure_from_settings, configure_logging
from walltrack.models import Position, TradingMode
from walltrack.models.trading import AlertLevel
from walltrack.settings import SignalSourceMode
from walltrack.simulator import PRESETS, generate_market
from walltrack.simulator.background import serving_process
from walltrack.store import Database
from walltrack.trading.alerts import AlertService
from walltrack.trading.mode_switch import switch_mode
from walltrack.trading.performance import set_copy_mode

REPO_ROOT = Path(__file__).resolve().parent.parent
WALLET = "So11111111111111111111111111111111111111112"


def lines_of(text: str) -> list[dict[str, Any]]:
    """Every line parsed as JSON: a line that is not JSON fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.fixture
def logs(restore_logging: None) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_lines=True, stream=stream)
    return stream


def raised(stream: io.StringIO) -> list[dict[str, Any]]:
    return [e for e in lines_of(stream.getvalue()) if e["event"] == "alert_raised"]


# --- where logs go ---------------------------------------------------------------------------


def test_production_logs_are_json_lines_structlog_and_stdlib_alike(
        make_settings: Any, restore_logging: None) -> None:
    stream = io.StringIO()  # not a terminal either way: production alone must pick JSON
    configure_from_settings(make_settings(env="production", log_format="auto"), stream=stream)
    structlog.get_logger("t").info("store_opened", tables=3)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    try:
        raise RuntimeError("pool closed")
    except RuntimeError:
        logging.getLogger("some.lib").exception("background task failed")
    ours, theirs, crash = lines_of(stream.getvalue())
    assert (ours["event"], ours["level"], ours["tables"]) == ("store_opened", "info", 3)
    assert (theirs["event"], theirs["level"], theirs["logger"]) == (
        "Invalid HTTP request received.", "warning", "uvicorn.error")
    assert crash["level"] == "error" and "RuntimeError: pool closed" in crash["exception"]
    assert all(line["timestamp"].endswith("Z") for line in (ours, theirs, crash))


def test_the_log_file_setting_sends_json_to_a_rotating_file(
        make_settings: Any, tmp_path: Path, restore_logging: None) -> None:
    path = tmp_path / "logs" / "walltrack.log"
    stream = io.StringIO()
    settings = make_settings(log_format="console", log_file=str(path), log_max_bytes=4000,
                             log_backups=2)
    configure_from_settings(settings, stream=stream)
    log = structlog.get_logger("t")
    for i in range(200):
        log.info("job_progressed", i=i, pad="x" * 40)
    assert stream.getvalue() == ""  # the file replaces the stream
    files = sorted(tmp_path.joinpath("logs").glob("walltrack.log*"))
    assert [f.name for f in files] == ["walltrack.log", "walltrack.log.1", "walltrack.log.2",
                                      "walltrack.log.lock"]
    for f in files[:3]:
        assert f.stat().st_size <= 4000 and oct(f.stat().st_mode)[-3:] == "600"
    kept = [e["i"] for f in reversed(files[:3]) for e in lines_of(f.read_text())]
    assert kept == list(range(200 - len(kept), 200))  # the newest, in order, oldest dropped
    assert make_settings(log_file="").log_file is None  # blank in .env = no file


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from walltrack.logging import configure_logging, get_logger
    configure_logging(level="INFO", file=Path(sys.argv[1]), max_bytes=20_000, backups=200)
    log = get_logger("writer")
    for i in range(int(sys.argv[3])):
        log.info("line_written", writer=sys.argv[2], i=i, pad="y" * 60)
""")


def test_processes_sharing_one_rotating_file_lose_and_tear_no_line(tmp_path: Path) -> None:
    # The server and the scheduler's jobs write one file: rotation by one process must not
    # lose or garble the lines of the others (the stdlib RotatingFileHandler would).
    path, per_writer = tmp_path / "shared.log", 1500
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(per_writer)],
                                cwd=REPO_ROOT) for name in ("a", "b", "c")]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    files = [p for p in tmp_path.glob("shared.log*") if not p.name.endswith(".lock")]
    assert len(files) > 10  # it rotated, many times, under three writers
    seen: dict[str, set[int]] = {"a": set(), "b": set(), "c": set()}
    for f in files:
        assert f.stat().st_size <= 20_000
        for event in lines_of(f.read_text()):  # every line whole JSON
            seen[event["writer"]].add(event["i"])
    assert all(got == set(range(per_writer)) for got in seen.values())


def test_a_file_moved_away_by_logrotate_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    sink = RotatingLogFile(path, max_bytes=0)
    sink.write("one\n")
    path.rename(tmp_path / "w.log.old")
    sink.write("two\n")
    sink.close()
    assert (tmp_path / "w.log.old").read_text() == "one\n"
    assert path.read_text() == "two\n"


# --- every alert in the logs -----------------------------------------------------------------


async def test_alerts_of_the_alert_service_are_logged_at_their_level(
        db: Database, logs: io.StringIO) -> None:
    store = LiveStore(db.url)
    service = AlertService(store, [])
    for level in (AlertLevel.critical, AlertLevel.warning, AlertLevel.info):
        await service.raise_alert(level, "risk", f"{level.value} alert", kind="drawdown",
                                  loss_sol=1.5)
    await service.aclose()
    await store.close()
    events = raised(logs)
    assert [(e["level"], e["alert_level"], e["source"], e["message"]) for e in events] == [
        ("error", "critical", "risk", "critical alert"),
        ("warning", "warning", "risk", "warning alert"),
        ("info", "info", "risk", "info alert")]
    assert all(e["detail"] == {"kind": "drawdown", "loss_sol": 1.5} for e in events)
    with db.connection() as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM alerts").fetchall()}
    assert ids == {e["alert_id"] for e in events}


def test_operator_alerts_written_without_the_service_are_logged(
        db: Database, logs: io.StringIO, make_settings: Any) -> None:
    set_copy_mode(db, WALLET, TradingMode.live, "forty good paper copies")
    switch_mode(db, make_settings(), TradingMode.paper, None, False, note="already paper")
    switch_mode(db, settings_for_live(), TradingMode.live, good_validation(), True,
                note="the paper month convinced me")
    switch_mode(db, make_settings(), TradingMode.paper, None, False, note="back to paper")
    position = Position(signal_id="s1", mint=WALLET, size_sol=0.1,
                        override_strategy="balanced")
    record_override(db, position, "riding the trend")
    with db.connection() as conn:
        stored = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
            "SELECT id, level, source, message FROM alerts").fetchall()}
    events = raised(logs)
    assert len(stored) == 4 == len(events)  # paper → paper stores nothing and logs nothing
    for e in events:
        assert stored[e["alert_id"]] == (e["alert_level"], e["source"], e["message"])
        assert e["source"] == "operator" and e["detail"]["note"]
    assert [(e["detail"]["kind"], e["level"]) for e in events] == [
        ("copy_mode", "info"), ("execution_mode", "warning"), ("execution_mode", "info"),
        ("strategy_override", "info")]


async def test_deadman_alerts_are_logged(rig: dict[str, Any], db: Database,  # noqa: F811
                                         logs: io.StringIO) -> None:
    clock = FakeClock()
    await deliver(rig["writer"], "hook-1")
    deadman = Deadman(rig["poller"], rig["store"], lambda: rig["cfg"],
                      mode=SignalSourceMode.webhook, clock=clock, release_after_seconds=120)
    await deadman.check()
    await advance(rig["sim"], WINDOW)
    clock.offset = 630.0
    await deadman.check()  # tripped: critical
    await deliver(rig["writer"], "hook-2")
    await deadman.check()  # resumed: info
    with db.connection() as conn:
        stored = {r[0]: r[1] for r in conn.execute("SELECT id, level FROM alerts").fetchall()}
    events = raised(logs)
    assert [(e["level"], e["alert_level"], e["source"]) for e in events] == [
        ("error", "critical", "deadman"), ("info", "info", "deadman")]
    assert {e["alert_id"]: e["alert_level"] for e in events} == stored
    assert events[0]["detail"]["action"] == "polling_forced"


def test_every_writer_of_alerts_logs_them() -> None:
    # A new path that stores alerts without log_alert would escape the tests above.
    writers = []
    for path in sorted((REPO_ROOT / "walltrack").rglob("*.py")):
        text = path.read_text()
        if "simulator" in path.parts or path.name == "repositories.py":
            continue
        if ("INSERT INTO alerts" in text or "AlertRepository(db)" in text
                or ".add_alert(" in text):
            writers.append(path.relative_to(REPO_ROOT).as_posix())
    logged = {w for w in writers if "log_alert(" in (REPO_ROOT / w).read_text()}
    # live_store / trading_store are the AlertService's stores (it logs); the rest log.
    assert set(writers) - logged <= {"walltrack/live/live_store.py",
                                     "walltrack/store/trading_store.py"}, writers
    assert {"walltrack/live/deadman.py", "walltrack/trading/performance.py",
            "walltrack/trading/mode_switch.py", "walltrack/app/trading_api.py",
            "walltrack/trading/alerts.py"} <= logged  # the scan does find the known ones


# --- a simulated day of real processes, scanned for every secret ----------------------------

DAY = 86_400
SERVE_AT = 3 * DAY + 12 * 3600  # the small market's 5 days hold the whole served day
STEPS = 24  # one simulated hour per step
WATCHED = 200  # the busiest wallets of the day


def closed_port() -> int:
    with socket.socket() as sock:  # bound then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def known_secrets(db_url: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Every secret setting at a distinctive value, and each secret's obvious forms."""
    keypair = Keypair()
    raw = bytes(keypair)
    dead = closed_port()
    hook_secret, hook_token = f"hk{rnd.token_hex(12)}", f"ht{rnd.token_hex(12)}"
    password = f"pw{rnd.token_hex(12)}"
    values = {
        "helius_api_key": f"{rnd.token_hex(4)}-{rnd.token_hex(2)}-4{rnd.token_hex(2)[1:]}-"
                          f"a{rnd.token_hex(2)[1:]}-{rnd.token_hex(6)}",
        "jupiter_api_key": f"jk{rnd.token_hex(14)}",
        "trading_private_key": str(keypair),
        "operator_token": f"op{rnd.token_urlsafe(30)}",
        "webhook_auth_header": f"wh{rnd.token_urlsafe(30)}",
        "telegram_bot_token": f"{rnd.randbelow(9 * 10**9) + 10**9}:AA{rnd.token_urlsafe(25)}",
        "telegram_chat_id": f"-100{rnd.randbelow(9 * 10**12) + 10**12}",
        "alert_webhook_url": f"http://127.0.0.1:{dead}/hooks/{hook_secret}?token={hook_token}",
        "neo4j_password": f"n4{rnd.token_hex(12)}",
        "database_url": re.sub(r"^(postgresql://[^:@/]*):?[^@/]*@", rf"\g<1>:{password}@",
                               db_url, count=1),
    }
    assert password in values["database_url"]
    plain = {k: v for k, v in values.items() if k != "database_url"} | {
        "database_password": password, "alert_webhook_path": hook_secret,
        "alert_webhook_query": hook_token}
    forms: dict[str, set[str]] = {}  # the setting → every shape of its secret
    for name, value in plain.items():
        forms[name] = {value, quote(value, safe=""), quote_plus(value),
                       base64.b64encode(value.encode()).decode().rstrip("="),
                       json.dumps(value)[1:-1]}
        if not value.startswith("http"):  # a truncated leak (the random head of it)
            forms[name].add(value[:16])
    numbers = list(raw)
    forms["trading_private_key"] |= {
        values["trading_private_key"][:20], base58.b58encode(raw[:32]).decode(), raw.hex(),
        raw[:32].hex(), json.dumps(numbers), json.dumps(numbers, separators=(",", ":")),
        base64.b64encode(raw).decode().rstrip("=")}
    forms["database_url"] = {values["database_url"]}
    return values, forms


def start_logged(argv: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=env, start_new_session=True,
                            stdout=open(f"{out}.stdout", "wb"),
                            stderr=open(f"{out}.stderr", "wb"))


def run_job_logged(argv: list[str], env: dict[str, str], out: Path) -> None:
    with open(f"{out}.stdout", "wb") as stdout, open(f"{out}.stderr", "wb") as stderr:
        done = subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=stdout, stderr=stderr,
                              timeout=120, check=False)
    assert done.returncode == 0, Path(f"{out}.stderr").read_text()[-3000:]


def wait_ready(url: str, process: subprocess.Popen[bytes], err: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, err.read_text()[-3000:]
        try:
            if httpx.get(url + "/health", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, err.read_text()[-3000:]
        time.sleep(0.2)


@pytest.mark.slow
def test_a_simulated_day_of_logs_holds_no_secret(db: Database, db_url: str,
                                                 tmp_path: Path) -> None:
    values, forms = known_secrets(db_url)
    started = time.monotonic()
    start = datetime.fromtimestamp(int(time.time()) - SERVE_AT - DAY - 5, UTC)
    params = PRESETS["small"].model_copy(update={"start": start})
    market = generate_market(params)
    day = market.swaps.filter((pl.col("t") > SERVE_AT) & (pl.col("t") <= SERVE_AT + DAY))
    busiest = day.group_by("wallet").len().sort(["len", "wallet"], descending=[True, False])
    wallets = busiest["wallet"].head(WATCHED).to_list()
    watch(db, *wallets)
    configure(db)
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    port = free_port()
    server_url = f"http://127.0.0.1:{port}"
    with serving_process(params, start_at=SERVE_AT,
                         api_key=values["helius_api_key"]) as sim_url:
        env = {**os.environ, **{f"WALLTRACK_{k.upper()}": v for k, v in values.items()},
               "WALLTRACK_LOG_LEVEL": "DEBUG", "WALLTRACK_LOG_FORMAT": "json",
               "WALLTRACK_DATA_DIR": str(tmp_path / "data"),
               "WALLTRACK_SIGNAL_SOURCE": "webhook", "WALLTRACK_TRADING_ENABLED": "true",
               "WALLTRACK_WEBHOOK_URL": server_url + "/webhooks/helius",
               "WALLTRACK_HELIUS_API_URL": sim_url, "WALLTRACK_DEXSCREENER_URL": sim_url,
               "WALLTRACK_JUPITER_URL": sim_url,
               # As Helius RPC URLs carry it: the key in a setting that is not a secret.
               "WALLTRACK_SOLANA_RPC_URLS": f"{sim_url}/rpc?api-key={values['helius_api_key']}",
               "WALLTRACK_TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
               "WALLTRACK_JUPITER_RPS": "1000", "WALLTRACK_DEXSCREENER_RPS": "1000",
               "WALLTRACK_RPC_RPS": "1000", "PYTHONUNBUFFERED": "1"}
        # The jobs: production settings (JSON by themselves), into one shared rotating file.
        jobs_env = env | {"WALLTRACK_ENV": "production", "WALLTRACK_LOG_FORMAT": "auto",
                          "WALLTRACK_LOG_FILE": str(logs_dir / "jobs.log"),
                          "WALLTRACK_LOG_MAX_BYTES": "200000", "WALLTRACK_LOG_BACKUPS": "500"}
        server = start_logged([sys.executable, "server.py", "--port", str(port)], env,
                              logs_dir / "server")
        try:
            wait_ready(server_url, server, logs_dir / "server.stderr")
            run_job_logged([sys.executable, "jobs/sync_webhooks.py"], jobs_env,
                           logs_dir / "sync_webhooks")
            # Error paths: a wrong operator token, a wrong webhook header, a token in a query.
            wrong = httpx.post(server_url + "/api/risk/pause", json={"note": "probe"},
                               headers={"Authorization": f"Bearer {values['operator_token']}x"})
            assert wrong.status_code == 401
            refused = httpx.post(server_url + "/webhooks/helius", content=b"[]",
                                 headers={"Authorization": values["webhook_auth_header"][:-1],
                                          "Content-Type": "application/json"})
            assert refused.status_code == 401
            httpx.get(server_url + f"/api/nothing?token={values['operator_token']}")
            paused = httpx.post(server_url + "/api/risk/pause", json={"note": "lunch"},
                                headers={"Authorization": f"Bearer {values['operator_token']}"})
            assert paused.status_code == 200, paused.text
            resumed = httpx.post(server_url + "/api/risk/resume", json={"note": "back"},
                                 headers={"Authorization": f"Bearer {values['operator_token']}"})
            assert resumed.status_code == 200, resumed.text
            for _ in range(STEPS):  # the day, an hour at a time
                httpx.post(sim_url + "/sim/advance", json={"seconds": DAY // STEPS},
                           timeout=30).raise_for_status()
                time.sleep(1.5)
            for job in ("discover_tokens", "discover_wallets", "profile_wallets"):  # research
                run_job_logged([sys.executable, f"jobs/{job}.py", *SIMULATOR_FORWARD],
                               jobs_env, logs_dir / job)
            time.sleep(3)  # the last exits and alert deliveries
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    elapsed = time.monotonic() - started

    captured = {p.name: p.read_bytes() for p in sorted(logs_dir.iterdir())
                if not p.name.endswith(".lock")}
    blob = b"\n".join(captured.values())
    for setting, shapes in forms.items():
        for shape in shapes:  # the message names the setting and the file, never the value
            assert shape.encode() not in blob, (
                f"WALLTRACK_{setting.upper()} leaked ({len(shape)}-char form)",
                [name for name, data in captured.items() if shape.encode() in data])
    # Non-trivial: a day of work at DEBUG, every kind of event the scan must cover.
    events = [json.loads(line) for name, data in captured.items() if not name.endswith(
        ".stdout") for line in data.decode().splitlines() if line.startswith("{")]
    names = {e["event"] for e in events}
    assert len(events) > 1000 and len(blob) > 300_000, (len(events), len(blob))
    assert any(n.startswith("solana_rpc") and n.endswith("_call") for n in names)
    for needed in ("helius_call", "dexscreener_call", "jupiter_call",
                   "trading_position_opening", "trading_fill_recorded", "alert_raised",
                   "alert_delivery_failed", "api_operator_refused", "webhook_refused",
                   "job_started", "job_finished"):
        assert needed in names, (needed, sorted(names))
    failed = {e["notifier"] for e in events if e["event"] == "alert_delivery_failed"}
    assert failed == {"telegram", "webhook"}
    # The server's stderr (the container's log) is JSON lines, every one.
    server_lines = captured["server.stderr"].decode().splitlines()
    assert all(line.startswith("{") for line in server_lines if line.strip()), [
        line for line in server_lines if not line.startswith("{")][:5]
    assert len([p for p in captured if p.startswith("jobs.log")]) > 1  # the file rotated
    assert b"[REDACTED]" in blob or b"***" in blob
    assert elapsed < 150, elapsed
    print(f"scanned {len(blob):,} bytes, {len(events):,} events of {len(names)} kinds "
          f"in {len(captured)} files, {elapsed:.0f} s")
