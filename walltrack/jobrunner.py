"""Run a job with a record: start/finish events and a ``job_runs`` row for the status bar.

Every job script wraps its work in :func:`recorded_job`; a crash is recorded as a failed run
with its (redacted) message and re-raised, so the scheduler and the operator both see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from walltrack.logging import get_logger, redact_text
from walltrack.models import JobOutcome, JobRun, utcnow
from walltrack.store import Database
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
