"""What the acquisition jobs share: options, clients, the clock, the run wrapper.

    --sim-clock        judge "now" by the simulator's clock (GET /sim/state at the
                       DexScreener URL); the default is the wall clock
    --now ISO          an explicit "now" (UTC)
    --helius-rps N     Helius rate limit (default: the client's free-plan 10 req/s);
    --dex-rps N        DexScreener request rate; raise both against the simulator
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from walltrack.clients.dexscreener import DEXSCREENER_POLICY, DexScreenerClient
from walltrack.clients.helius import HELIUS_POLICY, HeliusClient
from walltrack.intel.market_clock import market_now
from walltrack.jobrunner import run_job
from walltrack.models import DynamicConfig
from walltrack.progress import log_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sim-clock", action="store_true",
                   help="use the simulator's clock as 'now' (GET /sim/state)")
    p.add_argument("--now", type=datetime.fromisoformat, default=None,
                   help="an explicit 'now' (ISO 8601, UTC)")
    p.add_argument("--helius-rps", type=float, default=None)
    p.add_argument("--dex-rps", type=float, default=None)
    return p


def dexscreener(settings: Settings, args: argparse.Namespace) -> DexScreenerClient:
    if args.dex_rps:
        # The client's two per-minute buckets still apply; this lifts the general limit.
        policy = DEXSCREENER_POLICY.with_(rate_per_second=args.dex_rps,
                                          burst=max(10, int(args.dex_rps)))
        return DexScreenerClient.from_settings(settings, policy=policy)
    return DexScreenerClient.from_settings(settings)


def helius(settings: Settings, args: argparse.Namespace) -> HeliusClient:
    if args.helius_rps:
        policy = HELIUS_POLICY.with_(rate_per_second=args.helius_rps,
                                     burst=max(10, int(args.helius_rps)))
        return HeliusClient.from_settings(settings, policy=policy)
    return HeliusClient.from_settings(settings)


async def now_for(settings: Settings, args: argparse.Namespace) -> datetime:
    if args.now is not None:
        return args.now if args.now.tzinfo else args.now.replace(tzinfo=UTC)
    return await market_now(str(settings.dexscreener_url), use_simulator=args.sim_clock)


Work = Callable[[Settings, Database, DynamicConfig, argparse.Namespace, Any],
                Awaitable[tuple[dict[str, Any], str]]]


def run(name: str, args: argparse.Namespace, work: Work) -> int:
    """``work`` as a recorded job (see ``walltrack.jobrunner.run_job``)."""

    def body(settings: Settings, db: Database, stats: dict[str, Any]) -> str:
        config = ConfigRepository(db).load()
        result, summary = asyncio.run(work(settings, db, config, args, log_progress(name)))
        stats.update(result)
        return summary

    return run_job(name, body)
