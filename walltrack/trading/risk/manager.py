"""The risk manager: runs every protection over one observation and keeps the state.

Pure: it takes the persisted ``ProtectionState`` and an observation of the book, and returns a
new state and the events to record; the caller stores both. Protections run in this fixed
order, all of them every time (the first lock in this order names the pause):

1. ``manual_pause``     — the operator's pause, kept until ``resume``;
2. ``drawdown_pause``   — equity ≥ max_drawdown below peak, kept until ``reset``;
3. ``win_rate_halt``    — win rate < halt_win_rate over the last window, kept until ``reset``;
4. ``daily_loss_limit`` — today's loss ≥ limit × capital, until the next UTC day;
5. ``max_positions``    — the book is full, until a position closes;
6. ``loss_streak``      — size × reduced_multiplier after a max-loss streak, until a win.

Any lock stops new entries; nothing ever stops exits (``exits_allowed`` is always True).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from math import prod

from pydantic import ConfigDict, Field

from walltrack.models.base import DomainModel, NonNegative, UtcDatetime
from walltrack.models.config import ProtectionConfig, RiskConfig, SizingConfig
from walltrack.models.trading import RiskEventKind, RiskState, TradingMode
from walltrack.trading.risk.base import (
    AnyRiskEvent,
    ClosedTrade,
    Protection,
    ProtectionSnapshot,
    ProtectionVerdict,
    event,
)
from walltrack.trading.risk.daily_loss_limit import DailyLossLimit
from walltrack.trading.risk.drawdown_pause import DrawdownPause, drawdown
from walltrack.trading.risk.locks import STICKY, Lock, LockKind
from walltrack.trading.risk.loss_streak import LossStreak
from walltrack.trading.risk.manual_pause import ManualPause
from walltrack.trading.risk.max_positions import MaxPositions
from walltrack.trading.risk.win_rate_halt import WinRateHalt

PAUSING: frozenset[LockKind] = frozenset(
    {LockKind.manual_pause, LockKind.drawdown_pause, LockKind.daily_loss}
)
"""Locks shown as ``RiskState.paused`` (the halt is ``halted``; max positions is neither)."""

RESET_LIFTS: frozenset[LockKind] = frozenset({LockKind.drawdown_pause, LockKind.win_rate_halt})
_SEPARATOR = " | "


class ProtectionState(DomainModel):
    """The risk state the manager keeps between evaluations (JSON-safe, survives restarts)."""

    model_config = ConfigDict(frozen=True)

    locks: tuple[Lock, ...] = ()
    capital_sol: NonNegative = 10.0
    equity_sol: NonNegative = 10.0
    peak_equity_sol: NonNegative = 10.0
    consecutive_max_losses: int = Field(default=0, ge=0)
    size_multiplier: NonNegative = 1.0
    last_reset_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None

    @property
    def entries_allowed(self) -> bool:
        return not self.locks

    @property
    def exits_allowed(self) -> bool:
        return True  # exits are always allowed, paused or not

    @property
    def paused(self) -> bool:
        return any(lock.kind in PAUSING for lock in self.locks)

    @property
    def halted(self) -> bool:
        return any(lock.kind is LockKind.win_rate_halt for lock in self.locks)

    @property
    def size_reduced(self) -> bool:
        return self.size_multiplier < 1.0

    @property
    def drawdown(self) -> float:
        return drawdown(self.equity_sol, self.peak_equity_sol)

    def lock(self, kind: LockKind) -> Lock | None:
        return next((lock for lock in self.locks if lock.kind is kind), None)

    def to_risk_state(self, mode: TradingMode = TradingMode.paper) -> RiskState:
        """The stored risk row. ``pause_reason`` lists every pausing or halting lock as
        ``kind: reason`` joined by `` | `` so ``from_risk_state`` can rebuild the sticky ones."""
        shown = [lock for lock in self.locks if lock.kind is not LockKind.max_positions]
        reason = _SEPARATOR.join(f"{lock.kind.value}: {lock.reason.replace('|', '/')}"
                                 for lock in shown) or None
        kwargs = {} if self.updated_at is None else {"updated_at": self.updated_at}
        return RiskState(mode=mode, paused=self.paused, pause_reason=reason,
                         halted=self.halted, capital_sol=self.capital_sol,
                         equity_sol=self.equity_sol, peak_equity_sol=self.peak_equity_sol,
                         consecutive_max_losses=self.consecutive_max_losses,
                         size_multiplier=self.size_multiplier, **kwargs)

    @classmethod
    def from_risk_state(cls, row: RiskState,
                        last_reset_at: datetime | None = None) -> ProtectionState:
        """Rebuild from the stored row. Sticky locks (manual, drawdown, halt) come back from
        ``pause_reason``/``halted``; the others are recomputed by the next evaluation."""
        locks: list[Lock] = []
        known = False
        for part in (row.pause_reason or "").split(_SEPARATOR):
            kind_text, _, reason = part.partition(": ")
            if kind_text not in set(LockKind):
                continue
            known = True
            if LockKind(kind_text) in STICKY:
                locks.append(Lock(kind=LockKind(kind_text), reason=reason, since=row.updated_at))
        if row.halted and not any(lock.kind is LockKind.win_rate_halt for lock in locks):
            locks.append(Lock(kind=LockKind.win_rate_halt, reason="halted",
                              since=row.updated_at))
        if row.paused and not known:
            # A pause this code did not write: stay paused until the operator resumes.
            locks.append(Lock(kind=LockKind.manual_pause, reason=row.pause_reason or "paused",
                              since=row.updated_at))
        return cls(locks=tuple(locks), capital_sol=row.capital_sol, equity_sol=row.equity_sol,
                   peak_equity_sol=row.peak_equity_sol,
                   consecutive_max_losses=row.consecutive_max_losses,
                   size_multiplier=row.size_multiplier, last_reset_at=last_reset_at,
                   updated_at=row.updated_at)


class RiskObservation(DomainModel):
    """What the caller measured: equity, open positions, closed trades (oldest first)."""

    model_config = ConfigDict(frozen=True)

    now: UtcDatetime
    equity_sol: NonNegative
    capital_sol: NonNegative | None = None  # None: keep the state's capital
    open_positions: int = Field(default=0, ge=0)
    closed_trades: tuple[ClosedTrade, ...] = ()


class RiskOutcome(DomainModel):
    model_config = ConfigDict(frozen=True)

    state: ProtectionState
    events: tuple[AnyRiskEvent, ...] = ()
    verdicts: tuple[ProtectionVerdict, ...] = ()

    @property
    def entries_allowed(self) -> bool:
        return self.state.entries_allowed

    @property
    def exits_allowed(self) -> bool:
        return self.state.exits_allowed


def _note(note: str) -> str:
    text = note.strip()
    if not text:
        raise ValueError("an operator action needs a note saying why")
    return text


@dataclass(frozen=True, slots=True)
class RiskManager:
    risk: RiskConfig = field(default_factory=RiskConfig)
    sizing: SizingConfig = field(default_factory=SizingConfig)
    protection: ProtectionConfig = field(default_factory=ProtectionConfig)

    @property
    def protections(self) -> tuple[Protection, ...]:
        """The protections in their documented order."""
        return (
            ManualPause(),
            DrawdownPause(max_drawdown=self.risk.max_drawdown),
            WinRateHalt(halt_win_rate=self.risk.halt_win_rate,
                        window=self.risk.halt_window_trades),
            DailyLossLimit(limit=self.protection.daily_loss_limit),
            MaxPositions(max_concurrent_positions=self.risk.max_concurrent_positions),
            LossStreak(max_loss_streak=self.sizing.max_loss_streak,
                       reduced_multiplier=self.sizing.reduced_multiplier,
                       stop_distance=self.protection.stop_distance,
                       stop_loss_reasons=self.protection.stop_loss_reasons),
        )

    def initial_state(self) -> ProtectionState:
        capital = self.risk.starting_capital_sol
        return ProtectionState(capital_sol=capital, equity_sol=capital, peak_equity_sol=capital)

    def evaluate(self, state: ProtectionState, obs: RiskObservation) -> RiskOutcome:
        capital = state.capital_sol if obs.capital_sol is None else obs.capital_sol
        peak = max(state.peak_equity_sol, obs.equity_sol)
        trades = tuple(sorted(obs.closed_trades, key=lambda t: t.closed_at))
        snap = ProtectionSnapshot(
            now=obs.now, equity_sol=obs.equity_sol, peak_equity_sol=peak, capital_sol=capital,
            open_positions=obs.open_positions, closed_trades=trades, locks=state.locks,
            size_multiplier=state.size_multiplier, last_reset_at=state.last_reset_at,
        )
        verdicts = tuple(p.evaluate(snap) for p in self.protections)
        locks = tuple(v.lock for v in verdicts if v.lock is not None)
        events = tuple(e for v in verdicts for e in v.events)
        streak = next((v.metrics.get("consecutive_max_losses", 0.0) for v in verdicts
                       if v.protection == "loss_streak"), 0.0)
        new = state.model_copy(update={
            "locks": locks, "capital_sol": capital, "equity_sol": obs.equity_sol,
            "peak_equity_sol": peak, "consecutive_max_losses": int(streak),
            "size_multiplier": prod(v.size_multiplier for v in verdicts),
            "updated_at": obs.now,
        })
        return RiskOutcome(state=new, events=events, verdicts=verdicts)

    def pause(self, state: ProtectionState, note: str, now: datetime) -> RiskOutcome:
        text = _note(note)
        if state.lock(LockKind.manual_pause) is not None:
            return RiskOutcome(state=state)
        lock = Lock(kind=LockKind.manual_pause, reason=text, since=now)
        new = state.model_copy(update={"locks": (lock, *state.locks), "updated_at": now})
        return RiskOutcome(state=new, events=(
            event(RiskEventKind.manual_pause, now, text),))

    def resume(self, state: ProtectionState, note: str, now: datetime) -> RiskOutcome:
        """Lifts the manual pause only; a drawdown pause or a halt needs ``reset``."""
        text = _note(note)
        held = state.lock(LockKind.manual_pause)
        if held is None:
            return RiskOutcome(state=state)
        locks = tuple(lock for lock in state.locks if lock.kind is not LockKind.manual_pause)
        new = state.model_copy(update={"locks": locks, "updated_at": now})
        still = [lock.kind.value for lock in locks]
        return RiskOutcome(state=new, events=(
            event(RiskEventKind.manual_resume, now, text, still_locked=still),))

    def reset(self, state: ProtectionState, note: str, now: datetime) -> RiskOutcome:
        """The operator's reset: lifts the drawdown pause and the win-rate halt, restarts the
        peak at the current equity and the win-rate window at ``now``. A note is required."""
        text = _note(note)
        lifted = [lock.kind.value for lock in state.locks if lock.kind in RESET_LIFTS]
        locks = tuple(lock for lock in state.locks if lock.kind not in RESET_LIFTS)
        new = state.model_copy(update={
            "locks": locks, "peak_equity_sol": state.equity_sol, "last_reset_at": now,
            "updated_at": now,
        })
        return RiskOutcome(state=new, events=(
            event(RiskEventKind.reset, now, text, lifted=lifted,
                  peak_equity_sol=state.equity_sol),))
