"""Profiling throughput: load from the store, compute, write back — beside a bare floor.

    .venv/bin/python benchmarks/bench_profiling.py [--swaps 1000000 --wallets 50000]
        [--scaling 100000,1000000,3000000] [--database-url URL]

Random swaps (buys then sells, partial sells, ~20 tokens per wallet) are COPYed into a fresh
store; ``profile_wallets`` is timed per phase (load = COPY out, compute, write = COPY in +
UPDATE). The floor is a bare polars group-by (sum, count, max per wallet) over the very same
frame, measured in the same run. Peak memory is the process's max RSS. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from walltrack.intel.profiling import compute_profiles, profile_wallets
from walltrack.logging import configure_logging
from walltrack.models import DynamicConfig, Wallet
from walltrack.models.config import ProfilingConfig
from walltrack.settings import Settings
from walltrack.store import open_database
from walltrack.store.repositories import SwapRepository, WalletRepository

NOW = datetime(2025, 7, 1, tzinfo=UTC)


def random_swaps(n: int, wallets: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    mints = max(wallets // 10, 50)
    wallet = rng.integers(0, wallets, n)
    mint = rng.integers(0, mints, n)
    t = np.sort(rng.uniform(0, 29 * 86_400, n))
    side = np.where(rng.random(n) < 0.55, "buy", "sell")
    sol = rng.lognormal(-1.5, 1.0, n)
    tokens = sol * rng.lognormal(13, 0.5, n)
    return pl.DataFrame({
        "signature": [f"sig{i:012d}{'x' * 40}" for i in range(n)],
        "slot": (340_000_000 + t / 0.4).astype(np.int64),
        "timestamp": [NOW - timedelta(days=30) + timedelta(seconds=float(s)) for s in t]
        if n <= 0 else pl.Series(((NOW.timestamp() - 30 * 86_400 + t) * 1e6).astype(np.int64))
        .cast(pl.Datetime("us", "UTC")),
        "wallet": pl.Series([f"W{w:07d}{'a' * 34}" for w in wallet]),
        "mint": pl.Series([f"M{m:07d}{'b' * 34}pump" for m in mint]),
        "side": side, "sol_amount": sol, "token_amount": tokens,
        "source": "PUMP_AMM", "fee_sol": 0.000005 + rng.exponential(0.00004, n),
    })


def floor_seconds(frame: pl.DataFrame) -> float:
    started = time.perf_counter()
    frame.group_by("wallet").agg(pl.col("sol_amount").sum(), pl.len(),
                                 pl.col("timestamp").max())
    return time.perf_counter() - started


def compute_only(frame: pl.DataFrame, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        compute_profiles(frame, ProfilingConfig(), now=NOW)
        best = min(best, time.perf_counter() - started)
    return best


def run(n: int, wallets: int, database_url: str | None, data_dir: Path) -> dict[str, object]:
    frame = random_swaps(n, wallets)
    floor = min(floor_seconds(frame) for _ in range(3))
    compute = compute_only(frame)
    row: dict[str, object] = {"swaps": n, "wallets": wallets,
                              "compute_seconds": round(compute, 3),
                              "floor_groupby_seconds": round(floor, 4),
                              "compute_over_floor": round(compute / floor, 1)}
    settings = Settings(database_url=database_url, data_dir=data_dir)
    with open_database(settings) as db:
        with db.connection() as conn:
            conn.execute("TRUNCATE swaps, wallets, wallet_metrics")
        SwapRepository(db).copy_frame(frame)
        ids = frame["wallet"].unique().to_list()
        with db.connection() as conn, conn.cursor() as cur, cur.copy(
                "COPY wallets (address, first_seen_at, status) FROM STDIN") as copy:
            for w in ids:
                copy.write_row((w, NOW, "ok"))
        del frame
        report = profile_wallets(db, DynamicConfig(), now=NOW)
        row.update(store_load_seconds=round(report.load_seconds, 3),
                   store_compute_seconds=round(report.compute_seconds, 3),
                   store_write_seconds=round(report.write_seconds, 3),
                   store_total_seconds=round(report.load_seconds + report.compute_seconds
                                             + report.write_seconds, 3))
        assert WalletRepository(db).count() == len(ids) and Wallet
    return row


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--swaps", type=int, default=1_000_000)
    p.add_argument("--wallets", type=int, default=50_000)
    p.add_argument("--scaling", default="")
    p.add_argument("--database-url", default=None)
    args = p.parse_args()
    configure_logging(level="WARNING")
    sizes = [int(s) for s in args.scaling.split(",") if s] or [args.swaps]
    # The embedded server of the run is still up until the process exits: don't let the
    # temporary directory's removal fail the benchmark after it measured.
    with tempfile.TemporaryDirectory(prefix="walltrack-bench-",
                                     ignore_cleanup_errors=True) as tmp:
        rows = [run(n, args.wallets, args.database_url, Path(tmp)) for n in sizes]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bench": "profiling", "runs": rows, "peak_rss_mb": round(peak_mb)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
