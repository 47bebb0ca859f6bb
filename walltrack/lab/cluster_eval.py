"""Clustering accuracy against the simulator's truth (docs/clusters.md, "Accuracy").

Definitions:

* ``cluster_pairwise_f1`` — over unordered pairs of *trading* cluster wallets (truth roles
  leader and member; predicted roles leader and member). The funder is **not** counted on
  either side: it never trades, so only funding links it, and counting it would reward the
  funding rule twice. A predicted pair is right when both wallets are in the same planted
  cluster. ``cluster_pairwise_f1_with_funders`` counts funders too (detail).
* ``leader_accuracy`` — among recovered clusters (predicted clusters whose majority planted
  cluster is a real one), the share whose predicted leader is that cluster's planted leader.
* ``exchange_merges`` — predicted clusters that join wallets only through an exchange-like
  funder: clusters containing a truth ``exchange`` wallet, or clusters whose members fall
  apart (more than one connected component) once the edges touching truth exchange wallets
  are removed from the stored graph.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import polars as pl

from walltrack.store import Database
from walltrack.store.frames import query_frame

TRADING_ROLES = ("leader", "member")


def _pairs(frame: pl.DataFrame, group: str) -> pl.DataFrame:
    a = frame.select(pl.col("wallet").alias("a"), pl.col(group).alias("g"))
    b = frame.select(pl.col("wallet").alias("b"), pl.col(group).alias("g"))
    return a.join(b, on="g").filter(pl.col("a") < pl.col("b")).select("a", "b").unique()


def pairwise_scores(pred: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """``pred``: wallet, cluster_id; ``truth``: wallet, cluster_id → precision/recall/F1."""
    p = _pairs(pred.select("wallet", pl.col("cluster_id").cast(pl.String)), "cluster_id")
    t = _pairs(truth.select("wallet", pl.col("cluster_id").cast(pl.String)), "cluster_id")
    tp = p.join(t, on=["a", "b"]).height
    precision = tp / p.height if p.height else 0.0
    recall = tp / t.height if t.height else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "pred_pairs": p.height, "truth_pairs": t.height}


def accuracy_from_frames(
    members: pl.DataFrame, truth_wallets: pl.DataFrame, edges: pl.DataFrame | None = None
) -> dict[str, Any]:
    """The metrics from predicted members (cluster_id, wallet, role) and the truth frame."""
    truth = truth_wallets.filter(pl.col("cluster_id").is_not_null()).select(
        "wallet", pl.col("cluster_id").cast(pl.String), "role")
    trading_pred = members.filter(pl.col("role").is_in(TRADING_ROLES))
    trading_truth = truth.filter(pl.col("role").is_in(TRADING_ROLES))
    main = pairwise_scores(trading_pred, trading_truth)
    with_funders = pairwise_scores(members, truth)

    # Recovered clusters: the majority planted cluster of each predicted one.
    joined = trading_pred.join(
        trading_truth.rename({"cluster_id": "truth_id", "role": "truth_role"}),
        on="wallet", how="left",
    )
    majority = (
        joined.filter(pl.col("truth_id").is_not_null())
        .group_by("cluster_id", "truth_id").agg(pl.len().alias("n"))
        .sort(["cluster_id", "n", "truth_id"], descending=[False, True, False])
        .group_by("cluster_id", maintain_order=True).first()
    )
    leaders = trading_truth.filter(pl.col("role") == "leader").select(
        pl.col("cluster_id").alias("truth_id"), pl.col("wallet").alias("truth_leader"))
    pred_leaders = members.filter(pl.col("role") == "leader").select(
        "cluster_id", pl.col("wallet").alias("pred_leader"))
    check = majority.join(leaders, on="truth_id").join(pred_leaders, on="cluster_id", how="left")
    leader_ok = check.filter(pl.col("pred_leader") == pl.col("truth_leader")).height
    leader_accuracy = leader_ok / check.height if check.height else 0.0

    exchanges = set(truth_wallets.filter(pl.col("archetype") == "exchange")["wallet"])
    merges = _exchange_merges(members, edges, exchanges)
    return {
        "cluster_pairwise_f1": round(main["f1"], 4),
        "leader_accuracy": round(leader_accuracy, 4),
        "exchange_merges": merges,
        "pair_precision": round(main["precision"], 4),
        "pair_recall": round(main["recall"], 4),
        "cluster_pairwise_f1_with_funders": round(with_funders["f1"], 4),
        "clusters_found": members["cluster_id"].n_unique() if members.height else 0,
        "clusters_recovered": check.height,
        "planted": trading_truth["cluster_id"].n_unique(),
        "clustered_wallets": members.height,
    }


def _exchange_merges(
    members: pl.DataFrame, edges: pl.DataFrame | None, exchanges: set[str]
) -> int:
    merges = 0
    for cid, group in members.group_by("cluster_id", maintain_order=True):
        wallets = set(group["wallet"])
        if wallets & exchanges:
            merges += 1
            continue
        if edges is None or edges.is_empty():
            continue
        inner = edges.filter(
            pl.col("src").is_in(list(wallets)) & pl.col("dst").is_in(list(wallets))
        )
        graph = nx.Graph()
        graph.add_nodes_from(wallets)
        graph.add_edges_from(inner.select("src", "dst").iter_rows())
        if nx.number_connected_components(graph) > 1:
            merges += 1
        del cid
    return merges


def cluster_accuracy(db: Database, truth_wallets: pl.DataFrame) -> dict[str, Any]:
    """Accuracy of the clusters stored by the last ``build_clusters`` run."""
    members = query_frame(db, "SELECT cluster_id, wallet, role FROM cluster_members",
                          schema={"cluster_id": pl.String, "wallet": pl.String,
                                  "role": pl.String})
    edges = query_frame(db, "SELECT src, dst, kind FROM wallet_edges",
                        schema={"src": pl.String, "dst": pl.String, "kind": pl.String})
    return accuracy_from_frames(members, truth_wallets, edges)


def acquisition_view(
    swaps: pl.DataFrame,
    transfers: pl.DataFrame,
    tokens: pl.DataFrame,
    *,
    token_share: float,
    early_rank: int = 100,
    min_sol: float = 0.05,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What acquisition would have stored, approximated from a full market.

    Discovered tokens: the busiest ``token_share`` of tokens (by swap count — discovery's
    liquidity/volume filters favour them). Discovered wallets: the first ``early_rank``
    buyers of each discovered token. Store: the discovered tokens' whole histories, the
    discovered wallets' whole histories, and each discovered wallet's first meaningful
    incoming transfer. Returns (swaps, transfers, origins: wallet, mint, rank).
    """
    n = max(1, round(tokens.height * token_share))
    mints = tokens.sort(["swap_count", "mint"], descending=[True, False]).head(n)["mint"]
    buys = (
        swaps.filter(pl.col("mint").is_in(mints.implode()) & (pl.col("side") == "buy"))
        .group_by("wallet", "mint").agg(pl.col("timestamp").min())
        .sort("mint", "timestamp", "wallet")
        .with_columns(pl.int_range(1, pl.len() + 1).over("mint").alias("rank"))
    )
    origins = buys.filter(pl.col("rank") <= early_rank).select("wallet", "mint", "rank")
    wallets = origins["wallet"].unique()
    kept = swaps.filter(
        pl.col("mint").is_in(mints.implode()) | pl.col("wallet").is_in(wallets.implode()))
    first_in = (
        transfers.filter(pl.col("destination").is_in(wallets.implode())
                         & (pl.col("sol_amount") >= min_sol))
        .sort("destination", "timestamp", "signature")
        .group_by("destination", maintain_order=True).first()
    )
    return kept, first_in, origins
