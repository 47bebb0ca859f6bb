"""Community detection on the wallet graph, and each cluster's roles (pure, no store).

The clustering graph (docs/clusters.md):

* ``SYNCED_BUY`` edges with ``lift ≥ min_lift`` weigh their number of distinct tokens;
* ``EARLY_ON`` edges with ``lift ≥ min_lift`` weigh ``early_edge_weight`` × tokens;
* ``FUNDED_BY`` edges (exchange-like funders already removed) weigh ``funding_edge_weight``.

Louvain per connected component (networkx, seeded with ``config.seed``, nodes and edges
inserted in sorted order so the result is deterministic). A community becomes a cluster
when at least ``min_cluster_size`` of its wallets have a ``SYNCED_BUY`` edge inside it (the
*core*: a funding star alone is not a cluster — retail gets funded by peers too). A non-core wallet
stays as ``funder`` when it funded at least two core wallets; other non-core wallets are
dropped. Leader: the core wallet that bought first most often in the cluster's synced buys
(sum of its ``src_first``/``dst_first`` over in-cluster SYNCED_BUY edges); ties → the wallet
the cluster's funder funded first, then the address.

Cluster id = ``cl_`` + 12 hex of sha256 over the sorted member addresses: stable across runs
while the membership is unchanged, and a new id when it changes.
"""

from __future__ import annotations

import hashlib

import networkx as nx
import polars as pl

from walltrack.models.config import ClusterConfig

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "cluster_id": pl.String(),
    "wallet": pl.String(),
    "role": pl.String(),
    "leads": pl.Int64(),
}


def cluster_id_for(members: list[str]) -> str:
    digest = hashlib.sha256(",".join(sorted(members)).encode()).hexdigest()
    return f"cl_{digest[:12]}"


def clustering_weights(edges: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Undirected ``a, b, w``: the evidence that two wallets act together.

    Co-buying counts ``tokens × overlap`` (so two clusters sharing a couple of launches weigh
    little against a cluster's own run of launches); a co-buying pair funded by the same
    (non-exchange) funder gets ``funding_edge_weight`` more; a FUNDED_BY edge itself weighs
    ``funding_edge_weight``. Pairs under ``min_edge_weight`` are dropped.
    """
    kind, lift, weight = pl.col("kind"), pl.col("lift"), pl.col("weight")
    cobuy = edges.filter((kind != "FUNDED_BY") & (lift >= config.min_lift))
    funding = edges.filter(kind == "FUNDED_BY").select(
        pl.col("src").alias("wallet"), pl.col("dst").alias("funder"))
    w = (
        pl.when(kind == "SYNCED_BUY").then(weight * pl.col("overlap"))
        .otherwise(weight * pl.col("overlap") * config.early_edge_weight)
    )
    siblings = (
        cobuy.select("src", "dst").unique()
        .join(funding.rename({"wallet": "src", "funder": "fs"}), on="src")
        .join(funding.rename({"wallet": "dst", "funder": "fd"}), on="dst")
        .filter(pl.col("fs") == pl.col("fd"))
        .select(pl.col("src").alias("a"), pl.col("dst").alias("b"),
                pl.lit(config.funding_edge_weight).alias("w"))
    )
    parts = [
        cobuy.select(pl.min_horizontal("src", "dst").alias("a"),
                     pl.max_horizontal("src", "dst").alias("b"), w.alias("w")),
        siblings.select(pl.min_horizontal("a", "b").alias("a"),
                        pl.max_horizontal("a", "b").alias("b"), "w"),
        edges.filter(kind == "FUNDED_BY").select(
            pl.min_horizontal("src", "dst").alias("a"), pl.max_horizontal("src", "dst").alias("b"),
            pl.lit(config.funding_edge_weight).alias("w")),
    ]
    return (
        pl.concat(parts)
        .filter(pl.col("a") != pl.col("b"))
        .group_by("a", "b")
        .agg(pl.col("w").sum())
        .filter(pl.col("w") >= config.min_edge_weight)
        .sort("a", "b")
    )


def _communities(weights: pl.DataFrame, config: ClusterConfig) -> list[list[str]]:
    """Louvain on each connected component separately: modularity's null model then uses the
    component's own total weight, so two groups joined by a thin edge are not merged just
    because the whole graph is large (the resolution limit)."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted(set(weights["a"]) | set(weights["b"])))
    graph.add_weighted_edges_from(weights.iter_rows())
    found: list[list[str]] = []
    for nodes in nx.connected_components(graph):
        if len(nodes) < 2:
            continue
        sub = graph.subgraph(sorted(nodes))
        found.extend(sorted(c) for c in nx.community.louvain_communities(
            sub, weight="weight", resolution=config.resolution, seed=config.seed) if len(c) >= 2)
    return sorted(found, key=lambda c: c[0])


def detect_clusters(edges: pl.DataFrame, config: ClusterConfig) -> pl.DataFrame:
    """Clusters from edges (``graph_edges`` columns): ``cluster_id, wallet, role, leads``."""
    if edges.is_empty():
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    comms = _communities(clustering_weights(edges, config), config)
    if not comms:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    comm = pl.DataFrame(
        {"wallet": [w for c in comms for w in c],
         "comm": [i for i, c in enumerate(comms) for _ in c]},
        schema={"wallet": pl.String, "comm": pl.Int64},
    )
    synced = edges.filter((pl.col("kind") == "SYNCED_BUY") & (pl.col("lift") >= config.min_lift))
    inside = (
        synced.join(comm.rename({"wallet": "src"}), on="src")
        .join(comm.rename({"wallet": "dst", "comm": "comm_d"}), on="dst")
        .filter(pl.col("comm") == pl.col("comm_d"))
    )
    leads = pl.concat([
        inside.select(pl.col("src").alias("wallet"), "comm", pl.col("src_first").alias("leads")),
        inside.select(pl.col("dst").alias("wallet"), "comm", pl.col("dst_first").alias("leads")),
    ]).group_by("wallet", "comm").agg(pl.col("leads").sum())
    core = leads.with_columns(pl.len().over("comm").alias("core_size")).filter(
        pl.col("core_size") >= config.min_cluster_size
    )
    funding = edges.filter(pl.col("kind") == "FUNDED_BY").select(
        pl.col("src").alias("wallet"), pl.col("dst").alias("funder"),
        pl.col("first_at").alias("funded_at"),
    )
    # Funders: outside the core, funded ≥ 2 core wallets of the same community.
    funders = (
        core.select("wallet", "comm").join(funding, on="wallet")
        .join(comm.rename({"wallet": "funder", "comm": "comm_f"}), on="funder")
        .filter(pl.col("comm") == pl.col("comm_f"))
        .join(core.select(pl.col("wallet").alias("funder")), on="funder", how="anti")
        .group_by("funder", "comm").agg(pl.len().alias("funded"))
        .filter(pl.col("funded") >= 2)
        .select(pl.col("funder").alias("wallet"), "comm")
    )
    # Leader tie-break: funded first by the community's funder.
    funded_rank = (
        funding.join(funders.rename({"wallet": "funder"}), on="funder")
        .select("wallet", pl.col("funded_at").rank("ordinal").over("comm").alias("frank"))
    )
    ranked = (
        core.join(funded_rank, on="wallet", how="left")
        .with_columns(pl.col("frank").fill_null(1 << 30))
        .sort(["comm", "leads", "frank", "wallet"], descending=[False, True, False, False])
        .with_columns(
            pl.when(pl.int_range(pl.len()).over("comm") == 0).then(pl.lit("leader"))
            .otherwise(pl.lit("member")).alias("role")
        )
        .select("wallet", "comm", "role", pl.col("leads").cast(pl.Int64))
    )
    members = pl.concat([
        ranked,
        funders.with_columns(pl.lit("funder").alias("role"), pl.lit(0, pl.Int64).alias("leads"))
        .join(ranked.select("comm").unique(), on="comm"),
    ])
    ids = members.group_by("comm").agg(pl.col("wallet")).with_columns(
        pl.col("wallet").map_elements(cluster_id_for, return_dtype=pl.String).alias("cluster_id")
    ).select("comm", "cluster_id")
    return (
        members.join(ids, on="comm")
        .select(list(MEMBER_SCHEMA))
        .sort("cluster_id", "role", "wallet")
    )
