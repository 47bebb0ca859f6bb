"""to_swaps throughput on the real Helius fixtures, beside plain json.loads of the same payloads.

Prints one JSON line: transactions per second of ``to_swaps`` (on already-decoded dicts, as
the webhook route has them after decoding the body), of ``parse_swaps`` (the same with the
drop reason, as research batches use it), of ``json.loads`` of the same payloads (the floor:
decoding alone), and the ratio of the first and the last. One core, best of several rounds;
timings on a shared machine are noisy, so always compare the figures from the same run.

    .venv/bin/python benchmarks/bench_to_swaps.py [--rounds 5] [--min-seconds 0.5]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from walltrack.clients.helius import parse_swaps, to_swaps
from walltrack.errors import WallTrackError

REAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real"


def payloads() -> list[tuple[bytes, dict]]:
    out = []
    for path in sorted(REAL.glob("helius_*/*.json")):
        if "projection" in path.name or "raw_payload" in path.name:
            continue  # not enhanced transactions a webhook delivers
        data = json.loads(path.read_text())
        for item in data if isinstance(data, list) else [data]:
            out.append((json.dumps(item).encode(), item))
    return out


def rate(fn, items, min_seconds: float) -> float:
    count = 0
    started = time.perf_counter()
    while True:
        for item in items:
            fn(item)
        count += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return count / elapsed


def safe_to_swaps(tx: dict) -> None:
    try:
        to_swaps(tx)
    except WallTrackError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.5)
    args = parser.parse_args()
    items = payloads()
    raw = [b for b, _ in items]
    dicts = [d for _, d in items]
    swaps = sum(len(to_swaps(d)) for d in dicts)
    best_swaps = max(rate(safe_to_swaps, dicts, args.min_seconds) for _ in range(args.rounds))
    best_parse = max(rate(parse_swaps, dicts, args.min_seconds) for _ in range(args.rounds))
    best_json = max(rate(json.loads, raw, args.min_seconds) for _ in range(args.rounds))
    print(json.dumps({
        "bench": "to_swaps",
        "transactions": len(items),
        "swaps_found": swaps,
        "mean_payload_bytes": round(sum(map(len, raw)) / len(raw)),
        "to_swaps_tx_per_s": round(best_swaps),
        "parse_swaps_tx_per_s": round(best_parse),
        "json_loads_tx_per_s": round(best_json),
        "ratio_to_swaps_vs_json_loads": round(best_swaps / best_json, 2),
        "target_tx_per_s": 50_000,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
