"""Constant-product math: invariant kept, impact grows with size, reserves never negative."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from walltrack.simulator import Market
from walltrack.simulator.amm import Pool, out_for_in, price_impact

reserve = st.integers(min_value=10**6, max_value=10**18)
amount = st.integers(min_value=1, max_value=10**16)
fee = st.integers(min_value=0, max_value=300)


@given(reserve, reserve, st.lists(st.tuples(st.booleans(), amount), max_size=40), fee)
def test_invariant_never_decreases_and_reserves_stay_positive(
    s: int, t: int, trades, fee_bps: int
) -> None:
    pool = Pool(s, t, fee_bps)
    for is_buy, x in trades:
        k = pool.k
        if is_buy:
            pool.buy(x)
        else:
            pool.sell(x)
        assert pool.sol > 0 and pool.token > 0
        assert pool.k >= k


@given(reserve, reserve, amount, amount, fee)
def test_price_impact_is_monotone_in_size(
    r_in: int, r_out: int, a: int, b: int, fee_bps: int
) -> None:
    small, big = sorted((a, b))
    assert (
        price_impact(r_in, r_out, small, fee_bps) <= price_impact(r_in, r_out, big, fee_bps) + 1e-12
    )
    assert out_for_in(r_in, r_out, small, fee_bps) <= out_for_in(r_in, r_out, big, fee_bps)
    assert out_for_in(r_in, r_out, big, fee_bps) < r_out


def test_recorded_market_follows_the_pool_math(small_market: Market) -> None:
    """Replaying every recorded swap through the pool gives the recorded reserves."""
    tokens = {r["mint"]: r for r in small_market.tokens.to_dicts()}
    s = small_market.swaps.sort("seq")
    for mint, group in s.group_by("mint", maintain_order=True):
        tok = tokens[mint[0]]
        pool = Pool(tok["pool_sol_initial"], tok["pool_token_initial"], tok["fee_bps"])
        rugged = False
        for row in group.iter_rows(named=True):
            if tok["rug_t"] == tok["rug_t"] and not rugged and row["t"] >= tok["rug_t"]:
                pool = Pool(pool.sol * 2 // 100, pool.token * 2 // 100, pool.fee_bps)
                rugged = True
            if row["side"] == "buy":
                assert pool.buy(row["sol_lamports"]) == row["token_raw"]
            else:
                assert pool.sell(row["token_raw"]) == row["sol_lamports"]
            assert (pool.sol, pool.token) == (row["pool_sol_after"], row["pool_token_after"])
    assert (s["pool_sol_after"] > 0).all() and (s["pool_token_after"] > 0).all()
    assert s.filter(pl.col("side") == "sell")["sol_lamports"].min() >= 0
