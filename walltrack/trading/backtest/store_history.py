"""A real store's swaps as a replay history: the pools' reserves reconstructed.

A store filled from Helius and DexScreener has every swap's amounts but not the pool it went
through, and the replay prices fills against the pool (``SwapHistory``). The reserves are
rebuilt from what the store does hold:

- the pool's constant product ``k`` from the token's latest snapshot at or before the swap
  (else the first after it), both within ``max_snapshot_age``: DexScreener's liquidity is
  both sides of the pool in USD, so the SOL side is ``liquidity_usd / 2`` at the snapshot's
  own SOL price (``price_usd / price_sol``), and ``k = sol² / price_sol``;
- the price the swap left, taken as its own execution price (``sol_amount /
  token_amount``); then ``sol = √(k · price)`` and ``token = sol / price`` — what a
  constant-product pool holding ``k`` shows at that price.

So a fill's price impact is the pool's depth as DexScreener last saw it, moved along the
curve to the price of the moment — not the exact reserves (liquidity added or pulled
between snapshots, and the pool fee, are not seen; a rug shows only from the first
snapshot after it). Swaps of tokens without a usable snapshot cannot be priced: they are
left out of the history and counted (``StoreHistory.unpriced``), so a signal on such a token
finds no pool and opens nothing. The pool fee is not stored either: ``fee_bps`` stands for
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from walltrack.store import Database
from walltrack.store.frames import query_frame
from walltrack.trading.backtest.history import LAMPORTS, SwapHistory

DEFAULT_FEE_BPS = 25  # Raydium AMM v4 / CPMM's common tier; PumpSwap takes 25–30 too
DEFAULT_MAX_SNAPSHOT_AGE = timedelta(hours=6)
DEFAULT_DECIMALS = 6  # pump.fun and most launchpads' mints

SWAP_SCHEMA = {"signature": pl.String, "slot": pl.Int64,
               "timestamp": pl.Datetime("us", "UTC"), "wallet": pl.String,
               "mint": pl.String, "side": pl.String, "sol_amount": pl.Float64,
               "token_amount": pl.Float64}
SNAPSHOT_SCHEMA = {"mint": pl.String, "taken_at": pl.Datetime("us", "UTC"),
                   "price_sol": pl.Float64, "price_usd": pl.Float64,
                   "liquidity_usd": pl.Float64}
TOKEN_SCHEMA = {"mint": pl.String, "decimals": pl.Int64, "pool": pl.String,
                "launch_time": pl.Datetime("us", "UTC"), "supply": pl.Float64}


@dataclass(frozen=True)
class StoreHistory:
    history: SwapHistory
    priced: int  # swaps in the history
    unpriced: int  # swaps left out: their token had no snapshot near enough
    unpriced_mints: int


def reconstruct_reserves(swaps: pl.DataFrame, snapshots: pl.DataFrame, tokens: pl.DataFrame,
                         *, max_snapshot_age: timedelta = DEFAULT_MAX_SNAPSHOT_AGE
                         ) -> pl.DataFrame:
    """``swaps`` (SWAP_SCHEMA) with ``pool_sol_after`` and ``pool_token_after`` (raw), null
    where no snapshot of the token lies within ``max_snapshot_age``."""
    usable = (snapshots.filter((pl.col("price_sol") > 0) & (pl.col("price_usd") > 0)
                               & (pl.col("liquidity_usd") > 0))
              .with_columns(k=(pl.col("liquidity_usd") / 2 / (pl.col("price_usd")
                                                             / pl.col("price_sol"))) ** 2
                            / pl.col("price_sol"))
              .select("mint", "taken_at", "k").sort("taken_at"))
    by_time = swaps.sort("timestamp")
    joined = [by_time.join_asof(usable, left_on="timestamp", right_on="taken_at", by="mint",
                                strategy=strategy, tolerance=max_snapshot_age,
                                check_sortedness=False).select(pl.col("k").alias(name))
              for strategy, name in (("backward", "k_before"), ("forward", "k_after"))]
    decimals = tokens.select("mint", pl.col("decimals").fill_null(DEFAULT_DECIMALS))
    price = pl.col("sol_amount") / pl.col("token_amount")  # SOL per whole token
    sol = (pl.coalesce("k_before", "k_after") * price).sqrt()
    return (pl.concat([by_time, *joined], how="horizontal")
            .join(decimals, on="mint", how="left")
            .with_columns(pl.col("decimals").fill_null(DEFAULT_DECIMALS))
            .with_columns(
                pool_sol_after=pl.when(price > 0).then((sol * LAMPORTS).round()),
                pool_token_after=pl.when(price > 0).then(
                    (sol / price * 10.0 ** pl.col("decimals")).round()))
            .with_columns(pl.col("pool_sol_after", "pool_token_after").cast(pl.Int64))
            .drop("k_before", "k_after", "decimals"))


def store_history(db: Database, *, until: datetime,
                  max_snapshot_age: timedelta = DEFAULT_MAX_SNAPSHOT_AGE,
                  fee_bps: int = DEFAULT_FEE_BPS) -> StoreHistory:
    """Every stored swap up to ``until``, priced against reconstructed pools."""
    swaps = query_frame(
        db, """SELECT signature, slot, timestamp, wallet, mint, side, sol_amount, token_amount
               FROM swaps WHERE timestamp <= %s""", (until,), schema=SWAP_SCHEMA)
    snapshots = query_frame(
        db, """SELECT mint, taken_at, price_sol, price_usd, liquidity_usd
               FROM token_snapshots WHERE taken_at <= %s""", (until,), schema=SNAPSHOT_SCHEMA)
    tokens = query_frame(
        db, """SELECT t.mint, coalesce(t.decimals, s.decimals)::bigint AS decimals,
                      t.pair_address AS pool, t.pair_created_at AS launch_time, s.supply
               FROM tokens t FULL JOIN token_safety s ON s.mint = t.mint""",
        schema=TOKEN_SCHEMA)
    rebuilt = reconstruct_reserves(swaps, snapshots, tokens, max_snapshot_age=max_snapshot_age)
    priced = rebuilt.filter(pl.col("pool_sol_after").is_not_null()
                            & pl.col("pool_token_after").is_not_null())
    unpriced = rebuilt.height - priced.height
    mints = priced.select("mint").unique()
    frame = (mints.join(tokens, on="mint", how="left")
             .with_columns(pl.col("decimals").fill_null(DEFAULT_DECIMALS))
             .with_columns(
                 # token_safety keeps the raw supply; unknown: a launchpad's billion.
                 supply_raw=pl.col("supply").fill_null(1e9 * 10.0 ** pl.col("decimals"))
                 .round().cast(pl.Int64),
                 fee_bps=pl.lit(fee_bps, pl.Int64))
             .select("mint", "decimals", "supply_raw", "fee_bps", "launch_time", "pool"))
    return StoreHistory(
        history=SwapHistory(priced, frame), priced=priced.height, unpriced=unpriced,
        unpriced_mints=rebuilt.filter(pl.col("pool_sol_after").is_null())["mint"].n_unique())
