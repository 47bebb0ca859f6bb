"""python -m walltrack.simulator export|serve — see docs/simulator.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from walltrack.errors import WallTrackError
from walltrack.logging import configure_logging, get_logger
from walltrack.simulator.market import Market, generate_market
from walltrack.simulator.params import PRESETS, SimParams

log = get_logger("walltrack.simulator")


def _params(args: argparse.Namespace) -> SimParams:
    base = PRESETS[args.preset]
    overrides = {
        k: v
        for k, v in {
            "seed": args.seed,
            "wallets": args.wallets,
            "tokens": args.tokens,
            "days": args.days,
            "clusters": args.clusters,
            "activity": args.activity,
        }.items()
        if v is not None
    }
    return base.model_copy(update=overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m walltrack.simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("export", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--preset", choices=sorted(PRESETS), default="default")
        p.add_argument("--seed", type=int)
        p.add_argument("--wallets", type=int)
        p.add_argument("--tokens", type=int)
        p.add_argument("--days", type=int)
        p.add_argument("--clusters", type=int)
        p.add_argument("--activity", type=float)
    sub.choices["export"].add_argument("--out", type=Path, required=True)
    serve = sub.choices["serve"]
    serve.add_argument("--port", type=int, default=8899)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--speed", type=float, default=1.0)
    serve.add_argument(
        "--start-at",
        type=float,
        default=None,
        help="simulated seconds after the market start where the clock begins",
    )
    serve.add_argument("--from-dir", type=Path, default=None, help="serve an exported market")
    serve.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    configure_logging(level="INFO")
    try:
        return _run(args)
    except WallTrackError as exc:
        log.error("simulator_failed", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:

    if args.command == "export":
        started = time.perf_counter()
        market = generate_market(_params(args))
        market.write(args.out)
        log.info(
            "simulator_exported",
            out=str(args.out),
            seconds=round(time.perf_counter() - started, 2),
            **market.manifest()["rows"],
        )
        return 0

    import uvicorn

    from walltrack.simulator.server import create_app

    market = Market.read(args.from_dir) if args.from_dir else generate_market(_params(args))
    app = create_app(market, speed=args.speed, start_at=args.start_at, api_key=args.api_key)
    log.info("simulator_serving", host=args.host, port=args.port, speed=args.speed)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
