"""Run a job with a record: start/finish events and a ``job_runs`` row for the status bar.

Every job script wraps its work in :func:`recorded_job`; a crash is recorded as a failed run
with its (redacted) message and re-raised, so the scheduler and the operator both see it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings, get_logger, redact_text
from walltrack.models import JobOutcome, JobRun, utcnow
from walltrack.settings import Settings, load_settings
from walltrack.store import Database, open_database
from walltrack.store.repositories import JobRunRepository


@contextmanager
def recorded_job(db: Database, name: str) -> Iterator[dict[str, Any]]:
    """Yield a dict the job fills with its stats; the run is stored when the block ends."""
    repo = JobRunRepository(db)
    run = JobRun(job=name)
    repo.upsert(run)
    log = get_logger("walltrack.jobs", job=name, run_id=run.id)
    log.info("job_started")
    stats: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield stats
    except BaseException as exc:
        run = run.model_copy(update={
            "finished_at": utcnow(), "outcome": JobOutcome.failed,
            "message": redact_text(f"{type(exc).__name__}: {exc}")[:2000], "stats": stats})
        repo.upsert(run)
        log.error("job_failed", error=run.message,
                  seconds=round(time.perf_counter() - started, 3))
        raise
    seconds = round(time.perf_counter() - started, 3)
    stats.setdefault("seconds", seconds)
    repo.upsert(run.model_copy(update={
        "finished_at": utcnow(), "outcome": JobOutcome.succeeded, "stats": stats}))
    log.info("job_finished", seconds=seconds, **{k: v for k, v in stats.items()
                                                  if k != "seconds"})


JobWork = Callable[[Settings, Database, dict[str, Any]], str]


def run_job(name: str, work: JobWork) -> int:
    """The shape of every job script: settings → logging → store → ``work`` inside
    :func:`recorded_job` (it fills the stats dict and returns a one-line summary, printed).
    A ``WallTrackError`` becomes its message on stderr and exit code 2 — never a traceback.
    """
    try:
        settings = load_settings()
        configure_from_settings(settings)
        with open_database(settings) as db:
            with recorded_job(db, name) as stats:
                summary = work(settings, db, stats)
            print(summary)
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
