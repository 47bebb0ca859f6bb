"""Simulator figures: generation time and peak memory at the benchmark size, and Helius
history pages served per second over loopback — each beside a bare floor from the same run.

* generation: ``generate_market(PRESETS["bench"])`` (10 000 wallets, 1 000 tokens, 30 days,
  ≥ 1 000 000 swaps) in a fresh process; peak RSS of that process. Floor: a bare Python
  loop doing one integer constant-product swap per generated swap (the sequential core).
* serving: ``serve --from-dir`` of that market as a real uvicorn process; C concurrent
  keep-alive clients fetch ``/v0/addresses/{wallet}/transactions?limit=100`` for random
  wallets (first pass: every page rendered; second pass: the render cache hit). Floor: a
  Starlette app on the same uvicorn returning a static JSON body of the same mean size,
  under the same client. Then the same wallets with ``limit=20`` (pages not seen before;
  their transactions already rendered by the first pass) beside a static floor of that size.
* load client: ``wrk`` (Debian package) when installed — a Python client would compete with
  the server for the 2 cores and measure itself; httpx otherwise (``load_client`` says which).

    .venv/bin/python benchmarks/bench_simulator.py [--concurrency 8] [--requests 3000]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.processes import run_server  # noqa: E402

GENERATE = """
import json, resource, sys, time
from walltrack.logging import configure_logging
configure_logging(level="WARNING")
from walltrack.simulator import PRESETS, generate_market
t = time.perf_counter()
m = generate_market(PRESETS["bench"])
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


async def _load(url: str, paths: list[str], concurrency: int) -> tuple[float, int]:
    queue = list(paths)
    size = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal size
        while queue:
            path = queue.pop()
            r = await client.get(url + path)
            r.raise_for_status()
            size += len(r.content)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(paths) / elapsed, size // max(1, len(paths))


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


def _load_wrk(url: str, paths: list[str], concurrency: int, seconds: int) -> tuple[float, int]:
    """Requests/s through wrk (C, one thread) for ``seconds``, cycling through ``paths``.

    A Python client would compete with the server for the 2 cores and measure itself. wrk
    runs for a duration, so a "first pass" is only a first pass while the requests made stay
    below ``len(paths)``: the caller checks the count returned.
    """
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


def _mean_size(url: str, paths: list[str]) -> int:
    sample = paths[:50]
    return sum(len(httpx.get(url + p, timeout=60).content) for p in sample) // len(sample)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=10000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="walltrack-bench-sim-") as tmp:
        out = subprocess.run(
            [sys.executable, "-c", GENERATE, tmp],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        floor = subprocess.run(
            [sys.executable, "-c", FLOOR_LOOP, str(figures["swaps"])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures["floor_bare_swap_loop_s"] = float(floor.split()[0])

        import polars as pl

        swaps = pl.read_parquet(Path(tmp) / "swaps.parquet", columns=["wallet", "t"])
        visible = swaps.filter(pl.col("t") <= swaps["t"].max() * 0.8)
        wallets = visible.group_by("wallet").len().filter(pl.col("len") >= 20)["wallet"].to_list()
        rng = random.Random(1)
        paths = [
            f"/v0/addresses/{w}/transactions?api-key=bench&limit=100"
            for w in rng.sample(wallets, min(args.requests, len(wallets)))
        ]
        while len(paths) < args.requests:
            paths.append(paths[len(paths) % len(wallets)])
        serve = [
            sys.executable,
            "-m",
            "walltrack.simulator",
            "serve",
            "--from-dir",
            tmp,
            "--port",
            "{port}",
            "--speed",
            "0",
        ]
        small = [p.replace("limit=100", "limit=20") for p in paths]
        wrk = shutil.which("wrk") is not None
        with run_server(serve, ready_path="/health", timeout=300) as srv:
            if wrk:
                # First pass: a short run over distinct wallets, so (almost) every page is
                # rendered for the first time; the count proves it.
                cold_rps, cold_count = _load_wrk(srv.url, paths, args.concurrency, 2)
                warm_rps, _ = _load_wrk(srv.url, paths, args.concurrency, 5)
                small_rps, _ = _load_wrk(srv.url, small, args.concurrency, 5)
                page_bytes, small_bytes = _mean_size(srv.url, paths), _mean_size(srv.url, small)
            else:
                cold_rps, page_bytes = asyncio.run(_load(srv.url, paths, args.concurrency))
                cold_count = len(paths)
                warm_rps, _ = asyncio.run(_load(srv.url, paths, args.concurrency))
                small_rps, small_bytes = asyncio.run(_load(srv.url, small, args.concurrency))
        static = [sys.executable, "-c", STATIC, "{port}"]
        with run_server([*static, str(page_bytes)], ready_path="/health") as srv:
            floor_rps = (_load_wrk(srv.url, paths, args.concurrency, 5)[0] if wrk
                         else asyncio.run(_load(srv.url, paths, args.concurrency))[0])
        with run_server([*static, str(small_bytes)], ready_path="/health") as srv:
            floor_small_rps = (_load_wrk(srv.url, small, args.concurrency, 5)[0] if wrk
                               else asyncio.run(_load(srv.url, small, args.concurrency))[0])
    figures.update(
        {
            "history_rps_first_pass": round(cold_rps),
            "history_rps_cached": round(warm_rps),
            "floor_static_same_size_rps": round(floor_rps),
            "page_bytes_mean": page_bytes,
            "history_rps_limit20_new_pages": round(small_rps),
            "floor_static_limit20_size_rps": round(floor_small_rps),
            "page_bytes_limit20_mean": small_bytes,
            "requests": args.requests,
            "first_pass_requests": cold_count,
            "first_pass_all_distinct": cold_count <= len(set(paths)),
            "load_client": "wrk" if shutil.which("wrk") else "httpx",
            "concurrency": args.concurrency,
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
