"""Run the research jobs (and the webhook sync) on their intervals (DynamicConfig.jobs,
minutes) with APScheduler.

    python jobs/scheduler.py            # run forever
    python jobs/scheduler.py --plan     # print what would be scheduled
    python jobs/scheduler.py --once     # run every chain once, in order, then exit
    [--sim-clock] [--helius-rps N] [--dex-rps N]   forwarded to every job

The plan is walltrack/scheduling.py (the evaluation replays the very same plan through the
same job entry points, one simulated day at a time). Each run is a separate process
(``python jobs/<name>.py``): a job that crashes or leaks cannot take the scheduler down, and
every job records its own run for the status bar.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from walltrack.scheduling import CHAIN_HEAD, ScheduledChain, run_chain, scheduler_plan

JOBS_DIR = Path(__file__).resolve().parent
FIRST_RESEARCH_DELAY = 10  # seconds: after the first token discovery and refresh


def run_job_process(name: str, forward: list[str]) -> int:
    """One job as a process; its own record says how it went. Returns its exit code."""
    args = [sys.executable, str(JOBS_DIR / f"{name}.py"), *forward]
    started = time.monotonic()
    code = subprocess.run(args, check=False).returncode  # noqa: S603 (our own scripts)
    print(f"[scheduler] {name} exited {code} after {time.monotonic() - started:.1f}s",
          flush=True)
    return code


def load_plan() -> list[ScheduledChain]:
    from walltrack.logging import configure_from_settings
    from walltrack.settings import SignalSourceMode, load_settings
    from walltrack.store import open_database
    from walltrack.store.repositories import ConfigRepository

    settings = load_settings()
    configure_from_settings(settings)
    with open_database(settings) as db:
        return scheduler_plan(ConfigRepository(db).load().jobs,
                              webhooks=settings.signal_source is not SignalSourceMode.polling)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="run WallTrack's research jobs on their intervals")
    p.add_argument("--plan", action="store_true")
    p.add_argument("--once", action="store_true")
    p.add_argument("--sim-clock", action="store_true")
    p.add_argument("--helius-rps", type=float, default=None)
    p.add_argument("--dex-rps", type=float, default=None)
    args = p.parse_args(argv)
    forward = (["--sim-clock"] if args.sim_clock else []) + (
        ["--helius-rps", str(args.helius_rps)] if args.helius_rps else []) + (
        ["--dex-rps", str(args.dex_rps)] if args.dex_rps else [])

    from walltrack.errors import WallTrackError

    try:
        plan = load_plan()
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = [j for c in plan for j in c.jobs if not (JOBS_DIR / f"{j}.py").is_file()]
    if missing:
        print(f"error: job script(s) missing under {JOBS_DIR}: {', '.join(missing)}",
              file=sys.stderr)
        return 2
    for chain in plan:
        then = " → ".join(chain.jobs[1:])
        print(f"[scheduler] {chain.head}: every {chain.minutes} min"
              + (f", then {then}" if then else ""), flush=True)
    if args.plan:
        return 0

    def launch(name: str) -> int:
        return run_job_process(name, forward)

    if args.once:
        codes = {job: code for chain in plan for job, code in run_chain(chain, launch).items()}
        return 0 if all(code == 0 for code in codes.values()) else 1

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    # Two lanes of one worker each. The research chain runs for minutes (Helius histories,
    # profiles, clusters) in a lane of its own, so the token refreshes, the webhook sync and
    # the shadow outcomes keep their intervals meanwhile (a single lane starved them all:
    # the soak, docs/operations.md). Within a lane, chains due together run one after the
    # other in plan order; the research chain's first run waits for the token chains' first.
    scheduler = BlockingScheduler(timezone="UTC", executors={
        "default": ThreadPoolExecutor(max_workers=1),
        "research": ThreadPoolExecutor(max_workers=1)})
    first = datetime.now(UTC)
    for index, chain in enumerate(plan):
        research = chain.head == CHAIN_HEAD
        scheduler.add_job(run_chain, "interval", minutes=chain.minutes, args=[chain, launch],
                          id=chain.head, max_instances=1, coalesce=True,
                          misfire_grace_time=None,
                          executor="research" if research else "default",
                          next_run_time=first + timedelta(
                              seconds=FIRST_RESEARCH_DELAY if research else index))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
