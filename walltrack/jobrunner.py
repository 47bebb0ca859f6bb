"""Run a job with a record: start/finish events, a ``job_runs`` row for the status bar, and
the job's API usage added to the store.

Every job script wraps its work in :func:`recorded_job`; a crash is recorded as a failed run
with its (redacted) message and re-raised, so the scheduler and the operator both see it.

**API usage.** :func:`run_job` makes one :class:`~walltrack.clients.usage.UsageMeter` per
run. A work function that declares a parameter named ``meter`` receives it::

    def work(settings, db, stats, meter):
        report = asyncio.run(run_research(settings, db, now=now,
                                          client_options={"meter": meter}))
        ...

and passes it to every client it builds (``XClient.from_settings(settings, meter=meter)``,
or ``client_options={"meter": meter}`` for the pipeline, which forwards its options to every
``from_settings``). The meter is flushed to ``api_usage`` when the job ends — also when it
fails — and its calls and credits per API are added to the run's stats (``api_usage``).
Work functions without a ``meter`` parameter keep working unchanged.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from walltrack.clients.usage import UsageMeter
from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings, get_logger, redact_text
from walltrack.models import JobOutcome, JobRun, utcnow
from walltrack.settings import Settings, load_settings
from walltrack.store import Database, open_database
from walltrack.store.repositories import JobRunRepository
from walltrack.store.usage import UsageRepository


@contextmanager
def recorded_job(
    db: Database, name: str, *, meter: UsageMeter | None = None
) -> Iterator[dict[str, Any]]:
    """Yield a dict the job fills with its stats; the run is stored when the block ends.

    With a ``meter``, its usage is flushed to the store when the block ends (success or
    failure) and summarized in the stats under ``api_usage``.
    """
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
        _flush_usage(db, meter, stats, log)
        run = run.model_copy(update={
            "finished_at": utcnow(), "outcome": JobOutcome.failed,
            "message": redact_text(f"{type(exc).__name__}: {exc}")[:2000], "stats": stats})
        repo.upsert(run)
        log.error("job_failed", error=run.message,
                  seconds=round(time.perf_counter() - started, 3))
        raise
    _flush_usage(db, meter, stats, log)
    seconds = round(time.perf_counter() - started, 3)
    stats.setdefault("seconds", seconds)
    repo.upsert(run.model_copy(update={
        "finished_at": utcnow(), "outcome": JobOutcome.succeeded, "stats": stats}))
    log.info("job_finished", seconds=seconds, **{k: v for k, v in stats.items()
                                                  if k != "seconds"})


def _flush_usage(db: Database, meter: UsageMeter | None, stats: dict[str, Any],
                 log: Any) -> None:
    """Store the meter's usage; a failure here is logged, never allowed to replace the
    job's own outcome (the counts stay in the meter for a later flush)."""
    if meter is None:
        return
    usage = {api: {"calls": u.calls, "credits": u.credits}
             for api, u in meter.snapshot().items() if u.calls or u.credits}
    if usage:
        stats.setdefault("api_usage", usage)
    try:
        UsageRepository(db).flush(meter)
    except (WallTrackError, psycopg.Error) as exc:
        log.error("usage_flush_failed", error=redact_text(str(exc))[:500])


JobWork = Callable[[Settings, Database, dict[str, Any]], str]
MeteredJobWork = Callable[[Settings, Database, dict[str, Any], UsageMeter], str]


def _wants_meter(work: Callable[..., str]) -> bool:
    try:
        return "meter" in inspect.signature(work).parameters
    except (TypeError, ValueError):  # a builtin or C callable: the plain contract
        return False


def run_job(name: str, work: JobWork | MeteredJobWork) -> int:
    """The shape of every job script: settings → logging → store → ``work`` inside
    :func:`recorded_job` (it fills the stats dict and returns a one-line summary, printed).
    ``work(settings, db, stats)``, or ``work(settings, db, stats, meter)`` to get the run's
    usage meter (see the module docstring). A ``WallTrackError`` becomes its message on
    stderr and exit code 2 — never a traceback.
    """
    try:
        settings = load_settings()
        configure_from_settings(settings)
        with open_database(settings) as db:
            meter = UsageMeter()
            with recorded_job(db, name, meter=meter) as stats:
                if _wants_meter(work):
                    summary = work(settings, db, stats, meter=meter)  # type: ignore[call-arg]
                else:
                    summary = work(settings, db, stats)  # type: ignore[call-arg]
            print(summary)
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
