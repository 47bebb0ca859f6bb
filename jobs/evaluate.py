"""Accuracy of the research pipeline against the simulator's truth.

    python jobs/evaluate.py --seed 11 [--wallets 5000 --tokens 300 --days 30]
                            [--database-url postgresql://…]

simulator (over HTTP on 127.0.0.1) → the scheduler's plan replayed through the job entry
points, one tick every --step-hours of simulated time (walltrack/lab/replay.py: exactly what
an operator leaves running) → the truth comparison. The last line printed
is one JSON object (top50_smart_precision, top50_bot_share, lucky_retail_in_top50,
fading_detected_share, seconds, …). A fresh store each run: an embedded PostgreSQL under a
temporary data directory unless --database-url is given (it must be an empty database).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from walltrack.errors import WallTrackError
from walltrack.lab.demo import add_market_arguments, market_of, research_on_market
from walltrack.lab.evaluation import evaluate_against_truth
from walltrack.logging import configure_logging
from walltrack.settings import Settings
from walltrack.store import open_database


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_market_arguments(p)
    p.add_argument("--step-hours", type=float, default=24.0,
                   help="discovery runs every this many simulated hours (as scheduled)")
    p.add_argument("--database-url", default=None)
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def evaluate(args: argparse.Namespace, data_dir: Path) -> dict[str, object]:
    started = time.perf_counter()
    params = market_of(args)
    settings = Settings(database_url=args.database_url, data_dir=data_dir)
    with open_database(settings) as db:
        report, market = research_on_market(settings, db, params, with_truth=True,
                                            step=timedelta(hours=args.step_hours))
        research = time.perf_counter() - started
        assert market is not None
        result = evaluate_against_truth(db, market)
    return {
        "seed": args.seed, "wallets": args.wallets, "tokens": args.tokens, **result,
        "stage_seconds": report.stage_seconds, "job_runs": report.job_runs,
        "research_seconds": round(research, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configure_logging(level=args.log_level)
    try:
        with tempfile.TemporaryDirectory(prefix="walltrack-eval-") as tmp:
            result = evaluate(args, Path(tmp))
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
