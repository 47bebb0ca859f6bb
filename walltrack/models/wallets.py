"""Wallets, their origin, metrics and decay."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar

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


class DecayStatus(StrEnum):
    ok = "ok"
    flagged = "flagged"  # rolling win rate below the floor
    downgraded = "downgraded"  # consecutive losses: score × factor until a win
    dormant = "dormant"  # no activity for too long
    blacklisted = "blacklisted"  # by the operator; excluded from everything downstream


class Lifecycle(StrEnum):
    """Where a wallet stands, beside its decay status (walltrack/intel/lifecycle.py)."""

    discovered = "discovered"  # found, not profiled yet (or nothing to profile)
    profiled = "profiled"  # profiled, the watchlist rule not applied yet
    watchlisted = "watchlisted"
    ignored = "ignored"  # profiled, does not meet the watchlist criteria
    flagged = "flagged"  # watchlisted, but decay flags or downgrades it
    removed = "removed"  # was watchlisted, is not any more (or blacklisted)


class WatchlistOverride(StrEnum):
    """A manual decision that wins over the automatic watchlist rule."""

    none = "none"
    add = "add"
    remove = "remove"


class DiscoveryMethod(StrEnum):
    early_profitable_buyer = "early_profitable_buyer"
    cluster_member = "cluster_member"
    manual = "manual"


class WalletOrigin(DomainModel):
    """Why a wallet is in WallTrack: the answer to "why is this wallet here?"."""

    wallet: Address
    mint: Address
    method: DiscoveryMethod
    rank: int = Field(ge=1)  # e.g. 3 = third earliest buyer of that token
    found_at: UtcDatetime = Field(default_factory=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict)


class Wallet(DomainModel):
    address: Address
    first_seen_at: UtcDatetime = Field(default_factory=utcnow)
    label: str | None = None
    status: DecayStatus = DecayStatus.ok
    is_bot: bool = False
    on_watchlist: bool = False  # the effective value: automatic rule, then manual override
    watchlist_override: WatchlistOverride = WatchlistOverride.none
    cluster_id: str | None = None
    score: Fraction | None = None  # wallet score after decay
    raw_score: Fraction | None = None  # the profile's score, before decay
    lifecycle: Lifecycle = Lifecycle.discovered
    lifecycle_reason: str | None = None
    last_activity_at: UtcDatetime | None = None
    notes: str | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class SizeStyle(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"
    whale = "whale"


class WalletMetrics(DomainModel):
    """The profile of a wallet computed from its swap history."""

    wallet: Address
    computed_at: UtcDatetime = Field(default_factory=utcnow)
    window_days: int = Field(default=90, ge=1)
    swaps: int = Field(default=0, ge=0)
    tokens_traded: int = Field(default=0, ge=0)
    closed_trades: int = Field(default=0, ge=0)
    wins: int = Field(default=0, ge=0)
    losses: int = Field(default=0, ge=0)
    win_rate: Fraction = 0.0  # shrunk toward the prior: (wins + 2) / (n + 4)
    raw_win_rate: Fraction = 0.0
    realized_pnl_sol: float = 0.0  # after fees
    invested_sol: NonNegative = 0.0
    roi: float = 0.0
    profit_ratio: NonNegative | None = None  # average win / average loss
    avg_hold_seconds: NonNegative | None = None
    timing_percentile: Fraction | None = None  # 0 = first buyer of its tokens, 1 = last
    activity_hours: list[int] = Field(default_factory=lambda: [0] * 24)
    size_style: SizeStyle | None = None
    avg_buy_sol: NonNegative | None = None
    consistency: Fraction | None = None
    is_bot: bool = False
    bot_reason: str | None = None
    score: Fraction = 0.0  # before decay
    last_trade_at: UtcDatetime | None = None


StateT = TypeVar("StateT", DecayStatus, Lifecycle)


class WalletTransition(DomainModel, Generic[StateT]):
    """A wallet moving from one state to another, with the reason: one row per change."""

    id: str = Field(default_factory=new_id)
    wallet: Address
    at: UtcDatetime = Field(default_factory=utcnow)
    before: StateT
    after: StateT
    reason: str
    detail: dict[str, Any] = Field(default_factory=dict)


class LifecycleEvent(WalletTransition[Lifecycle]):
    """``lifecycle_events``: discovered → profiled → watchlisted | ignored → …"""


class DecayEvent(WalletTransition[DecayStatus]):
    """``decay_events``: ok → flagged / downgraded / dormant / blacklisted and back."""
