"""A trading process for the crash tests: decide the pending signals, and with
``--kill-at POINT`` die by SIGKILL at that step of the first order (no cleanup at all).

    python -m tests.trading.crash_worker SIM_URL [--kill-at submitted|sent|landed]

Settings come from the environment (WALLTRACK_DATABASE_URL, the key, …) as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from datetime import timedelta

from tests.trading.harness import trading
from walltrack.models.base import utcnow
from walltrack.settings import load_settings
from walltrack.store import open_database


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sim_url")
    parser.add_argument("--kill-at")
    args = parser.parse_args()
    settings = load_settings()
    db = open_database(settings)

    async def fault(point: str) -> None:
        if point == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    async def go() -> None:
        async with trading(settings, db, args.sim_url, faults=fault) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))

    asyncio.run(go())
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
