"""Research speed, each figure beside its floor, in one run (docs/benchmarks.md).

    .venv/bin/python benchmarks/bench_research.py [--seed 7] [--wallets 300] [--skip-research]

1. **The main command's research** (``walltrack.lab.demo.research_on_market``: the
   scheduler's plan replayed through the job entry points, one simulated day at a time) on
   the default market, simulator in its own process, fresh embedded store: seconds per
   stage summed over the run, ticks, job runs; then one run of each analysis stage on the
   final store beside its floor (window COPY + bare group-by; buys + bare self-join).
2. **Client pages per second**: the first-time histories of the ``--wallets`` busiest
   wallets, 100-transaction pages, through ``collect_wallet_histories`` (HeliusClient →
   parse → swaps → COPY into the store), beside the floor: the very same pages fetched with
   bare httpx at the same concurrency and decoded with orjson only.

The simulator's own pages per second (first-time 100-transaction pages beside a static
body) are ``benchmarks/bench_simulator.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import polars as pl
from psycopg import sql

from walltrack.clients.base import ClientPolicy
from walltrack.clients.helius import HeliusClient
from walltrack.intel.clusters import build_clusters
from walltrack.intel.graph_edges import first_buys
from walltrack.intel.profiling import latest_swap_at, load_window, profile_wallets
from walltrack.intel.wallet_discovery import collect_wallet_histories
from walltrack.lab.demo import research_on_market, simulator_settings
from walltrack.logging import configure_logging
from walltrack.models.config import WalletDiscoveryConfig
from walltrack.settings import Settings
from walltrack.simulator import SimParams, generate_market
from walltrack.simulator.background import serving_process
from walltrack.store import Database, open_database
from walltrack.store.repositories import ConfigRepository, SwapRepository

FAST = ClientPolicy(rate_per_second=10_000.0, burst=1_000)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 3)


def analysis_floors(db: Database) -> dict[str, float]:
    """One run of each analysis stage on the final store, beside its floor in this run:
    profile (window COPY + compute + write) against the window COPY plus a bare group-by;
    clusters against reading the buys plus the bare bucketed self-join of first buys."""
    config = ConfigRepository(db).load()
    now = latest_swap_at(db)
    assert now is not None
    window = load_window(db, config.profiling, now=now)

    def profile_floor() -> None:
        load_window(db, config.profiling, now=now).group_by("wallet").len()

    def clusters_floor() -> None:
        # Read the buys, then the bare polars pairing of first buys in the same window
        # bucket (benchmarks/bench_clusters.py's floor): no canonical pairs, no graph.
        buys = SwapRepository(db).frame(sql.SQL("side = 'buy'"))
        window_s = config.clusters.synced_buy_window_seconds
        fb = first_buys(buys).with_columns(b=pl.col("ts").dt.epoch("s") // window_s)
        fb.lazy().join(fb.lazy(), on=["mint", "b"]).select(pl.len()).collect()

    return {
        "profile_s": _timed(lambda: profile_wallets(db, config, now=now)),
        "profile_floor_s": _timed(profile_floor),
        "window_swaps": window.height,
        "clusters_s": _timed(lambda: build_clusters(db, config.clusters, now=now)),
        "clusters_floor_s": _timed(clusters_floor),
    }


async def floor_pages(url: str, wallets: list[str], concurrency: int) -> tuple[int, int, float]:
    """(pages, transactions, seconds): every page of each wallet, bare httpx + orjson."""
    gate = asyncio.Semaphore(concurrency)
    pages = txs = 0

    async def walk(client: httpx.AsyncClient, wallet: str) -> None:
        nonlocal pages, txs
        before = None
        while True:
            params = {"limit": 100, "api-key": "bench", **({"before": before} if before else {})}
            async with gate:
                body = (await client.get(f"/v0/addresses/{wallet}/transactions",
                                         params=params)).content
            page = orjson.loads(body)
            pages += 1
            txs += len(page)
            if len(page) < 100:
                return
            before = page[-1]["signature"]

    async with httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(walk(client, w) for w in wallets))
        return pages, txs, time.perf_counter() - started


async def client_pages(settings: Settings, db_dir: Path, wallets: list[str], since,
                       concurrency: int) -> tuple[int, int, float]:
    """(transactions, swaps stored, seconds) through the production path."""
    config = WalletDiscoveryConfig(concurrency=concurrency)
    with open_database(Settings.model_validate({**settings.model_dump(),
                                                "data_dir": db_dir})) as db:
        async with HeliusClient.from_settings(settings, policy=FAST) as helius:
            started = time.perf_counter()
            report = await collect_wallet_histories(helius, db, wallets, since=since,
                                                    config=config)
            return report.transactions, report.swaps_stored, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=SimParams().seed)
    p.add_argument("--wallets", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=WalletDiscoveryConfig().concurrency)
    p.add_argument("--skip-research", action="store_true")
    args = p.parse_args(argv)
    configure_logging(level="WARNING")
    params = SimParams(seed=args.seed)
    out: dict[str, object] = {"params": params.model_dump(mode="json")}

    if not args.skip_research:
        with tempfile.TemporaryDirectory(prefix="walltrack-bench-") as tmp:
            settings = Settings(data_dir=Path(tmp))
            with open_database(settings) as db:
                started = time.perf_counter()
                report, _ = research_on_market(settings, db, params)
                out["research"] = {
                    "seconds": round(time.perf_counter() - started, 2),
                    "ticks": report.ticks, "job_runs": report.job_runs,
                    "stage_seconds": report.stage_seconds,
                    "analysis_at_the_end": analysis_floors(db),
                }
        print(json.dumps(out["research"]), flush=True)

    market = generate_market(params)
    busiest = (market.swaps.group_by("wallet").len().sort("len", descending=True)
               .head(args.wallets)["wallet"].to_list())
    since = market.params.start - timedelta(days=1)
    with serving_process(params) as url, \
            tempfile.TemporaryDirectory(prefix="walltrack-bench-") as tmp:
        settings = simulator_settings(Settings(data_dir=Path(tmp)), url)
        pages, txs, floor_s = asyncio.run(floor_pages(url, busiest, args.concurrency))
        ctxs, stored, client_s = asyncio.run(
            client_pages(settings, Path(tmp), busiest, since, args.concurrency))
    if ctxs != txs:
        print(f"warning: the client read {ctxs} transactions, the floor {txs}", file=sys.stderr)
    out["client_pages"] = {
        "wallets": len(busiest), "pages": pages, "transactions": txs, "swaps_stored": stored,
        "client_pages_per_s": round(pages / client_s, 1),
        "floor_pages_per_s": round(pages / floor_s, 1),
        "client_seconds": round(client_s, 2), "floor_seconds": round(floor_s, 2),
    }
    print(json.dumps(out["client_pages"]), flush=True)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    pl.Config.set_tbl_rows(50)
    raise SystemExit(main())
