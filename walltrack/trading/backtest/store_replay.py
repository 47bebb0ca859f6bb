"""Replay an operator's own store: point-in-time research from its data, then the study.

A real store has no simulator to re-ask, so the walk-forward is made from the store's own
rows, cut by time. Each day ``t`` of the period:

1. the rows that existed before ``t`` are copied from the source store into a work store of
   the replay's own — tokens and wallets by when WallTrack first saw them
   (``first_seen_at``), token snapshots by ``taken_at``, swaps and funding transfers by their
   block time, wallet origins by ``found_at``; the research's own columns (scores, status,
   watchlist, clusters, token status) are *not* copied: the research makes them again;
2. the research stages that need no API run on the work store with ``now = t`` — profile,
   decay, watchlist, clusters (the acquisition stages' output is what was copied);
3. a ``ResearchSnapshot`` is taken: the next day is traded with it.

Then ``run_study`` trades the days with a ``StoreHistory`` (the pools reconstructed from
the token snapshots). The source store is only read. Books: the copier, every discovered
wallet, a random watchlist (there is no truth, so no oracle). The standing token facts (mint
authorities, holders, sell routes) are asked of the APIs ``settings`` point at, as the live
server would.

Not point in time: the operator's manual watchlist overrides and blacklist (no time is kept
for them; they are left out), the tokens' standing facts (asked now), and a wallet's swaps
collected after ``t`` but dated before it (a fact that existed then; its wallet enters only
from its ``first_seen_at``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import ClientCursor
from pydantic import BaseModel

from walltrack.errors import ValidationError
from walltrack.intel.research import RESEARCH_JOBS, ResearchClients, ResearchContext, run_stages
from walltrack.logging import get_logger
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.backtest.metrics import RunFigures
from walltrack.trading.backtest.replay import (
    Book,
    ResearchSnapshot,
    all_discovered_book,
    copier_book,
    random_watchlist_book,
    snapshot_research,
)
from walltrack.trading.backtest.store_history import (
    DEFAULT_FEE_BPS,
    DEFAULT_MAX_SNAPSHOT_AGE,
    store_history,
)
from walltrack.trading.backtest.stores import ReplayStores, connect
from walltrack.trading.backtest.study import DELAYS, run_study, windows_of

log = get_logger(__name__)

# The research stages that read only the store (RESEARCH_JOBS' analysis jobs).
ANALYSIS_STAGES = (*RESEARCH_JOBS["profile_wallets"], *RESEARCH_JOBS["build_clusters"])
# (table, time column, the columns copied — research-made columns get their defaults back)
CUT_TABLES: tuple[tuple[str, str, str], ...] = (
    ("tokens", "first_seen_at",
     "mint, symbol, name, decimals, pair_address, dex_id, quote_symbol, source, "
     "first_seen_at, pair_created_at, 'active' AS status, mint_authority_active, "
     "freeze_authority_active, top10_holder_share"),
    ("token_snapshots", "taken_at", "*"),
    ("swaps", "timestamp", "*"),
    ("funding_transfers", "timestamp", "*"),
    ("wallets", "first_seen_at", "address, first_seen_at, label, 'ok' AS status"),
    ("wallet_origins", "found_at", "*"),
)
_TARGET_COLUMNS = {
    "tokens": "mint, symbol, name, decimals, pair_address, dex_id, quote_symbol, source, "
              "first_seen_at, pair_created_at, status, mint_authority_active, "
              "freeze_authority_active, top10_holder_share",
    "wallets": "address, first_seen_at, label, status",
}


class StoreReplayReport(BaseModel):
    start: datetime
    end: datetime
    seconds: float
    trading_days: list[str]
    delays: dict[str, RunFigures]
    baselines: dict[str, dict[str, RunFigures]]
    history: dict[str, int]  # priced / unpriced swaps, unpriced mints
    signals: dict[str, dict[str, int]]
    reasons: dict[str, dict[str, int]]
    sweep: dict[str, Any]
    research_seconds: float
    replay_seconds: float


def copy_cut(source: Database, target: Database, *, since: datetime | None,
             until: datetime) -> dict[str, int]:
    """Copy the rows of ``CUT_TABLES`` dated in [since, until) from ``source`` to
    ``target`` (COPY out of one, into the other); rows copied per table."""
    counts: dict[str, int] = {}
    with source.connection() as src, target.connection() as dst:
        for table, column, columns in CUT_TABLES:
            where = f"{column} < %s" + ("" if since is None else f" AND {column} >= %s")
            params: list[Any] = [until] if since is None else [until, since]
            query = ClientCursor(src).mogrify(
                f"COPY (SELECT {columns} FROM {table} WHERE {where}) TO STDOUT", params)
            into = _TARGET_COLUMNS.get(table)
            target_sql = f"COPY {table}" + (f" ({into})" if into else "") + " FROM STDIN"
            rows = 0
            with src.cursor().copy(query) as out, dst.cursor().copy(target_sql) as inp:
                for block in out:
                    inp.write(block)
                    rows += bytes(block).count(b"\n")
            counts[table] = rows
        dst.commit()
    return counts


def _copy_config(source: Database, target: Database) -> None:
    config = ConfigRepository(source).load()
    repo = ConfigRepository(target)
    for name in type(config).model_fields:
        repo.save_section(name, getattr(config, name))


def store_snapshots(source: Database, work: Database, *, start: datetime, end: datetime,
                    step: timedelta = timedelta(days=1),
                    progress: Progress | None = None) -> list[ResearchSnapshot]:
    """The walk-forward over [start, end]: the cut, the analysis stages, a snapshot — at
    ``start`` and every ``step`` after it."""
    progress = progress or no_progress
    config = ConfigRepository(work).load()
    snapshots: list[ResearchSnapshot] = []
    ticks = [start + i * step for i in range(int((end - start) / step) + 1)]
    since: datetime | None = None
    for i, now in enumerate(ticks):
        copied = copy_cut(source, work, since=since, until=now)
        since = now
        ctx = ResearchContext(work, config, ResearchClients(None), now=now)
        asyncio.run(run_stages(ANALYSIS_STAGES, ctx))
        snapshots.append(snapshot_research(work, now))
        log.info("store_replay_day", now=now.isoformat(), **copied)
        progress("research days", i + 1, len(ticks))
    return snapshots


def store_bounds(db: Database) -> tuple[datetime, datetime]:
    """The first and last stored swap's time."""
    with db.connection() as conn:
        row = conn.execute("SELECT min(timestamp), max(timestamp) FROM swaps").fetchone()
    if row is None or row[0] is None:
        raise ValidationError("the store holds no swaps to replay",
                              hint="run the research first (python -m walltrack run)")
    return row[0].astimezone(UTC), row[1].astimezone(UTC)


def store_replay_report(settings: Settings, source: Database, *, start: datetime | None = None,
                        end: datetime | None = None, warmup_days: int = 7,
                        trade_days: int | None = None, delays: Sequence[float] = DELAYS,
                        baseline_delays: Sequence[float] | None = None,
                        latency_seconds: float = 1.0, sweep: bool = True, seed: int = 0,
                        fee_bps: int = DEFAULT_FEE_BPS,
                        max_snapshot_age: timedelta = DEFAULT_MAX_SNAPSHOT_AGE,
                        concurrency: int = 3,
                        progress: Progress | None = None) -> StoreReplayReport:
    """Replay ``source`` (read only) over [start, end] (default: its swaps' whole span,
    cut to whole days): research from ``start`` on, trading after ``warmup_days``."""
    progress = progress or no_progress
    started = time.perf_counter()
    first, last = store_bounds(source)
    start = start.astimezone(UTC) if start else _midnight(first) + timedelta(days=1)
    end = end.astimezone(UTC) if end else _midnight(last)
    if end - start < timedelta(days=warmup_days + 1):
        raise ValidationError(
            f"the period {start.date()} – {end.date()} leaves no day to trade after "
            f"{warmup_days} warm-up days", hint="lower --warmup-days or replay a longer period")
    sol_usd = _sol_usd(source)
    with ReplayStores(source.url) as stores:
        work = connect(stores.new(), name="replay-research", max_size=4)
        try:
            _copy_config(source, work)
            snapshots = store_snapshots(source, work, start=start, end=end, progress=progress)
            research_seconds = time.perf_counter() - started
            config = ConfigRepository(work).load()
            windows = windows_of(snapshots, warmup_days=warmup_days, start=start,
                                 trade_days=trade_days)
            rebuilt = store_history(source, until=end, fee_bps=fee_bps,
                                    max_snapshot_age=max_snapshot_age)
            books: dict[str, Book] = {"copier": copier_book,
                                      "all_discovered": all_discovered_book,
                                      "random_watchlist": random_watchlist_book(seed)}
            replay_started = time.perf_counter()
            study = run_study(settings, work, history=rebuilt.history, windows=windows,
                              until=end, config=config, books=books, delays=delays,
                              baseline_delays=baseline_delays,
                              latency_seconds=latency_seconds, sol_usd=sol_usd, sweep=sweep,
                              concurrency=concurrency, progress=progress)
            replay_seconds = time.perf_counter() - replay_started
        finally:
            work.close()
    return StoreReplayReport(
        start=start, end=end, seconds=round(time.perf_counter() - started, 2),
        trading_days=study.trading_days, delays=study.delays, baselines=study.books,
        history={"priced_swaps": rebuilt.priced, "unpriced_swaps": rebuilt.unpriced,
                 "unpriced_mints": rebuilt.unpriced_mints},
        signals=study.signals, reasons=study.reasons, sweep=study.sweep,
        research_seconds=round(research_seconds, 2), replay_seconds=round(replay_seconds, 2))


def _midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _sol_usd(db: Database) -> float:
    """SOL's USD price as the store's latest snapshots imply it (median of the last 100)."""
    with db.connection() as conn:
        row = conn.execute(
            """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY price_usd / price_sol)
               FROM (SELECT price_usd, price_sol FROM token_snapshots
                     WHERE price_usd > 0 AND price_sol > 0
                     ORDER BY taken_at DESC LIMIT 100) s""").fetchone()
    if row is None or row[0] is None:
        raise ValidationError("the store has no token snapshot with both USD and SOL prices",
                              hint="run refresh_tokens (python jobs/refresh_tokens.py) so "
                              "the pools can be reconstructed")
    return float(row[0])
