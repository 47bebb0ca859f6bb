"""Wallet-graph edges, computed on polars frames (no Python loop over swaps).

Three kinds (DESIGN.md section 5, docs/clusters.md for the rules and why):

* ``FUNDED_BY`` — ``src`` was funded by ``dst``: the source of ``src``'s first *meaningful*
  incoming SOL transfer (≥ ``funding_min_sol``). Exchange-like sources never make an edge:
  a source is exchange-like when it is a known exchange wallet (reference list) **or** when
  it funded more than ``exchange_fanout_threshold`` distinct wallets (the fan-out rule, which
  catches the exchanges the list misses). Without that rule one exchange would join
  thousands of strangers.
* ``SYNCED_BUY`` — two wallets whose first buys of the same token are at most
  ``synced_buy_window_seconds`` apart. ``weight`` = number of distinct such tokens,
  ``src_first`` / ``dst_first`` = on how many of them each bought first. Only pairs with at
  least ``synced_min_tokens`` tokens are kept (one shared busy launch is no evidence).
* ``EARLY_ON`` — both among the early buyers of at least ``early_cooccurrence_min_tokens``
  tokens.

Every co-buying edge also carries ``lift`` = observed shared tokens / the number expected by
chance for two wallets that active (``n_src · n_dst / n_tokens``): a sniper bot that buys
most launches shares many tokens with everyone, but no more than chance predicts.
Pairs are canonical: ``src < dst`` (a wallet never pairs with itself).
"""

from __future__ import annotations

import polars as pl

from walltrack.models.config import ClusterConfig
from walltrack.store.frames import UTC_US

EDGE_SCHEMA: dict[str, pl.DataType] = {
    "src": pl.String(),
    "dst": pl.String(),
    "kind": pl.String(),
    "weight": pl.Float64(),
    "src_first": pl.Int64(),
    "dst_first": pl.Int64(),
    "tokens": pl.List(pl.String()),
    "first_at": UTC_US,
    "lift": pl.Float64(),
    "overlap": pl.Float64(),
}


def empty_edges() -> pl.DataFrame:
    return pl.DataFrame(schema=EDGE_SCHEMA)


def _utc(col: str) -> pl.Expr:
    return pl.col(col).cast(UTC_US)


def exchange_like_sources(
    transfers: pl.DataFrame, config: ClusterConfig, *, known_exchanges: set[str]
) -> pl.DataFrame:
    """Sources that look like exchanges: ``source, fanout, known, exchange_like``."""
    meaningful = transfers.filter(pl.col("sol_amount") >= config.funding_min_sol)
    fan = meaningful.group_by("source").agg(pl.col("destination").n_unique().alias("fanout"))
    return fan.with_columns(
        pl.col("source").is_in(list(known_exchanges)).alias("known"),
    ).with_columns(
        (pl.col("known") | (pl.col("fanout") > config.exchange_fanout_threshold))
        .alias("exchange_like")
    )


def funded_by_edges(
    transfers: pl.DataFrame, config: ClusterConfig, *, known_exchanges: set[str]
) -> pl.DataFrame:
    """``FUNDED_BY`` edges (``src`` funded by ``dst``) from SOL transfers.

    ``transfers`` needs ``timestamp, source, destination, sol_amount`` (+ ``signature`` for a
    deterministic order of simultaneous transfers).
    """
    if transfers.is_empty():
        return empty_edges()
    fan = exchange_like_sources(transfers, config, known_exchanges=known_exchanges)
    exchange = fan.filter("exchange_like").select("source")
    order = ["destination", "timestamp"] + (["signature"] if "signature" in transfers.columns
                                             else [])
    first = (
        transfers.filter(
            (pl.col("sol_amount") >= config.funding_min_sol)
            & (pl.col("source") != pl.col("destination"))
        )
        .sort(order)
        .group_by("destination", maintain_order=True)
        .first()
    )
    # An exchange-like source makes no edge; neither does an exchange-like destination.
    edges = (
        first.join(exchange, on="source", how="anti")
        .join(exchange.rename({"source": "destination"}), on="destination", how="anti")
        .join(fan.select("source", "fanout"), on="source", how="left")
    )
    return edges.select(
        pl.col("destination").alias("src"),
        pl.col("source").alias("dst"),
        pl.lit("FUNDED_BY").alias("kind"),
        pl.lit(1.0).alias("weight"),
        pl.lit(0, pl.Int64).alias("src_first"),
        pl.lit(0, pl.Int64).alias("dst_first"),
        pl.concat_list(pl.lit([], pl.List(pl.String))).list.head(0).alias("tokens"),
        _utc("timestamp").alias("first_at"),
        pl.col("fanout").cast(pl.Float64).alias("lift"),  # for FUNDED_BY: the funder's fan-out
        pl.lit(1.0).alias("overlap"),
    ).sort("src", "dst")


def first_buys(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per (wallet, mint): the time of the wallet's first buy of that token."""
    return (
        swaps.lazy()
        .filter(pl.col("side") == "buy")
        .group_by("wallet", "mint")
        .agg(_utc("timestamp").min().alias("ts"))
        .collect()
    )


def copy_followers(swaps: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Copiers: ``wallet, leader, tokens`` — ``wallet``'s first buy of a token came
    1–``copy_lag_seconds`` seconds after ``leader``'s on ``tokens`` tokens, at least
    ``copy_min_tokens`` of them and at least ``copy_min_share`` of the leader's tokens.

    A copy bot lags the wallet it copies by a few seconds on nearly all of that wallet's
    tokens; a cluster's members buy tens of seconds to minutes apart, and two wallets a few
    seconds apart by chance do not repeat it on most of one's tokens. Timestamps have second
    precision, so the lag is counted in whole seconds and a same-second buy is no evidence.
    """
    lag = int(config.copy_lag_seconds)
    fb = first_buys(swaps)
    if fb.is_empty():
        return pl.DataFrame(schema={"wallet": pl.String, "leader": pl.String,
                                    "tokens": pl.UInt32})
    fb = fb.with_columns(t=pl.col("ts").dt.epoch("s")).with_columns(bucket=pl.col("t") // lag)
    lead = fb.lazy().select("mint", "bucket", leader="wallet", tl="t")
    follow = fb.lazy().select("mint", "bucket", wallet="wallet", tf="t")
    # Buckets of `lag` seconds: a follower within `lag` s is in the leader's bucket or the next.
    pairs = pl.concat([
        lead.join(follow, on=["mint", "bucket"]),
        lead.join(follow.with_columns(bucket=pl.col("bucket") - 1), on=["mint", "bucket"]),
    ]).filter((pl.col("tf") - pl.col("tl")).is_between(1, lag) & (pl.col("wallet")
                                                                     != pl.col("leader")))
    n_lead = fb.group_by("wallet").agg(n=pl.len()).rename({"wallet": "leader"})
    return (
        pairs.group_by("wallet", "leader").agg(tokens=pl.col("mint").n_unique()).collect()
        .join(n_lead, on="leader")
        .filter((pl.col("tokens") >= config.copy_min_tokens)
                & (pl.col("tokens") >= config.copy_min_share * pl.col("n")))
        .select("wallet", "leader", "tokens").sort("wallet", "leader")
    )


def _with_lift(pairs: pl.DataFrame, per_wallet: pl.DataFrame, n_tokens: int) -> pl.DataFrame:
    """Add ``lift`` = co-tokens / (n_src · n_dst / n_tokens) and ``overlap`` = co-tokens /
    min(n_src, n_dst) (1.0 = the less active wallet bought nothing without the other)."""
    return (
        pairs.join(per_wallet.rename({"wallet": "src", "n": "n_src"}), on="src", how="left")
        .join(per_wallet.rename({"wallet": "dst", "n": "n_dst"}), on="dst", how="left")
        .with_columns(
            (pl.col("weight") * n_tokens / (pl.col("n_src") * pl.col("n_dst"))).alias("lift"),
            (pl.col("weight") / pl.min_horizontal("n_src", "n_dst")).alias("overlap"),
        )
        .drop("n_src", "n_dst")
    )


def synced_buy_edges(swaps: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """``SYNCED_BUY`` edges from swaps (``wallet, mint, side, timestamp``).

    Windowed self-join: buys are bucketed by ``window`` seconds and joined with the same and
    the next bucket of the same token, so candidate pairs stay within two windows (a launch
    with thousands of buyers over a day never becomes a full cross product).
    """
    window = int(config.synced_buy_window_seconds)
    fb = first_buys(swaps)
    if fb.is_empty():
        return empty_edges()
    fb = fb.with_columns(
        pl.col("ts").dt.epoch("s").alias("t"),
    ).with_columns((pl.col("t") // window).alias("bucket"))
    left = fb.lazy().select("mint", "bucket", pl.col("wallet").alias("a"),
                            pl.col("t").alias("ta"), pl.col("ts").alias("tsa"))
    right = fb.lazy().select("mint", "bucket", pl.col("wallet").alias("b"),
                             pl.col("t").alias("tb"), pl.col("ts").alias("tsb"))
    same = left.join(right, on=["mint", "bucket"]).filter(pl.col("a") < pl.col("b"))
    nxt = left.join(
        right.with_columns((pl.col("bucket") - 1).alias("bucket")), on=["mint", "bucket"]
    ).filter(pl.col("a") != pl.col("b"))
    pairs = (
        pl.concat([same, nxt])
        .filter((pl.col("tb") - pl.col("ta")).abs() <= window)
        .select(
            pl.min_horizontal("a", "b").alias("src"),
            pl.max_horizontal("a", "b").alias("dst"),
            "mint",
            # who bought first, seen from the canonical src
            pl.when(pl.col("ta") == pl.col("tb")).then(0)
            .when((pl.col("a") < pl.col("b")) == (pl.col("ta") < pl.col("tb"))).then(1)
            .otherwise(-1).alias("first"),
            pl.min_horizontal("tsa", "tsb").alias("at"),
        )
        .group_by("src", "dst")
        .agg(
            pl.len().cast(pl.Float64).alias("weight"),
            (pl.col("first") == 1).sum().cast(pl.Int64).alias("src_first"),
            (pl.col("first") == -1).sum().cast(pl.Int64).alias("dst_first"),
            pl.col("mint").sort().alias("tokens"),
            pl.col("at").min().alias("first_at"),
        )
        .filter(pl.col("weight") >= config.synced_min_tokens)
        .collect()
    )
    per_wallet = fb.group_by("wallet").agg(pl.len().alias("n"))
    n_tokens = fb["mint"].n_unique()
    out = _with_lift(pairs, per_wallet, n_tokens).with_columns(
        pl.lit("SYNCED_BUY").alias("kind")
    )
    return out.select(list(EDGE_SCHEMA)).sort("src", "dst")


def early_buyers_from_swaps(swaps: pl.DataFrame, max_rank: int) -> pl.DataFrame:
    """The first ``max_rank`` buyers of each token (``wallet, mint, rank``) — what wallet
    discovery stores as origins, derived here when the store has none."""
    fb = first_buys(swaps)
    return (
        fb.sort("mint", "ts", "wallet")
        .with_columns(pl.int_range(1, pl.len() + 1).over("mint").alias("rank"))
        .filter(pl.col("rank") <= max_rank)
        .select("wallet", "mint", "rank")
    )


def early_cooccurrence_edges(
    origins_or_early_buyers: pl.DataFrame, config: ClusterConfig
) -> pl.DataFrame:
    """``EARLY_ON`` edges from ``wallet, mint`` rows (wallet origins or early buyers)."""
    eb = origins_or_early_buyers.select("wallet", "mint").unique()
    if eb.is_empty():
        return empty_edges()
    a = eb.lazy().rename({"wallet": "src"})
    b = eb.lazy().rename({"wallet": "dst"})
    pairs = (
        a.join(b, on="mint")
        .filter(pl.col("src") < pl.col("dst"))
        .group_by("src", "dst")
        .agg(pl.len().cast(pl.Float64).alias("weight"), pl.col("mint").sort().alias("tokens"))
        .filter(pl.col("weight") >= config.early_cooccurrence_min_tokens)
        .collect()
    )
    per_wallet = eb.group_by("wallet").agg(pl.len().alias("n"))
    out = _with_lift(pairs, per_wallet, eb["mint"].n_unique()).with_columns(
        pl.lit("EARLY_ON").alias("kind"),
        pl.lit(0, pl.Int64).alias("src_first"),
        pl.lit(0, pl.Int64).alias("dst_first"),
        pl.lit(None, UTC_US).alias("first_at"),
    )
    return out.select(list(EDGE_SCHEMA)).sort("src", "dst")
