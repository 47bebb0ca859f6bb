"""The short soak in CI: two simulated hours of the whole service in three minutes of
wall clock (≈ 5 min with start-up and drain), with a kill -9 of the server and a store
restart on the way (the long one is ``benchmarks/soak.py``, figures in
docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from walltrack.lab.soak import SoakPlan, run_soak
from walltrack.settings import Settings
from walltrack.store import Database, open_database

pytestmark = pytest.mark.slow


def test_a_short_soak_loses_duplicates_stalls_and_leaks_nothing(tmp_path: Path) -> None:
    plan = SoakPlan(sim_hours=2.0, wall_minutes=3.0, step_seconds=60.0, drain_seconds=90.0,
                    job_minutes=1)

    def open_store(url: str) -> Database:
        return open_database(Settings(database_url=url, _env_file=None))

    report = run_soak(plan, open_store, work_dir=tmp_path)
    log = (tmp_path / "service.log").read_text(errors="replace")[-4000:]
    assert report.expected_events > 20, report
    assert report.lost_events == 0, (report, log)
    assert report.received_events == report.expected_events
    assert report.duplicate_signals == 0 and report.open_positions_per_mint_max <= 1
    assert report.server_restarts == 1 and report.store_restarted
    # The restarted store is stopped too (its postmaster is not the embedded handle's).
    pgdata = str(tmp_path / "pg")
    left = [p.pid for p in psutil.process_iter(["cmdline"])
            if pgdata in " ".join(p.info["cmdline"] or ())]
    assert not left, f"postgres left running on {pgdata}: {left}"
    assert report.signals > 0 and report.positions > 0, report
    assert report.inbox_backlog == 0
    assert not report.stalled_jobs, report.jobs
    # Growth is judged on the long soak; two minutes are mostly warm-up, so here only that
    # every process was still there at the end and measured.
    assert report.memory and all(m["end_mb"] > 0 for m in report.memory), report.memory
    assert report.ok or report.problems == [
        p for p in report.problems if p.startswith("memory grew")], report.problems
