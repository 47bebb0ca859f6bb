"""Clustering accuracy on a fresh simulated market, in a throwaway embedded store.

    python jobs/evaluate_clusters.py --seed 7 [--wallets 5000 --tokens 300 --clusters 24]
                                     [--token-share 0.3]

Generates the market, loads swaps, transfers and early buyers (as wallet origins) into a
new store under a temporary data directory, runs ``build_clusters`` and prints one JSON line:
cluster_pairwise_f1, leader_accuracy, exchange_merges (+ detail) and seconds. With
``--token-share`` the store holds only what acquisition would collect (docs/clusters.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from walltrack.errors import WallTrackError
from walltrack.intel.clusters import build_clusters
from walltrack.intel.graph_edges import early_buyers_from_swaps
from walltrack.lab.cluster_eval import acquisition_view, cluster_accuracy
from walltrack.logging import configure_logging
from walltrack.models import utcnow
from walltrack.models.config import ClusterConfig
from walltrack.settings import load_settings
from walltrack.simulator import SimParams, generate_market
from walltrack.store import open_database
from walltrack.store.repositories import FundingTransferRepository, SwapRepository

SWAP_COLS = ["signature", "slot", "timestamp", "wallet", "mint", "side", "sol_amount",
             "token_amount", "source", "fee_sol"]
TRANSFER_COLS = ["signature", "slot", "timestamp", "source", "destination", "sol_amount"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--wallets", type=int)
    ap.add_argument("--tokens", type=int)
    ap.add_argument("--clusters", type=int)
    ap.add_argument("--token-share", type=float, default=None,
                    help="store only what acquisition collects from this share of tokens")
    args = ap.parse_args(argv)
    configure_logging(level="WARNING")
    try:
        params = SimParams(seed=args.seed, **{k: v for k, v in {
            "wallets": args.wallets, "tokens": args.tokens, "clusters": args.clusters}.items()
            if v is not None})
        market = generate_market(params)
        config = ClusterConfig()
        if args.token_share is None:
            swaps, transfers = market.swaps, market.transfers
            origins = early_buyers_from_swaps(swaps, config.early_max_rank)
        else:
            swaps, transfers, origins = acquisition_view(
                market.swaps, market.transfers, market.tokens, token_share=args.token_share,
                early_rank=config.early_max_rank, min_sol=config.funding_min_sol)
        with tempfile.TemporaryDirectory(prefix="walltrack-eval-") as tmp, \
                open_database(load_settings(data_dir=Path(tmp), database_url=None)) as db:
            SwapRepository(db).copy_frame(swaps.select(SWAP_COLS))
            FundingTransferRepository(db).copy_frame(transfers.select(TRANSFER_COLS))
            now = utcnow()
            with db.connection() as conn, conn.cursor() as cur, cur.copy(
                    "COPY wallet_origins (wallet, mint, method, rank, found_at) FROM STDIN") as cp:
                for w, m, r in origins.select("wallet", "mint", "rank").iter_rows():
                    cp.write_row((w, m, "early_profitable_buyer", r, now))
            started = time.perf_counter()
            report = build_clusters(db, config, now=now)
            seconds = time.perf_counter() - started
            metrics = cluster_accuracy(db, market.truth_wallets)
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({
        "seed": args.seed, "wallets": params.wallets, "tokens": params.tokens,
        "planted_clusters": params.clusters, "token_share": args.token_share,
        "swaps_stored": swaps.height, "transfers_stored": transfers.height,
        **metrics, "edges": report.edges, "seconds": round(seconds, 2),
        "truth_insiders": market.truth_wallets.filter(
            pl.col("archetype") == "insider").height,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
