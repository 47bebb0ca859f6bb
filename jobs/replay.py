"""Does copying pay? Research walk-forward and replays on a fresh simulated market.

    python jobs/replay.py --seed N [--wallets 5000 --tokens 300 --days 30]
                          [--delays 0,2,5,15,60] [--baseline-delays 5]
                          [--calibration-delays 0,5,60] [--no-sweep] [--chart net.svg]
                          [--database-url …]
    python jobs/replay.py --store [--from 2026-11-01] [--to 2026-12-01] [--fee-bps 25]
                          [--delays …] [--baseline-delays …] [--no-sweep] [--chart …]

``--store`` replays the operator's own store instead (the one WALLTRACK_DATABASE_URL /
WALLTRACK_DATA_DIR point at, only read): the research made again from its rows cut by time,
one day at a time, and the same study on its swaps with the pools reconstructed from its
token snapshots (walltrack/trading/backtest/store_replay.py); the standing token facts are
asked of the APIs the settings name, as the live server does. No truth, so no oracle and no
calibration.

simulator (over HTTP on 127.0.0.1) → the scheduler's research replayed one simulated day at
a time, a snapshot of what it knew taken after each day → each next day's swaps fed through
the live path (signals → gates → sizing → positions → exits → paper fills priced from the
pools' history) on a simulated clock, for WallTrack's watchlist and three baselines at every
delay (--baseline-delays: the baselines at fewer of them), the market's calibration (the
informed wallets copied buy for buy, out with the leader or after 1 h) at
--calibration-delays, plus a threshold × exit-strategy sweep chosen on the first half of
the days and judged on the second (walltrack/lab/edge.py, docs/edge.md). The last line
printed is one JSON object: seed, seconds, research, delays, baselines, calibration, sweep…
A fresh store each run: an embedded PostgreSQL under a temporary directory unless
--database-url is given (it must be an empty database on a server that lets it create
databases: each run trades on one of its own).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from walltrack.errors import WallTrackError
from walltrack.lab.demo import add_market_arguments, market_of
from walltrack.lab.edge import CALIBRATION_DELAYS, DELAYS, replay_report
from walltrack.logging import configure_logging
from walltrack.progress import print_progress
from walltrack.settings import load_settings
from walltrack.store import open_database
from walltrack.trading.backtest.chart import delay_chart
from walltrack.trading.backtest.store_replay import store_replay_report


def delays(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--delays takes seconds separated by commas, not "
                                         f"{text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("--delays needs at least one delay, none negative")
    return values


def day(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as 2026-11-01, not {text!r}") from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_market_arguments(p, required=False)
    p.add_argument("--store", action="store_true",
                   help="replay the operator's own store instead of a simulated market")
    p.add_argument("--from", dest="start", type=day, default=None,
                   help="--store: the first research day (default: the day after its first swap)")
    p.add_argument("--to", dest="end", type=day, default=None,
                   help="--store: the last day (default: the day of its last swap)")
    p.add_argument("--fee-bps", type=int, default=25,
                   help="--store: the pools' fee (a store does not keep it)")
    p.add_argument("--delays", type=delays, default=list(DELAYS))
    p.add_argument("--baseline-delays", type=delays, default=None,
                   help="the baselines' delays (default: --delays)")
    p.add_argument("--calibration-delays", type=delays, default=list(CALIBRATION_DELAYS),
                   help="delays of the calibration runs (the informed wallets followed)")
    p.add_argument("--warmup-days", type=int, default=7,
                   help="research days before the first traded day")
    p.add_argument("--trade-days", type=positive, default=None,
                   help="trade only the last N days (each with the day before's research)")
    p.add_argument("--latency", type=float, default=1.0,
                   help="seconds from a signal's arrival to our fill")
    p.add_argument("--top-scored", type=positive, default=None, metavar="N",
                   help="also trade the research's N best-scored wallets (its ranking "
                   "without the watchlist's rules)")
    p.add_argument("--no-sweep", action="store_true", help="skip the parameter sweep")
    p.add_argument("--concurrency", type=positive, default=3, help="replay runs at a time")
    p.add_argument("--chart", type=Path, default=None,
                   help="write the net return against delay, per book, as an SVG here")
    p.add_argument("--database-url", default=None)
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configure_logging(level=args.log_level)
    if args.store:
        return replay_store(args)
    if args.seed is None:
        print("error: give --seed N (a fresh simulated market) or --store (this store)",
              file=sys.stderr)
        return 2
    if args.warmup_days >= args.days - 1:
        print(f"error: --warmup-days {args.warmup_days} leaves no day to trade in a "
              f"{args.days}-day market (lower it or raise --days)", file=sys.stderr)
        return 2
    params = market_of(args)
    try:
        report = replay_report(params, database_url=args.database_url, delays=args.delays,
                               baseline_delays=args.baseline_delays,
                               calibration_delays=args.calibration_delays,
                               warmup_days=args.warmup_days, trade_days=args.trade_days,
                               latency_seconds=args.latency,
                               sweep=not args.no_sweep, top_scored=args.top_scored,
                               concurrency=args.concurrency,
                               progress=print_progress(sys.stderr))
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.chart is not None:
        books = {"copier": report.delays, **report.baselines, **report.others}
        args.chart.write_text(delay_chart(
            books, title=f"Net return on capital by copy delay — seed {args.seed}"))
        print(f"chart: {args.chart}", file=sys.stderr)
    print(json.dumps(report.model_dump(mode="json"), default=str))
    return 0


def replay_store(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if args.database_url:
            settings = settings.model_copy(update={"database_url": args.database_url})
        with open_database(settings) as db:
            report = store_replay_report(
                settings, db, start=args.start, end=args.end, warmup_days=args.warmup_days,
                trade_days=args.trade_days, delays=args.delays,
                baseline_delays=args.baseline_delays, latency_seconds=args.latency,
                sweep=not args.no_sweep, fee_bps=args.fee_bps, concurrency=args.concurrency,
                progress=print_progress(sys.stderr))
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.chart is not None:
        args.chart.write_text(delay_chart(
            {"copier": report.delays, **report.baselines},
            title=f"Net return on capital by copy delay — this store, "
                  f"{report.start.date()} – {report.end.date()}"))
        print(f"chart: {args.chart}", file=sys.stderr)
    print(json.dumps(report.model_dump(mode="json"), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
