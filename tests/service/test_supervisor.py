"""``python -m walltrack serve``: real processes — a kill -9 of the server child is restarted
(new pid, /health answers again, the restart on /health and in the alerts table), a SIGTERM
stops every child and their jobs inside the grace period with exit code 0; the back-off
policy as a table; the /health row's staleness."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.harness.processes import ServerProcess, run_server
from tests.live.test_crash import server_env
from walltrack.errors import ConfigurationError
from walltrack.live.live_store import put_status
from walltrack.service.status import STATUS_KEY, read_supervisor_status
from walltrack.service.supervisor import BackoffPolicy, child_specs, restart_delay
from walltrack.simulator import PRESETS
from walltrack.simulator.background import serving_process
from walltrack.store import Database

POLICY = BackoffPolicy(base_seconds=1.0, cap_seconds=60.0, healthy_seconds=30.0)


@pytest.mark.parametrize(("streak", "ran", "delay", "after"), [
    (0, 0.2, 1.0, 1),  # first crash: 1 s
    (1, 0.2, 2.0, 2),  # crashing again at once doubles
    (2, 5.0, 4.0, 3),
    (5, 29.9, 32.0, 6),  # just short of healthy still counts as a crash in a row
    (6, 1.0, 60.0, 7),  # 64 s capped at 60
    (1_000_000, 0.0, 60.0, 1_000_001),  # never overflows, never gives up
    (7, 30.0, 1.0, 1),  # ran healthy: the count starts again
    (0, 3600.0, 1.0, 1),
])
def test_backoff_policy(streak: int, ran: float, delay: float, after: int) -> None:
    assert restart_delay(POLICY, streak, ran) == (delay, after)


def test_serve_refuses_nothing_to_run_and_a_missing_script(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="nothing to run"):
        child_specs(host="127.0.0.1", port=1, server=False, scheduler=False)
    with pytest.raises(ConfigurationError, match=r"server\.py is missing"):
        child_specs(host="127.0.0.1", port=1, root=tmp_path)
    specs = child_specs(host="127.0.0.1", port=8123, scheduler_args=["--sim-clock"])
    assert [s.name for s in specs] == ["server", "scheduler"]
    assert specs[0].argv[-4:] == ("--host", "127.0.0.1", "--port", "8123")
    assert specs[1].argv[-1] == "--sim-clock"


def test_the_supervisor_row_goes_stale_without_heartbeats(db: Database) -> None:
    assert read_supervisor_status(db) is None  # the server alone: no supervisor on /health
    put_status(db, STATUS_KEY, {"state": "running", "heartbeat_seconds": 10.0, "children": []})
    fresh = read_supervisor_status(db)
    assert fresh is not None and fresh["stale"] is False and fresh["age_seconds"] < 5
    with db.connection() as conn:
        conn.execute("UPDATE live_status SET updated_at = now() - interval '31 seconds' "
                     "WHERE key = %s", (STATUS_KEY,))
    old = read_supervisor_status(db)
    assert old is not None and old["stale"] is True and old["age_seconds"] >= 31
    put_status(db, STATUS_KEY, {"state": "stopped", "heartbeat_seconds": 10.0, "children": []})
    with db.connection() as conn:
        conn.execute("UPDATE live_status SET updated_at = now() - interval '1 hour' "
                     "WHERE key = %s", (STATUS_KEY,))
    stopped = read_supervisor_status(db)
    assert stopped is not None and stopped["stale"] is False  # a stopped one beats no more


def _wait_for(what: str, check: Callable[[], Any], proc: ServerProcess,
              timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} not seen in {timeout:.0f} s:\n" \
            + proc.log_tail(80)
        time.sleep(0.2)


def _children(health: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in health["supervisor"]["children"]}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_serve_restarts_a_killed_server_and_stops_everything_on_sigterm(
        db: Database, db_url: str, tmp_path: Path) -> None:
    grace = 20.0
    with serving_process(PRESETS["small"]) as sim_url:
        env = {**server_env(db_url, sim_url, str(tmp_path)),
               "WALLTRACK_TRADING_ENABLED": "true", "WALLTRACK_LOG_LEVEL": "INFO",
               "WALLTRACK_LOG_FORMAT": "json"}
        args = [sys.executable, "-m", "walltrack", "serve", "--port", "{port}",
                "--heartbeat", "0.5", "--grace", str(grace)]
        with run_server(args, ready_path="/health", env=env, timeout=90) as sup:
            def both_running() -> dict[str, dict[str, Any]] | None:
                kids = _children(httpx.get(sup.url + "/health", timeout=2).json())
                ok = all(kids[n]["state"] == "running" and kids[n]["pid"]
                         for n in ("server", "scheduler"))
                return kids if ok else None

            kids = _wait_for("both children running on /health", both_running, sup)
            server_pid, scheduler_pid = kids["server"]["pid"], kids["scheduler"]["pid"]
            me = psutil.Process(sup.process.pid)
            assert {p.pid for p in me.children()} == {server_pid, scheduler_pid}
            # Each child leads its own process group (the scheduler's jobs live in it).
            assert os.getpgid(server_pid) == server_pid != os.getpgid(sup.process.pid)
            assert os.getpgid(scheduler_pid) == scheduler_pid

            os.kill(server_pid, signal.SIGKILL)

            def restarted() -> dict[str, Any] | None:
                health = httpx.get(sup.url + "/health", timeout=2).json()
                server = _children(health)["server"]
                done = (server["restarts"] == 1 and server["state"] == "running"
                        and server["pid"] not in (None, server_pid))
                return health if done else None

            health = _wait_for("the restarted server on /health", restarted, sup)
            server = _children(health)["server"]
            assert server["last_exit_code"] == -signal.SIGKILL
            assert _children(health)["scheduler"]["restarts"] == 0
            assert health["supervisor"]["stale"] is False and health["ok"] is True
            new_server_pid = server["pid"]
            with db.connection() as conn:
                alerts = conn.execute(
                    "SELECT level, message, detail FROM alerts WHERE source = 'supervisor'"
                ).fetchall()
            assert len(alerts) == 1, alerts
            level, message, detail = alerts[0]
            assert level == "warning" and message.startswith("server exited with code -9")
            assert detail["exit_code"] == -9 and detail["restart"] == 1

            # The scheduler's first jobs start within seconds: catch one in flight, so the
            # stop must take the scheduler's whole group down.
            _wait_for("a job under the scheduler",
                      lambda: psutil.Process(scheduler_pid).children(), sup, timeout=30)
            jobs = [p.pid for p in psutil.Process(scheduler_pid).children(recursive=True)]

            started = time.monotonic()
            sup.process.send_signal(signal.SIGTERM)
            code = sup.process.wait(timeout=grace + 15)
            took = time.monotonic() - started
            log = sup.log_path.read_text(errors="replace")
        assert code == 0, log[-4000:]
        assert took < grace, f"stop took {took:.1f} s"
        for pgid in (server_pid, new_server_pid, scheduler_pid):
            assert not _group_alive(pgid), f"process group {pgid} outlived the supervisor"
        assert not [p for p in jobs if psutil.pid_exists(p)], "a job outlived the supervisor"
        # The server's own shutdown ran (lifespan → live service and trading stopped), and
        # the restart was logged with its exit code.
        assert '"event": "trading_stopped"' in log and '"event": "live_stopped"' in log
        assert '"event": "service_child_restarted"' in log and '"last_exit_code": -9' in log
        assert '"event": "alert_raised"' in log
    final = read_supervisor_status(db)
    assert final is not None and final["state"] == "stopped" and not final["stale"]
    kids = {c["name"]: c for c in final["children"]}
    assert {c["state"] for c in kids.values()} == {"stopped"}
    # uvicorn re-raises the SIGTERM once its shutdown is done (the log lines above say the
    # shutdown ran): -15 is a clean stop of the server, not a crash.
    assert kids["server"]["last_exit_code"] == -signal.SIGTERM
