"""Exit evaluation for 1 000 open positions on one price update, beside its floor (docs/exits.md).

Positions spread over the named strategies with varied entry prices, peaks, ages and source
sells. They are first *settled*: evaluated at their last price, sells applied and state
persisted, until every one holds (what the engine leaves after the previous update). The
measured update then moves each price by a random ±5 % (2 % of prices missing, 5 % of
positions with a source sell): most hold, some sell. Figures: (1) ``evaluate`` over 1 000
prebuilt views; (2) the same including building the 1 000 ``PositionView`` objects (what the
engine does per update); (3) a *storm*: the unsettled positions, where most rules fire and
state changes everywhere (worst case); (4) the floor: a bare loop making one comparison per
position (``price <= stop``). Median and best of the rounds, in ms.

    .venv/bin/python benchmarks/bench_exits.py [--positions 1000] [--rounds 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from walltrack.trading.exits import (  # noqa: E402
    NAMED_STRATEGIES,
    ExitState,
    OutcomeStatus,
    PositionView,
    evaluate,
)


def positions(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    strategies = list(NAMED_STRATEGIES.values())
    rows = []
    for i in range(n):
        entry = rng.uniform(1e-8, 1e-5)
        peak = entry * rng.uniform(1.0, 4.0)
        price = None if rng.random() < 0.02 else peak * rng.uniform(0.55, 1.05)
        initial = rng.uniform(1e5, 1e9)
        done = rng.choice((0, 0, 0, 1, 2))
        rows.append({
            "strategy": strategies[i % len(strategies)],
            "entry_price": entry, "price": price,
            "price_at": now - timedelta(seconds=rng.uniform(0, 30)), "now": now,
            "peak_price": peak, "opened_at": now - timedelta(hours=rng.uniform(0, 30)),
            "initial_tokens": initial, "remaining_tokens": initial * (1 - 0.25 * done),
            "state": ExitState(ladder_done=done, trailing_armed=peak > entry * 1.5),
            "source_sold_fraction": rng.choice((None,) * 19 + (0.5,)),
        })
    return rows


def settle(rows: list[dict]) -> list[dict]:
    """Apply every sell and state change at the rows' current price until all of them hold."""
    settled = []
    for row in rows:
        row = {**row, "source_sold_fraction": None}
        for _ in range(10):
            if row["price"] is None:
                break
            outcome = evaluate(row["strategy"], view_of(row))
            row["state"] = outcome.state
            if outcome.status is not OutcomeStatus.sell:
                break
            row["remaining_tokens"] -= outcome.tokens
        row["peak_price"] = max(row["peak_price"], row["price"] or 0.0)
        if row["remaining_tokens"] > 0:
            settled.append(row)
    return settled


def update(rows: list[dict], n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    moved = []
    while len(moved) < n:
        for row in rows:
            base = row["price"] or row["entry_price"]
            moved.append({**row,
                          "price": None if rng.random() < 0.02 else base * rng.uniform(0.95, 1.05),
                          "source_sold_fraction": rng.choice((None,) * 19 + (0.5,))})
    return moved[:n]


def view_of(row: dict) -> PositionView:
    return PositionView(row["entry_price"], row["price"], row["price_at"], row["now"],
                        row["peak_price"], row["opened_at"], row["initial_tokens"],
                        row["remaining_tokens"], row["state"], row["source_sold_fraction"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    storm = positions(args.positions)
    rows = update(settle(positions(args.positions * 2)), args.positions)
    pairs = [(row["strategy"], view_of(row)) for row in rows]
    storm_pairs = [(row["strategy"], view_of(row)) for row in storm]
    stops = [(row["price"] or 0.0, row["entry_price"] * 0.7) for row in rows]

    def evaluate_only() -> None:
        for strategy, view in pairs:
            evaluate(strategy, view)

    def evaluate_storm() -> None:
        for strategy, view in storm_pairs:
            evaluate(strategy, view)

    def build_and_evaluate() -> None:
        for row in rows:
            evaluate(row["strategy"], view_of(row))

    def floor() -> None:
        fired = 0
        for price, stop in stops:
            if price <= stop:
                fired += 1

    def measure(fn: object) -> tuple[float, float]:
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append((time.perf_counter() - started) * 1e3)
        return statistics.median(times), min(times)

    for fn in (evaluate_only, build_and_evaluate, evaluate_storm, floor):  # warm up
        fn()
    eval_med, eval_min = measure(evaluate_only)
    build_med, build_min = measure(build_and_evaluate)
    storm_med, storm_min = measure(evaluate_storm)
    floor_med, floor_min = measure(floor)
    statuses = Counter(evaluate(s, v).status.value for s, v in pairs)
    storm_statuses = Counter(evaluate(s, v).status.value for s, v in storm_pairs)
    print(json.dumps({
        "bench": "exits", "positions": args.positions, "rounds": args.rounds,
        "evaluate_ms_median": round(eval_med, 3), "evaluate_ms_best": round(eval_min, 3),
        "build_and_evaluate_ms_median": round(build_med, 3),
        "build_and_evaluate_ms_best": round(build_min, 3),
        "storm_ms_median": round(storm_med, 3), "storm_ms_best": round(storm_min, 3),
        "floor_ms_median": round(floor_med, 4), "floor_ms_best": round(floor_min, 4),
        "per_position_us": round(eval_med * 1e3 / args.positions, 2),
        "target_ms": 5.0, "ok": eval_med <= 5.0, "ok_with_views": build_med <= 5.0,
        "outcomes": dict(sorted(statuses.items())),
        "storm_outcomes": dict(sorted(storm_statuses.items())),
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
