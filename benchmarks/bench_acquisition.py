"""Acquisition on the default simulated market: seconds per stage, with a bare-HTTP floor.

    .venv/bin/python benchmarks/bench_acquisition.py [--seed 7] [--preset default]

Starts the simulator (a process, clock at the window's end) and a throwaway PostgreSQL,
then runs token discovery, wallet discovery over **every** token of the market (as an
evaluation does), wallet histories and funding for the wallets found. The floor: the same
token-history pages fetched with bare httpx (no parsing, no store) at the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness.postgres import throwaway_cluster, unique_name
from tests.harness.processes import run_server
from walltrack.clients.base import ClientPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient
from walltrack.intel.token_discovery import discover_tokens
from walltrack.intel.wallet_discovery import (
    collect_funding,
    collect_wallet_histories,
    discover_wallets,
)
from walltrack.models.config import TokenDiscoveryConfig, WalletDiscoveryConfig
from walltrack.settings import load_settings
from walltrack.simulator import PRESETS, generate_market
from walltrack.store import open_database
from walltrack.store.repositories import WalletRepository

FAST = ClientPolicy(rate_per_second=10_000.0, burst=1_000)
KEY = "bench"


async def floor(url: str, mints: list[str], concurrency: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(concurrency)
    pages = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        async def one(mint: str) -> None:
            nonlocal pages
            before = None
            async with gate:
                while True:
                    params = {"api-key": KEY, "limit": 100}
                    if before:
                        params["before"] = before
                    r = await client.get(f"/v0/addresses/{mint}/transactions", params=params)
                    page = r.json()
                    pages += 1
                    if len(page) < 100:
                        return
                    before = page[-1]["signature"]
        started = time.perf_counter()
        await asyncio.gather(*(one(m) for m in mints))
    return time.perf_counter() - started, pages


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="default")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    params = PRESETS[args.preset].model_copy(update={"seed": args.seed})
    market = generate_market(params)
    mints = market.tokens["mint"].to_list()
    end = params.start.astimezone(UTC) + timedelta(days=params.days)
    with throwaway_cluster(None) as cluster, run_server(
        [sys.executable, "-m", "walltrack.simulator", "serve", "--preset", args.preset,
         "--seed", str(args.seed), "--port", "{port}", "--speed", "0",
         "--start-at", str(params.days * 86400), "--api-key", KEY],
        ready_path="/health", timeout=120,
    ) as sim:
        url = cluster.create_database(unique_name("bench"))
        settings = load_settings(_env_file=None, database_url=url,
                                 data_dir=Path(tempfile.mkdtemp(prefix="walltrack-bench-")))
        cfg = WalletDiscoveryConfig()
        figures: dict[str, float] = {}
        with open_database(settings) as db:
            async with DexScreenerClient(sim.url, policy=FAST) as dex, \
                    HeliusClient(sim.url, KEY, policy=FAST) as helius:
                t = time.perf_counter()
                tok = await discover_tokens(dex, db, TokenDiscoveryConfig(), now=end)
                figures["discover_tokens"] = time.perf_counter() - t
                t = time.perf_counter()
                rep = await discover_wallets(helius, db, cfg, now=end, mints=mints)
                figures["discover_wallets (300 token histories)"] = time.perf_counter() - t
                wallets = [w.address for w in WalletRepository(db).list()]
                t = time.perf_counter()
                hist = await collect_wallet_histories(helius, db, wallets,
                                                      since=end - timedelta(days=90), config=cfg)
                figures["wallet histories"] = time.perf_counter() - t
                t = time.perf_counter()
                fund = await collect_funding(helius, db, wallets, config=cfg)
                figures["funding"] = time.perf_counter() - t
                t = time.perf_counter()
                rerun = await discover_wallets(helius, db, cfg, now=end, mints=mints)
                figures["discover_wallets re-run (incremental)"] = time.perf_counter() - t
            floor_s, pages = await floor(sim.url, mints, cfg.concurrency)
        print(f"tokens kept {tok.kept}/{tok.candidates}; token histories: {rep.pages} pages, "
              f"{rep.swaps_stored} swaps; early profitable {rep.early_profitable} on "
              f"{rep.wallets} wallets; history swaps +{hist.swaps_stored}; funding +{fund}; "
              f"re-run stored {rerun.swaps_stored}")
        for name, seconds in figures.items():
            print(f"{name:45s} {seconds:7.2f} s")
        print(f"{'floor: bare httpx token-history pages':45s} {floor_s:7.2f} s ({pages} pages)")
        print(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, seed {args.seed}")


if __name__ == "__main__":
    asyncio.run(main())
