"""The ``shadow_outcomes`` job: ``jobs/shadow_outcomes.py`` and the lab's replay call
:func:`shadow_outcomes_main` (the same entry point, as for the research jobs).

It accepts the flags the scheduler forwards to every job (``--sim-clock``, ``--helius-rps``,
``--dex-rps``); only the clock and the DexScreener/Jupiter rates matter here.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.jupiter import JUPITER_KEYLESS_POLICY, JupiterClient
from walltrack.clients.usage import UsageMeter
from walltrack.intel.market_clock import market_now
from walltrack.jobrunner import add_clock_arguments, client_options, run_job
from walltrack.live.outcomes import OutcomesRun, record_outcomes
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository

JOB = "shadow_outcomes"


def shadow_outcomes_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"jobs/{JOB}.py",
        description="schedule and measure the shadow outcomes of every signal")
    add_clock_arguments(p, data_clock=False)
    p.add_argument("--jup-rps", type=float, default=None,
                   help="Jupiter requests per second (default: the keyless limit)")
    p.add_argument("--dex-rps", type=float, default=None,
                   help="DexScreener requests per second (the price fallback)")
    p.add_argument("--helius-rps", type=float, default=None,
                   help="accepted (the scheduler forwards it to every job); unused")
    return p


async def _now(settings: Settings, args: argparse.Namespace) -> datetime:
    if args.now is not None:
        now: datetime = args.now
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    return await market_now(str(settings.dexscreener_url), use_simulator=args.sim_clock)


def shadow_outcomes_main(argv: Sequence[str] | None = None, *,
                         settings: Settings | None = None, db: Database | None = None) -> int:
    args = shadow_outcomes_parser().parse_args(argv)

    def work(run_settings: Settings, run_db: Database, stats: dict[str, Any],
             meter: UsageMeter) -> str:
        options = client_options(args)
        options.common["meter"] = meter
        jupiter: dict[str, Any] = {"meter": meter}
        if args.jup_rps:
            jupiter["policy"] = JUPITER_KEYLESS_POLICY.with_(
                rate_per_second=args.jup_rps, burst=max(1, int(args.jup_rps)))
        sources = ConfigRepository(run_db).load().sources

        async def go() -> OutcomesRun:
            now = await _now(run_settings, args)
            async with DexScreenerClient.from_settings(
                    run_settings, **options.for_("dexscreener")) as dex, \
                    JupiterClient.from_settings(run_settings, dexscreener=dex,
                                                **jupiter) as jup:
                return await record_outcomes(run_db, jup, now, sources)

        run = asyncio.run(go())
        stats.update(now=run.now.isoformat(), scheduled=run.scheduled,
                     **run.measure.model_dump())
        return run.summary()

    return run_job(JOB, work, settings=settings, db=db)
