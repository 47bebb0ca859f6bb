"""Discover tokens on DexScreener (boosts, profiles, search) through the configured filters.

    python jobs/discover_tokens.py [--sim-clock] [--now ISO]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _acquisition import dexscreener, now_for, parser, run

from walltrack.intel.token_discovery import discover_tokens
from walltrack.models import DynamicConfig
from walltrack.progress import Progress
from walltrack.settings import Settings
from walltrack.store import Database


async def work(settings: Settings, db: Database, config: DynamicConfig,
               args: argparse.Namespace, progress: Progress) -> tuple[dict[str, Any], str]:
    now = await now_for(settings, args)
    async with dexscreener(settings, args) as dex:
        report = await discover_tokens(dex, db, config.token_discovery, now=now,
                                       progress=progress)
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(report.rejected.items())) or "none"
    summary = (f"discover_tokens: {report.candidates} candidates, {report.kept} kept "
               f"({report.new_tokens} new), rejected: {rejected}; {report.seconds:.1f}s")
    if report.source_errors:
        summary += f"; listings failed: {', '.join(report.source_errors)}"
    return report.model_dump(mode="json"), summary


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__ or "").parse_args(argv)
    return run("discover_tokens", args, work)


if __name__ == "__main__":
    raise SystemExit(main())
