"""FIFO lot matching of swaps, per (wallet, token), fully vectorised in polars.

For one (wallet, token) the bought tokens form a cost curve C(x): the SOL paid for the first
x tokens bought, piecewise linear with one segment per buy (its price). Under FIFO, a sell
that brings the cumulative sold amount from S₀ to S₁ has cost basis C(S₁) − C(S₀). So every
sell is valued by evaluating C at its cumulative point — no Python loop: buy ends and sell
points are merged, sorted by cumulative amount, and C is a running sum of segment × price.

A sell can only match tokens bought *before* it: its cumulative point is capped at the
amount bought up to its time. Tokens sold without a cost basis (received by transfer, bought
before the window) are left out of the PnL — documented, never invented.
"""

from __future__ import annotations

import polars as pl

PAIR = ["wallet", "mint"]
# A position is closed when what remains is at most this share of what was bought.
DUST_SHARE = 0.01


def _ordered(swaps: pl.DataFrame) -> pl.DataFrame:
    return swaps.sort([*PAIR, "timestamp", "slot", "signature"]).with_columns(
        is_buy=pl.col("side") == "buy",
    )


def match_sells(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per sell: matched tokens, cost basis, proceeds and PnL (before fees)."""
    s = _ordered(swaps).with_columns(
        bought_so_far=pl.when(pl.col("is_buy")).then(pl.col("token_amount")).otherwise(0.0)
        .cum_sum().over(PAIR),
        sold_so_far=pl.when(~pl.col("is_buy")).then(pl.col("token_amount")).otherwise(0.0)
        .cum_sum().over(PAIR),
    )
    buys = s.filter(pl.col("is_buy")).select(
        *PAIR,
        x=pl.col("bought_so_far"),
        price=pl.col("sol_amount") / pl.col("token_amount"),
        is_sell=pl.lit(False),
        row=pl.lit(None, dtype=pl.UInt32),
    )
    sells = (
        s.with_row_index("row")
        .filter(~pl.col("is_buy"))
        .with_columns(
            # Cap at what was bought before this sell; keep the cap monotone.
            capped=pl.min_horizontal("sold_so_far", "bought_so_far").cum_max().over(PAIR),
        )
    )
    points = pl.concat(
        [
            buys,
            sells.select(*PAIR, x=pl.col("capped"), price=pl.lit(None, dtype=pl.Float64),
                         is_sell=pl.lit(True), row=pl.col("row")),
        ]
    ).sort([*PAIR, "x", "is_sell"])
    curve = points.with_columns(
        # The lot covering (previous x, x] is the next buy end at or after x.
        seg_price=pl.col("price").backward_fill().over(PAIR).fill_null(0.0),
        dx=(pl.col("x") - pl.col("x").shift(1).over(PAIR).fill_null(0.0)),
    ).with_columns(cost_at=(pl.col("dx") * pl.col("seg_price")).cum_sum().over(PAIR))
    cost_at = curve.filter(pl.col("is_sell")).select("row", "cost_at")
    out = (
        sells.join(cost_at, on="row", how="left")
        .with_columns(
            matched_tokens=pl.col("capped") - pl.col("capped").shift(1).over(PAIR).fill_null(0.0),
            cost_basis=pl.col("cost_at") - pl.col("cost_at").shift(1).over(PAIR).fill_null(0.0),
        )
        .with_columns(
            proceeds=pl.when(pl.col("token_amount") > 0)
            .then(pl.col("sol_amount") * pl.col("matched_tokens") / pl.col("token_amount"))
            .otherwise(0.0),
        )
        .with_columns(pnl=pl.col("proceeds") - pl.col("cost_basis"))
    )
    return out.select(*PAIR, "signature", "timestamp", "token_amount", "sol_amount", "fee_sol",
                      "matched_tokens", "cost_basis", "proceeds", "pnl")


def token_trades(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per (wallet, token): what was bought and sold, realized PnL after fees.

    ``closed`` when the remaining tokens are at most 1 % of those bought (and something was
    sold); open positions are not wins or losses. Fees: every sell's fee, plus the buys'
    fees in proportion to the share of bought tokens that has been sold.
    """
    ordered = _ordered(swaps)
    per_pair = ordered.group_by(PAIR).agg(
        bought_tokens=pl.col("token_amount").filter(pl.col("is_buy")).sum(),
        bought_sol=pl.col("sol_amount").filter(pl.col("is_buy")).sum(),
        buy_fees=pl.col("fee_sol").filter(pl.col("is_buy")).sum(),
        buys=pl.col("is_buy").sum(),
        sells=(~pl.col("is_buy")).sum(),
        first_buy_at=pl.col("timestamp").filter(pl.col("is_buy")).min(),
        first_buy_slot=pl.col("slot").filter(pl.col("is_buy")).min(),
        last_sell_at=pl.col("timestamp").filter(~pl.col("is_buy")).max(),
        first_buy_sol=pl.col("sol_amount").filter(pl.col("is_buy")).first(),
    )
    matched = match_sells(ordered).group_by(PAIR).agg(
        sold_tokens=pl.col("token_amount").sum(),
        matched_tokens=pl.col("matched_tokens").sum(),
        cost_basis=pl.col("cost_basis").sum(),
        proceeds=pl.col("proceeds").sum(),
        gross_pnl=pl.col("pnl").sum(),
        sell_fees=pl.col("fee_sol").sum(),
    )
    return (
        per_pair.join(matched, on=PAIR, how="left")
        .with_columns(pl.col("sold_tokens", "matched_tokens", "cost_basis", "proceeds",
                             "gross_pnl", "sell_fees").fill_null(0.0))
        .with_columns(
            sold_share=pl.when(pl.col("bought_tokens") > 0)
            .then((pl.col("matched_tokens") / pl.col("bought_tokens")).clip(0.0, 1.0))
            .otherwise(0.0),
        )
        .with_columns(
            fees=pl.col("sell_fees") + pl.col("buy_fees") * pl.col("sold_share"),
            remaining_tokens=(pl.col("bought_tokens") - pl.col("matched_tokens")).clip(0.0),
        )
        .with_columns(
            realized_pnl=pl.col("gross_pnl") - pl.col("fees"),
            closed=(pl.col("matched_tokens") > 0)
            & (pl.col("remaining_tokens") <= DUST_SHARE * pl.col("bought_tokens")),
            hold_seconds=(pl.col("last_sell_at") - pl.col("first_buy_at")).dt.total_seconds(),
        )
    )
