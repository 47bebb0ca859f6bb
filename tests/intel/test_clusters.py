from __future__ import annotations

import polars as pl
import pytest

from tests.intel.graph_data import BOT, CLUSTERS, EXCHANGE, T0, planted_market
from walltrack.errors import ValidationError
from walltrack.intel.amplification import load_index
from walltrack.intel.blacklist import blacklisted_wallets
from walltrack.intel.cluster_detect import cluster_id_for
from walltrack.intel.clusters import blacklist_cluster, build_clusters, compute_graph
from walltrack.lab.cluster_eval import accuracy_from_frames
from walltrack.models import Wallet
from walltrack.models.config import ClusterConfig
from walltrack.simulator import SimParams, generate_market
from walltrack.store import Database
from walltrack.store.repositories import (
    FundingTransferRepository,
    SwapRepository,
    WalletRepository,
)


def _members() -> pl.DataFrame:
    swaps, transfers = planted_market()
    _edges, members = compute_graph(swaps, transfers, None, ClusterConfig(), known_exchanges=set())
    return members


def test_planted_clusters_are_found_with_their_roles() -> None:
    members = _members()
    assert members["cluster_id"].n_unique() == 2
    for c in CLUSTERS.values():
        mine = members.filter(pl.col("wallet") == c["leader"])["cluster_id"][0]
        group = members.filter(pl.col("cluster_id") == mine)
        roles = dict(zip(group["wallet"], group["role"], strict=True))
        assert roles == {c["leader"]: "leader", c["funder"]: "funder",
                         **{m: "member" for m in c["members"]}}
        assert mine == cluster_id_for(list(roles))
    # the bot that buys every launch and the exchange that funds everyone stay out
    assert BOT not in set(members["wallet"]) and EXCHANGE not in set(members["wallet"])


def test_ids_are_deterministic_and_follow_membership() -> None:
    first, second = _members(), _members()
    assert first.equals(second)
    swaps, transfers = planted_market()
    leaving = CLUSTERS["a"]["members"][0]
    _e, changed = compute_graph(swaps.filter(pl.col("wallet") != leaving),
                                transfers.filter(pl.col("destination") != leaving),
                                None, ClusterConfig(), known_exchanges=set())
    b_id = first.filter(pl.col("wallet") == CLUSTERS["b"]["leader"])["cluster_id"][0]
    a_id = first.filter(pl.col("wallet") == CLUSTERS["a"]["leader"])["cluster_id"][0]
    assert b_id in set(changed["cluster_id"])       # unchanged membership → same id
    assert a_id not in set(changed["cluster_id"])   # changed membership → new id


def test_an_unknown_exchange_is_caught_by_fanout() -> None:
    swaps, transfers = planted_market()
    # the exchange (not in the known list) funds 63 wallets > 50: never a FUNDED_BY dst
    edges, members = compute_graph(swaps, transfers, None, ClusterConfig(),
                                   known_exchanges=set())
    assert EXCHANGE not in set(edges.filter(pl.col("kind") == "FUNDED_BY")["dst"])
    truth = pl.DataFrame({"wallet": [EXCHANGE], "archetype": ["exchange"],
                          "cluster_id": [None], "role": [None]},
                         schema_overrides={"cluster_id": pl.Int32, "role": pl.String})
    assert accuracy_from_frames(members, truth, edges)["exchange_merges"] == 0


def test_small_simulated_market_is_recovered() -> None:
    market = generate_market(SimParams(seed=3, wallets=1200, tokens=80, days=8, clusters=6))
    cfg = ClusterConfig()
    edges, members = compute_graph(market.swaps, market.transfers, None, cfg)
    acc = accuracy_from_frames(members, market.truth_wallets, edges)
    assert acc["cluster_pairwise_f1"] >= 0.9, acc
    assert acc["leader_accuracy"] >= 0.8, acc
    assert acc["exchange_merges"] == 0, acc


def _load(db: Database) -> None:
    swaps, transfers = planted_market()
    SwapRepository(db).copy_frame(swaps)
    FundingTransferRepository(db).copy_frame(transfers)
    WalletRepository(db).upsert_many(
        [Wallet(address=CLUSTERS["a"]["leader"], score=0.8),
         Wallet(address=CLUSTERS["a"]["members"][0], score=0.6),
         Wallet(address=BOT, score=0.5)])


def _count(db: Database, table: str) -> int:
    with db.connection() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_build_clusters_writes_and_replaces_the_graph(db: Database) -> None:
    _load(db)
    cfg = ClusterConfig()
    report = build_clusters(db, cfg, now=T0)
    assert report.clusters == 2 and report.clustered_wallets == 11
    assert _count(db, "cluster_members") == 11
    n_edges = _count(db, "wallet_edges")
    assert n_edges > 0
    leader = WalletRepository(db).get(CLUSTERS["a"]["leader"])
    assert leader.cluster_id is not None
    assert WalletRepository(db).get(BOT).cluster_id is None
    with db.connection() as conn:
        row = conn.execute("SELECT size, leader, funder, mean_score, shared_tokens "
                           "FROM clusters WHERE id = %s", (leader.cluster_id,)).fetchone()
    assert row[:3] == (6, CLUSTERS["a"]["leader"], CLUSTERS["a"]["funder"])
    assert row[3] == pytest.approx(0.7)
    assert set(row[4]) <= set(CLUSTERS["a"]["tokens"]) and len(row[4]) >= 5
    # a second run replaces (same ids, no duplicates); the index loads from the rows
    build_clusters(db, cfg, now=T0)
    assert _count(db, "cluster_members") == 11 and _count(db, "wallet_edges") == n_edges
    assert WalletRepository(db).get(CLUSTERS["a"]["leader"]).cluster_id == leader.cluster_id
    assert load_index(db, window_s=300).clusters == 2


def test_blacklisting_a_cluster_blacklists_its_members(db: Database) -> None:
    _load(db)
    build_clusters(db, ClusterConfig(), now=T0)
    with db.connection() as conn:
        cid = conn.execute("SELECT cluster_id FROM cluster_members WHERE wallet = %s",
                           (CLUSTERS["b"]["leader"],)).fetchone()[0]
    assert blacklist_cluster(db, cid, "insider crew", now=T0) == 5
    c = CLUSTERS["b"]
    assert blacklisted_wallets(db) == {c["leader"], c["funder"], *c["members"]}
    with pytest.raises(ValidationError):
        blacklist_cluster(db, "cl_nope", "x", now=T0)
