"""What the scheduler runs and when: one plan for the real scheduler and the evaluation.

Four heads, each on its interval (``DynamicConfig.jobs``, minutes):

- ``discover_tokens`` and ``refresh_tokens`` (cheap, DexScreener only);
- the research chain ``discover_wallets → expand_tokens → profile_wallets →
  build_clusters`` on ``jobs.research`` — a follower runs only after its leader succeeded;
- ``shadow_outcomes`` (what prices did after each signal; nothing to do without signals).

Beside them, the live side's ``sync_webhooks`` (``jobs.sync_webhooks``) when the signal
source uses webhooks (:func:`scheduler_plan`; the evaluation replays ``research_plan`` only).

Heads that are due together run in ``JOB_ORDER`` (tokens first, then the chain), so one
tick of the plan runs the research stages in exactly ``walltrack.intel.research.CHAIN``
order. ``jobs/scheduler.py`` launches each job as a process on the wall clock; the
evaluation calls the same job entry points in-process, one simulated day at a time. A head
that missed several intervals runs once (APScheduler's ``coalesce``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from walltrack.intel.research import JOB_ORDER
from walltrack.models import DomainModel
from walltrack.models.config import JobIntervals

CHAIN_HEAD = "discover_wallets"


class ScheduledChain(DomainModel):
    head: str
    minutes: int
    jobs: tuple[str, ...]  # head first, then its followers


def research_plan(intervals: JobIntervals) -> list[ScheduledChain]:
    """The chains in the order they run when due together."""
    chain = JOB_ORDER[JOB_ORDER.index(CHAIN_HEAD):]
    return [
        ScheduledChain(head="discover_tokens", minutes=intervals.discover_tokens,
                       jobs=("discover_tokens",)),
        ScheduledChain(head="refresh_tokens", minutes=intervals.refresh_tokens,
                       jobs=("refresh_tokens",)),
        ScheduledChain(head=CHAIN_HEAD, minutes=intervals.research, jobs=chain),
        ScheduledChain(head="shadow_outcomes", minutes=intervals.shadow_outcomes,
                       jobs=("shadow_outcomes",)),
    ]


def scheduler_plan(intervals: JobIntervals, *, webhooks: bool) -> list[ScheduledChain]:
    """What ``jobs/scheduler.py`` runs: the research plan, then the webhook sync when the
    signal source uses webhooks (``WALLTRACK_SIGNAL_SOURCE`` webhook or both)."""
    plan = research_plan(intervals)
    if webhooks:
        plan.append(ScheduledChain(head="sync_webhooks", minutes=intervals.sync_webhooks,
                                   jobs=("sync_webhooks",)))
    return plan


def due_chains(plan: list[ScheduledChain], last_runs: Mapping[str, datetime],
               now: datetime) -> list[ScheduledChain]:
    """The chains whose interval has passed since their last run (never run: due)."""
    return [c for c in plan if c.head not in last_runs
            or now - last_runs[c.head] >= timedelta(minutes=c.minutes)]


def run_chain(chain: ScheduledChain, run_job: Callable[[str], int]) -> dict[str, int]:
    """Run a chain's jobs while each succeeds; return each job's exit code."""
    codes: dict[str, int] = {}
    for job in chain.jobs:
        codes[job] = run_job(job)
        if codes[job] != 0:
            break
    return codes
