"""History-priced paper quotes: the pool as the last swap before the fill left it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from walltrack.errors import ExecutionError
from walltrack.models import SwapSide
from walltrack.models.config import ExecutionConfig
from walltrack.simulator.amm import out_for_in, price_impact
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.history_quotes import (
    HistoryQuoter,
    NoHistoryPrice,
    constant_product_out,
)
from walltrack.trading.execution.base import SwapRequest
from walltrack.trading.execution.paper import PaperExecutor

T0 = datetime(2025, 6, 10, tzinfo=UTC)
MINT = "Mint111111111111111111111111111111111111111"
SOL = 1_000_000_000


def swaps() -> pl.DataFrame:
    # 30 SOL / 1e9 tokens at T0; a buyer doubles the SOL side 10 s later (x·y kept).
    return pl.DataFrame({"signature": ["s1", "s2"], "slot": [1, 2],
                         "timestamp": [T0, T0 + timedelta(seconds=10)],
                         "wallet": ["W1", "W2"], "mint": [MINT, MINT], "side": ["buy", "buy"],
                         "sol_amount": [1.0, 30.0], "token_amount": [1.0, 500.0],
                         "pool_sol_after": [30 * SOL, 60 * SOL],
                         "pool_token_after": [1_000_000_000, 500_000_000]})


def history(fee_bps: int = 0, frame: pl.DataFrame | None = None) -> SwapHistory:
    tokens = pl.DataFrame({"mint": [MINT], "decimals": [6], "supply_raw": [10**15],
                           "fee_bps": [fee_bps]})
    return SwapHistory(swaps() if frame is None else frame, tokens)


def request(side: SwapSide, amount: int) -> SwapRequest:
    return SwapRequest(key="k:1", mint=MINT, side=side, amount_in=amount, slippage_bps=100,
                       decimals=6)


def test_constant_product_by_hand_and_as_the_simulated_pools_fill() -> None:
    out, impact = constant_product_out(10, 90, 1_000, 0)  # 1000·10/(90+10)
    assert (out, impact) == (100, 0.1)
    out, _ = constant_product_out(10_000, 90_000, 1_000_000, 100)  # 1 % fee off the input
    assert out == 1_000_000 * 9_900 // 99_900
    # A replay's fill must be the very amount the simulator's pool would have given.
    for a, x, y, fee in [(1_234_567, 30 * SOL, 10**15, 25), (7, 13, 10**9, 100),
                         (5 * SOL, 61 * SOL + 3, 123_456_789_012, 30)]:
        assert constant_product_out(a, x, y, fee)[0] == out_for_in(x, y, a, fee)
        assert constant_product_out(a, x, y, fee)[1] == pytest.approx(price_impact(x, y, a, fee))


def test_history_without_reserves_is_refused_by_name() -> None:
    with pytest.raises(ExecutionError, match="no pool reserves"):
        history(frame=swaps().with_columns(pool_sol_after=pl.lit(None, pl.Int64)))
    with pytest.raises(ExecutionError, match="pool_token_after"):
        history(frame=swaps().drop("pool_token_after"))


def test_a_later_fill_pays_what_the_earlier_buyers_pushed_up() -> None:
    now = [T0 + timedelta(seconds=5)]
    quoter = HistoryQuoter(history(), lambda: now[0])
    cfg = ExecutionConfig()
    early = asyncio.run(quoter(request(SwapSide.buy, SOL), cfg))
    now[0] = T0 + timedelta(seconds=15)
    late = asyncio.run(quoter(request(SwapSide.buy, SOL), cfg))
    assert early.out_amount == 1_000_000_000 * SOL // (31 * SOL)
    assert late.out_amount == 500_000_000 * SOL // (61 * SOL)
    assert late.out_amount < early.out_amount / 3.9  # about four times dearer
    assert early.price_impact_pct == pytest.approx(1 / 31)
    sell = asyncio.run(quoter(request(SwapSide.sell, 10_000_000), cfg))
    assert sell.out_amount == 60 * SOL * 10_000_000 // 510_000_000


def test_no_swap_before_the_fill_is_a_quote_failure_not_a_price_of_zero() -> None:
    quoter = HistoryQuoter(history(), lambda: T0 - timedelta(seconds=1))
    with pytest.raises(NoHistoryPrice, match="at or before"):
        asyncio.run(quoter(request(SwapSide.buy, SOL), ExecutionConfig()))
    with pytest.raises(NoHistoryPrice):
        HistoryQuoter(history(), lambda: T0).reserves_at("OtherMint", T0)


def test_the_paper_executor_fills_at_the_history_quote_with_the_fees() -> None:
    cfg = ExecutionConfig()
    executor = PaperExecutor(HistoryQuoter(history(25), lambda: T0),
                             lambda: cfg)

    async def go() -> tuple[int, int, int]:
        prepared = await executor.prepare(request(SwapSide.buy, SOL))
        await executor.send(prepared)
        fill = await executor.fill(prepared.signature, prepared.request)
        assert fill is not None
        return fill.token_raw, fill.network_fee_lamports, fill.priority_fee_lamports

    tokens, network, priority = asyncio.run(go())
    assert tokens == constant_product_out(SOL, 30 * SOL, 1_000_000_000, 25)[0]
    assert (network, priority) == (cfg.network_fee_lamports, cfg.priority_fee_lamports)


def test_spot_price_and_rolling_volume_from_the_tape() -> None:
    tape = history()
    assert tape.price_sol_at(MINT, T0 + timedelta(seconds=5)) == pytest.approx(30 / 1_000)
    assert tape.price_sol_at(MINT, T0 - timedelta(seconds=1)) is None
    assert tape.volume_sol(MINT, T0 - timedelta(hours=1), T0 + timedelta(seconds=10)) == 31.0
    assert tape.volume_sol(MINT, T0, T0 + timedelta(seconds=10)) == 30.0  # (start, end]
    assert tape.first_swap_at(MINT) == T0
