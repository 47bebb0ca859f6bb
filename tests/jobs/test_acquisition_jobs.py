"""The acquisition jobs and the scheduler as real processes against the simulator process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.processes import REPO_ROOT, ServerProcess, free_port, run_server
from walltrack.models import JobOutcome
from walltrack.store import Database
from walltrack.store.repositories import (
    FundingTransferRepository,
    JobRunRepository,
    SwapRepository,
    TokenRepository,
    TokenSnapshotRepository,
    WalletOriginRepository,
)

sys.path.insert(0, str(REPO_ROOT / "jobs"))
from scheduler import make_plan

KEY = "jobs-key"
SMALL_DAYS = 5


@pytest.fixture(scope="module")
def sim() -> Iterator[ServerProcess]:
    with run_server([sys.executable, "-m", "walltrack.simulator", "serve", "--preset", "small",
                     "--port", "{port}", "--speed", "0", "--start-at",
                     str(SMALL_DAYS * 86400), "--api-key", KEY],
                    ready_path="/health", timeout=120) as server:
        yield server


def job(name: str, *args: str, db_url: str, sim_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DEXSCREENER_URL": sim_url,
           "WALLTRACK_HELIUS_API_URL": sim_url, "WALLTRACK_HELIUS_API_KEY": KEY,
           "WALLTRACK_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, str(REPO_ROOT / "jobs" / f"{name}.py"), *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False,
                          cwd=REPO_ROOT)


def test_the_three_jobs_fill_the_store(sim: ServerProcess, db: Database, db_url: str) -> None:
    fast = ["--sim-clock", "--dex-rps", "100"]
    done = job("discover_tokens", *fast, db_url=db_url, sim_url=sim.url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "discover_tokens:" in done.stdout and "kept" in done.stdout
    tokens = TokenRepository(db).count()
    assert tokens > 0

    done = job("refresh_tokens", *fast, db_url=db_url, sim_url=sim.url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refresh_tokens:" in done.stdout
    assert TokenSnapshotRepository(db).count() >= tokens

    done = job("discover_wallets", "--sim-clock", "--helius-rps", "500", db_url=db_url,
               sim_url=sim.url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "early profitable buyers" in done.stdout
    assert SwapRepository(db).count() > 0 and WalletOriginRepository(db).count() > 0
    assert FundingTransferRepository(db).count() > 0

    runs = {r.job: r for r in JobRunRepository(db).last_runs()}
    for name in ("discover_tokens", "refresh_tokens", "discover_wallets"):
        assert runs[name].outcome is JobOutcome.succeeded
    assert runs["discover_wallets"].stats["early_profitable"] > 0
    assert runs["discover_tokens"].stats["kept"] == tokens


def test_a_job_explains_an_unreachable_api(db: Database, db_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = job("discover_tokens", "--now", "2025-06-05T00:00:00+00:00", db_url=db_url,
               sim_url=dead)
    assert done.returncode == 2
    assert "error:" in done.stderr and "dexscreener" in done.stderr.lower()
    run = JobRunRepository(db).last_runs()[0]
    assert run.job == "discover_tokens" and run.outcome is JobOutcome.failed


def test_the_plan_registers_present_scripts_and_names_missing_ones(tmp_path: Path) -> None:
    for name in ("discover_tokens", "discover_wallets", "build_clusters"):
        (tmp_path / f"{name}.py").write_text("")
    intervals = {"discover_tokens": 30, "refresh_tokens": 5, "discover_wallets": 60,
                 "profile_wallets": 60, "build_clusters": 120, "sync_webhooks": 10}
    plan = make_plan(intervals, tmp_path)
    assert plan.intervals == {"discover_tokens": 30, "discover_wallets": 60,
                              "build_clusters": 120}
    assert plan.missing == ["refresh_tokens", "profile_wallets", "sync_webhooks"]
    # Profiling is missing, so clustering cannot follow discovery through it.
    assert plan.chains["discover_wallets"] == []
    (tmp_path / "profile_wallets.py").write_text("")
    plan = make_plan(intervals, tmp_path)
    assert plan.chains["discover_wallets"] == ["profile_wallets", "build_clusters"]


def test_scheduler_once_runs_the_chains(sim: ServerProcess, db: Database, db_url: str) -> None:
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DEXSCREENER_URL": sim.url,
           "WALLTRACK_HELIUS_API_URL": sim.url, "WALLTRACK_HELIUS_API_KEY": KEY}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "jobs" / "scheduler.py"), "--once", "--sim-clock",
         "--helius-rps", "500", "--dex-rps", "100"],
        env=env, capture_output=True, text=True, timeout=600, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "discover_tokens: every 30 min" in done.stdout
    assert "discover_tokens exited 0" in done.stdout
    assert "discover_wallets exited 0" in done.stdout
    ran = {r.job for r in JobRunRepository(db).last_runs()}
    assert {"discover_tokens", "refresh_tokens", "discover_wallets"} <= ran
    assert WalletOriginRepository(db).count() > 0
