"""Run a job with a record: start/finish events, a ``job_runs`` row for the status bar, and
the job's API usage added to the store.

Every job script wraps its work in :func:`recorded_job`; a crash is recorded as a failed run
with its (redacted) message and re-raised, so the scheduler and the operator both see it.

**API usage.** :func:`run_job` makes one :class:`~walltrack.clients.usage.UsageMeter` per
run. A work function that declares a parameter named ``meter`` receives it::

    def work(settings, db, stats, meter):
        options = ClientOptions(common={"meter": meter})  # every client of the run
        report = asyncio.run(run_research_job(job, settings, db, now=now, options=options))
        ...

and passes it to every client it builds (``XClient.from_settings(settings, meter=meter)``;
the research chain forwards ``ClientOptions.common`` to every ``from_settings``). The meter
is flushed to ``api_usage`` when the job ends — also when it fails — and its calls and
credits per API are added to the run's stats (``api_usage``). Work functions without a
``meter`` parameter keep working unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from walltrack.clients.dexscreener import DEXSCREENER_POLICY
from walltrack.clients.helius import HELIUS_POLICY
from walltrack.clients.solana_rpc import RPC_POLICY
from walltrack.clients.usage import UsageMeter
from walltrack.errors import WallTrackError
from walltrack.intel.market_clock import market_now
from walltrack.intel.profiling import latest_swap_at
from walltrack.intel.research import (
    RESEARCH_JOBS,
    ClientOptions,
    ResearchReport,
    run_research_job,
)
from walltrack.logging import configure_from_settings, get_logger, redact_text
from walltrack.models import JobOutcome, JobRun, utcnow
from walltrack.progress import log_progress
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


def _sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_on_sigterm() -> None:
    """A job process told to stop (the scheduler or the service stopping) unwinds as an exit,
    so :func:`recorded_job` records its run as failed instead of leaving it ``running``."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)


JobWork = Callable[[Settings, Database, dict[str, Any]], str]
MeteredJobWork = Callable[[Settings, Database, dict[str, Any], UsageMeter], str]


def _wants_meter(work: Callable[..., str]) -> bool:
    try:
        return "meter" in inspect.signature(work).parameters
    except (TypeError, ValueError):  # a builtin or C callable: the plain contract
        return False


def run_job(name: str, work: JobWork | MeteredJobWork, *, settings: Settings | None = None,
            db: Database | None = None) -> int:
    """The shape of every job script: settings → logging → store → ``work`` inside
    :func:`recorded_job` (it fills the stats dict and returns a one-line summary, printed).
    ``work(settings, db, stats)``, or ``work(settings, db, stats, meter)`` to get the run's
    usage meter (see the module docstring). A ``WallTrackError`` becomes its message on
    stderr and exit code 2 — never a traceback.

    ``settings`` and ``db`` are given by an in-process driver (the evaluation replays the
    scheduler through these very entry points); a script passes neither.
    """
    try:
        if settings is None:
            stop_on_sigterm()
            settings = load_settings()
            configure_from_settings(settings)
        with ExitStack() as stack:
            if db is None:
                db = stack.enter_context(open_database(settings))
            meter = UsageMeter()
            with recorded_job(db, name, meter=meter) as stats:
                if _wants_meter(work):
                    summary = work(settings, db, stats, meter=meter)  # type: ignore[call-arg]
                else:
                    summary = work(settings, db, stats)  # type: ignore[call-arg]
            print(summary, flush=True)
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


# Research is batch work holding many pages of transactions alive: with the default
# thresholds (700, 10, 10) the cyclic collector walks every live object thousands of times
# per run. Measured on wallet histories: 27 → 51 pages/s under cProfile (gc off: 54).
BATCH_GC_THRESHOLDS = (100_000, 50, 100)


def batch_gc() -> None:
    """Collect garbage less often: for a job process (or the lab replaying jobs)."""
    gc.set_threshold(*BATCH_GC_THRESHOLDS)


def add_clock_arguments(p: argparse.ArgumentParser, *, data_clock: bool) -> None:
    """A job's clock: the wall clock, the simulator's, the newest stored swap, or given."""
    clock = p.add_mutually_exclusive_group()
    clock.add_argument("--sim-clock", action="store_true",
                       help="now = the simulator's clock (GET /sim/state at the DexScreener URL)")
    if data_clock:
        clock.add_argument("--data-clock", action="store_true",
                           help="now = the newest stored swap (a simulated market in the past)")
    clock.add_argument("--now", type=datetime.fromisoformat, default=None,
                       help="an explicit 'now' (ISO 8601, UTC)")


def research_parser(job: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"jobs/{job}.py",
                                description=f"the research job {job!r}: "
                                + " → ".join(RESEARCH_JOBS[job]))
    add_clock_arguments(p, data_clock=True)
    p.add_argument("--helius-rps", type=float, default=None,
                   help="Helius (and RPC) requests per second; default: the plan's limit")
    p.add_argument("--dex-rps", type=float, default=None,
                   help="DexScreener requests per second (its per-minute buckets still apply)")
    return p


def client_options(args: argparse.Namespace) -> ClientOptions:
    """Rate overrides from the command line (raise them against the local simulator)."""
    options = ClientOptions()
    if args.helius_rps:
        burst = max(10, int(args.helius_rps))
        options.helius["policy"] = HELIUS_POLICY.with_(rate_per_second=args.helius_rps,
                                                       burst=burst)
        options.rpc["policy"] = RPC_POLICY.with_(rate_per_second=args.helius_rps, burst=burst)
    if args.dex_rps:
        options.dexscreener["policy"] = DEXSCREENER_POLICY.with_(
            rate_per_second=args.dex_rps, burst=max(10, int(args.dex_rps)))
    return options


async def job_now(settings: Settings, db: Database, args: argparse.Namespace) -> datetime:
    if args.now is not None:
        return args.now if args.now.tzinfo else args.now.replace(tzinfo=UTC)
    if args.data_clock:
        return latest_swap_at(db) or utcnow()
    return await market_now(str(settings.dexscreener_url), use_simulator=args.sim_clock)


def research_job_main(job: str, argv: Sequence[str] | None = None, *,
                      settings: Settings | None = None, db: Database | None = None) -> int:
    """The entry point of every research job script (``python jobs/<job>.py``): its slice
    of the research chain (``walltrack.intel.research.RESEARCH_JOBS``) as a recorded job.
    The scheduler runs the scripts; the evaluation calls this very function in-process."""
    args = research_parser(job).parse_args(argv)
    batch_gc()

    def work(run_settings: Settings, run_db: Database, stats: dict[str, Any],
             meter: UsageMeter) -> str:
        options = client_options(args)
        options.common["meter"] = meter  # every client of the run counts in the job's meter

        async def go() -> ResearchReport:
            now = await job_now(run_settings, run_db, args)
            return await run_research_job(job, run_settings, run_db, now=now,
                                          progress=log_progress(job), options=options)

        report = asyncio.run(go())
        stats["now"] = report.now.isoformat()
        stats["stages"] = [run.model_dump(mode="json", exclude={"summary"})
                           for run in report.runs]
        return f"{job}:\n{report.summary()}"

    return run_job(job, work, settings=settings, db=db)
