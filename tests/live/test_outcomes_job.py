"""The shadow_outcomes job and the calibration view as real processes on a real store."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from tests.clients.fault_server import refused_url
from tests.harness.processes import REPO_ROOT
from tests.live.price_server import (  # the fixture, by its name price_server
    PriceServer,
    price_server_fixture,  # noqa: F401
)
from tests.live.test_outcomes import M1, M2, T0, make_signal, outcomes
from walltrack.models import JobOutcome
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository, JobRunRepository, SignalRepository
from walltrack.store.usage import UsageRepository


def _env(db_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_LOG_FORMAT": "json",
            **extra}


def test_the_job_schedules_measures_and_records_its_run(
        db: Database, db_url: str, price_server: PriceServer) -> None:
    price_server.book.prices.update({M1: 1.2, M2: 0.9})
    SignalRepository(db).upsert_many([make_signal("j1", M1, price_usd=1.0, score=0.8,
                                                  eligible=True),
                                      make_signal("j2", M2, price_usd=1.0, score=0.3)])
    now = T0 + timedelta(seconds=3600 + 5)  # 5 min and 1 h due, 6 h not yet
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "jobs" / "shadow_outcomes.py"), "--now",
         now.isoformat(), "--jup-rps", "100", "--helius-rps", "5"],  # a forwarded flag
        env=_env(db_url, WALLTRACK_JUPITER_URL=price_server.url,
                 WALLTRACK_DEXSCREENER_URL=refused_url()),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 rows scheduled; 4 due: 4 measured (2 late)" in done.stdout
    assert "2 mints in 1 price calls" in done.stdout
    rows = outcomes(db)
    assert len(rows) == 6 and sum(r.measured_at is not None for r in rows.values()) == 4
    # Both horizons priced at the same (current) price: the 5 min rows are late by 3305 s.
    assert rows[("sig-j1", 300)].note == "late_by_3305s"
    assert rows[("sig-j2", 3600)].return_pct is not None
    (run,) = [r for r in JobRunRepository(db).last_runs() if r.job == "shadow_outcomes"]
    assert run.outcome is JobOutcome.succeeded
    assert (run.stats["scheduled"], run.stats["measured"], run.stats["price_calls"]) == (6, 4, 1)
    assert run.stats["api_usage"] == {"jupiter@local": {"calls": 1, "credits": 0}}
    stored = {d.api: d.calls for d in UsageRepository(db).days()}
    assert stored == {"jupiter@local": 1}

    view = subprocess.run([sys.executable, "-m", "walltrack", "calibration", "--horizon",
                           "3600"], env=_env(db_url), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert view.returncode == 0, view.stderr[-2000:]
    lines = view.stdout.splitlines()
    assert "Shadow outcomes at 3600 s by score bucket" in lines[0]
    assert lines[2].split() == ["0.30", "1", "1", "0.0", "-10.0", "-10.0", "0.0"]
    assert lines[3].split() == ["0.80", "1", "1", "100.0", "20.0", "20.0", "100.0"]


def test_a_price_outage_fails_the_job_with_a_clear_message(db: Database, db_url: str) -> None:
    SignalRepository(db).upsert(make_signal("o1", M1, price_usd=1.0))
    sources = ConfigRepository(db).load().sources
    assert sources.outcome_horizons_seconds == [300, 3600, 21600]
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "jobs" / "shadow_outcomes.py"), "--now",
         (T0 + timedelta(minutes=6)).isoformat()],
        env=_env(db_url, WALLTRACK_JUPITER_URL=refused_url(),
                 WALLTRACK_DEXSCREENER_URL=refused_url()),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "error:" in done.stderr and "every price call failed" in done.stderr
    assert "Traceback" not in done.stderr
    (run,) = [r for r in JobRunRepository(db).last_runs() if r.job == "shadow_outcomes"]
    assert run.outcome is JobOutcome.failed
    assert outcomes(db)[("sig-o1", 300)].note == "no_price"  # written before failing
