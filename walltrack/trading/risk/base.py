"""The protections' shared interface: the snapshot they evaluate and the verdict they give."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import ConfigDict, Field

from walltrack.models.base import DomainModel, NonNegative, UtcDatetime
from walltrack.models.trading import RiskEvent, RiskEventKind
from walltrack.trading.risk.locks import Lock, LockKind

AnyRiskEvent = RiskEvent  # one event model for every kind (risk_events)


class ClosedTrade(DomainModel):
    """One closed position, as the protections see it."""

    model_config = ConfigDict(frozen=True)

    position_id: str | None = None
    size_sol: NonNegative = 0.0  # SOL spent to open it
    pnl_sol: float
    closed_at: UtcDatetime
    exit_reason: str | None = None

    @property
    def win(self) -> bool:
        return self.pnl_sol > 0


class ProtectionSnapshot(DomainModel):
    """What every protection evaluates: one immutable picture of the book."""

    model_config = ConfigDict(frozen=True)

    now: UtcDatetime
    equity_sol: NonNegative
    peak_equity_sol: NonNegative
    capital_sol: NonNegative
    open_positions: int = Field(default=0, ge=0)
    closed_trades: tuple[ClosedTrade, ...] = ()  # oldest first
    locks: tuple[Lock, ...] = ()  # the locks held before this evaluation
    size_multiplier: NonNegative = 1.0  # the multiplier before this evaluation
    last_reset_at: UtcDatetime | None = None  # the operator's last reset

    def lock(self, kind: LockKind) -> Lock | None:
        return next((lock for lock in self.locks if lock.kind is kind), None)


class ProtectionVerdict(DomainModel):
    """A protection's answer: the lock it holds now (None: none), a size multiplier, events."""

    model_config = ConfigDict(frozen=True)

    protection: str
    lock: Lock | None = None
    size_multiplier: NonNegative = 1.0
    events: tuple[AnyRiskEvent, ...] = ()
    metrics: dict[str, float] = Field(default_factory=dict)


class Protection(Protocol):
    """One protection: a name and a pure evaluation of a snapshot."""

    @property
    def name(self) -> str: ...

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict: ...


def event(kind: RiskEventKind, at: datetime, message: str, **detail: Any) -> AnyRiskEvent:
    return RiskEvent(at=at, kind=kind, message=message, detail=detail)
