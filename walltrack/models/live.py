"""The live side's models: inbox items, token data and safety, shadow outcomes, status."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from walltrack.models.base import DomainModel, Fraction, NonNegative, UtcDatetime
from walltrack.models.trading import SignalSource


class InboxStatus(StrEnum):
    pending = "pending"
    done = "done"
    parked = "parked"  # failed ``sources.inbox_max_attempts`` times; its error is kept


class InboxItem(DomainModel):
    """One stored transaction (the payload stays bytes: JSON as received)."""

    seq: int
    signature: str
    source: SignalSource
    received_at: UtcDatetime
    payload: bytes
    status: InboxStatus = InboxStatus.pending
    attempts: int = 0
    last_error: str | None = None
    duplicates: int = 0


class InboxAck(DomainModel):
    """What the webhook route answers once a delivery is committed."""

    accepted: int
    duplicates: int


class SafetyCheck(StrEnum):
    """A token safety check, named in a signal's ``failed_checks`` (docs/live.md)."""

    mint_authority = "mint_authority"  # can still mint: supply can be inflated at will
    freeze_authority = "freeze_authority"  # can still freeze holders' accounts
    token_extension = "token_extension"  # noqa: S105 - a forbidden Token-2022 extension
    transfer_fee = "transfer_fee"  # Token-2022 transfer fee above the maximum
    holder_concentration = "holder_concentration"  # top-10 share above the maximum
    liquidity = "liquidity"  # pool liquidity below the minimum (or collapsed)
    no_sell_route = "no_sell_route"  # a buy quote but no route back: a trap
    round_trip_loss = "round_trip_loss"  # buy + sell back loses more than allowed
    low_score = "low_score"  # no single hard failure, but the safety score is too low
    unknown = "unknown"  # the data could not be read (never counted as safe)


class TokenMarket(DomainModel):
    """DexScreener's view of the token's main pair."""

    pair_address: str | None = None
    dex_id: str | None = None
    price_usd: NonNegative | None = None
    price_sol: NonNegative | None = None
    liquidity_usd: NonNegative | None = None
    market_cap_usd: NonNegative | None = None
    volume_24h_usd: NonNegative | None = None
    pair_created_at: UtcDatetime | None = None
    fetched_at: UtcDatetime


class TokenSafety(DomainModel):
    """The safety verdict of one mint: a score in [0, 1], the failed checks and inputs."""

    score: Fraction
    failed: list[SafetyCheck] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)  # every number the checks read

    @property
    def safe(self) -> bool:
        return not self.failed


class TokenView(DomainModel):
    """Everything scoring knows about a token at one moment."""

    mint: str
    market: TokenMarket | None = None
    safety: TokenSafety


class SignalOutcome(DomainModel):
    signal_id: str
    horizon_s: int
    due_at: UtcDatetime
    measured_at: UtcDatetime | None = None
    price_usd: NonNegative | None = None
    return_pct: float | None = None
    source: str | None = None
    note: str | None = None


class LiveStatus(DomainModel):
    """One named row of ``live_status`` (webhook sync, deadman, polling)."""

    key: str
    value: dict[str, Any] = Field(default_factory=dict)
    updated_at: UtcDatetime | None = None
