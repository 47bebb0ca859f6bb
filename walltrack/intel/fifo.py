"""FIFO lot matching of swaps, per (wallet, token), fully vectorised in polars.

For one (wallet, token) the bought tokens form a cost curve C(x): the SOL paid for the first
x tokens bought, piecewise linear with one segment per buy (its price). Under FIFO, a sell
that brings the cumulative sold amount from S₀ to S₁ has cost basis C(S₁) − C(S₀). So every
sell is valued by evaluating C at its cumulative point — no Python loop: buy ends and sell
points are merged, sorted by cumulative amount, and C is a running sum of segment × price.

A sell can only match tokens bought *before* it: its cumulative point is capped at the
amount bought up to its time. Tokens sold without a cost basis (received by transfer, bought
before the window) are left out of the PnL — documented, never invented.

Speed: (wallet, token) becomes one integer pair id (categorical codes), the swaps are sorted
once by (pair, time), and every per-pair running sum is a *global* cumulative sum minus the
value it had where the pair starts — no ``.over()`` window on strings. The capped point
min(sold so far, bought so far) is already monotone within a pair (both are), and a global
backward fill of the segment price is exact: a segment with positive length always ends at a
buy of the same pair.
"""

from __future__ import annotations

import polars as pl

PAIR = ["wallet", "mint"]
# A position is closed when what remains is at most this share of what was bought.
DUST_SHARE = 0.01


def _pair_ids(swaps: pl.DataFrame) -> pl.DataFrame:
    """Add ``pair`` (UInt64): one integer per (wallet, mint), from categorical codes."""
    def code(col: str) -> pl.Expr:
        expr = pl.col(col)
        if swaps.schema[col] != pl.Categorical:
            expr = expr.cast(pl.String).cast(pl.Categorical)
        return expr.to_physical().cast(pl.UInt64)

    return swaps.with_columns(pair=code("wallet") * (1 << 32) + code("mint"))


def _ordered(swaps: pl.DataFrame) -> pl.DataFrame:
    return (
        _pair_ids(swaps)
        # Same-slot ties: the signature's hash (chain order is unknown; any fixed order will
        # do, and a hash sorts far faster than the base58 text).
        .with_columns(tie=pl.col("signature").hash())
        .sort(["pair", "timestamp", "slot", "tie"])
        .with_columns(is_buy=pl.col("side") == "buy", start=_starts())
    )


def _starts() -> pl.Expr:
    """True on the first row of each pair (rows sorted by pair)."""
    previous = pl.col("pair").shift(1)
    return previous.is_null() | (pl.col("pair") != previous)


def _running(value: pl.Expr) -> pl.Expr:
    """Per-pair running sum of ``value`` (rows sorted by pair, ``start`` marks pair starts)."""
    total = value.cum_sum()
    before = pl.when(pl.col("start")).then(total - value).forward_fill()
    return total - before


def _previous(col: str) -> pl.Expr:
    """The previous row's value of ``col`` in the same pair, 0 on the pair's first row."""
    return pl.when(pl.col("start")).then(0.0).otherwise(pl.col(col).shift(1))


def _match(ordered: pl.DataFrame) -> pl.DataFrame:
    s = ordered.with_columns(
        bought_so_far=_running(pl.when(pl.col("is_buy")).then(pl.col("token_amount"))
                               .otherwise(0.0)),
        sold_so_far=_running(pl.when(~pl.col("is_buy")).then(pl.col("token_amount"))
                             .otherwise(0.0)),
    ).with_row_index("row")
    buys = s.filter(pl.col("is_buy")).select(
        "pair", x=pl.col("bought_so_far"),
        price=pl.col("sol_amount") / pl.col("token_amount"),
        is_sell=pl.lit(False), row=pl.lit(None, dtype=pl.UInt32),
    )
    # Capped at what was bought before the sell; min of two monotone series is monotone.
    sells = s.filter(~pl.col("is_buy")).with_columns(
        capped=pl.min_horizontal("sold_so_far", "bought_so_far"))
    points = pl.concat([
        buys,
        sells.select("pair", x=pl.col("capped"), price=pl.lit(None, dtype=pl.Float64),
                     is_sell=pl.lit(True), row=pl.col("row")),
    ]).sort(["pair", "x", "is_sell"]).with_columns(start=_starts())
    curve = points.with_columns(
        # The lot covering (previous x, x] is the next buy end at or after x.
        seg_price=pl.col("price").backward_fill().fill_null(0.0),
        dx=pl.col("x") - _previous("x"),
    ).with_columns(cost_at=_running(pl.col("dx") * pl.col("seg_price")))
    cost_at = curve.filter(pl.col("is_sell")).select("row", "cost_at")
    return (
        sells.join(cost_at, on="row", how="left")
        .sort("row")
        .with_columns(start=_starts())
        .with_columns(
            matched_tokens=pl.col("capped") - _previous("capped"),
            cost_basis=pl.col("cost_at") - _previous("cost_at"),
        )
        .with_columns(
            proceeds=pl.when(pl.col("token_amount") > 0)
            .then(pl.col("sol_amount") * pl.col("matched_tokens") / pl.col("token_amount"))
            .otherwise(0.0),
        )
        .with_columns(pnl=pl.col("proceeds") - pl.col("cost_basis"))
    )


def match_sells(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per sell: matched tokens, cost basis, proceeds and PnL (before fees)."""
    return _match(_ordered(swaps)).select(
        *PAIR, "signature", "timestamp", "token_amount", "sol_amount", "fee_sol",
        "matched_tokens", "cost_basis", "proceeds", "pnl")


def token_trades(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per (wallet, token): what was bought and sold, realized PnL after fees.

    ``closed`` when the remaining tokens are at most 1 % of those bought (and something was
    sold); open positions are not wins or losses. Fees: every sell's fee, plus the buys'
    fees in proportion to the share of bought tokens that has been sold.
    """
    ordered = _ordered(swaps)
    buy, sell = pl.col("is_buy"), ~pl.col("is_buy")
    per_pair = ordered.group_by("pair").agg(
        pl.col("wallet").first(),
        pl.col("mint").first(),
        bought_tokens=pl.col("token_amount").filter(buy).sum(),
        bought_sol=pl.col("sol_amount").filter(buy).sum(),
        buy_fees=pl.col("fee_sol").filter(buy).sum(),
        buys=buy.sum(),
        sells=sell.sum(),
        first_buy_at=pl.col("timestamp").filter(buy).min(),
        first_buy_slot=pl.col("slot").filter(buy).min(),
        last_sell_at=pl.col("timestamp").filter(sell).max(),
        first_buy_sol=pl.col("sol_amount").filter(buy).first(),
    )
    matched = _match(ordered).group_by("pair").agg(
        sold_tokens=pl.col("token_amount").sum(),
        matched_tokens=pl.col("matched_tokens").sum(),
        cost_basis=pl.col("cost_basis").sum(),
        proceeds=pl.col("proceeds").sum(),
        gross_pnl=pl.col("pnl").sum(),
        sell_fees=pl.col("fee_sol").sum(),
    )
    return (
        per_pair.join(matched, on="pair", how="left")
        .drop("pair")
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
