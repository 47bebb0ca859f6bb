"""The scheduler replayed on a simulated market: what the evaluation and the main command run.

One tick per ``step`` of simulated time (a day by default): the chains of
``walltrack.scheduling.research_plan`` that are due run through the very job entry points
the scheduler launches (``walltrack.jobrunner.research_job_main``, here in-process and with
the simulator's clock), then the simulator's clock moves on (``POST /sim/advance``). The
last tick is at ``end``. What this measures is what an operator leaves running.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import Field

from walltrack.errors import WallTrackError
from walltrack.intel.research import RESEARCH_JOBS
from walltrack.jobrunner import research_job_main
from walltrack.live.outcomes_job import shadow_outcomes_main
from walltrack.logging import get_logger
from walltrack.models import DomainModel, JobRun
from walltrack.progress import Progress, no_progress
from walltrack.scheduling import due_chains, research_plan, run_chain
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository, JobRunRepository

log = get_logger(__name__)

# The plan's jobs outside the research chain, by name: the same entry points as their scripts.
LIVE_JOB_MAINS: dict[str, Callable[..., int]] = {"shadow_outcomes": shadow_outcomes_main}

# Against the local simulator: lift the real APIs' throttles (it has none).
SIMULATOR_FORWARD = ("--sim-clock", "--helius-rps", "1000", "--dex-rps", "1000")


class JobFailedError(WallTrackError):
    code = "job_failed"


class ReplayReport(DomainModel):
    ticks: int = 0
    job_runs: dict[str, int] = Field(default_factory=dict)  # job → runs
    stage_seconds: dict[str, float] = Field(default_factory=dict)  # summed over runs
    # api → {"calls", "credits"}: what the jobs' meters counted, priced as the real service
    api_usage: dict[str, dict[str, int]] = Field(default_factory=dict)
    last_summaries: dict[str, str] = Field(default_factory=dict)  # job → its last summary
    started_at: datetime
    ended_at: datetime


def _sim_time(sim: httpx.Client) -> datetime:
    response = sim.get("/sim/state")
    response.raise_for_status()
    return datetime.fromtimestamp(float(response.json()["sim_time"]), UTC)


def replay_schedule(
    settings: Settings, db: Database, sim_url: str, *, end: datetime,
    step: timedelta = timedelta(days=1), forward: Sequence[str] = SIMULATOR_FORWARD,
    progress: Progress | None = None,
    on_tick: Callable[[datetime], None] | None = None,
) -> ReplayReport:
    """Tick from the simulator's current time to ``end``; raise if a job fails.

    ``on_tick(now)`` is called after each tick's jobs ran, before the clock moves on: what
    the store holds then was made from the data before ``now`` only (a walk-forward's
    research snapshot)."""
    progress = progress or no_progress
    plan = research_plan(ConfigRepository(db).load().jobs)
    last: dict[str, datetime] = {}
    with httpx.Client(base_url=sim_url, timeout=30.0) as sim:
        now = _sim_time(sim)
        report = ReplayReport(started_at=now, ended_at=now)
        total = max(1, int(-(-(end - now) // step)) + 1)
        runs_before = {r.id for r in _runs(db)}

        def launch(job: str) -> int:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                if job in RESEARCH_JOBS:
                    code = research_job_main(job, list(forward), settings=settings, db=db)
                else:  # the live jobs of the plan (no signals in a research replay: no-ops)
                    code = LIVE_JOB_MAINS[job](list(forward), settings=settings, db=db)
            report.last_summaries[job] = out.getvalue().strip()
            report.job_runs[job] = report.job_runs.get(job, 0) + 1
            return code

        while True:
            for chain in due_chains(plan, last, now):
                codes = run_chain(chain, launch)
                failed = [job for job, code in codes.items() if code != 0]
                if failed:
                    raise JobFailedError(
                        f"the job {failed[0]} failed at simulated {now.isoformat()}",
                        hint="its job_runs row and the log above hold the error")
                last[chain.head] = now
            if on_tick is not None:
                on_tick(now)
            report.ticks += 1
            progress("simulated days", report.ticks, total)
            if now >= end:
                break
            seconds = min(step, end - now).total_seconds()
            sim.post("/sim/advance", json={"seconds": seconds}).raise_for_status()
            now = _sim_time(sim)
        report.ended_at = now
    for run in _runs(db):
        if run.id in runs_before:
            continue
        for stage in run.stats.get("stages", []):
            name = stage["stage"]
            report.stage_seconds[name] = round(
                report.stage_seconds.get(name, 0.0) + stage["seconds"], 3)
        for api, used in run.stats.get("api_usage", {}).items():
            total = report.api_usage.setdefault(api, {"calls": 0, "credits": 0})
            for key in total:
                total[key] += int(used.get(key, 0))
    log.info("replay_done", ticks=report.ticks, runs=report.job_runs)
    return report


def _runs(db: Database) -> list[JobRun]:
    return JobRunRepository(db).list()
