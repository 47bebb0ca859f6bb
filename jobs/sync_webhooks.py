"""Keep the Helius webhooks' addresses equal to the watchlist (walltrack/live/webhook_sync.py).

    python jobs/sync_webhooks.py [--dry-run] [--helius-rps N]
        [--sim-clock] [--dex-rps N]   accepted (the scheduler forwards them to every job)

Needs WALLTRACK_WEBHOOK_URL, WALLTRACK_WEBHOOK_AUTH_HEADER and WALLTRACK_HELIUS_API_KEY.
The scheduler plans it every ``jobs.sync_webhooks`` minutes when WALLTRACK_SIGNAL_SOURCE is
``webhook`` or ``both``; the outcome is kept in ``live_status`` ('webhooks') for the status
bar, and the run in ``job_runs`` like every job.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from walltrack.clients.helius import HELIUS_POLICY, HeliusClient
from walltrack.clients.usage import UsageMeter
from walltrack.jobrunner import run_job
from walltrack.live.webhook_sync import run_sync
from walltrack.settings import Settings
from walltrack.store import Database


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jobs/sync_webhooks.py",
                                description="keep the Helius webhooks equal to the watchlist")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--helius-rps", type=float, default=None,
                   help="Helius requests per second; default: the plan's limit")
    p.add_argument("--sim-clock", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dex-rps", type=float, default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None, *, settings: Settings | None = None,
         db: Database | None = None) -> int:
    args = parser().parse_args(argv)

    def work(run_settings: Settings, run_db: Database, stats: dict[str, Any],
             meter: UsageMeter) -> str:
        options: dict[str, Any] = {"meter": meter}
        if args.helius_rps:
            options["policy"] = HELIUS_POLICY.with_(rate_per_second=args.helius_rps,
                                                    burst=max(10, int(args.helius_rps)))
        async def go() -> str:
            async with HeliusClient.from_settings(run_settings, **options) as helius:
                report = await run_sync(run_settings, run_db, helius=helius,
                                        dry_run=args.dry_run)
            stats.update(webhooks=len(report.webhook_ids), addresses=report.addresses,
                         dry_run=args.dry_run, **report.counts())
            lines = [("plan (dry run) — " if args.dry_run else "") + report.summary()]
            lines += [f"  {a.kind.value} {a.webhook_id or '(new)'}: {len(a.addresses)} "
                      f"addresses ({', '.join(a.reasons)})" for a in report.actions]
            return "\n".join(lines)

        return asyncio.run(go())

    return run_job("sync_webhooks", work, settings=settings, db=db)


if __name__ == "__main__":
    raise SystemExit(main())
