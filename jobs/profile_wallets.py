"""Profile every tracked wallet, then apply decay and the watchlist rule.

    python jobs/profile_wallets.py [--data-clock]

Runs on what the store already holds (discovery and history collection fill it). "Now" is
the wall clock; ``--data-clock`` takes the newest stored swap instead (a simulated market
lives in the past, so the wall clock would call every wallet dormant).
"""

from __future__ import annotations

import argparse
from typing import Any

from walltrack.jobrunner import run_job
from walltrack.models import utcnow
from walltrack.progress import log_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository

JOB = "profile_wallets"


def main(argv: list[str] | None = None) -> int:
    # Imported here so the scheduler can import this module cheaply.
    from walltrack.intel.pipeline import run_analysis
    from walltrack.intel.profiling import latest_swap_at

    parser = argparse.ArgumentParser(description="profile wallets, then decay and watchlist")
    parser.add_argument("--data-clock", action="store_true",
                        help="now = the newest stored swap (simulated markets)")
    args = parser.parse_args([] if argv is None and __name__ != "__main__" else argv)

    def work(_settings: Settings, db: Database, stats: dict[str, Any]) -> str:
        config = ConfigRepository(db).load()
        now = (latest_swap_at(db) if args.data_clock else None) or utcnow()
        result = run_analysis(db, config, now=now, progress=log_progress(JOB))
        stats.update(result)
        profile, decay, watch = result["profile"], result["decay"], result["watchlist"]
        return (f"profiled {profile['wallets']} wallets from {profile['swaps']} swaps "
                f"({profile['bots']} bots); decay changed {decay['changed']} statuses "
                f"{decay['by_status']}; watchlist {watch['size']} "
                f"(+{watch['added']} −{watch['removed']})")

    return run_job(JOB, work)


if __name__ == "__main__":
    raise SystemExit(main())
