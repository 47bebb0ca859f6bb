"""Refresh every active token's snapshot; mark dead and rugged tokens.

    python jobs/refresh_tokens.py [--sim-clock] [--now ISO]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _acquisition import dexscreener, now_for, parser, run

from walltrack.intel.surveillance import refresh_tokens
from walltrack.models import DynamicConfig
from walltrack.progress import Progress
from walltrack.settings import Settings
from walltrack.store import Database


async def work(settings: Settings, db: Database, config: DynamicConfig,
               args: argparse.Namespace, progress: Progress) -> tuple[dict[str, Any], str]:
    now = await now_for(settings, args)
    async with dexscreener(settings, args) as dex:
        report = await refresh_tokens(dex, db, config.token_discovery, now=now,
                                      progress=progress)
    summary = (f"refresh_tokens: {report.tokens} active, {report.snapshots} snapshots, "
               f"{report.dead} dead, {report.rugged} rugged, {report.missing} missing; "
               f"{report.seconds:.1f}s")
    if report.values_are_stale:
        summary += (f"\nWARNING: {report.stale} token(s) stale, nothing stored for them: "
                    f"{report.stale_reason}")
    return report.model_dump(mode="json"), summary


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__ or "").parse_args(argv)
    return run("refresh_tokens", args, work)


if __name__ == "__main__":
    raise SystemExit(main())
