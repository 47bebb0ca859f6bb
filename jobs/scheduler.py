"""Run every job on its interval (DynamicConfig.jobs, minutes) with APScheduler.

    python jobs/scheduler.py            # run forever
    python jobs/scheduler.py --plan     # print what would be scheduled, and what is missing
    python jobs/scheduler.py --once     # run every chain once, in order, then exit
    [--sim-clock] [--helius-rps N] [--dex-rps N]   forwarded to the acquisition jobs

Chains: ``discover_wallets`` is followed by ``profile_wallets``, which is followed by
``build_clusters`` (each also keeps its own interval). Only jobs whose script exists under
``jobs/`` are registered — the others are named as missing — and each run is a separate
process (``python jobs/<name>.py``): a job that crashes or leaks cannot take the scheduler
down, and every job records its own run (``recorded_job``) for the status bar.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

JOBS_DIR = Path(__file__).resolve().parent
JOB_NAMES = ("discover_tokens", "refresh_tokens", "discover_wallets", "profile_wallets",
             "build_clusters", "sync_webhooks")
FOLLOWERS = {"discover_wallets": "profile_wallets", "profile_wallets": "build_clusters"}
# Jobs that accept the acquisition options (--sim-clock, --helius-rps, --dex-rps).
ACQUISITION = {"discover_tokens", "refresh_tokens", "discover_wallets"}


@dataclass
class Plan:
    intervals: dict[str, int]  # job → minutes, for jobs whose script exists
    missing: list[str]
    chains: dict[str, list[str]] = field(default_factory=dict)  # job → followers that exist


def make_plan(intervals: dict[str, int], jobs_dir: Path = JOBS_DIR) -> Plan:
    present = {n for n in JOB_NAMES if (jobs_dir / f"{n}.py").is_file()}
    chains: dict[str, list[str]] = {}
    for job in present:
        chain, nxt = [], FOLLOWERS.get(job)
        while nxt is not None and nxt in present:
            chain.append(nxt)
            nxt = FOLLOWERS.get(nxt)
        chains[job] = chain
    return Plan(
        intervals={n: intervals[n] for n in JOB_NAMES if n in present},
        missing=[n for n in JOB_NAMES if n not in present],
        chains=chains,
    )


def run_job(name: str, forward: list[str], jobs_dir: Path = JOBS_DIR) -> int:
    """One job as a process; its own record says how it went. Returns its exit code."""
    args = [sys.executable, str(jobs_dir / f"{name}.py")]
    if name in ACQUISITION:
        args += forward
    started = time.monotonic()
    code = subprocess.run(args, check=False).returncode  # noqa: S603 (our own scripts)
    print(f"[scheduler] {name} exited {code} after {time.monotonic() - started:.1f}s",
          flush=True)
    return code


def run_chain(name: str, plan: Plan, forward: list[str]) -> None:
    """A job, then its followers while each succeeds (profiling after discovery…)."""
    if run_job(name, forward) != 0:
        return
    for follower in plan.chains.get(name, []):
        if run_job(follower, forward) != 0:
            return


def load_intervals() -> dict[str, int]:
    from walltrack.logging import configure_from_settings
    from walltrack.settings import load_settings
    from walltrack.store import open_database
    from walltrack.store.repositories import ConfigRepository

    settings = load_settings()
    configure_from_settings(settings)
    with open_database(settings) as db:
        return ConfigRepository(db).load().jobs.model_dump()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="run WallTrack's jobs on their intervals")
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
        plan = make_plan(load_intervals())
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, minutes in plan.intervals.items():
        then = " → ".join(plan.chains.get(name, []))
        print(f"[scheduler] {name}: every {minutes} min" + (f", then {then}" if then else ""))
    if plan.missing:
        print(f"[scheduler] missing (not scheduled): {', '.join(plan.missing)}")
    if args.plan:
        return 0
    if args.once:
        followers = {f for chain in plan.chains.values() for f in chain}
        for name in plan.intervals:
            if name not in followers:
                run_chain(name, plan, forward)
        return 0

    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    followers = {f for chain in plan.chains.values() for f in chain}
    for name, minutes in plan.intervals.items():
        # Heads of chains start at once; followers first run after their leader.
        first = None if name in followers else datetime.now(UTC)
        scheduler.add_job(run_chain, "interval", minutes=minutes, args=[name, plan, forward],
                          id=name, max_instances=1, coalesce=True,
                          **({"next_run_time": first} if first else {}))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
