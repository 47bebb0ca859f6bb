"""One research path: the scheduler's plan replayed through the job entry points reaches the
same store as ``run_research`` on the same market, tick for tick; then the profiling job as
a real process on that store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl

from tests.harness.postgres import PgCluster, unique_name
from walltrack.intel.research import CHAIN, RESEARCH_JOBS, run_research
from walltrack.jobrunner import client_options, research_parser
from walltrack.lab.demo import research_on_market, simulator_settings
from walltrack.lab.evaluation import evaluate_against_truth
from walltrack.lab.replay import SIMULATOR_FORWARD
from walltrack.models import JobOutcome
from walltrack.settings import Settings
from walltrack.simulator import PRESETS
from walltrack.simulator.background import serving
from walltrack.store import Database, open_database
from walltrack.store.frames import query_frame
from walltrack.store.repositories import JobRunRepository

REPO = Path(__file__).resolve().parents[2]
STEP = timedelta(days=1)

WALLET_STATE = """SELECT w.address, w.status, w.lifecycle, w.is_bot, w.on_watchlist,
                         round(w.score::numeric, 9)::float8, round(w.raw_score::numeric, 9)::float8,
                         w.cluster_id
                  FROM wallets w ORDER BY w.address"""
WALLET_SCHEMA = {"wallet": pl.String, "status": pl.String, "lifecycle": pl.String,
                 "is_bot": pl.Boolean, "on_watchlist": pl.Boolean, "score": pl.Float64,
                 "raw_score": pl.Float64, "cluster_id": pl.String}


def _state(db: Database) -> dict[str, object]:
    with db.connection() as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("tokens", "swaps", "funding_transfers", "wallet_origins",
                            "wallet_metrics", "wallet_edges", "clusters")}
        clusters = conn.execute("SELECT id, size, leader FROM clusters ORDER BY id").fetchall()
    return {"wallets": query_frame(db, WALLET_STATE, schema=WALLET_SCHEMA),
            "counts": counts, "clusters": clusters}


def _run_research_per_tick(settings: Settings, db: Database, url: str, end: datetime) -> None:
    """The same ticks as the replay, but ``run_research`` in-process, no job scripts."""
    options = client_options(research_parser("discover_tokens").parse_args(
        list(SIMULATOR_FORWARD)[1:]))
    with httpx.Client(base_url=url) as sim:
        while True:
            now = datetime.fromtimestamp(sim.get("/sim/state").json()["sim_time"], UTC)
            asyncio.run(run_research(settings, db, now=now, options=options))
            if now >= end:
                return
            sim.post("/sim/advance", json={"seconds": min(STEP, end - now).total_seconds()})


def test_the_chain_is_every_stage_once_in_the_documented_order() -> None:
    assert CHAIN == (
        "discover_tokens", "refresh_tokens", "discover_wallets", "collect_funding",
        "discover_siblings", "collect_histories", "profile", "expand_tokens",
        "collect_funding", "discover_siblings", "collect_histories", "profile", "decay",
        "watchlist", "build_clusters")
    for job in RESEARCH_JOBS:
        assert (REPO / "jobs" / f"{job}.py").is_file()


def test_the_scheduled_path_reaches_the_same_store_as_run_research(
    db: Database, db_url: str, pg_cluster: PgCluster, make_settings: Callable[..., Settings]
) -> None:
    # The main command's path: the simulator in its own process, the plan replayed.
    report, market = research_on_market(make_settings(database_url=db_url), db,
                                        PRESETS["small"], step=STEP, with_truth=True)
    assert market is not None
    end = market.params.start + timedelta(days=market.params.days)
    assert report.ticks == market.params.days
    assert set(report.job_runs.values()) == {market.params.days}  # the daily chain, each day

    other = unique_name()
    other_url = pg_cluster.create_database(other)
    try:
        with serving(market, start_at=STEP.total_seconds()) as url, \
                open_database(make_settings(database_url=other_url)) as other_db:
            _run_research_per_tick(
                simulator_settings(make_settings(database_url=other_url), url),
                other_db, url, end)
            expected = _state(other_db)
    finally:
        pg_cluster.drop_database(other)
    got = _state(db)
    assert got["counts"] == expected["counts"]
    assert got["clusters"] == expected["clusters"]
    assert got["wallets"].equals(expected["wallets"])
    assert got["counts"]["clusters"] > 0 and got["wallets"].height > 20

    result = evaluate_against_truth(db, market)
    assert result["bot_flag_precision"] in (None, 1.0)
    assert result["top50_smart_precision"] > 0.2  # a small market: few smart wallets found
    wallets = got["wallets"]
    assert "ignored" in set(wallets["lifecycle"])  # 5 days: few wallets clear the rule
    watched = wallets.filter(pl.col("lifecycle").is_in(["watchlisted", "flagged"]))
    assert watched["wallet"].to_list() == wallets.filter("on_watchlist")["wallet"].to_list()

    # The profiling job alone, as a process on the same store (clock = the newest swap).
    done = subprocess.run([sys.executable, "jobs/profile_wallets.py", "--data-clock"],
                          cwd=REPO, env={**os.environ, "WALLTRACK_DATABASE_URL": db_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    profiled = int((got["wallets"]["raw_score"].is_not_null()).sum())
    assert f"profiled {profiled} wallets" in done.stdout
    (run,) = [r for r in JobRunRepository(db).last_runs() if r.job == "profile_wallets"]
    assert run.outcome is JobOutcome.succeeded
    assert [s["stage"] for s in run.stats["stages"]] == ["profile", "decay", "watchlist"]
