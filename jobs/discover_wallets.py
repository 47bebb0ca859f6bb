"""Discover wallets from active tokens' swap histories, then collect their own histories
(profiling window) and their funding transfers.

    python jobs/discover_wallets.py [--sim-clock] [--now ISO] [--helius-rps N]
                                    [--no-histories] [--no-funding]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _acquisition import helius, now_for, parser, run

from walltrack.intel.wallet_discovery import (
    collect_funding,
    collect_wallet_histories,
    discover_wallets,
)
from walltrack.models import (
    DecayStatus,
    DynamicConfig,
)
from walltrack.progress import Progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import WalletRepository


async def work(settings: Settings, db: Database, config: DynamicConfig,
               args: argparse.Namespace, progress: Progress) -> tuple[dict[str, Any], str]:
    now = await now_for(settings, args)
    stats: dict[str, Any] = {}
    async with helius(settings, args) as client:
        report = await discover_wallets(client, db, config.wallet_discovery, now=now,
                                        progress=progress)
        stats.update(report.model_dump(mode="json"))
        wallets = [w.address for w in WalletRepository(db).list()
                   if w.status is not DecayStatus.blacklisted]
        stats["known_wallets"] = len(wallets)
        if not args.no_histories:
            started = time.perf_counter()
            since = now - timedelta(days=config.profiling.window_days)
            stats["history_swaps_stored"] = await collect_wallet_histories(
                client, db, wallets, since=since, progress=progress,
                config=config.wallet_discovery)
            stats["history_seconds"] = round(time.perf_counter() - started, 3)
        if not args.no_funding:
            started = time.perf_counter()
            stats["funding_stored"] = await collect_funding(
                client, db, wallets, progress=progress, config=config.wallet_discovery)
            stats["funding_seconds"] = round(time.perf_counter() - started, 3)
    summary = (f"discover_wallets: {report.tokens} tokens, {report.swaps_stored} new swaps, "
               f"{report.early_profitable} early profitable buyers on {report.wallets} "
               f"wallets ({report.new_wallets} new); histories "
               f"+{stats.get('history_swaps_stored', '-')} swaps, funding "
               f"+{stats.get('funding_stored', '-')} transfers")
    return stats, summary


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__ or "")
    p.add_argument("--no-histories", action="store_true")
    p.add_argument("--no-funding", action="store_true")
    return run("discover_wallets", p.parse_args(argv), work)


if __name__ == "__main__":
    raise SystemExit(main())
