"""Simulator figures, each beside a floor measured in the same run.

* generation (``bench`` preset: 10 000 wallets, 1 000 tokens, 30 days, ≥ 1 000 000 swaps):
  ``generate_market`` in a fresh process, and its peak RSS. Floor: a bare Python loop doing
  one integer constant-product swap per generated swap (the sequential core).
* per preset (``bench`` and ``default``), ``serve --preset P --speed 0`` as a real process:
  - startup: from launch to the first answer (generation + indexes + bulk rendering of the
    visible 80 %), with the server's own breakdown from its log; then until the last 20 %
    (the future, rendered in the background) is rendered too — the load starts after that;
  - first-time history pages of exactly 100 transactions: the first page of every wallet
    with ≥ 100 visible transactions and the pages of every token's history at ``before=``
    cursors (what the research fetches), each requested once — the count proves it —
    then the same pages cycled for a steadier figure. Floor: a Starlette app on the same
    uvicorn returning a static body of the same mean size, under the same client. Beside
    each rate, the server's own CPU time per request (from /proc): what a page costs the
    server, which other load on a shared machine changes far less than the rate;
  - the server's peak RSS (VmHWM) after the load.
* load client: ``wrk`` (Debian package) when installed — a Python client would compete with
  the server for the 2 cores and measure itself; httpx otherwise (``load_client`` says which).

    .venv/bin/python benchmarks/bench_simulator.py [--presets bench,default] [--concurrency 8]

Prints one JSON object per preset and a last line with all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.processes import ServerProcess, run_server  # noqa: E402

VISIBLE = 0.8  # the serve command's clock starts 80 % into the window
PAGE = 100

GENERATE = """
import json, resource, sys, time
from walltrack.logging import configure_logging
configure_logging(level="WARNING")
from walltrack.simulator import PRESETS, generate_market
t = time.perf_counter()
m = generate_market(PRESETS[sys.argv[2]])
gen = time.perf_counter() - t
m.write(__import__("pathlib").Path(sys.argv[1]))
print(json.dumps({"generate_s": round(gen, 2), "swaps": m.swaps.height,
                  "transfers": m.transfers.height, "failed": m.failed.height,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""

FLOOR_LOOP = """
import sys, time
n = int(sys.argv[1])
sol, tok, fee = 30 * 10**9, 8 * 10**14, 25
t = time.perf_counter()
for i in range(n):
    x = 10**8 + i
    eff = x * (10_000 - fee)
    out = tok * eff // (sol * 10_000 + eff)
    sol += x; tok -= out
    if tok < 10**12: sol, tok = 30 * 10**9, 8 * 10**14
print(round(time.perf_counter() - t, 2))
"""

STATIC = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = b"[" + b"x" * (int(sys.argv[2]) - 2) + b"]"
async def page(request):
    return Response(body, media_type="application/json")
app = Starlette(routes=[Route("/v0/addresses/{a}/transactions", page), Route("/health", page)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[((i - 1) %% #paths) + 1])
end
response = function(status, headers, body)
  if status ~= 200 then print("BAD " .. status) end
end
"""


def _python(code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _load_wrk(url: str, paths: list[str], concurrency: int, seconds: int) -> tuple[float, int]:
    """Requests/s through wrk (C, one thread) for ``seconds``, cycling through ``paths``;
    and the number of requests made (a first pass is one while it stays ≤ len(paths))."""
    body = ",".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % body)
    out = subprocess.run(
        [shutil.which("wrk") or "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s",
         "-s", script.name, url],
        capture_output=True, text=True, check=True,
    ).stdout
    Path(script.name).unlink()
    if "BAD " in out:
        raise RuntimeError("non-200 answers during the load:\n" + out[-2000:])
    rps = float(next(line.split()[-1] for line in out.splitlines()
                     if line.startswith("Requests/sec")))
    count = int(next(line.split()[0] for line in out.splitlines() if " requests in " in line))
    return rps, count


async def _load_httpx(url: str, paths: list[str], concurrency: int) -> float:
    queue = list(paths)

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            (await client.get(url + queue.pop())).raise_for_status()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return len(paths) / (time.perf_counter() - started)


def _load(url: str, paths: list[str], concurrency: int, seconds: int) -> tuple[float, int]:
    if shutil.which("wrk"):
        return _load_wrk(url, paths, concurrency, seconds)
    return asyncio.run(_load_httpx(url, paths, concurrency)), len(paths)


def full_pages(market_dir: Path) -> list[str]:
    """Paths of history pages holding exactly 100 transactions, each distinct: first pages
    of busy wallets, and every token's history at ``before=`` cursors."""
    swaps = pl.read_parquet(market_dir / "swaps.parquet", columns=["signature", "wallet",
                                                                   "mint", "t", "seq"])
    visible = swaps.filter(pl.col("t") <= swaps["t"].max() * VISIBLE)
    wallets = visible.group_by("wallet").len().filter(pl.col("len") >= PAGE)["wallet"]
    cursors = (
        visible.sort("seq")
        .with_columns(older=pl.int_range(pl.len()).over("mint"))
        .filter((pl.col("older") >= PAGE) & (pl.col("older") % PAGE == 0))
    )
    key = "api-key=bench&limit=100"
    paths = [f"/v0/addresses/{w}/transactions?{key}" for w in wallets.to_list()]
    paths += [
        f"/v0/addresses/{m}/transactions?{key}&before={s}"
        for m, s in cursors.select("mint", "signature").iter_rows()
    ]
    random.Random(1).shuffle(paths)
    return paths


def _mean_size(url: str, paths: list[str]) -> int:
    sample = paths[:50]
    return sum(len(httpx.get(url + p, timeout=60).content) for p in sample) // len(sample)


def _events(server: ServerProcess) -> dict[str, dict[str, Any]]:
    """The server's structlog events by name (JSON lines in its log)."""
    out: dict[str, dict[str, Any]] = {}
    for line in server.log_tail(lines=200).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            out[event["event"]] = event
    return out


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(srv: ServerProcess, paths: list[str], concurrency: int,
              seconds: int) -> tuple[float, int, float]:
    """Requests/s, requests made, and the server's CPU µs per request (the cost of a page
    to the server itself, which other load on the machine barely changes)."""
    before = _cpu_s(srv.process.pid)
    rps, count = _load(srv.url, paths, concurrency, seconds)
    return rps, count, (_cpu_s(srv.process.pid) - before) / max(count, 1) * 1e6


def _vm(pid: int, field: str) -> int:
    """A /proc/PID/status memory field (VmHWM: peak RSS, VmRSS: now), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return -1


def serve_figures(preset: str, market_dir: Path, concurrency: int) -> dict[str, Any]:
    paths = full_pages(market_dir)
    serve = [sys.executable, "-m", "walltrack.simulator", "serve", "--preset", preset,
             "--port", "{port}", "--speed", "0"]
    launched = time.perf_counter()
    with run_server(serve, ready_path="/health", timeout=900) as srv:
        startup = time.perf_counter() - launched
        while True:  # the future (the last 20 %) renders in the background: let it finish
            state = httpx.get(srv.url + "/sim/state", timeout=60).json()
            if state.get("rendered_transactions", state["total_transactions"]) >= state[
                "total_transactions"
            ]:
                break
            time.sleep(0.2)
        rendered = time.perf_counter() - launched
        events = _events(srv)
        first_rps, first_count, first_cpu = _measured(srv, paths, concurrency, 1)
        again_rps, _, again_cpu = _measured(srv, paths, concurrency, 5)
        page_bytes = _mean_size(srv.url, paths)
        peak, rss = _vm(srv.process.pid, "VmHWM"), _vm(srv.process.pid, "VmRSS")
    static = [sys.executable, "-c", STATIC, "{port}", str(page_bytes)]
    with run_server(static, ready_path="/health") as srv:
        floor_rps, _, floor_cpu = _measured(srv, paths, concurrency, 5)
    return {
        "preset": preset,
        "startup_s": round(startup, 2),
        "startup_market_s": events.get("simulator_market_ready", {}).get("seconds"),
        "startup_indexes_s": events.get("simulator_state_built", {}).get("seconds"),
        "startup_render_visible_s": events.get("simulator_history_ready", {}).get("seconds"),
        "all_rendered_s": round(rendered, 2),
        "render_all_s": events.get("simulator_history_rendered", {}).get("seconds"),
        "rendered_json_mb": events.get("simulator_history_rendered", {}).get("json_mb"),
        "rendered_stored_mb": events.get("simulator_history_rendered", {}).get("stored_mb"),
        "server_peak_rss_mb": peak,
        "server_rss_after_load_mb": rss,
        "pages_100_first_time_rps": round(first_rps),
        "pages_100_first_time_requests": first_count,
        "distinct_pages": len(paths),
        "first_pass_all_distinct": first_count <= len(paths),
        "pages_100_first_time_server_cpu_us": round(first_cpu),
        "pages_100_cycled_rps": round(again_rps),
        "pages_100_cycled_server_cpu_us": round(again_cpu),
        "floor_static_same_size_rps": round(floor_rps),
        "floor_static_server_cpu_us": round(floor_cpu),
        "page_bytes_mean": page_bytes,
        "load_client": "wrk" if shutil.which("wrk") else "httpx",
        "concurrency": concurrency,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="bench,default")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for preset in args.presets.split(","):
        with tempfile.TemporaryDirectory(prefix="walltrack-bench-sim-") as tmp:
            figures = json.loads(_python(GENERATE, tmp, preset).strip().splitlines()[-1])
            figures["floor_bare_swap_loop_s"] = float(
                _python(FLOOR_LOOP, str(figures["swaps"])).split()[0]
            )
            figures.update(serve_figures(preset, Path(tmp), args.concurrency))
        print(json.dumps(figures), flush=True)
        results[preset] = figures
    print(json.dumps(results))


if __name__ == "__main__":
    main()
