"""Build the wallet graph and its clusters from the store (issue 6, docs/clusters.md).

``build_clusters`` reads swaps, funding transfers, wallet origins and wallet scores, computes
the edges (``graph_edges``) and the clusters (``cluster_detect``), replaces the previous
run's ``wallet_edges``, ``clusters``, ``cluster_members`` and ``wallets.cluster_id`` in one
transaction. Live scoring builds its amplification index from those rows
(``amplification.load_index``).
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import polars as pl
from psycopg import sql
from pydantic import Field

from walltrack.errors import ValidationError
from walltrack.intel.blacklist import set_blacklisted
from walltrack.intel.cluster_detect import MEMBER_SCHEMA, detect_clusters
from walltrack.intel.graph_edges import (
    copy_followers,
    early_buyers_from_swaps,
    early_cooccurrence_edges,
    funded_by_edges,
    synced_buy_edges,
)
from walltrack.logging import get_logger
from walltrack.models.base import DomainModel
from walltrack.models.config import ClusterConfig
from walltrack.progress import Progress, no_progress
from walltrack.reference import known_exchange_addresses
from walltrack.store import Database
from walltrack.store.frames import UTC_US, copy_in, copy_out, query_frame
from walltrack.store.repositories import FundingTransferRepository

log = get_logger(__name__)

__all__ = ["ClusterReport", "blacklist_cluster", "build_clusters", "cluster_summaries",
           "compute_graph", "detect_clusters"]

SHARED_TOKENS_KEPT = 20


class ClusterReport(DomainModel):
    computed_at: datetime
    clusters: int = 0
    clustered_wallets: int = 0
    edges: dict[str, int] = Field(default_factory=dict)
    swaps_read: int = 0
    transfers_read: int = 0
    neo4j_mirrored: int | None = None  # statements sent to the Neo4j mirror, when set up
    seconds: float = 0.0

    def summary(self) -> str:
        return f"{self.clusters} clusters, {self.clustered_wallets} wallets, edges {self.edges}"


def compute_graph(
    swaps: pl.DataFrame,
    transfers: pl.DataFrame,
    early_buyers: pl.DataFrame | None,
    config: ClusterConfig,
    *,
    known_exchanges: set[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Edges and cluster members from frames (the pure core of ``build_clusters``)."""
    exchanges = known_exchange_addresses() if known_exchanges is None else known_exchanges
    if early_buyers is None or early_buyers.is_empty():
        early_buyers = early_buyers_from_swaps(swaps, config.early_max_rank)
    edges = pl.concat([
        funded_by_edges(transfers, config, known_exchanges=exchanges),
        synced_buy_edges(swaps, config),
        early_cooccurrence_edges(early_buyers, config),
    ])
    # Copy bots follow someone; they act with no one: their co-buys stay out of the
    # clustering (the edges are still stored and shown).
    copiers = copy_followers(swaps, config)["wallet"].unique().implode()
    acting = edges.filter((pl.col("kind") == "FUNDED_BY")
                          | ~(pl.col("src").is_in(copiers) | pl.col("dst").is_in(copiers)))
    return edges, detect_clusters(acting, config)


def cluster_summaries(
    members: pl.DataFrame, edges: pl.DataFrame, scores: pl.DataFrame, *, now: datetime
) -> pl.DataFrame:
    """One row per cluster: id, size, leader, funder, mean_score, shared_tokens, computed_at.

    ``shared_tokens``: tokens in the cluster's in-cluster SYNCED_BUY edges, most shared
    first (at most 20). ``mean_score``: mean wallet score of its trading members.
    """
    schema = {"id": pl.String, "size": pl.Int64, "leader": pl.String, "funder": pl.String,
              "mean_score": pl.Float64, "shared_tokens": pl.List(pl.String),
              "computed_at": UTC_US}
    if members.is_empty():
        return pl.DataFrame(schema=schema)
    m = members.select("cluster_id", "wallet")
    synced = edges.filter(pl.col("kind") == "SYNCED_BUY")
    inside = (
        synced.join(m.rename({"wallet": "src"}), on="src")
        .join(m.rename({"wallet": "dst", "cluster_id": "cd"}), on="dst")
        .filter(pl.col("cluster_id") == pl.col("cd"))
        .select("cluster_id", "tokens").explode("tokens")
        .group_by("cluster_id", "tokens").len()
        .sort(["cluster_id", "len", "tokens"], descending=[False, True, False])
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.col("tokens").head(SHARED_TOKENS_KEPT).alias("shared_tokens"))
    )
    trading = members.filter(pl.col("role") != "funder").join(
        scores.rename({"address": "wallet"}), on="wallet", how="left")
    base = members.group_by("cluster_id").agg(
        pl.len().cast(pl.Int64).alias("size"),
        pl.col("wallet").filter(pl.col("role") == "leader").first().alias("leader"),
        pl.col("wallet").filter(pl.col("role") == "funder").sort().first().alias("funder"),
    )
    mean = trading.group_by("cluster_id").agg(pl.col("score").mean().alias("mean_score"))
    return (
        base.join(mean, on="cluster_id", how="left")
        .join(inside, on="cluster_id", how="left")
        .with_columns(pl.col("shared_tokens").fill_null(pl.lit([], pl.List(pl.String))),
                      pl.lit(now).cast(UTC_US).alias("computed_at"))
        .rename({"cluster_id": "id"})
        .select(list(schema))
        .sort("size", "id", descending=[True, False])
    )


def _read_frames(db: Database) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    swaps = copy_out(db, sql.SQL("SELECT wallet, mint, side, timestamp FROM swaps "
                                 "WHERE side = 'buy'"),
                     schema={"wallet": pl.String, "mint": pl.String, "side": pl.String,
                             "timestamp": UTC_US})
    origins = query_frame(db, "SELECT wallet, mint, rank FROM wallet_origins",
                          schema={"wallet": pl.String, "mint": pl.String, "rank": pl.Int64})
    scores = query_frame(db, "SELECT address, score FROM wallets",
                         schema={"address": pl.String, "score": pl.Float64})
    transfers = FundingTransferRepository(db).frame()
    return swaps, transfers, origins, scores


def _stored_edges(edges: pl.DataFrame, config: ClusterConfig, now: datetime) -> pl.DataFrame:
    """Rows for ``wallet_edges``: every FUNDED_BY; co-buying edges above chance only."""
    kept = edges.filter((pl.col("kind") == "FUNDED_BY") | (pl.col("lift") >= config.min_lift))
    # One row per (src, dst, kind) — the primary key.
    kept = kept.unique(["src", "dst", "kind"], keep="first", maintain_order=True)
    return kept.select(
        "src", "dst", "kind", "weight", "src_first", "dst_first",
        pl.col("tokens").map_elements(lambda t: json.dumps(list(t)), return_dtype=pl.String),
        "first_at",
        pl.lit(now).cast(UTC_US).alias("computed_at"),
        pl.struct("lift", "overlap").map_elements(
            lambda s: json.dumps({k: (round(v, 4) if v is not None else None)
                                  for k, v in s.items()}),
            return_dtype=pl.String).alias("detail"),
    )


def write_graph(
    db: Database, edges: pl.DataFrame, members: pl.DataFrame, clusters: pl.DataFrame,
    config: ClusterConfig, *, now: datetime,
) -> None:
    """Replace the previous run's graph rows, in one transaction."""
    stored = _stored_edges(edges, config, now)
    cluster_rows = clusters.with_columns(
        pl.col("shared_tokens").map_elements(lambda t: json.dumps(list(t)),
                                             return_dtype=pl.String))
    with db.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM cluster_members")
        cur.execute("DELETE FROM clusters")
        cur.execute("DELETE FROM wallet_edges")
        cur.execute("UPDATE wallets SET cluster_id = NULL WHERE cluster_id IS NOT NULL")
        if stored.height:
            copy_in(cur, "wallet_edges", stored)
        if cluster_rows.height:
            copy_in(cur, "clusters", cluster_rows)
            copy_in(cur, "cluster_members", members.select(list(MEMBER_SCHEMA)))
            cur.execute(
                "UPDATE wallets w SET cluster_id = m.cluster_id FROM cluster_members m "
                "WHERE m.wallet = w.address")


def build_clusters(
    db: Database, config: ClusterConfig, *, now: datetime, progress: Progress | None = None
) -> ClusterReport:
    """The clustering run: read the store, compute, replace the graph rows. Returns counts
    for the job summary (the amplification index is built from the stored rows by
    ``amplification.load_index``)."""
    report = progress or no_progress
    started = time.perf_counter()
    report("read", 0, 3)
    swaps, transfers, origins, scores = _read_frames(db)
    report("edges", 1, 3)
    edges, members = compute_graph(swaps, transfers, origins, config)
    report("write", 2, 3)
    clusters = cluster_summaries(members, edges, scores, now=now)
    write_graph(db, edges, members, clusters, config, now=now)
    report("done", 3, 3)
    result = ClusterReport(
        computed_at=now,
        clusters=clusters.height,
        clustered_wallets=members.height,
        edges={k: n for k, n in edges.group_by("kind").len().sort("kind").iter_rows()},
        swaps_read=swaps.height,
        transfers_read=transfers.height,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("clusters_built", **result.model_dump(mode="json", exclude={"computed_at"}))
    return result


def blacklist_cluster(db: Database, cluster_id: str, reason: str, *, now: datetime) -> int:
    """Blacklist every member of a cluster (funder included); return how many changed."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT wallet FROM cluster_members WHERE cluster_id = %s ORDER BY wallet",
            (cluster_id,)).fetchall()
    if not rows:
        raise ValidationError(f"no cluster {cluster_id!r} in the store",
                              hint="pick one from the current cluster list (ids change when "
                              "membership changes)")
    changed = set_blacklisted(db, [r[0] for r in rows], f"cluster {cluster_id}: {reason}",
                              now=now)
    log.info("cluster_blacklisted", cluster_id=cluster_id, members=len(rows), changed=changed)
    return changed
