"""Client-level response models: what the four APIs answer, parsed and typed.

These mirror the services' own shapes (camelCase aliases, unknown fields ignored, numbers
that arrive as strings converted). Domain models (``Swap``, ``TokenSnapshot``…) live in
``walltrack.models``; the clients convert where the mapping is mechanical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


def _number_or_none(value: Any) -> Any:
    # DexScreener/Jupiter send prices as strings ("0.9989"), sometimes empty.
    if value in ("", None):
        return None
    return value


LooseFloat = Annotated[float | None, BeforeValidator(_number_or_none)]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


# -- DexScreener --------------------------------------------------------------------------


class DexToken(ApiModel):
    address: str
    name: str | None = None
    symbol: str | None = None


class DexLiquidity(ApiModel):
    usd: LooseFloat = None
    base: LooseFloat = None
    quote: LooseFloat = None


class DexTxnCount(ApiModel):
    buys: int = 0
    sells: int = 0


class DexPair(ApiModel):
    chain_id: str
    dex_id: str
    url: str | None = None
    pair_address: str
    labels: list[str] = Field(default_factory=list)
    base_token: DexToken
    quote_token: DexToken
    price_native: LooseFloat = None
    price_usd: LooseFloat = None
    txns: dict[str, DexTxnCount] = Field(default_factory=dict)
    volume: dict[str, LooseFloat] = Field(default_factory=dict)
    price_change: dict[str, LooseFloat] = Field(default_factory=dict)
    liquidity: DexLiquidity | None = None
    fdv: LooseFloat = None
    market_cap: LooseFloat = None
    pair_created_at: int | None = None  # unix milliseconds
    info: dict[str, Any] | None = None
    boosts: dict[str, Any] | None = None

    @property
    def liquidity_usd(self) -> float:
        return (self.liquidity.usd if self.liquidity else None) or 0.0

    @property
    def created_at(self) -> datetime | None:
        if self.pair_created_at is None:
            return None
        return datetime.fromtimestamp(self.pair_created_at / 1000, UTC)


class DexPairsEnvelope(ApiModel):
    """``/latest/dex/...`` answers: ``{"schemaVersion", "pairs": [...]}`` (pairs may be null)."""

    schema_version: str | None = None
    pairs: list[DexPair] | None = None


class DexLink(ApiModel):
    url: str | None = None
    type: str | None = None
    label: str | None = None


class TokenBoost(ApiModel):
    url: str | None = None
    chain_id: str
    token_address: str
    amount: float | None = None
    total_amount: float | None = None
    icon: str | None = None  # sometimes a bare hash, not a URL
    header: str | None = None
    description: str | None = None
    links: list[DexLink] = Field(default_factory=list)


class TokenProfile(ApiModel):
    url: str | None = None
    chain_id: str
    token_address: str
    icon: str | None = None
    header: str | None = None
    open_graph: str | None = None
    description: str | None = None
    links: list[DexLink] = Field(default_factory=list)
    cto: bool | None = None


class Stale(ApiModel, Generic[T]):
    """A value with its freshness: ``stale`` = served from the last known value."""

    value: T
    fetched_at: datetime
    stale: bool = False
    age_seconds: float = 0.0
    reason: str | None = None  # why the fresh call failed, when stale


# -- Jupiter ------------------------------------------------------------------------------


class JupiterSwapInfo(ApiModel):
    amm_key: str
    label: str | None = None
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    fee_amount: int | None = None
    fee_mint: str | None = None


class JupiterRouteStep(ApiModel):
    swap_info: JupiterSwapInfo
    percent: float | None = None


class JupiterQuote(ApiModel):
    """``/swap/v1/quote`` answer; kept whole so it can be sent back to ``/swap/v1/swap``."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )

    input_mint: str
    in_amount: int
    output_mint: str
    out_amount: int
    other_amount_threshold: int
    swap_mode: Literal["ExactIn", "ExactOut"] = "ExactIn"
    slippage_bps: int
    platform_fee: dict[str, Any] | None = None
    price_impact_pct: float = 0.0
    route_plan: list[JupiterRouteStep] = Field(default_factory=list)
    context_slot: int | None = None
    time_taken: float | None = None


class JupiterSwapTransaction(ApiModel):
    """``/swap/v1/swap`` answer: an unsigned base64 versioned transaction."""

    swap_transaction: str
    last_valid_block_height: int
    prioritization_fee_lamports: int | None = None
    compute_unit_limit: int | None = None
    simulation_error: Any = None
    dynamic_slippage_report: dict[str, Any] | None = None


class JupiterOrder(ApiModel):
    """``/swap/v2/order`` answer: quote + unsigned transaction (absent without a taker)."""

    request_id: str
    input_mint: str | None = None
    output_mint: str | None = None
    in_amount: int | None = None
    out_amount: int
    other_amount_threshold: int | None = None
    slippage_bps: int | None = None
    price_impact_pct: LooseFloat = None
    transaction: str | None = None  # base64
    router: str | None = None
    mode: str | None = None
    fee_bps: int | None = None
    fee_mint: str | None = None
    last_valid_block_height: int | None = None


class JupiterExecution(ApiModel):
    """``/swap/v2/execute`` answer."""

    status: str  # "Success" | "Failed"
    signature: str | None = None
    slot: int | None = None
    code: int | None = None
    error: str | None = None
    input_amount_result: int | None = None
    output_amount_result: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status.lower() == "success"


class JupiterBuild(ApiModel):
    """``/swap/v2/build`` answer: a transaction we send through our own RPC."""

    transaction: str
    last_valid_block_height: int | None = None
    request_id: str | None = None
    out_amount: int | None = None


class JupiterPrice(ApiModel):
    """One mint of ``/price/v3``."""

    usd_price: float
    decimals: int | None = None
    liquidity: float | None = None
    block_id: int | None = None
    price_change_24h: float | None = None
    created_at: datetime | None = None
    source: Literal["jupiter", "dexscreener"] = "jupiter"
    stale: bool = False


# -- Solana RPC ---------------------------------------------------------------------------


class RpcSignatureInfo(ApiModel):
    signature: str
    slot: int
    err: Any = None
    memo: str | None = None
    block_time: int | None = None
    confirmation_status: str | None = None


class RpcBlockhash(ApiModel):
    blockhash: str
    last_valid_block_height: int


class RpcSignatureStatus(ApiModel):
    slot: int
    confirmations: int | None = None
    err: Any = None
    confirmation_status: str | None = None


class RpcSimulation(ApiModel):
    err: Any = None
    logs: list[str] | None = None
    units_consumed: int | None = None


class TokenBalance(ApiModel):
    """One SPL token account of a wallet (``getTokenAccountsByOwner`` jsonParsed)."""

    token_account: str
    mint: str
    owner: str
    amount: int  # raw units
    decimals: int
    ui_amount: float


class WalletBalances(ApiModel):
    address: str
    sol: float
    lamports: int
    tokens: list[TokenBalance] = Field(default_factory=list)
    slot: int | None = None
