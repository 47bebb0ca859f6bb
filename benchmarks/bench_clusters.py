"""Wallet-graph benchmark: SYNCED_BUY over ~1 M swaps, the whole clustering of 50 000 wallets,
one amplification lookup — each beside a floor measured in the same run. Prints JSON lines.

    .venv/bin/python benchmarks/bench_clusters.py
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import polars as pl

from walltrack.intel.amplification import AmplificationIndex
from walltrack.intel.clusters import compute_graph
from walltrack.intel.graph_edges import first_buys, synced_buy_edges
from walltrack.models.config import ClusterConfig
from walltrack.simulator import PRESETS, SimParams, generate_market


def timed(fn):  # tiny helper
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def floor_self_join(swaps: pl.DataFrame, window: int) -> int:
    """Bare polars: first buys, same-bucket self-join, count — no canonical pairs, no
    aggregation per pair."""
    fb = first_buys(swaps).with_columns((pl.col("ts").dt.epoch("s") // window).alias("b"))
    return fb.lazy().join(fb.lazy(), on=["mint", "b"]).select(pl.len()).collect().item()


def main() -> None:
    cfg = ClusterConfig()
    market = generate_market(PRESETS["bench"])
    swaps = market.swaps.select("wallet", "mint", "side", "timestamp")
    edges, s = timed(lambda: synced_buy_edges(swaps, cfg))
    _, f = timed(lambda: floor_self_join(swaps, cfg.synced_buy_window_seconds))
    print(json.dumps({"bench": "synced_buy_edges", "swaps": swaps.height,
                      "edges": edges.height, "seconds": round(s, 3),
                      "floor_bare_self_join_s": round(f, 3), "target_s": 5}))

    big = generate_market(SimParams(seed=11, wallets=50_000, tokens=1_000, days=30,
                                    clusters=200))
    (all_edges, members), c = timed(lambda: compute_graph(big.swaps, big.transfers, None, cfg))
    _, f2 = timed(lambda: floor_self_join(big.swaps, cfg.synced_buy_window_seconds))
    print(json.dumps({"bench": "clustering_50k_wallets", "wallets": 50_000,
                      "swaps": big.swaps.height, "edges": all_edges.height,
                      "clusters": members["cluster_id"].n_unique(), "seconds": round(c, 3),
                      "floor_bare_self_join_s": round(f2, 3), "target_s": 30}))

    buys = first_buys(big.swaps).select("wallet", "mint", "ts")
    index = AmplificationIndex(members, buys, window_s=cfg.synced_buy_window_seconds)
    probes = (members.filter(pl.col("role") != "funder")
              .join(buys, on="wallet").head(2_000).select("wallet", "mint", "ts").rows())
    probes = [(w, m, ts + timedelta(seconds=30)) for w, m, ts in probes]
    n = 100_000
    plain: dict[tuple[str, str], int] = {(w, m): 1 for w, m, _ in probes}

    def run_lookups() -> None:
        for i in range(n):
            w, m, ts = probes[i % len(probes)]
            index.lookup(w, m, ts)

    def run_floor() -> None:
        for i in range(n):
            w, m, ts = probes[i % len(probes)]
            plain.get((w, m))
            ts.timestamp()

    _, lk = timed(run_lookups)
    _, fl = timed(run_floor)
    print(json.dumps({"bench": "amplification_lookup", "lookups": n,
                      "us_per_lookup": round(lk / n * 1e6, 2),
                      "floor_dict_get_plus_timestamp_us": round(fl / n * 1e6, 2),
                      "target_us": 50}))


if __name__ == "__main__":
    main()
