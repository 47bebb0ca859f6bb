"""FIFO matching on hand-made histories, with the arithmetic written out."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests import factories
from walltrack.intel.fifo import match_sells, token_trades

W, MINT = factories.WALLET, factories.MINT
MINT2 = factories.address("mint-2")


def frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (minute, wallet, mint, side, sol, tokens, fee)."""
    return pl.DataFrame(
        [
            {
                "signature": factories.signature(f"{i}"), "slot": 1000 + i,
                "timestamp": factories.T0 + timedelta(minutes=minute), "wallet": w, "mint": m,
                "side": side, "sol_amount": sol, "token_amount": tok, "source": "RAYDIUM",
                "fee_sol": fee,
            }
            for i, (minute, w, m, side, sol, tok, fee) in enumerate(rows)
        ]
    )


def test_partial_sells_match_the_oldest_lots_first() -> None:
    swaps = frame([
        (0, W, MINT, "buy", 1.0, 100.0, 0.0),   # lot 1: 0.010 SOL/token
        (1, W, MINT, "buy", 3.0, 100.0, 0.0),   # lot 2: 0.030 SOL/token
        (2, W, MINT, "sell", 3.0, 150.0, 0.0),  # 100 from lot 1 (1.0) + 50 from lot 2 (1.5)
        (3, W, MINT, "sell", 2.0, 50.0, 0.0),   # 50 from lot 2 (1.5)
    ])
    sells = match_sells(swaps).sort("timestamp")
    assert sells["cost_basis"].to_list() == pytest.approx([2.5, 1.5])
    assert sells["pnl"].to_list() == pytest.approx([0.5, 0.5])
    (trade,) = token_trades(swaps).to_dicts()
    assert trade["realized_pnl"] == pytest.approx(1.0)
    assert trade["closed"] is True
    assert trade["hold_seconds"] == 180


def test_fees_are_charged_on_sells_and_on_the_sold_share_of_buys() -> None:
    swaps = frame([
        (0, W, MINT, "buy", 1.0, 100.0, 0.01),
        (5, W, MINT, "sell", 0.8, 50.0, 0.02),  # half sold: half the buy fee is realized
    ])
    (trade,) = token_trades(swaps).to_dicts()
    assert trade["gross_pnl"] == pytest.approx(0.8 - 0.5)
    assert trade["fees"] == pytest.approx(0.02 + 0.005)
    assert trade["realized_pnl"] == pytest.approx(0.3 - 0.025)
    assert trade["closed"] is False  # half is still held: not a win nor a loss yet


def test_a_sell_never_matches_a_later_buy_and_unbacked_tokens_are_left_out() -> None:
    swaps = frame([
        (0, W, MINT, "sell", 1.0, 100.0, 0.0),  # tokens from elsewhere: no cost basis
        (1, W, MINT, "buy", 2.0, 100.0, 0.0),
        (2, W, MINT, "sell", 3.0, 100.0, 0.0),
    ])
    sells = match_sells(swaps).sort("timestamp")
    assert sells["matched_tokens"].to_list() == pytest.approx([0.0, 100.0])
    assert sells["pnl"].to_list() == pytest.approx([0.0, 1.0])


def test_several_tokens_and_wallets_are_kept_apart() -> None:
    other = factories.OTHER
    swaps = frame([
        (0, W, MINT, "buy", 1.0, 10.0, 0.0),
        (0, other, MINT, "buy", 5.0, 10.0, 0.0),
        (1, W, MINT2, "buy", 1.0, 10.0, 0.0),
        (2, W, MINT, "sell", 2.0, 10.0, 0.0),
        (3, W, MINT2, "sell", 0.5, 10.0, 0.0),
        (4, other, MINT, "sell", 4.0, 10.0, 0.0),
    ])
    trades = {(t["wallet"], t["mint"]): t["realized_pnl"] for t in token_trades(swaps).to_dicts()}
    assert trades == pytest.approx({(W, MINT): 1.0, (W, MINT2): -0.5, (other, MINT): -1.0})


def test_a_one_trade_wallet_has_an_open_position_only() -> None:
    (trade,) = token_trades(frame([(0, W, MINT, "buy", 1.0, 10.0, 0.001)])).to_dicts()
    assert trade["closed"] is False
    assert trade["realized_pnl"] == 0.0
    assert trade["hold_seconds"] is None
