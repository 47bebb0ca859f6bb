"""Embedded store start times: cold (initdb + start), restart, attach; and the floor.

Each figure is one `open_database` call (start or attach + connect + migrate + seed) in a
fresh process, as a job or a notebook would do it. The floor is a bare psycopg connect +
SELECT 1 to the already running server, measured in the same run.

    .venv/bin/python benchmarks/bench_store_start.py [--repeat 3]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

OPEN = """
import sys, time
from walltrack.settings import load_settings
from walltrack.store import open_database
t = time.perf_counter()
db = open_database(load_settings(_env_file=None, data_dir=sys.argv[1]))
print(round(time.perf_counter() - t, 4))
if len(sys.argv) > 2:  # hold the server open until told to stop
    print(db.url, flush=True)
    sys.stdin.readline()
"""

FLOOR = """
import sys, time, psycopg
t = time.perf_counter()
with psycopg.connect(sys.argv[1]) as c:
    c.execute("SELECT 1")
print(round(time.perf_counter() - t, 4))
"""


def _timed(code: str, *args: str) -> float:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return float(out.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold, restart, attach, floor = [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="wt-bench-") as tmp:
            cold.append(_timed(OPEN, tmp))  # initdb + start + migrate (server stops after)
            restart.append(_timed(OPEN, tmp))  # start a stopped cluster + check migrations
            holder = subprocess.Popen([sys.executable, "-c", OPEN, tmp, "hold"], cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert holder.stdout is not None and holder.stdin is not None
            holder.stdout.readline()
            url = holder.stdout.readline().strip()
            attach.append(_timed(OPEN, tmp))  # another process holds the server
            floor.append(_timed(FLOOR, url))
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=60)
            time.sleep(0.2)
    result = {
        "cold_start_s": statistics.median(cold),
        "restart_s": statistics.median(restart),
        "attach_s": statistics.median(attach),
        "floor_connect_s": statistics.median(floor),
        "runs": args.repeat,
        "note": "one open_database call in a fresh process, imports excluded",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
