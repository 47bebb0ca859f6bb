"""Log hygiene: where logs go (JSON on stderr, or a rotating file several processes share),
every alert in the logs whatever path wrote it, and a whole simulated day of real processes
with every secret set whose captured output holds none of them."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.live.conftest import live_market, live_sim  # noqa: F401 - fixtures of the deadman rig
from tests.live.test_deadman import FakeClock, deliver, rig  # noqa: F401
from tests.live.test_polling import WINDOW, advance
from tests.ui.test_config_view import good_validation, settings_for_live
from walltrack.live.deadman import Deadman
from walltrack.live.live_store import LiveStore
from walltrack.logging import RotatingLogFile, configure_from_settings, configure_logging
from walltrack.models import Position, TradingMode
from walltrack.models.trading import AlertLevel
from walltrack.settings import SignalSourceMode
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
    from walltrack.app.trading_api import record_override

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
