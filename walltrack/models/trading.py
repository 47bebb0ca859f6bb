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
    replay = "replay"  # a stored history fed through the live path (walltrack/trading/backtest)


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
    wallet: Address | None = None  # the source wallet whose buy it copies
    mint: Address
    mode: TradingMode = TradingMode.paper
    status: PositionStatus = PositionStatus.opening
    strategy: str = "default"
    exit_plan: list[ExitRule] = Field(default_factory=list)  # stored when it opens
    override_strategy: str | None = None  # the operator's override while it is open
    override_plan: list[ExitRule] | None = None
    exit_state: dict[str, Any] = Field(default_factory=dict)  # what the exit rules remember
    sizing: dict[str, Any] = Field(default_factory=dict)  # every input and the caps that bit
    size_sol: NonNegative
    cost_sol: NonNegative = 0.0  # SOL actually spent on the entry, fees included
    proceeds_sol: NonNegative = 0.0  # SOL received from exits, fees deducted
    entry_price_sol: NonNegative | None = None
    token_amount: NonNegative = 0.0
    remaining_tokens: NonNegative = 0.0
    decimals: int | None = Field(default=None, ge=0, le=18)
    peak_price_sol: NonNegative | None = None
    last_price_sol: NonNegative | None = None
    last_price_at: UtcDatetime | None = None
    price_source: str | None = None
    price_stale: bool = False
    entry_delay_seconds: float | None = None  # the source's swap → our fill
    confirmations: int = Field(default=0, ge=0)  # later eligible signals for the same mint
    realized_pnl_sol: float = 0.0
    opened_at: UtcDatetime = Field(default_factory=utcnow)
    closed_at: UtcDatetime | None = None
    close_reason: str | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def plan(self) -> list[ExitRule]:
        """The exit plan in force: the operator's override, else the one made at entry."""
        return self.override_plan if self.override_plan is not None else self.exit_plan

    @property
    def plan_name(self) -> str:
        return self.override_strategy or self.strategy


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
    signal_id: str | None = None  # the signal behind it (the entry's, or the source's sell)
    idempotency_key: str  # unique: the same order is never sent twice
    kind: OrderKind
    side: SwapSide
    mint: Address
    mode: TradingMode = TradingMode.paper
    status: OrderStatus = OrderStatus.created
    amount_in: NonNegative  # SOL for buys, tokens for sells
    quoted_out: NonNegative | None = None
    price_impact_pct: float | None = None
    slippage_bps: int = Field(default=300, ge=0, le=10_000)
    attempts: int = Field(default=0, ge=0)
    tx_signature: str | None = None  # stored with ``submitted`` before the send
    last_valid_block_height: int | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)  # one entry per attempt
    error: str | None = None
    trigger: str | None = None  # which exit rule planned it
    created_at: UtcDatetime = Field(default_factory=utcnow)
    submitted_at: UtcDatetime | None = None
    confirmed_at: UtcDatetime | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class Trade(DomainModel):
    """A fill: what an order actually did (paper: at the quote; live: the landed meta)."""

    id: str = Field(default_factory=new_id)
    order_id: str  # unique: one fill per order
    position_id: str
    signal_id: str | None = None
    wallet: Address | None = None  # the source wallet of the position
    mint: Address
    side: SwapSide
    mode: TradingMode
    sol_amount: NonNegative  # SOL of the swap itself, fees apart
    token_amount: NonNegative
    price_sol: NonNegative
    fee_sol: NonNegative = 0.0  # every fee: network + priority + platform
    network_fee_sol: NonNegative = 0.0
    priority_fee_sol: NonNegative = 0.0
    platform_fee_sol: NonNegative = 0.0
    price_impact_pct: float = 0.0
    quoted_out: NonNegative | None = None
    pnl_sol: float | None = None  # realized on sells
    delay_seconds: float | None = None  # the source wallet's swap → this fill
    trigger: str | None = None
    tx_signature: str | None = None
    executed_at: UtcDatetime = Field(default_factory=utcnow)


class TradeAction(StrEnum):
    """What the trading engine did with a signal (one row per signal: done once)."""

    opened = "opened"  # an entry order was placed
    confirmation = "confirmation"  # the mint is held: recorded, not bought again
    refused = "refused"  # a gate or the sizing said no (reason, message)
    mirror_exit = "mirror_exit"  # the source wallet sold: an exit was planned
    ignored = "ignored"  # nothing to do (a sell of a mint we do not hold from it…)


class TradeDecision(DomainModel):
    signal_id: str
    decided_at: UtcDatetime = Field(default_factory=utcnow)
    action: TradeAction
    gate: str | None = None
    reason: str | None = None
    message: str | None = None
    position_id: str | None = None
    mode: TradingMode | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class WalletCopyMode(DomainModel):
    """Per-wallet copy mode (the later PRD): new wallets start in paper; the operator
    promotes one to live once its paper record convinces. The global mode caps it."""

    wallet: Address
    mode: TradingMode = TradingMode.paper
    changed_at: UtcDatetime = Field(default_factory=utcnow)
    note: str | None = None


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
    last_reset_at: UtcDatetime | None = None
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
