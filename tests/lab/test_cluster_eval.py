from __future__ import annotations

import polars as pl

from walltrack.lab.cluster_eval import accuracy_from_frames

TRUTH = pl.DataFrame({
    "wallet": ["L1", "a", "b", "F1", "L2", "c", "d", "F2", "X", "r"],
    "archetype": ["insider"] * 3 + ["funder"] + ["insider"] * 3 + ["funder", "exchange",
                                                                   "retail"],
    "cluster_id": [0, 0, 0, 0, 1, 1, 1, 1, None, None],
    "role": ["leader", "member", "member", "funder", "leader", "member", "member", "funder",
             None, None],
}, schema_overrides={"cluster_id": pl.Int32})


def _members(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema=["cluster_id", "wallet", "role"])


def test_perfect_recovery() -> None:
    pred = _members([("k1", "L1", "leader"), ("k1", "a", "member"), ("k1", "b", "member"),
                     ("k1", "F1", "funder"), ("k2", "L2", "leader"), ("k2", "c", "member"),
                     ("k2", "d", "member")])
    acc = accuracy_from_frames(pred, TRUTH)
    assert acc["cluster_pairwise_f1"] == 1.0 and acc["leader_accuracy"] == 1.0
    assert acc["exchange_merges"] == 0 and acc["clusters_recovered"] == 2


def test_merged_clusters_lose_precision_and_a_wrong_leader_counts() -> None:
    pred = _members([("k1", "L1", "member"), ("k1", "a", "leader"), ("k1", "b", "member"),
                     ("k1", "L2", "member"), ("k1", "c", "member"), ("k1", "d", "member")])
    acc = accuracy_from_frames(pred, TRUTH)
    # 15 predicted pairs, 6 true ones, all found
    assert acc["pair_precision"] == round(6 / 15, 4) and acc["pair_recall"] == 1.0
    assert acc["leader_accuracy"] == 0.0


def test_exchange_merges_are_counted() -> None:
    with_exchange = _members([("k1", "L1", "leader"), ("k1", "a", "member"),
                              ("k1", "X", "funder"), ("k1", "r", "member")])
    assert accuracy_from_frames(with_exchange, TRUTH)["exchange_merges"] == 1
    # members joined only through an exchange-like wallet: two components without it
    pred = _members([("k1", "L1", "leader"), ("k1", "a", "member"), ("k1", "r", "member")])
    edges = pl.DataFrame({"src": ["L1", "a", "r"], "dst": ["a", "X", "X"],
                          "kind": ["SYNCED_BUY", "FUNDED_BY", "FUNDED_BY"]})
    assert accuracy_from_frames(pred, TRUTH, edges)["exchange_merges"] == 1

