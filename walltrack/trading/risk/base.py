"""The protections' shared interface: the snapshot they evaluate and the verdict they give."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ConfigDict, Field

from walltrack.models.base import DomainModel, Fraction, NonNegative, UtcDatetime, new_id
from walltrack.models.trading import RiskEvent, RiskEventKind
from walltrack.trading.risk.locks import Lock, LockKind


class ProtectionConfig(DomainModel):
    """Protection settings that ``RiskConfig`` and ``SizingConfig`` do not already hold."""

    model_config = ConfigDict(frozen=True)

    daily_loss_limit: Fraction | None = 0.10  # of capital, per UTC day; None = off
    stop_distance: Fraction = 0.30  # a loss ≥ this share of the size is a max-loss trade
    stop_loss_reasons: tuple[str, ...] = ("stop_loss",)  # exit reasons that are max losses


class ExtraRiskEventKind(StrEnum):
    """Event kinds ``RiskEventKind`` lacks (risk_events.kind is text; docs/risk.md)."""

    daily_loss_pause = "daily_loss_pause"
    daily_loss_resume = "daily_loss_resume"


class ExtraRiskEvent(DomainModel):
    """Same shape as ``RiskEvent`` (same table) for the kinds in ``ExtraRiskEventKind``."""

    id: str = Field(default_factory=new_id)
    at: UtcDatetime
    kind: ExtraRiskEventKind
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


AnyRiskEvent = RiskEvent | ExtraRiskEvent


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


def event(kind: RiskEventKind | ExtraRiskEventKind, at: datetime, message: str,
          **detail: Any) -> AnyRiskEvent:
    """A ``RiskEvent`` for a ``RiskEventKind``, an ``ExtraRiskEvent`` for an extra kind."""
    if isinstance(kind, ExtraRiskEventKind):
        return ExtraRiskEvent(at=at, kind=kind, message=message, detail=detail)
    return RiskEvent(at=at, kind=kind, message=message, detail=detail)
