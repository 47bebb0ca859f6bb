"""Signals, positions, orders, trades, risk state and alerts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from walltrack.models.base import (
    Address,
    DomainModel,
    Fraction,
    NonNegative,
    UtcDatetime,
    new_id,
    utcnow,
)
from walltrack.models.market import SwapSide


class TradingMode(StrEnum):
    paper = "paper"  # the very same path; only the final send becomes a fill at the quote
    live = "live"


class SignalFactors(DomainModel):
    """Each factor in [0, 1]; the score is Σ weight × factor."""

    wallet: Fraction
    cluster: Fraction
    token: Fraction
    context: Fraction
    detail: dict[str, Any] = Field(default_factory=dict)


class SignalDecision(StrEnum):
    eligible = "eligible"  # score ≥ threshold: the trading engine may act on it
    log_only = "log_only"  # stored with its breakdown and reason, nothing else


class SignalSource(StrEnum):
    webhook = "webhook"
    polling = "polling"


class DecisionReason(StrEnum):
    """Why a signal got its decision: a closed set (docs/live.md)."""

    above_threshold = "above_threshold"
    high_conviction = "high_conviction"
    below_threshold = "below_threshold"
    blacklisted = "blacklisted"
    token_unsafe = "token_unsafe"  # noqa: S105 - a reason, not a secret
    stale = "stale"  # the swap was older than signals.stale_after_seconds when it reached us
    position_limit = "position_limit"
    already_holding = "already_holding"
    breaker_open = "breaker_open"
    trading_paused = "trading_paused"
    duplicate = "duplicate"  # the same wallet already bought this mint within the window
    insufficient_balance = "insufficient_balance"
    source_sold = "source_sold"  # a sell: the trading engine's mirror exit reads it


class Signal(DomainModel):
    id: str  # deterministic from the swap (signature, wallet, mint): one signal per swap
    signature: str
    wallet: Address
    mint: Address
    side: SwapSide
    sol_amount: NonNegative
    token_amount: NonNegative = 0.0
    price_sol: NonNegative | None = None  # the swap's own price (SOL per token)
    price_usd: NonNegative | None = None  # the market's price when it was scored
    slot: int | None = None
    source: SignalSource = SignalSource.webhook
    observed_at: UtcDatetime = Field(default_factory=utcnow)
    swap_at: UtcDatetime
    delay_seconds: float | None = None  # observed_at − swap_at
    factors: SignalFactors
    weights: dict[str, float]
    score: Fraction
    high_conviction: bool = False
    decision: SignalDecision
    reason: DecisionReason
    failed_checks: list[str] = Field(default_factory=list)
    message: str | None = None
    stored_at: UtcDatetime | None = None  # set by the store when the row is written


class PositionStatus(StrEnum):
    opening = "opening"
    open = "open"
    closing = "closing"
    closed = "closed"
    failed = "failed"


class ExitRule(DomainModel):
    """One rule of an exit strategy (stop loss, take profit step, trailing, time, mirror…)."""

    kind: str
    params: dict[str, float] = Field(default_factory=dict)


class Position(DomainModel):
    id: str = Field(default_factory=new_id)
    signal_id: str  # unique: one signal can never open two positions
    mint: Address
    mode: TradingMode = TradingMode.paper
    status: PositionStatus = PositionStatus.opening
    strategy: str = "default"
    exit_plan: list[ExitRule] = Field(default_factory=list)
    size_sol: NonNegative
    entry_price_sol: NonNegative | None = None
    token_amount: NonNegative = 0.0
    remaining_tokens: NonNegative = 0.0
    peak_price_sol: NonNegative | None = None
    realized_pnl_sol: float = 0.0
    opened_at: UtcDatetime = Field(default_factory=utcnow)
    closed_at: UtcDatetime | None = None
    close_reason: str | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class OrderStatus(StrEnum):
    created = "created"
    submitted = "submitted"
    confirmed = "confirmed"
    failed = "failed"


class OrderKind(StrEnum):
    entry = "entry"
    exit = "exit"


class Order(DomainModel):
    id: str = Field(default_factory=new_id)
    position_id: str
    idempotency_key: str  # unique: the same order is never sent twice
    kind: OrderKind
    side: SwapSide
    mint: Address
    mode: TradingMode = TradingMode.paper
    status: OrderStatus = OrderStatus.created
    amount_in: NonNegative  # SOL for buys, tokens for sells
    quoted_out: NonNegative | None = None
    slippage_bps: int = Field(default=300, ge=0, le=10_000)
    attempts: int = Field(default=0, ge=0)
    tx_signature: str | None = None
    error: str | None = None
    trigger: str | None = None  # which exit rule planned it
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class Trade(DomainModel):
    """A fill: what an order actually did."""

    id: str = Field(default_factory=new_id)
    order_id: str
    position_id: str
    mint: Address
    side: SwapSide
    mode: TradingMode
    sol_amount: NonNegative
    token_amount: NonNegative
    price_sol: NonNegative
    fee_sol: NonNegative = 0.0
    price_impact_pct: float = 0.0
    pnl_sol: float | None = None  # realized on sells
    tx_signature: str | None = None
    executed_at: UtcDatetime = Field(default_factory=utcnow)


class RiskState(DomainModel):
    """The single row of risk state; survives restarts."""

    id: str = "global"
    mode: TradingMode = TradingMode.paper
    paused: bool = False
    pause_reason: str | None = None
    halted: bool = False
    capital_sol: NonNegative = 10.0
    equity_sol: NonNegative = 10.0
    peak_equity_sol: NonNegative = 10.0
    consecutive_max_losses: int = Field(default=0, ge=0)
    size_multiplier: NonNegative = 1.0
    updated_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def drawdown(self) -> float:
        if self.peak_equity_sol <= 0:
            return 0.0
        return max(0.0, 1.0 - self.equity_sol / self.peak_equity_sol)


class RiskEventKind(StrEnum):
    drawdown_pause = "drawdown_pause"
    win_rate_halt = "win_rate_halt"
    manual_pause = "manual_pause"
    manual_resume = "manual_resume"
    reset = "reset"
    size_reduced = "size_reduced"
    size_restored = "size_restored"
    daily_loss_pause = "daily_loss_pause"  # the day's losses reached the limit
    daily_loss_resume = "daily_loss_resume"  # a new UTC day


class RiskEvent(DomainModel):
    id: str = Field(default_factory=new_id)
    at: UtcDatetime = Field(default_factory=utcnow)
    kind: RiskEventKind
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class AlertLevel(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class Alert(DomainModel):
    id: str = Field(default_factory=new_id)
    at: UtcDatetime = Field(default_factory=utcnow)
    level: AlertLevel = AlertLevel.info
    source: str
    message: str
    acknowledged: bool = False
    detail: dict[str, Any] = Field(default_factory=dict)
