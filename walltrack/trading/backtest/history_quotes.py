"""Paper quotes from a token's own swap history — the replay's edge in place of Jupiter.

A fill at time t is priced against the pool as the last swap at or before t left it
(``pool_sol_after``, ``pool_token_after``: raw lamports and token units), through the
constant-product formula with the pool's fee taken from the input — so a late copier pays
the price the buyers before it pushed up, and a large order its own impact. The time is
the engine's clock: source swap time + copy delay + our latency in a replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from walltrack.models import SwapSide
from walltrack.models.config import ExecutionConfig
from walltrack.trading.backtest.history import NoHistoryPrice, SwapHistory
from walltrack.trading.execution.base import SwapRequest
from walltrack.trading.execution.quotes import Quoted

__all__ = ["HistoryQuoter", "NoHistoryPrice", "constant_product_out"]


def constant_product_out(amount_in: int, reserve_in: int, reserve_out: int,
                         fee_bps: int) -> tuple[int, float]:
    """Output (raw) of a swap into an x·y = k pool, and its price impact (0–1)."""
    if reserve_in <= 0 or reserve_out <= 0 or amount_in <= 0:
        return 0, 1.0
    # Exact in integers (no rounding of the net input first), as the pools themselves do.
    eff = amount_in * (10_000 - fee_bps)
    out = reserve_out * eff // (reserve_in * 10_000 + eff)
    net = eff / 10_000
    return int(out), net / (reserve_in + net)


class HistoryQuoter:
    """Quotes at the engine's clock from the history's pools, with each token's pool fee."""

    def __init__(self, history: SwapHistory, clock: Callable[[], datetime]) -> None:
        self._history = history
        self._clock = clock

    def reserves_at(self, mint: str, at: datetime) -> tuple[int, int]:
        return self._history.reserves_at(mint, at)

    async def __call__(self, request: SwapRequest, config: ExecutionConfig) -> Quoted:
        sol, token = self._history.reserves_at(request.mint, self._clock())
        fee = self._history.facts(request.mint).fee_bps
        if request.side is SwapSide.buy:
            out, impact = constant_product_out(request.amount_in, sol, token, fee)
        else:
            out, impact = constant_product_out(request.amount_in, token, sol, fee)
        return Quoted(out_amount=out, price_impact_pct=impact, platform_fee_bps=0,
                      transaction=None, last_valid_block_height=None,
                      raw={"source": "history", "pool_sol": sol, "pool_token": token,
                           "fee_bps": fee})
