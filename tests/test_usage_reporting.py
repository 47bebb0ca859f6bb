"""API usage end to end: a job's meter flushed by run_job, and the status command's lines."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.clients.fault_server import FaultServer, Reply
from tests.harness.processes import REPO_ROOT, run_server
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.helius import HeliusClient
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ExternalAPIError
from walltrack.jobrunner import run_job
from walltrack.models import JobOutcome
from walltrack.models.usage import UsageCounts
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import JobRunRepository
from walltrack.store.usage import UsageRepository, utc_today

FAST = ClientPolicy(retry=RetryPolicy(waits=(0.01,)), rate_per_second=1000, burst=1000)
WALLET = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"


@pytest.fixture
def fault_server() -> Any:
    srv = FaultServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _helius_calls(url: str, meter: UsageMeter, n: int) -> None:
    async def go() -> None:
        async with HeliusClient(url, "k", policy=FAST, meter=meter) as helius:
            for _ in range(n):
                await helius.transactions_for_address(WALLET)

    asyncio.run(go())


def test_run_job_gives_the_work_a_meter_and_flushes_it(
    db: Database, db_url: str, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLTRACK_DATABASE_URL", db_url)
    fault_server.default = Reply(body=b"[]")
    got: list[UsageMeter] = []

    def work(_settings: Settings, _db: Database, stats: dict[str, Any],
             meter: UsageMeter) -> str:
        got.append(meter)
        _helius_calls(fault_server.url, meter, 3)
        stats["pages"] = 3
        return "three pages"

    assert run_job("usage_probe", work) == 0
    (today,) = UsageRepository(db).days(api="helius@local")
    assert (today.day, today.calls, today.credits) == (utc_today(), 3, 300)
    (run,) = JobRunRepository(db).last_runs()
    assert run.outcome is JobOutcome.succeeded
    assert run.stats["api_usage"] == {"helius@local": {"calls": 3, "credits": 300}}
    assert got[0].pending() == {}  # flushed

    # A failing job still flushes what it spent.
    def failing(_settings: Settings, _db: Database, _stats: dict[str, Any],
                meter: UsageMeter) -> str:
        _helius_calls(fault_server.url, meter, 2)
        raise ExternalAPIError("gave up", api="helius")

    assert run_job("usage_probe", failing) == 2
    (today,) = UsageRepository(db).days(api="helius@local")
    assert (today.calls, today.credits) == (5, 500)
    (run,) = JobRunRepository(db).last_runs()
    assert run.outcome is JobOutcome.failed
    assert run.stats["api_usage"] == {"helius@local": {"calls": 2, "credits": 200}}

    # A work function without a meter parameter keeps the old contract.
    def plain(_settings: Settings, _db: Database, stats: dict[str, Any]) -> str:
        stats["ok"] = True
        return "plain"

    assert run_job("plain_job", plain) == 0
    runs = {r.job: r for r in JobRunRepository(db).last_runs()}
    assert runs["plain_job"].stats["ok"] is True and "api_usage" not in runs["plain_job"].stats


def _status(db_url: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "walltrack", "status"], cwd=REPO_ROOT,
        env={**os.environ, "WALLTRACK_DATABASE_URL": db_url, **env},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_status_prints_usage_per_api_and_against_the_plan(db: Database, db_url: str) -> None:
    empty = _status(db_url)
    assert "API usage" in empty and "no API calls recorded yet" in empty
    assert "Helius plan free: 1,000,000 credits/month, enhanced API 2 req/s, RPC 10 req/s" \
        in empty

    UsageRepository(db).add(utc_today(), {
        "helius": UsageCounts(calls=12_000, credits=1_200_000),
        "helius_rpc": UsageCounts(calls=1_000, credits=1_000),
        "dexscreener": UsageCounts(calls=321),
        "helius@local": UsageCounts(calls=5_000, credits=500_000),  # the simulator: not billed
    })
    out = _status(db_url)
    lines = out.splitlines()
    helius = next(line for line in lines if line.split()[:1] == ["helius"])
    assert helius.split()[1:] == ["12,000", "1,200,000"] * 3  # today, 7 days, 30 days
    dex = next(line for line in lines if line.split()[:1] == ["dexscreener"])
    assert dex.split()[1:] == ["321", "0"] * 3
    assert "used 1,201,000 of 1,000,000 credits this month (120.1 %)" in out
    assert "projected" in out and "credits/day" in out
    assert "never counted against the plan" in out
    assert "WARNING: 1,201,000 credits used this month, more than the free plan's 1,000,000" \
        in out

    roomy = _status(db_url, WALLTRACK_HELIUS_PLAN="professional")
    assert "Helius plan professional: 200,000,000 credits/month, enhanced API 100 req/s, " \
        "RPC 500 req/s" in roomy
    assert "used 1,201,000 of 200,000,000 credits this month (0.6 %)" in roomy
    assert "WARNING" not in roomy


def test_a_research_job_records_its_api_usage(db: Database, db_url: str) -> None:
    """``jobs/discover_tokens.py`` as a real process against the simulator process: the
    run's DexScreener calls land in ``api_usage`` and in the run's stats."""
    with run_server([sys.executable, "-m", "walltrack.simulator", "serve", "--preset", "small",
                     "--port", "{port}", "--speed", "0", "--start-at", str(5 * 86400)],
                    ready_path="/health", timeout=120) as sim:
        env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url,
               "WALLTRACK_DEXSCREENER_URL": sim.url, "WALLTRACK_HELIUS_API_URL": sim.url,
               "WALLTRACK_LOG_FORMAT": "json"}
        done = subprocess.run([sys.executable, str(REPO_ROOT / "jobs" / "discover_tokens.py"),
                               "--sim-clock", "--dex-rps", "100"], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = UsageRepository(db).days(api="dexscreener@local")  # the simulator: local
    assert row.calls > 0 and row.credits == 0 and row.day == utc_today()
    (run,) = JobRunRepository(db).last_runs()
    assert run.stats["api_usage"] == {"dexscreener@local": {"calls": row.calls, "credits": 0}}
