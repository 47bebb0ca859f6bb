"""Replay: a period of stored swaps through the live path on a simulated clock.

What runs is the live code, from the parsed swap on: ``signals_for_swaps`` (the inbox's
path after parsing: watched wallet? → score → decision), the signal stored, then the trading
engine's own loop (``TradingEngine.process_pending`` → gates → sizing → position → order →
paper fill), the price watch's call (``TradingEngine.on_price`` → exit rules → exit order →
fill) and the risk round. Only the edges differ, as the design asks:

- the source of swaps: a ``SwapHistory`` instead of webhooks; a watched wallet's swap at
  ``t`` arrives at ``t + delay`` (the copy delay), and our own orders fill ``latency``
  seconds later;
- the clock: ``ReplayClock``, set to each event's time;
- quotes and token data: the pool as the history left it at the fill's time
  (``HistoryQuoter``, ``HistoryTokens``);
- prices for the exits: the pool's spot price every ``exits.price_interval_seconds`` of
  simulated time, like the live price watch — but a held mint is evaluated at a round
  only when its price moved by ``PRICE_STEP`` (0.5 %) since its last evaluation, when a
  held position's time stop fell due since then (the one rule that reads the clock), or
  ``RECHECK_SECONDS`` (15 min) have passed: a price rule fires at most half a percent
  late, a time stop at most one round late, and a replay of weeks costs minutes, not hours.

**Point in time**: each trading window is traded with a ``ResearchSnapshot`` — the
watchlist, scores and clusters the research had at the window's start, taken right after
the research ran on the data before it (``walltrack.lab.replay`` ticks the research one
simulated day at a time). Each run trades on a store of its own (``ReplayStores``), so runs
never see each other's positions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from walltrack.intel.amplification import AmplificationIndex, index_frames
from walltrack.live.pipeline import signals_for_swaps
from walltrack.live.recent_buys import RecentBuys
from walltrack.live.state import LiveState
from walltrack.live.watchset import watchset_from_frame
from walltrack.live.workers import insert_signals
from walltrack.logging import get_logger
from walltrack.models import (
    DynamicConfig,
    PositionStatus,
    Signal,
    SignalDecision,
    SignalSource,
    Swap,
    SwapSide,
    TradingMode,
)
from walltrack.models.base import utcnow
from walltrack.progress import Progress, no_progress
from walltrack.store import Database
from walltrack.store.frames import query_frame
from walltrack.store.trading_store import TradingStore
from walltrack.trading.alerts import AlertService
from walltrack.trading.backtest.history import SwapHistory, from_micros, micros
from walltrack.trading.backtest.history_quotes import HistoryQuoter, constant_product_out
from walltrack.trading.backtest.history_tokens import HistoryTokens, StandingFacts
from walltrack.trading.engine import TradingEngine
from walltrack.trading.execution import PaperExecutor
from walltrack.trading.exits.base import ExitKind
from walltrack.trading.exits.strategy import strategy_from_plan
from walltrack.trading.exits.time_stop import TimeStop

log = get_logger(__name__)

# A held mint is evaluated at a price round when its price moved by PRICE_STEP since it
# was last evaluated, a time stop fell due, or RECHECK_SECONDS passed (a safety net: no
# other rule reads the clock).
RECHECK_SECONDS = 900.0
PRICE_STEP = 0.005
# The risk round: live after every price round; here every 15 simulated minutes (the engine
# runs it after every close itself, so only the time-driven protections can be that late).
RISK_ROUND_SECONDS = 900.0
WATCH_SCHEMA = {"address": pl.String, "score": pl.Float64, "status": pl.String,
                "cluster_id": pl.String, "timing_percentile": pl.Float64,
                "avg_buy_sol": pl.Float64}


class ReplayClock:
    """The engine's clock in a replay: moved by the replay, never by the wall."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def set(self, at: datetime) -> None:
        self._at = at

    def __call__(self) -> datetime:
        return self._at


# -- what the research knew ----------------------------------------------------------------

@dataclass(frozen=True)
class ResearchSnapshot:
    """The research's state at ``at``: what a live server would have loaded then."""

    at: datetime
    wallets: pl.DataFrame  # WATCH_SCHEMA + on_watchlist: every wallet the research knows
    members: pl.DataFrame  # cluster_id, wallet, role
    cluster_buys: pl.DataFrame  # wallet, mint, ts: the clustered wallets' first buys

    @property
    def watch(self) -> pl.DataFrame:
        """The live server's watch set (``walltrack.live.watchset.load_watchset``)."""
        return self.wallets.filter(pl.col("on_watchlist") | (pl.col("status") == "blacklisted")
                                   ).select(list(WATCH_SCHEMA))

    @property
    def discovered(self) -> pl.DataFrame:
        return self.wallets.filter(pl.col("status") != "blacklisted").select(list(WATCH_SCHEMA))


def snapshot_research(db: Database, at: datetime) -> ResearchSnapshot:
    wallets = query_frame(
        db, """SELECT w.address, w.score, w.status, w.cluster_id, m.timing_percentile,
                      m.avg_buy_sol, w.on_watchlist
               FROM wallets w LEFT JOIN wallet_metrics m ON m.wallet = w.address""",
        schema={**WATCH_SCHEMA, "on_watchlist": pl.Boolean})
    members, buys = index_frames(db, until=at)
    return ResearchSnapshot(at=at, wallets=wallets, members=members, cluster_buys=buys)


# -- books: which wallets a run copies ----------------------------------------------------

Book = Callable[[ResearchSnapshot], pl.DataFrame]  # snapshot → a watch frame (WATCH_SCHEMA)


def copier_book(snapshot: ResearchSnapshot) -> pl.DataFrame:
    """WallTrack's own choice: the research's watchlist with its scores."""
    return snapshot.watch


def _uniform(frame: pl.DataFrame, snapshot: ResearchSnapshot) -> pl.DataFrame:
    """Every wallet of ``frame`` with one score (the watchlist's median): copied equally."""
    scores = snapshot.watch.filter(pl.col("status") != "blacklisted")["score"].drop_nulls()
    score = float(scores.median()) if scores.len() else 1.0  # type: ignore[arg-type]
    return frame.with_columns(pl.lit(score).alias("score"), pl.lit("active").alias("status"))


def all_discovered_book(snapshot: ResearchSnapshot) -> pl.DataFrame:
    return _uniform(snapshot.discovered, snapshot)


def random_watchlist_book(seed: int) -> Book:
    """A watchlist of the research's size drawn at random from the discovered wallets."""
    def book(snapshot: ResearchSnapshot) -> pl.DataFrame:
        size = snapshot.watch.filter(pl.col("status") != "blacklisted").height
        pool = snapshot.discovered.sort("address")
        if pool.height == 0 or size == 0:
            return pool.clear()
        rng = np.random.default_rng([seed, int(snapshot.at.timestamp())])
        pick = rng.choice(pool.height, size=min(size, pool.height), replace=False)
        return _uniform(pool[np.sort(pick).tolist()], snapshot)
    return book


def top_scored_book(n: int) -> Book:
    """The research's ``n`` best-scored wallets (after decay) with their own scores: its
    ranking, without the watchlist's admission rules."""
    def book(snapshot: ResearchSnapshot) -> pl.DataFrame:
        return snapshot.discovered.filter(pl.col("score").is_not_null()).sort(
            ["score", "address"], descending=[True, False]).head(n)
    return book


def fixed_book(addresses: Sequence[str]) -> Book:
    """Given wallets (the oracle: the simulator's truth), copied equally."""
    wanted = pl.DataFrame({"address": list(addresses)}, schema={"address": pl.String})

    def book(snapshot: ResearchSnapshot) -> pl.DataFrame:
        known = snapshot.wallets.select(list(WATCH_SCHEMA))
        frame = wanted.join(known, on="address", how="left").with_columns(
            pl.col("status").fill_null("active"))
        return _uniform(frame.select(list(WATCH_SCHEMA)), snapshot)
    return book


# -- one run --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """Trade the swaps in (start, end] with what the research knew at ``snapshot.at``."""

    snapshot: ResearchSnapshot
    start: datetime
    end: datetime


@dataclass
class RunResult:
    book: str
    delay_seconds: float
    positions: pl.DataFrame  # every position, open ones marked to the pool at the end
    signals: dict[str, int] = field(default_factory=dict)  # decision → count
    reasons: dict[str, int] = field(default_factory=dict)  # "side:reason" → count
    seconds: float = 0.0
    evaluations: int = 0  # exit evaluations asked of the engine


POSITION_SCHEMA = {"id": pl.String, "wallet": pl.String, "mint": pl.String,
                   "status": pl.String, "opened_at": pl.Datetime("us", "UTC"),
                   "closed_at": pl.Datetime("us", "UTC"), "cost_sol": pl.Float64,
                   "proceeds_sol": pl.Float64, "pnl_sol": pl.Float64,
                   "entry_delay_seconds": pl.Float64, "close_reason": pl.String,
                   "marked": pl.Boolean}


class ReplayRun:
    """One book at one delay over the windows, on its own trading store."""

    def __init__(self, url: str, history: SwapHistory, facts: StandingFacts,
                 config: DynamicConfig, *, book: str, watch: Book, delay_seconds: float,
                 latency_seconds: float, sol_usd: float) -> None:
        self.history = history
        self.config = config
        self.book_name = book
        self.book = watch
        self.delay = timedelta(seconds=delay_seconds)
        self.latency = timedelta(seconds=latency_seconds)
        self.clock = ReplayClock(utcnow())
        self.store = TradingStore(url)
        self.tokens = HistoryTokens(history, facts, self.clock, lambda: self.config.safety,
                                    sol_usd=sol_usd)
        executor = PaperExecutor(HistoryQuoter(history, self.clock),
                                 lambda: self.config.execution)
        self.engine = TradingEngine(self.store, {TradingMode.paper: executor},
                                    lambda: self.config, AlertService(self.store, ()),
                                    self._decimals, clock=self.clock)
        self.recent = RecentBuys(keep_seconds=max(
            config.signals.duplicate_window_seconds,
            config.signals.amplification_window_seconds) * 2)
        self.held: set[str] = set()
        self._evaluated: dict[str, tuple[float, int]] = {}  # mint → (price, at µs) last asked
        self._due: dict[str, list[int]] = {}  # held mint → its positions' time stops (µs)
        self.evaluations = 0
        self._next_round = 0
        self._last_risk = 0
        self._exits_seen = 0
        self.decisions: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self._unstored: list[Signal] = []

    async def _decimals(self, mint: str) -> int:
        return self.history.facts(mint).decimals

    def _state(self, window: Window) -> LiveState:
        window_s = self.config.signals.amplification_window_seconds
        snap = window.snapshot
        return LiveState(config=self.config, watch=watchset_from_frame(self.book(snap)),
                         index=AmplificationIndex(snap.members, snap.cluster_buys,
                                                  window_s=window_s),
                         recent=self.recent)

    async def run(self, windows: Sequence[Window], *, until: datetime,
                  progress: Progress | None = None) -> RunResult:
        progress = progress or no_progress
        started = asyncio.get_running_loop().time()
        since = utcnow() - timedelta(minutes=1)  # this store's signals are all this run's
        self.clock.set(windows[0].start if windows else until)
        await self.engine.reconcile()
        await self.engine.risk_tick()
        self._next_round = micros(self.clock())
        for done, window in enumerate(windows):
            progress(f"replay {self.book_name} at {self.delay.total_seconds():g} s, days",
                     done, len(windows))
            state = self._state(window)
            swaps = self.history.between(window.start, window.end).filter(
                pl.col("wallet").is_in(list(state.watch.addresses)))
            for row in swaps.iter_rows(named=True):
                arrival = row["timestamp"] + self.delay
                await self._rounds_until(micros(arrival))
                await self._arrive(row, arrival, state, since)
        await self._rounds_until(micros(until))
        await self._store_signals()
        positions = await self._positions(until)
        await self.store.close()
        return RunResult(book=self.book_name, delay_seconds=self.delay.total_seconds(),
                         positions=positions, signals=dict(self.decisions),
                         reasons=dict(self.reasons),
                         evaluations=self.evaluations,
                         seconds=round(asyncio.get_running_loop().time() - started, 3))

    async def _arrive(self, row: dict[str, object], arrival: datetime, state: LiveState,
                      since: datetime) -> None:
        self.clock.set(arrival + self.latency)
        swap = Swap.model_validate({k: row[k] for k in (
            "signature", "slot", "timestamp", "wallet", "mint", "side", "sol_amount",
            "token_amount")})
        signals = await signals_for_swaps([swap], state, self.tokens, observed_at=arrival,
                                          source=SignalSource.replay)
        for s in signals:
            key = s.decision.value
            self.decisions[key] = self.decisions.get(key, 0) + 1
            why = f"{s.side.value}:{s.reason.value}"
            self.reasons[why] = self.reasons.get(why, 0) + 1
        self._unstored.extend(signals)
        # The engine's loop is asked only when it has something to decide (the live loop
        # asks on every commit and finds nothing in the other cases); the signals it would
        # not take are stored in batches, but always before the loop runs (a mirror exit
        # reads the source's earlier buys from the store).
        if any(_actionable(s, self.held) for s in signals):
            await self._store_signals()
            # The loop's look-back (live: twice the stale window, for crash recovery) is the
            # last minute of wall time here: what was just stored, so the query stays small.
            taken = await self.engine.process_pending(
                max(since, utcnow() - timedelta(seconds=60)))
            if taken or swap.mint in self.held:
                await self._refresh_held()
        elif len(self._unstored) >= 500:
            await self._store_signals()

    async def _store_signals(self) -> None:
        if self._unstored:
            async with self.store.transaction() as conn:
                await insert_signals(conn, self._unstored)
            self._unstored = []

    async def _refresh_held(self) -> None:
        held = [p for p in await self.store.open_positions()
                if p.status is not PositionStatus.failed]
        self.held = {p.mint for p in held}
        self._due = {}
        for p in held:
            stop = strategy_from_plan(p.strategy, p.exit_plan).rule(ExitKind.time_stop)
            if isinstance(stop, TimeStop):
                self._due.setdefault(p.mint, []).append(micros(p.opened_at + stop.max_age))
        self._exits_seen = self.engine.counters.exits

    async def _rounds_until(self, until_us: int) -> None:
        """The price watch's rounds up to ``until_us``; none while nothing is held."""
        step = int(self.config.exits.price_interval_seconds * 1_000_000)
        if not self.held:
            self._next_round = max(self._next_round, until_us - until_us % step + step)
            return
        while self.held and self._next_round <= until_us:
            at_us = self._next_round
            self.clock.set(from_micros(at_us))
            for mint in sorted(self.held):
                await self._maybe_price(mint, at_us)
            if at_us - self._last_risk >= RISK_ROUND_SECONDS * 1_000_000:
                await self.engine.risk_tick()
                self._last_risk = at_us
            if self.engine.counters.exits != self._exits_seen:
                await self._refresh_held()
            self._next_round += step
        if not self.held:
            self._next_round = max(self._next_round, until_us - until_us % step + step)

    async def _maybe_price(self, mint: str, at_us: int) -> None:
        at = from_micros(at_us)
        price = self.history.price_sol_at(mint, at)
        last = self._evaluated.get(mint)
        if last is not None and price is not None and at_us - last[1] < RECHECK_SECONDS * 1e6 \
                and abs(price / last[0] - 1.0) < PRICE_STEP \
                and not any(last[1] < due <= at_us for due in self._due.get(mint, ())):
            return
        if price is not None:
            self._evaluated[mint] = (price, at_us)
        self.evaluations += 1
        await self.engine.on_price(mint, price, at if price else None,
                                   "history" if price else "missing")

    async def _positions(self, until: datetime) -> pl.DataFrame:
        """Every position; the open ones valued as if sold into the pool at ``until``."""
        rows = []
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                """SELECT id, wallet, mint, status, opened_at, closed_at, cost_sol,
                          proceeds_sol, remaining_tokens, entry_delay_seconds, close_reason
                   FROM positions WHERE status <> 'failed' ORDER BY opened_at, id""")
            fetched = await cur.fetchall()
        for r in fetched:
            marked = r["status"] != PositionStatus.closed.value
            proceeds = float(r["proceeds_sol"])
            if marked and r["remaining_tokens"] > 0:
                proceeds += self._liquidation_sol(r["mint"], float(r["remaining_tokens"]),
                                                  until)
            rows.append({**{k: r[k] for k in POSITION_SCHEMA if k in r},
                         "proceeds_sol": proceeds,
                         "closed_at": r["closed_at"] or until,
                         "pnl_sol": proceeds - float(r["cost_sol"]), "marked": marked})
        return pl.DataFrame(rows, schema=POSITION_SCHEMA)

    def _liquidation_sol(self, mint: str, tokens: float, at: datetime) -> float:
        sol, token = self.history.reserves_at(mint, at)
        facts = self.history.facts(mint)
        out, _ = constant_product_out(int(tokens * 10 ** facts.decimals), token, sol,
                                      facts.fee_bps)
        fees = self.config.execution.network_fee_lamports + \
            self.config.execution.priority_fee_lamports
        return max(0.0, (out - fees) / 1e9)


def _actionable(signal: Signal, held: set[str]) -> bool:
    """What the engine's loop takes (``TradingStore.undecided_signals``)."""
    if signal.side is SwapSide.sell:
        return signal.mint in held
    return signal.decision is SignalDecision.eligible


__all__ = [
    "Book", "ReplayClock", "ReplayRun", "ResearchSnapshot", "RunResult", "Window",
    "all_discovered_book", "copier_book", "fixed_book", "random_watchlist_book",
    "snapshot_research", "top_scored_book",
]
