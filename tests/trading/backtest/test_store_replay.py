"""Replaying a store the way a real one is: swaps without pools, the research made again
from the store's own rows cut by time.

The store is the research's own, filled from the simulator over HTTP (Helius, DexScreener,
RPC formats) — what a real store holds, and nothing of the simulator's truth. The truth is
only used here to check the reconstruction against the pools as they really were."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.harness.postgres import PgCluster, unique_name
from walltrack.lab.demo import research_on_market, simulator_settings
from walltrack.settings import Settings, load_settings
from walltrack.simulator import Market, SimParams, generate_market
from walltrack.simulator.background import serving
from walltrack.store import Database, open_database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.backtest.store_history import store_history
from walltrack.trading.backtest.store_replay import (
    ANALYSIS_STAGES,
    copy_cut,
    store_replay_report,
    store_snapshots,
)
from walltrack.trading.backtest.stores import ReplayStores, connect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PARAMS = SimParams(seed=3, wallets=600, tokens=40, days=8, clusters=4)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(PARAMS)


@pytest.fixture(scope="module")
def source(pg_cluster: PgCluster, template_db: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Settings]]:
    """A research store of the small market, as the scheduler fills it (one day a tick)."""
    name = unique_name("store")
    url = pg_cluster.create_database(name, template=template_db)
    settings = load_settings(_env_file=None, database_url=url,
                             data_dir=tmp_path_factory.mktemp("store"))
    db = open_database(settings)
    research_on_market(settings, db, PARAMS)
    yield db, settings
    db.close()
    pg_cluster.drop_database(name)


def test_the_pools_are_rebuilt_from_the_snapshots_near_the_truth(
        source: tuple[Database, Settings], market: Market) -> None:
    db, _ = source
    end = PARAMS.start + timedelta(days=PARAMS.days)
    rebuilt = store_history(db, until=end)
    assert rebuilt.priced > 500
    got = rebuilt.history.swaps.join(
        market.swaps.select("signature", "wallet", "mint", true_sol="pool_sol_after",
                            true_token="pool_token_after"),
        on=["signature", "wallet", "mint"])
    assert got.height == rebuilt.priced  # every stored swap is one of the market's
    err = got.select(
        sol=(pl.col("pool_sol_after") / pl.col("true_sol") - 1).abs(),
        price=((pl.col("pool_sol_after") / pl.col("pool_token_after"))
               / (pl.col("true_sol") / pl.col("true_token")) - 1).abs())
    # The depth within a third of the truth on most swaps, the price within a few percent
    # (the swap's own execution price stands for the pool's price after it).
    assert err["sol"].median() < 0.35, err.describe()
    assert err["price"].median() < 0.05, err.describe()


def test_the_walk_forward_sees_nothing_after_its_day(
        source: tuple[Database, Settings], pg_cluster: PgCluster) -> None:
    """Research at day d from the store is the same whether the store's later rows exist
    or not: a copy of the store with everything after the cut deleted gives the same
    snapshots up to it."""
    db, _ = source
    # The small market's research finds its first wallets on day 4.
    start, cut = PARAMS.start + DAY, PARAMS.start + 6 * DAY
    with ReplayStores(db.url) as stores:
        truncated = connect(stores.new(), name="truncated")
        work_a = connect(stores.new(), name="work-a")
        work_b = connect(stores.new(), name="work-b")
        try:
            copy_cut(db, truncated, since=None, until=cut)  # the store as it was at the cut
            full = store_snapshots(db, work_a, start=start, end=cut)
            past = store_snapshots(truncated, work_b, start=start, end=cut)
        finally:
            for d in (truncated, work_a, work_b):
                d.close()
    assert len(full) == len(past) == 6
    for a, b in zip(full, past, strict=True):
        assert a.at == b.at
        # Equal but for the last bits of float sums (rows come out in another order).
        assert_frame_equal(a.wallets.sort("address"), b.wallets.sort("address"),
                           check_exact=False, rtol=1e-9)
        assert a.members.sort(pl.all()).equals(b.members.sort(pl.all()))
    # And the research did run: wallets scored by the last day, none before the store knew
    # of any (the first wallets were discovered on day 4).
    assert full[-1].wallets["score"].drop_nulls().len() > 10
    assert full[0].wallets.height == 0
    assert "profile" in ANALYSIS_STAGES and "build_clusters" in ANALYSIS_STAGES


def test_a_store_replay_trades_its_days_with_the_research_of_the_day_before(
        source: tuple[Database, Settings], market: Market) -> None:
    db, settings = source
    # The operator's setting is the replay's: a threshold the small market's scores reach.
    config = ConfigRepository(db)
    scoring = config.load().scoring
    config.save_section("scoring", scoring.model_copy(update={"threshold": 0.4}))
    with serving(market) as url:  # the standing token facts' APIs (RPC, Jupiter)
        report = store_replay_report(
            simulator_settings(settings, url).model_copy(update={
                "jupiter_rps": 1000.0, "dexscreener_rps": 1000.0, "rpc_rps": 1000.0}),
            db, warmup_days=2, delays=(0.0, 60.0), baseline_delays=(5.0,), sweep=False)
    config.save_section("scoring", scoring)
    assert report.start == PARAMS.start + DAY
    assert len(report.trading_days) == (report.end - report.start).days - 2
    assert set(report.delays) == {"0", "60"}
    assert set(report.baselines) == {"all_discovered", "random_watchlist"}
    assert report.history["priced_swaps"] > 0
    figures = [*report.delays.values(), *(f for b in report.baselines.values()
                                          for f in b.values())]
    assert sum(f.trades for f in figures) > 0, (report.signals, report.reasons)
    for label, signals in report.signals.items():
        book = label.split("@")[0]
        traded = (report.delays if book == "copier" else report.baselines[book])[
            label.split("@")[1]].trades
        assert signals.get("eligible", 0) >= traded


def test_the_job_names_an_empty_store_and_what_to_do(db_url: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "jobs/replay.py", "--store"], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
        env={**os.environ, "WALLTRACK_DATABASE_URL": db_url,
             "WALLTRACK_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert "the store holds no swaps to replay" in out.stderr
    assert "run the research first" in out.stderr
