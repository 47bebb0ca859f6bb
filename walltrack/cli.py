"""``python -m walltrack``: the main job and small operator commands.

``run`` is what the README's main command calls: it starts the embedded store (or connects
to the hosted one), applies migrations, seeds the config and prints a status summary.
Later stages (simulator → discovery → profiling → clusters) are added to ``run`` as they
land.
"""

from __future__ import annotations

import argparse
import sys
import time

from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings, get_logger
from walltrack.settings import load_settings
from walltrack.store import open_database, store_status

log = get_logger(__name__)


def _print_status(status_obj: object, seconds: float) -> None:
    from walltrack.store import StoreStatus

    assert isinstance(status_obj, StoreStatus)
    st = status_obj
    print("WallTrack store")
    print(f"  mode            {st.mode}")
    print(f"  url             {st.url}")
    print(f"  schema version  {st.schema_version}")
    print(f"  config sections {st.config_sections}")
    print(f"  opened in       {seconds:.2f} s")
    width = max(len(t) for t in st.row_counts)
    print("  rows:")
    for table, count in st.row_counts.items():
        print(f"    {table.ljust(width)}  {count:>10,}")


def cmd_status(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_from_settings(settings)
    started = time.perf_counter()
    with open_database(settings) as db:
        _print_status(store_status(db), time.perf_counter() - started)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_from_settings(settings)
    log.info("main_started")
    started = time.perf_counter()
    with open_database(settings) as db:
        _print_status(store_status(db), time.perf_counter() - started)
    print("\nNext: open the dashboard with  .venv/bin/marimo run notebooks/dashboard.py")
    log.info("main_finished", seconds=round(time.perf_counter() - started, 3))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="walltrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="the main job on the current settings (default)")
    sub.add_parser("status", help="print the store's status")
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "status": cmd_status, None: cmd_run}
    try:
        return handlers[args.command](args)
    except WallTrackError as exc:
        # A clear message naming the problem and the fix, not a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
