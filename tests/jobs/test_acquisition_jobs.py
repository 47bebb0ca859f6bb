"""The acquisition jobs and the scheduler as real processes against the simulator process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness.processes import REPO_ROOT, ServerProcess, free_port, run_server
from walltrack.intel.research import CHAIN, RESEARCH_JOBS
from walltrack.models import JobOutcome
from walltrack.models.config import JobIntervals
from walltrack.scheduling import due_chains, research_plan, run_chain, scheduler_plan
from walltrack.store import Database
from walltrack.store.repositories import (
    FundingTransferRepository,
    JobRunRepository,
    SwapRepository,
    TokenRepository,
    TokenSnapshotRepository,
    WalletOriginRepository,
)

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
    for stage in ("discover_wallets:", "collect_funding:", "discover_siblings:",
                  "collect_histories:"):
        assert stage in done.stdout
    assert SwapRepository(db).count() > 0 and WalletOriginRepository(db).count() > 0
    assert FundingTransferRepository(db).count() > 0

    runs = {r.job: r for r in JobRunRepository(db).last_runs()}
    for name in ("discover_tokens", "refresh_tokens", "discover_wallets"):
        assert runs[name].outcome is JobOutcome.succeeded
    stages = {s["stage"]: s["result"] for s in runs["discover_wallets"].stats["stages"]}
    assert stages["discover_wallets"]["early_profitable"] > 0
    assert runs["discover_tokens"].stats["stages"][0]["result"]["kept"] == tokens


def test_a_job_explains_an_unreachable_api(db: Database, db_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = job("discover_tokens", "--now", "2025-06-05T00:00:00+00:00", db_url=db_url,
               sim_url=dead)
    assert done.returncode == 2
    assert "error:" in done.stderr and "dexscreener" in done.stderr.lower()
    run = JobRunRepository(db).last_runs()[0]
    assert run.job == "discover_tokens" and run.outcome is JobOutcome.failed


def test_the_plan_runs_tokens_then_the_research_chain_when_due() -> None:
    plan = research_plan(JobIntervals(discover_tokens=30, refresh_tokens=5, research=1440,
                                      shadow_outcomes=15))
    assert [c.head for c in plan] == ["discover_tokens", "refresh_tokens", "discover_wallets",
                                      "shadow_outcomes"]
    assert plan[2].jobs == ("discover_wallets", "expand_tokens", "profile_wallets",
                            "build_clusters")
    assert plan[3].jobs == ("shadow_outcomes",) and plan[3].minutes == 15
    # One tick of everything runs the stages in the chain's order.
    assert tuple(s for c in plan for j in c.jobs if j in RESEARCH_JOBS
                 for s in RESEARCH_JOBS[j]) == CHAIN
    assert all((REPO_ROOT / "jobs" / f"{j}.py").is_file() for c in plan for j in c.jobs)
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    assert due_chains(plan, {}, t0) == plan
    last = {c.head: t0 for c in plan}
    assert due_chains(plan, last, t0 + timedelta(minutes=10)) == [plan[1]]
    assert due_chains(plan, last, t0 + timedelta(minutes=15)) == [plan[1], plan[3]]
    assert due_chains(plan, last, t0 + timedelta(minutes=30)) == [*plan[:2], plan[3]]
    assert due_chains(plan, last, t0 + timedelta(days=3)) == plan  # coalesced: once
    ran: list[str] = []
    assert run_chain(plan[2], lambda j: ran.append(j) or (1 if j == "expand_tokens" else 0)) \
        == {"discover_wallets": 0, "expand_tokens": 1}
    assert ran == ["discover_wallets", "expand_tokens"]  # a follower waits on its leader


def test_the_scheduler_adds_the_webhook_sync_when_webhooks_are_used() -> None:
    intervals = JobIntervals(sync_webhooks=7)
    assert scheduler_plan(intervals, webhooks=False) == research_plan(intervals)
    plan = scheduler_plan(intervals, webhooks=True)
    assert plan[:-1] == research_plan(intervals)
    assert (plan[-1].head, plan[-1].minutes, plan[-1].jobs) == (
        "sync_webhooks", 7, ("sync_webhooks",))
    assert (REPO_ROOT / "jobs" / "sync_webhooks.py").is_file()


def test_scheduler_once_runs_the_chains(sim: ServerProcess, db: Database, db_url: str) -> None:
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DEXSCREENER_URL": sim.url,
           "WALLTRACK_HELIUS_API_URL": sim.url, "WALLTRACK_HELIUS_API_KEY": KEY}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "jobs" / "scheduler.py"), "--once", "--sim-clock",
         "--helius-rps", "500", "--dex-rps", "100"],
        env=env, capture_output=True, text=True, timeout=600, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "discover_tokens: every 30 min" in done.stdout
    assert ("discover_wallets: every 1440 min, then expand_tokens → profile_wallets → "
            "build_clusters") in done.stdout
    assert "shadow_outcomes: every 5 min" in done.stdout
    for job in (*RESEARCH_JOBS, "shadow_outcomes"):
        assert f"{job} exited 0" in done.stdout
    ran = {r.job for r in JobRunRepository(db).last_runs()}
    assert set(RESEARCH_JOBS) <= ran
    assert WalletOriginRepository(db).count() > 0
