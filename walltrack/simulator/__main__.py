"""python -m walltrack.simulator export|serve — see docs/simulator.md."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn

from walltrack.errors import WallTrackError
from walltrack.logging import configure_logging, get_logger
from walltrack.simulator.market import Market, generate_market
from walltrack.simulator.params import PRESETS, SimParams

log = get_logger("walltrack.simulator")


def _params(args: argparse.Namespace) -> SimParams:
    if args.params:
        return SimParams.model_validate_json(args.params)
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
        p.add_argument(
            "--params",
            default=None,
            help="every market parameter as SimParams JSON (instead of --preset and the flags)",
        )
        p.add_argument("--log-level", default="INFO")
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
    serve.add_argument(
        "--fd",
        type=int,
        default=None,
        help="serve on this inherited listening socket instead of --host/--port",
    )
    serve.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one goes away",
    )
    args = parser.parse_args(argv)
    configure_logging(level=args.log_level)
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

    from walltrack.simulator.server import create_app

    started = time.perf_counter()
    market = Market.read(args.from_dir) if args.from_dir else generate_market(_params(args))
    log.info("simulator_market_ready", seconds=round(time.perf_counter() - started, 2))
    app = create_app(market, speed=args.speed, start_at=args.start_at, api_key=args.api_key)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", log_config=None)
    )
    if args.exit_with_parent:
        _stop_with_parent(server)
    sockets = None if args.fd is None else [socket.socket(fileno=args.fd)]
    where = {"fd": args.fd} if sockets else {"host": args.host, "port": args.port}
    log.info(
        "simulator_serving",
        **where,
        speed=args.speed,
        startup_seconds=round(time.perf_counter() - started, 2),
    )
    server.run(sockets=sockets)
    return 0


def _stop_with_parent(server: uvicorn.Server, poll_seconds: float = 0.5) -> None:
    """Ask ``server`` to exit once this process's parent is gone (it is
    then re-parented), so a simulator started for a run never outlives the run."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        log.warning("simulator_parent_gone", parent=parent)
        server.should_exit = True

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
