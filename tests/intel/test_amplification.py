from __future__ import annotations

from datetime import timedelta

import polars as pl

from tests.intel.graph_data import T0, w
from walltrack.intel.amplification import Amplification, AmplificationIndex, load_index
from walltrack.store import Database

LEADER, M1, M2, FUNDER, STRANGER = w("L"), w("m1"), w("m2"), w("F"), w("s")
MINT, OTHER = "MintA", "MintB"
MEMBERS = pl.DataFrame({"cluster_id": ["c1"] * 4, "wallet": [LEADER, M1, M2, FUNDER],
                        "role": ["leader", "member", "member", "funder"]})


def _index() -> AmplificationIndex:
    buys = pl.DataFrame(
        {"wallet": [LEADER, M1, M2, M1], "mint": [MINT, MINT, MINT, OTHER],
         "ts": [T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=400), T0]},
        schema_overrides={"ts": pl.Datetime("us", "UTC")})
    return AmplificationIndex(MEMBERS, buys, window_s=300)


def test_members_and_leader_within_the_window() -> None:
    idx = _index()
    at = T0 + timedelta(seconds=90)
    assert idx.lookup(M2, MINT, at) == Amplification(2, 3, True, "c1")
    # the window looks back only, and the wallet itself is not counted
    assert idx.lookup(M1, MINT, T0 + timedelta(seconds=60)) == Amplification(1, 3, True, "c1")
    assert idx.lookup(M2, MINT, T0 - timedelta(seconds=1)).members_bought == 0


def test_window_boundaries_and_override() -> None:
    idx = _index()
    at = T0 + timedelta(seconds=300)
    assert idx.lookup(M2, MINT, at).members_bought == 2  # leader exactly 300 s ago counts
    late = idx.lookup(M2, MINT, at + timedelta(seconds=1))
    assert (late.members_bought, late.leader_bought) == (1, False)
    assert idx.lookup(M2, MINT, at + timedelta(seconds=1), window_s=600).leader_bought


def test_leader_signal_and_unclustered_wallets() -> None:
    idx = _index()
    lead = idx.lookup(LEADER, OTHER, T0 + timedelta(seconds=10))
    assert lead == Amplification(1, 3, True, "c1")  # the leader himself is buying
    assert idx.lookup(STRANGER, MINT, T0) == Amplification()
    assert idx.lookup(FUNDER, MINT, T0).cluster_id is None  # funders never trade


def test_live_buys_are_recorded() -> None:
    idx = _index()
    at = T0 + timedelta(hours=5)
    assert idx.lookup(M1, "MintC", at).members_bought == 0
    idx.record_buy(M2, "MintC", at - timedelta(seconds=10))
    idx.record_buy(STRANGER, "MintC", at)  # not clustered: ignored
    assert idx.lookup(M1, "MintC", at) == Amplification(1, 3, False, "c1")


def test_index_loads_from_the_store(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("INSERT INTO clusters (id, size, computed_at) VALUES ('c1', 4, now())")
        for row in MEMBERS.iter_rows():
            conn.execute("INSERT INTO cluster_members (cluster_id, wallet, role) "
                         "VALUES (%s, %s, %s)", row)
        for i, (wallet, sec) in enumerate([(LEADER, 0), (M1, 30), (M1, 90)]):
            conn.execute(
                "INSERT INTO swaps VALUES (%s, 1, %s, %s, %s, 'buy', 1, 1, 'X', 0)",
                (f"sig{i}", T0 + timedelta(seconds=sec), wallet, MINT))
    idx = load_index(db, window_s=300)
    assert idx.lookup(M2, MINT, T0 + timedelta(seconds=100)) == Amplification(
        2, 3, True, "c1")
