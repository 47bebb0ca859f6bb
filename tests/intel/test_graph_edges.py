from __future__ import annotations

import polars as pl

from tests.intel.graph_data import EXCHANGE, swaps_frame, tok, transfers_frame, w
from walltrack.intel.graph_edges import (
    early_buyers_from_swaps,
    early_cooccurrence_edges,
    funded_by_edges,
    synced_buy_edges,
)
from walltrack.models.config import ClusterConfig

A, B, C = sorted([w("x"), w("y"), w("z")])
ONE_TOKEN = ClusterConfig(synced_min_tokens=1)


def test_window_boundary_is_inclusive() -> None:
    at_edge = synced_buy_edges(swaps_frame([(A, tok(1), 0), (B, tok(1), 300)]), ONE_TOKEN)
    assert at_edge.select("src", "dst", "kind", "weight").rows() == [(A, B, "SYNCED_BUY", 1.0)]
    past = synced_buy_edges(swaps_frame([(A, tok(1), 0), (B, tok(1), 301)]), ONE_TOKEN)
    assert past.is_empty()


def test_window_is_configurable_and_crosses_buckets() -> None:
    cfg = ClusterConfig(synced_min_tokens=1, synced_buy_window_seconds=60)
    # 59 → 61 s spans two 60-s buckets but is 2 s apart
    edges = synced_buy_edges(swaps_frame([(A, tok(1), 59), (B, tok(1), 61), (C, tok(1), 200)]),
                             cfg)
    assert edges.select("src", "dst").rows() == [(A, B)]


def test_a_wallet_never_pairs_with_itself_and_only_first_buys_count() -> None:
    rows = [(A, tok(1), 0), (A, tok(1), 10), (A, tok(1), 20), (B, tok(1), 1000),
            (B, tok(1), 5)]
    edges = synced_buy_edges(swaps_frame(rows), ONE_TOKEN)
    assert edges.select("src", "dst", "weight").rows() == [(A, B, 1.0)]  # B's first buy: 5 s
    sells = swaps_frame([(A, tok(2), 0), (B, tok(2), 1)], side="sell")
    assert synced_buy_edges(sells, ONE_TOKEN).is_empty()


def test_weight_is_distinct_tokens_and_who_was_first_is_kept() -> None:
    rows = [
        (A, tok(1), 0), (B, tok(1), 30),      # A first
        (A, tok(2), 100), (B, tok(2), 60),    # B first
        (A, tok(3), 7), (B, tok(3), 40),      # A first
        (A, tok(4), 9), (B, tok(4), 9),       # same second: nobody first
        (A, tok(5), 0), (B, tok(5), 4000),    # too far apart
    ]
    edges = synced_buy_edges(swaps_frame(rows), ClusterConfig())
    row = edges.row(0, named=True)
    assert (row["src"], row["dst"], row["weight"]) == (A, B, 4.0)
    assert (row["src_first"], row["dst_first"]) == (2, 1)
    assert row["tokens"] == sorted([tok(1), tok(2), tok(3), tok(4)])
    assert row["first_at"] == swaps_frame(rows)["timestamp"].min()
    # minimum weight: one shared token is no edge by default
    assert synced_buy_edges(swaps_frame(rows[:2]), ClusterConfig()).is_empty()


def test_lift_discounts_wallets_that_buy_everything() -> None:
    bot, x, y = w("bot"), w("x1"), w("y1")
    rows = [(bot, tok(j), j * 1000) for j in range(20)]
    rows += [(x, tok(j), j * 1000 + 5) for j in range(2)] + [(y, tok(j), j * 1000 + 9)
                                                             for j in range(2)]
    edges = synced_buy_edges(swaps_frame(rows), ClusterConfig())
    lift = {frozenset((r["src"], r["dst"])): r["lift"] for r in edges.iter_rows(named=True)}
    assert lift[frozenset((x, y))] == 10.0  # 2 shared of 2 each among 20 tokens
    assert lift[frozenset((x, bot))] == 1.0  # exactly what chance predicts


def test_funded_by_uses_the_first_meaningful_transfer() -> None:
    funder, peer = w("funder"), w("peer")
    tr = transfers_frame([
        (peer, A, 0.01, 0),        # dust: not meaningful
        (funder, A, 1.0, 10),
        (peer, A, 3.0, 20),        # later: not the first
        (funder, B, 1.0, 5),
    ])
    edges = funded_by_edges(tr, ClusterConfig(), known_exchanges=set())
    assert edges.select("src", "dst", "kind").sort("src").rows() == sorted(
        [(A, funder, "FUNDED_BY"), (B, funder, "FUNDED_BY")])


def test_exchange_like_funders_make_no_edge() -> None:
    listed, unlisted, small = w("listed"), w("unlisted"), w("small")
    rows = [(listed, w(f"l{i}"), 1.0, i) for i in range(5)]
    rows += [(unlisted, w(f"u{i}"), 1.0, i) for i in range(51)]   # fan-out 51 > 50
    rows += [(small, w(f"s{i}"), 1.0, i) for i in range(50)]      # fan-out 50: kept
    edges = funded_by_edges(transfers_frame(rows), ClusterConfig(),
                            known_exchanges={listed, EXCHANGE})
    assert set(edges["dst"]) == {small}
    assert edges.height == 50
    assert edges["lift"].unique().to_list() == [50.0]  # the funder's fan-out


def test_the_fanout_rule_counts_later_transfers_too() -> None:
    # An exchange that is the *first* funder of only two wallets is still exchange-like.
    exch = w("quiet-exchange")
    rows = [(exch, A, 1.0, 0), (exch, B, 1.0, 1)]
    rows += [(exch, w(f"late{i}"), 1.0, 100 + i) for i in range(60)]
    rows += [(w(f"other{i}"), w(f"late{i}"), 1.0, 0) for i in range(60)]
    edges = funded_by_edges(transfers_frame(rows), ClusterConfig(), known_exchanges=set())
    assert exch not in set(edges["dst"])


def test_early_cooccurrence_needs_two_tokens() -> None:
    eb = pl.DataFrame({"wallet": [A, B, C, A, B, C], "mint": [tok(1)] * 3 + [tok(2)] * 2
                       + [tok(3)]})
    edges = early_cooccurrence_edges(eb, ClusterConfig())
    assert edges.select("src", "dst", "kind", "weight", "tokens").rows() == [
        (A, B, "EARLY_ON", 2.0, sorted([tok(1), tok(2)]))]


def test_early_buyers_from_swaps_ranks_first_buys() -> None:
    rows = [(A, tok(1), 30), (B, tok(1), 10), (C, tok(1), 20), (B, tok(1), 5)]
    eb = early_buyers_from_swaps(swaps_frame(rows), max_rank=2)
    assert eb.sort("rank").select("wallet", "rank").rows() == [(B, 1), (C, 2)]


def test_a_wallet_that_lags_one_wallet_by_seconds_on_most_of_its_tokens_copies_it() -> None:
    from walltrack.intel.graph_edges import copy_followers

    cfg = ClusterConfig()
    rows = []
    for i in range(6):  # A buys 6 tokens; B copies 5 of them 1–5 s later
        rows.append((A, tok(i), 1000 * i))
        if i < 5:
            rows.append((B, tok(i), 1000 * i + 1 + i % 5))
        rows.append((C, tok(i), 1000 * i + 30))  # a cluster-like mate, tens of seconds later
    got = copy_followers(swaps_frame(rows), cfg)
    assert got.rows() == [(B, A, 5)]
    # A same-second buy is no evidence, and neither is a copy of under half the tokens.
    same_second = [(x, t, s - s % 1000 if x == B else s) for x, t, s in rows]
    assert copy_followers(swaps_frame(same_second), cfg).is_empty()
    assert copy_followers(swaps_frame(rows), ClusterConfig(copy_min_share=0.9)).is_empty()
