"""Accuracy of the research pipeline against the simulator's ground truth.

Reads what the pipeline stored (wallets, their scores after decay, their swaps) and compares
it with ``market.truth_wallets``. Metrics:

- ``top50_smart_precision``: share of the 50 best-scored wallets that are informed/insider;
- ``top50_bot_share``, ``lucky_retail_in_top50``, ``top50_archetypes``;
- ``fading_detected_share``: of the fading wallets profiled with a closed trade after their
  fade day, the share that the decay rules put in ``flagged`` or ``downgraded`` within their
  first 20 closed trades after that day (replayed trade by trade with ``decay_timeline``);
- discovery and bot-flag figures for context (how many of each archetype were found,
  bots flagged, watchlist precision);
- the cluster metrics of ``walltrack.lab.cluster_eval.cluster_accuracy``:
  ``cluster_pairwise_f1``, ``leader_accuracy``, ``exchange_merges`` (definitions there).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from psycopg import sql

from walltrack.intel.decay import decay_timeline
from walltrack.intel.profiling import closed_trades
from walltrack.lab.cluster_eval import cluster_accuracy
from walltrack.models import DynamicConfig
from walltrack.simulator.market import Market
from walltrack.store import Database
from walltrack.store.frames import query_frame
from walltrack.store.repositories import ConfigRepository, SwapRepository

SMART = ("informed", "insider")
TOP = 50
FADING_HORIZON = 20  # closed trades after the fade day


def _wallet_table(db: Database) -> pl.DataFrame:
    return query_frame(
        db, "SELECT w.address, w.status, COALESCE(w.score, 0), w.is_bot, w.on_watchlist, "
            "COALESCE(m.closed_trades, 0) FROM wallets w "
            "LEFT JOIN wallet_metrics m ON m.wallet = w.address",
        schema={"wallet": pl.String, "status": pl.String, "score": pl.Float64,
                "is_bot": pl.Boolean, "on_watchlist": pl.Boolean, "closed_trades": pl.Int64})


def fading_detection(
    db: Database, market: Market, config: DynamicConfig, wallets: list[str]
) -> dict[str, Any]:
    fading = market.truth_wallets.filter(
        (pl.col("archetype") == "fading") & pl.col("wallet").is_in(pl.Series(wallets).implode())
    ).select("wallet", fade_at=pl.lit(market.params.start)
             + pl.duration(days=pl.col("fade_day")))
    if fading.is_empty():
        return {"fading_profiled": 0, "fading_evaluable": 0, "fading_detected_share": None}
    swaps = SwapRepository(db).frame(sql.SQL("wallet = ANY(%s)"), [fading["wallet"].to_list()])
    now = swaps["timestamp"].max() if swaps.height else market.params.start
    trades = closed_trades(swaps, window_days=10_000, now=now,
                           wallets=fading["wallet"].to_list())
    timeline = decay_timeline(trades, config.decay).join(fading, on="wallet")
    after = timeline.filter(pl.col("closed_at") >= pl.col("fade_at")).with_columns(
        k=pl.int_range(1, pl.len() + 1).over("wallet"))
    caught = after.filter(pl.col("k") <= FADING_HORIZON).group_by("wallet").agg(
        detected=pl.col("status").is_in(["flagged", "downgraded"]).any(),
        trade=pl.col("k").filter(pl.col("status").is_in(["flagged", "downgraded"])).min())
    n = caught.height
    return {
        "fading_profiled": fading.height,
        "fading_evaluable": n,
        "fading_detected_share": round(float(caught["detected"].mean()), 4) if n else None,
        "fading_median_trades_to_detect": caught["trade"].median(),
    }


def evaluate_against_truth(db: Database, market: Market) -> dict[str, Any]:
    config = ConfigRepository(db).load()
    table = _wallet_table(db).join(
        market.truth_wallets.select("wallet", "archetype"), on="wallet", how="left"
    ).with_columns(pl.col("archetype").fill_null("unknown"))
    ranked = table.filter(pl.col("status") != "blacklisted").sort(
        ["score", "wallet"], descending=[True, False])
    top = ranked.head(TOP)
    top_counts = dict(top.group_by("archetype").len().iter_rows())
    found = dict(table.group_by("archetype").len().iter_rows())
    truth = dict(market.truth_wallets.group_by("archetype").len().iter_rows())
    bots_true = table.filter(pl.col("archetype") == "sniper_bot")
    flagged = table.filter(pl.col("is_bot"))
    watch = table.filter(pl.col("on_watchlist"))
    smart = pl.col("archetype").is_in(SMART)
    n_top = max(top.height, 1)
    return {
        "top50_smart_precision": round(top.filter(smart).height / n_top, 4),
        "top50_bot_share": round(top_counts.get("sniper_bot", 0) / n_top, 4),
        "lucky_retail_in_top50": top_counts.get("lucky_retail", 0),
        **fading_detection(db, market, config, table["wallet"].to_list()),
        "top50_archetypes": top_counts,
        "wallets_tracked": table.height,
        "wallets_profiled": int((table["closed_trades"] > 0).sum()),
        "found_by_archetype": found,
        "truth_by_archetype": truth,
        "smart_found_share": round(
            table.filter(smart).height / max(sum(truth.get(a, 0) for a in SMART), 1), 4),
        "bots_flagged": flagged.height,
        "bot_flag_precision": round(
            flagged.filter(pl.col("archetype") == "sniper_bot").height / flagged.height, 4)
        if flagged.height else None,
        "bot_flag_recall": round(
            bots_true.filter(pl.col("is_bot")).height / bots_true.height, 4)
        if bots_true.height else None,
        "watchlist_size": watch.height,
        "watchlist_smart_precision": round(watch.filter(smart).height / watch.height, 4)
        if watch.height else None,
        **cluster_accuracy(db, market.truth_wallets),
    }
