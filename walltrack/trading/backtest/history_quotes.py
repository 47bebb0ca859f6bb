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

import numpy as np
import polars as pl

from walltrack.errors import ExecutionError
from walltrack.models import SwapSide
from walltrack.models.config import ExecutionConfig
from walltrack.trading.execution.base import SwapRequest
from walltrack.trading.execution.quotes import Quoted

COLUMNS = ("mint", "timestamp", "pool_sol_after", "pool_token_after")


class NoHistoryPrice(ExecutionError):
    """No swap of the mint at or before the fill's time: nothing to price it at."""

    code = "no_history_price"


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
    """``fee_bps(mint)``: the pool's fee, taken from the input (the venue's, per token)."""

    def __init__(self, history: pl.DataFrame, clock: Callable[[], datetime], *,
                 fee_bps: Callable[[str], int]) -> None:
        missing = [c for c in COLUMNS if c not in history.columns]
        if missing:
            raise ExecutionError(f"the swap history lacks the columns {missing}",
                                 hint="price a replay from swaps with the pools' reserves")
        unknown = history.filter(pl.any_horizontal(pl.col(c).is_null() for c in COLUMNS))
        if unknown.height:
            raise ExecutionError(
                f"{unknown.height} swaps of the history have no pool reserves",
                hint="history quotes need every swap's pool_sol_after and pool_token_after")
        self._clock = clock
        self._fee_bps = fee_bps
        self._by_mint: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for (mint,), part in history.sort("timestamp").group_by("mint", maintain_order=True):
            self._by_mint[str(mint)] = (
                part["timestamp"].dt.epoch("us").to_numpy(),
                part["pool_sol_after"].to_numpy(), part["pool_token_after"].to_numpy())

    def reserves_at(self, mint: str, at: datetime) -> tuple[int, int]:
        times, sol, token = self._by_mint.get(mint, (np.empty(0, np.int64),) * 3)
        i = int(np.searchsorted(times, int(at.timestamp() * 1_000_000), side="right")) - 1
        if i < 0:
            raise NoHistoryPrice(f"no swap of {mint} at or before {at.isoformat()}",
                                 hint="the replay's history must cover the traded period")
        return int(sol[i]), int(token[i])

    async def __call__(self, request: SwapRequest, config: ExecutionConfig) -> Quoted:
        sol, token = self.reserves_at(request.mint, self._clock())
        fee = self._fee_bps(request.mint)
        if request.side is SwapSide.buy:
            out, impact = constant_product_out(request.amount_in, sol, token, fee)
        else:
            out, impact = constant_product_out(request.amount_in, token, sol, fee)
        return Quoted(out_amount=out, price_impact_pct=impact, platform_fee_bps=0,
                      transaction=None, last_valid_block_height=None,
                      raw={"source": "history", "pool_sol": sol, "pool_token": token,
                           "fee_bps": fee})
