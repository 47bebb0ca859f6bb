from __future__ import annotations

import asyncio
import os

import pytest

from tests.intel.graph_data import T0, planted_market
from walltrack.intel.clusters import build_clusters
from walltrack.models.config import ClusterConfig
from walltrack.settings import Settings, load_settings
from walltrack.store import Database
from walltrack.store.neo4j_mirror import (
    constraint_statements,
    edge_cypher,
    mirror_statements,
    read_graph,
    sync_to_neo4j,
)
from walltrack.store.repositories import FundingTransferRepository, SwapRepository

CLUSTERS = [{"id": "cl_1", "size": 3, "leader": "L", "funder": "F", "mean_score": 0.5,
             "shared_tokens": ["T1", "T2"]}]
MEMBERS = [{"cluster_id": "cl_1", "wallet": w, "role": r, "leads": n}
           for w, r, n in (("L", "leader", 4), ("M", "member", 1), ("F", "funder", 0))]
EDGES = [{"src": "L", "dst": "M", "kind": "SYNCED_BUY", "weight": 2.0, "src_first": 2,
          "dst_first": 0, "tokens": ["T1", "T2"]},
         {"src": "M", "dst": "F", "kind": "FUNDED_BY", "weight": 1.0, "src_first": 0,
          "dst_first": 0, "tokens": []}]


def test_constraints_are_idempotent() -> None:
    cyphers = [s.cypher for s in constraint_statements()]
    assert all("IF NOT EXISTS" in c and "IS UNIQUE" in c for c in cyphers)
    assert {c.split("FOR (n:")[1].split(")")[0] for c in cyphers} == {"Wallet", "Token",
                                                                      "Cluster"}


def test_statements_are_batched_unwind_merges_nodes_first() -> None:
    sts = mirror_statements([{"address": "L", "score": 0.9, "status": "ok",
                              "cluster_id": "cl_1"}], CLUSTERS, MEMBERS, EDGES, batch=2)
    assert all(s.cypher.startswith("UNWIND $rows AS r") and "MERGE" in s.cypher for s in sts)
    assert all("CREATE " not in s.cypher for s in sts)
    wallets = [s for s in sts if s.cypher.startswith("UNWIND $rows AS r MERGE (w:Wallet")]
    assert [len(s.params["rows"]) for s in wallets] == [2, 1]  # L, M, F in batches of 2
    assert wallets[0].params["rows"][0] == {"address": "F", "score": None, "status": None,
                                            "cluster_id": "cl_1"}
    order = [s.cypher.split("MERGE")[1][:12] for s in sts]
    assert order.index(" (w:Wallet {") < order.index(" (c:Cluster ")
    synced = next(s for s in sts if ":SYNCED_BUY]" in s.cypher)
    assert synced.params["rows"] == [{"src": "L", "dst": "M", "weight": 2.0, "src_first": 2,
                                      "dst_first": 0, "tokens": ["T1", "T2"]}]
    shared = next(s for s in sts if ":SHARED]" in s.cypher)
    assert shared.params["rows"] == [{"cluster_id": "cl_1", "mint": "T1"},
                                     {"cluster_id": "cl_1", "mint": "T2"}]
    members = [s for s in sts if ":MEMBER_OF]" in s.cypher]
    assert "SET m.role = r.role" in members[0].cypher
    assert sum(len(s.params["rows"]) for s in members) == 3


def test_edge_kinds_are_whitelisted() -> None:
    with pytest.raises(ValueError, match="unknown edge kind"):
        edge_cypher("X]->() DETACH DELETE (n")


async def test_sync_is_a_no_op_without_a_uri(db: Database, monkeypatch) -> None:
    monkeypatch.delenv("WALLTRACK_NEO4J_URI", raising=False)
    assert await sync_to_neo4j(db, Settings(_env_file=None, neo4j_uri=None)) is None


@pytest.mark.skipif(not os.environ.get("WALLTRACK_NEO4J_URI"),
                    reason="WALLTRACK_NEO4J_URI is not set: no Neo4j server to mirror into")
def test_mirror_into_a_real_neo4j_is_idempotent(db: Database) -> None:
    from neo4j import GraphDatabase

    swaps, transfers = planted_market()
    SwapRepository(db).copy_frame(swaps)
    FundingTransferRepository(db).copy_frame(transfers)
    build_clusters(db, ClusterConfig(), now=T0)
    uri = os.environ["WALLTRACK_NEO4J_URI"]
    auth = (os.environ.get("WALLTRACK_NEO4J_USER", "neo4j"),
            os.environ.get("WALLTRACK_NEO4J_PASSWORD", ""))

    def counts() -> tuple[int, int]:
        with GraphDatabase.driver(uri, auth=auth) as driver:
            nodes = driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"]
            rels = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS n").records[0]["n"]
        return nodes, rels

    asyncio.run(sync_to_neo4j(db, load_settings()))
    first = counts()
    asyncio.run(sync_to_neo4j(db, load_settings()))
    assert counts() == first
    _w, clusters, _m, _e = read_graph(db)
    assert first[0] >= len(clusters)
