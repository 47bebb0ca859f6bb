"""The whole research pipeline against the simulator's server over real HTTP, then the
profiling job as a real process on the same store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from walltrack.clients.base import ClientPolicy
from walltrack.intel.evaluation import evaluate_against_truth, replay_research
from walltrack.intel.market_clock import simulator_now
from walltrack.models import JobOutcome
from walltrack.settings import Settings
from walltrack.simulator import PRESETS, generate_market
from walltrack.simulator.background import serving
from walltrack.store import Database
from walltrack.store.repositories import JobRunRepository, WalletMetricsRepository

REPO = Path(__file__).resolve().parents[2]
FAST = ClientPolicy(rate_per_second=1000.0, burst=100)


def test_research_pipeline_over_http_then_the_profiling_job(
    db: Database, db_url: str, make_settings
) -> None:
    market = generate_market(PRESETS["small"])
    step = timedelta(days=1)
    end = market.params.start + timedelta(days=market.params.days)
    with serving(market, start_at=step.total_seconds()) as url:
        settings: Settings = make_settings(
            helius_api_url=url, dexscreener_url=url, jupiter_url=url,
            solana_rpc_urls=[f"{url}/rpc"], helius_api_key="test-key")
        now = asyncio.run(simulator_now(url))
        report = asyncio.run(replay_research(settings, db, url, now=now, end=end, step=step,
                                             client_options={"policy": FAST}))
    profiled = report.stages["profile"]["wallets"]
    assert profiled > 20 and report.stages["discover_wallets"]["wallets"] > 0
    assert WalletMetricsRepository(db).count() == profiled
    result = evaluate_against_truth(db, market)
    # Every tracked wallet is profiled, but for siblings found through a funder that never
    # traded in the window (nothing to profile).
    assert result["wallets_tracked"] >= profiled
    with db.connection() as conn:
        unprofiled = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM wallet_origins o WHERE o.wallet = w.address
                   AND o.method = 'cluster_member')
                 AND NOT EXISTS (SELECT 1 FROM swaps s WHERE s.wallet = w.address))
               FROM wallets w WHERE NOT EXISTS (
                   SELECT 1 FROM wallet_metrics m WHERE m.wallet = w.address)""").fetchone()
    assert unprofiled[0] == result["wallets_tracked"] - profiled
    assert unprofiled[0] == unprofiled[1]
    # Every wallet flagged as a bot is a planted sniper bot; none of them ranks high.
    assert result["bot_flag_precision"] in (None, 1.0)
    assert result["top50_smart_precision"] > 0.2  # a small market: few smart wallets found
    with db.connection() as conn:
        top10 = conn.execute("SELECT bool_or(is_bot) FROM (SELECT is_bot FROM wallets "
                             "ORDER BY score DESC LIMIT 10) t").fetchone()
        assert top10 == (False,)
        statuses = dict(conn.execute(
            "SELECT status, count(*) FROM wallets GROUP BY status").fetchall())
    assert sum(statuses.values()) == result["wallets_tracked"]

    # The job, alone, on the same store (clock = the newest stored swap).
    done = subprocess.run([sys.executable, "jobs/profile_wallets.py", "--data-clock"], cwd=REPO,
                          env={**os.environ, "WALLTRACK_DATABASE_URL": db_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"profiled {profiled} wallets" in done.stdout
    (run,) = [r for r in JobRunRepository(db).last_runs() if r.job == "profile_wallets"]
    assert run.outcome is JobOutcome.succeeded
    assert run.stats["profile"]["wallets"] == profiled
    assert run.stats["decay"]["wallets"] == result["wallets_tracked"]


@pytest.mark.parametrize("bad", ["--seed"])
def test_evaluate_command_refuses_missing_arguments(bad: str) -> None:
    done = subprocess.run([sys.executable, "jobs/evaluate.py", bad], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--seed" in done.stderr
