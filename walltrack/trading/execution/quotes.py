"""Quotes from Jupiter, the same for paper and live: ``/swap/v2/order`` by default (the
current API; with a taker it also returns the transaction), ``/swap/v1/quote`` +
``/swap/v1/swap`` when ``execution.jupiter_api`` is ``v1``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from walltrack.clients.jupiter import JupiterClient
from walltrack.models import SOL_MINT, SwapSide
from walltrack.models.config import ExecutionConfig, JupiterApi
from walltrack.trading.execution.base import SwapRequest


@dataclass(frozen=True, slots=True)
class Quoted:
    out_amount: int
    price_impact_pct: float
    platform_fee_bps: int
    transaction: str | None  # unsigned, base64 (only with a taker)
    last_valid_block_height: int | None
    raw: dict[str, Any]


def _mints(request: SwapRequest) -> tuple[str, str]:
    if request.side is SwapSide.buy:
        return SOL_MINT, request.mint
    return request.mint, SOL_MINT


async def quote(jupiter: JupiterClient, request: SwapRequest, config: ExecutionConfig, *,
                taker: str | None = None) -> Quoted:
    """A fresh quote for the attempt (a retry re-quotes: never the cache)."""
    input_mint, output_mint = _mints(request)
    if config.jupiter_api is JupiterApi.v2:
        order = await jupiter.order(input_mint, output_mint, request.amount_in, taker=taker,
                                    slippage_bps=request.slippage_bps)
        return Quoted(out_amount=order.out_amount,
                      price_impact_pct=float(order.price_impact_pct or 0.0),
                      platform_fee_bps=int(order.fee_bps or 0), transaction=order.transaction,
                      last_valid_block_height=order.last_valid_block_height,
                      raw=order.model_dump(mode="json", exclude={"transaction"}))
    q = await jupiter.quote(input_mint, output_mint, request.amount_in,
                            slippage_bps=request.slippage_bps, fresh=True)
    fee_bps = int((q.platform_fee or {}).get("feeBps") or 0)
    tx: str | None = None
    last_valid: int | None = None
    if taker is not None:
        swap = await jupiter.swap_transaction(
            q, taker, priority_fee_lamports=config.priority_fee_lamports)
        tx, last_valid = swap.swap_transaction, swap.last_valid_block_height
    return Quoted(out_amount=q.out_amount, price_impact_pct=float(q.price_impact_pct),
                  platform_fee_bps=fee_bps, transaction=tx, last_valid_block_height=last_valid,
                  raw=q.model_dump(mode="json", by_alias=True))


class Quoter(Protocol):
    """Where a paper fill's price comes from: Jupiter in the service, the token's own swap
    history in a replay (``walltrack.trading.backtest.history_quotes``) - the one edge."""

    async def __call__(self, request: SwapRequest, config: ExecutionConfig) -> Quoted: ...


class JupiterQuoter:
    def __init__(self, jupiter: JupiterClient) -> None:
        self._jupiter = jupiter

    async def __call__(self, request: SwapRequest, config: ExecutionConfig) -> Quoted:
        return await quote(self._jupiter, request, config)
