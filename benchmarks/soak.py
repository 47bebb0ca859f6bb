"""The soak: a simulated day of the whole service (``python -m walltrack serve``) against the
simulator at an accelerated clock, with a server kill -9 and a store restart on the way
(walltrack/lab/soak.py says what is measured). Prints progress, then one JSON line.

    .venv/bin/python benchmarks/soak.py                       # 24 simulated h in ≈ 10 min
    .venv/bin/python benchmarks/soak.py --sim-hours 72 --wall-minutes 30
    .venv/bin/python benchmarks/soak.py --sim-hours 2 --wall-minutes 2   # the CI size

Exit 0 when nothing was lost, duplicated, stalled or leaked; 1 otherwise (the problems are
in the JSON's ``problems``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from walltrack.lab.soak import SoakPlan, run_soak  # noqa: E402
from walltrack.logging import configure_logging  # noqa: E402
from walltrack.settings import Settings  # noqa: E402
from walltrack.store import Database, open_database  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--sim-hours", type=float, default=24.0)
    p.add_argument("--wall-minutes", type=float, default=10.0)
    p.add_argument("--step-seconds", type=float, default=120.0)
    p.add_argument("--work-dir", type=Path, default=None,
                   help="keep the store and the service's log there (default: a temp dir)")
    args = p.parse_args(argv)
    configure_logging(level="WARNING", json_lines=True)
    plan = SoakPlan(preset=args.preset, sim_hours=args.sim_hours,
                    wall_minutes=args.wall_minutes, step_seconds=args.step_seconds)

    def open_store(url: str) -> Database:
        return open_database(Settings(database_url=url, _env_file=None))

    shown = {"pct": -1}

    def progress(stage: str, done: int, total: int) -> None:
        pct = 100 * done // max(1, total)
        if pct != shown["pct"] and pct % 5 == 0:
            shown["pct"] = pct
            print(f"[soak] {stage} {pct}% ({done}/{total} steps)", file=sys.stderr, flush=True)

    report = run_soak(plan, open_store, work_dir=args.work_dir, progress=progress)
    print(json.dumps(report.model_dump(mode="json")), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
