"""Tokens, their snapshots, swaps and SOL funding transfers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from walltrack.models.base import (
    Address,
    DomainModel,
    NonNegative,
    Signature,
    UtcDatetime,
    utcnow,
)

SOL_MINT = "So11111111111111111111111111111111111111112"
LAMPORTS_PER_SOL = 1_000_000_000


class TokenSource(StrEnum):
    boost_latest = "boost_latest"
    boost_top = "boost_top"
    profile = "profile"
    search = "search"
    manual = "manual"
    wallet_history = "wallet_history"


class TokenStatus(StrEnum):
    active = "active"
    dead = "dead"  # no volume / liquidity left
    rugged = "rugged"  # liquidity pulled or collapsed


class Token(DomainModel):
    mint: Address
    symbol: str | None = None
    name: str | None = None
    decimals: int | None = Field(default=None, ge=0, le=18)
    pair_address: str | None = None
    dex_id: str | None = None
    quote_symbol: str | None = None
    source: TokenSource = TokenSource.manual
    first_seen_at: UtcDatetime = Field(default_factory=utcnow)
    pair_created_at: UtcDatetime | None = None
    status: TokenStatus = TokenStatus.active
    status_reason: str | None = None
    # Safety facts (mint/freeze authority still active → unsafe for trading).
    mint_authority_active: bool | None = None
    freeze_authority_active: bool | None = None
    top10_holder_share: float | None = Field(default=None, ge=0.0, le=1.0)
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class TokenSnapshot(DomainModel):
    """One surveillance reading of a token's market."""

    mint: Address
    taken_at: UtcDatetime
    price_usd: NonNegative | None = None
    price_sol: NonNegative | None = None
    liquidity_usd: NonNegative | None = None
    market_cap_usd: NonNegative | None = None
    fdv_usd: NonNegative | None = None
    volume_24h_usd: NonNegative | None = None
    buys_24h: int | None = Field(default=None, ge=0)
    sells_24h: int | None = Field(default=None, ge=0)
    price_change_24h_pct: float | None = None
    stale: bool = False  # served from the last known value because the source was down


class SwapSide(StrEnum):
    buy = "buy"  # SOL (or wrapped SOL) in, token out — from the wallet's point of view
    sell = "sell"


class Swap(DomainModel):
    """One wallet trading one token against SOL in one transaction.

    Amounts are UI amounts (SOL, not lamports; tokens divided by their decimals).
    ``sol_amount`` excludes the network fee, which is ``fee_sol`` (paid by the fee payer).
    """

    signature: Signature
    slot: int = Field(ge=0)
    timestamp: UtcDatetime
    wallet: Address
    mint: Address
    side: SwapSide
    sol_amount: NonNegative
    token_amount: NonNegative
    source: str = "UNKNOWN"  # the DEX or aggregator as Helius names it (RAYDIUM, PUMP_AMM…)
    fee_sol: NonNegative = 0.0

    @property
    def price_sol(self) -> float | None:
        return self.sol_amount / self.token_amount if self.token_amount else None


class FundingTransfer(DomainModel):
    """A SOL transfer into a wallet (used for FUNDED_BY edges)."""

    signature: Signature
    slot: int = Field(ge=0)
    timestamp: UtcDatetime
    source: Address  # the funder
    destination: Address  # the funded wallet
    sol_amount: NonNegative
