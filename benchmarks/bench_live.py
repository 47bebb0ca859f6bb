"""The live server's speed, each figure beside its floor in the same run (docs/benchmarks.md).

Starts a fresh embedded store, the simulator (small preset: the token APIs), the real
``server.py`` (webhook mode, 2 inbox workers) and a bare Starlette route
(``bare_webhook.py``) as processes; the load client (``live_load.py``) runs in another
process and posts real-shaped deliveries of 10 transactions (the recorded PumpSwap buy of
tests/fixtures/real/helius_webhook, a fresh signature each).

Figures: (1) sustained acknowledged tx/s in a closed loop, server vs bare; (2) p50/p99
acknowledgement latency at 200 tx/s (open loop), server vs bare; (3) delivery → stored
signal p50/p99 with warm caches (the delivery's wallet watched; ``signals.stored_at`` minus
the client's send time); (4) the watch-set filter per transaction with 100 000 watched
wallets, beside parsing alone, and the reload of that watch set from the store.

    .venv/bin/python benchmarks/bench_live.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.processes import run_server  # noqa: E402
from walltrack.clients.helius_swaps import parse_swaps  # noqa: E402
from walltrack.live.watchset import load_watchset, watchset_from_frame  # noqa: E402
from walltrack.settings import load_settings  # noqa: E402
from walltrack.simulator import PRESETS  # noqa: E402
from walltrack.simulator.background import serving_process  # noqa: E402
from walltrack.store import open_database  # noqa: E402

TEMPLATE = ROOT / "tests/fixtures/real/helius_webhook/swap_pump_amm_buy_trimmed.json"
AUTH = "bench-webhook-secret"


def load(url: str, *extra: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "live_load.py"), "--url", url,
                          "--auth", AUTH, "--template", str(TEMPLATE), *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def filter_cost(n: int = 100_000) -> dict[str, Any]:
    """Per transaction: parse + watch-set lookup vs parse alone, 100 000 watched wallets."""
    tx = json.loads(TEMPLATE.read_text())
    tx = tx[0] if isinstance(tx, list) else tx
    frame = pl.DataFrame({"address": [f"W{i:043d}" for i in range(n)], "score": [0.7] * n,
                          "status": ["ok"] * n, "cluster_id": [None] * n,
                          "timing_percentile": [0.5] * n, "avg_buy_sol": [1.0] * n},
                         schema={"address": pl.String, "score": pl.Float64, "status": pl.String,
                                 "cluster_id": pl.String, "timing_percentile": pl.Float64,
                                 "avg_buy_sol": pl.Float64})
    watch = watchset_from_frame(frame)
    rounds = 20_000

    def run(filtered: bool) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            parsed = parse_swaps(tx)
            if filtered:
                for s in parsed.swaps:
                    watch.get(s.wallet)
        return (time.perf_counter() - started) / rounds * 1e6

    parse_only, with_filter = min(run(False) for _ in range(3)), min(run(True) for _ in range(3))
    started = time.perf_counter()
    lookups = 1_000_000
    for i in range(lookups):
        watch.get("x" if i & 1 else "W0000000000000000000000000000000000000000042")
    lookup_ns = (time.perf_counter() - started) / lookups * 1e9
    return {"watched": n, "parse_us": round(parse_only, 2),
            "parse_and_filter_us": round(with_filter, 2),
            "lookup_ns": round(lookup_ns, 1)}


def signal_latency(db: Any, record: Path) -> dict[str, Any]:
    sent = dict(line.split("\t") for line in record.read_text().split("\n") if line)
    deadline = time.monotonic() + 60
    while True:
        with db.connection() as conn:
            rows = conn.execute("SELECT signature, extract(epoch FROM stored_at) FROM signals "
                                "WHERE signature = ANY(%s)", (list(sent),)).fetchall()
        if len(rows) == len(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    lat = sorted(float(at) - float(sent[sig]) for sig, at in rows)
    if not lat:
        return {"signals": 0}
    return {"signals": len(lat), "of": len(sent),
            "p50_ms": round(lat[len(lat) // 2] * 1e3, 2),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3, 2),
            "max_ms": round(lat[-1] * 1e3, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    secs = str(args.seconds)
    tmp = Path(tempfile.mkdtemp(prefix="walltrack-bench-live-"))
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                          "python": platform.python_version()}}
    result["filter"] = filter_cost()
    settings = load_settings(_env_file=None, data_dir=tmp)
    db = open_database(settings)  # starts the embedded store the server will attach to
    trader = parse_swaps(json.loads(TEMPLATE.read_text())).trader
    with serving_process(PRESETS["small"]) as sim_url:
        env = {"WALLTRACK_DATA_DIR": str(tmp), "WALLTRACK_SIGNAL_SOURCE": "webhook",
               "WALLTRACK_WEBHOOK_AUTH_HEADER": AUTH, "WALLTRACK_INBOX_WORKERS": "2",
               "WALLTRACK_HELIUS_API_URL": sim_url, "WALLTRACK_HELIUS_API_KEY": "simulator",
               "WALLTRACK_DEXSCREENER_URL": sim_url, "WALLTRACK_JUPITER_URL": sim_url,
               "WALLTRACK_SOLANA_RPC_URLS": sim_url + "/rpc", "WALLTRACK_LOG_LEVEL": "WARNING",
               "WALLTRACK_JUPITER_RPS": "1000", "WALLTRACK_DEXSCREENER_RPS": "1000",
               "WALLTRACK_RPC_RPS": "1000"}
        bare_cmd = [sys.executable, str(ROOT / "benchmarks/bare_webhook.py"), "--port", "{port}"]
        server_cmd = [sys.executable, "server.py", "--port", "{port}"]
        with run_server(bare_cmd, ready_path="/health") as bare, \
                run_server(server_cmd, ready_path="/health", env=env) as server:
            result["max"] = {"server": load(server.url, "--mode", "max", "--seconds", secs),
                             "bare": load(bare.url, "--mode", "max", "--seconds", secs)}
            result["ack_at_200_tx_s"] = {
                "server": load(server.url, "--mode", "rate", "--rate", "20", "--seconds", secs),
                "bare": load(bare.url, "--mode", "rate", "--rate", "20", "--seconds", secs)}
            # Delivery → stored signal: the template's trader watched, caches warmed first.
            with db.connection() as conn:
                conn.execute("INSERT INTO wallets (address, first_seen_at, status, on_watchlist, "
                             "score, lifecycle) VALUES (%s, now(), 'ok', true, 0.8, "
                             "'watchlisted')", (trader,))
            deadline = time.monotonic() + 30
            while httpx.get(server.url + "/health").json()["watched_wallets"] != 1:
                assert time.monotonic() < deadline, "the watch set was not reloaded"
                time.sleep(0.1)
            load(server.url, "--mode", "rate", "--rate", "5", "--seconds", "2")  # warm caches
            record = tmp / "sent.tsv"
            result["delivery_to_signal_at_200_tx_s"] = {
                "load": load(server.url, "--mode", "rate", "--rate", "20", "--seconds", secs,
                             "--record", str(record)),
                **signal_latency(db, record)}
            result["server_status"] = httpx.get(server.url + "/api/status").json().get("writer")
    # The watch set of 100 000 wallets from the store (what a reload costs).
    with db.connection() as conn, conn.cursor().copy(
            "COPY wallets (address, first_seen_at, status, on_watchlist, score, lifecycle) "
            "FROM STDIN") as copy:
        for i in range(100_000):
            copy.write_row((f"V{i:043d}", "2026-01-01T00:00:00Z", "ok", True, 0.7, "watchlisted"))
    started = time.perf_counter()
    watch = load_watchset(db)
    result["filter"]["reload_100k_s"] = round(time.perf_counter() - started, 3)
    result["filter"]["reloaded"] = len(watch)
    db.close()
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
