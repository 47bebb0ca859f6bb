"""Eligible signal → paper fill recorded, through the engine the server runs (docs/trading.md).

An embedded store in a temporary directory and the simulator on loopback (its Jupiter and
RPC). Each round stores one eligible signal as the inbox does, then times
``engine.handle(signal)``: gates, sizing, the position + order transaction, the quote, the
submitted order, the paper fill, the confirm transaction. The quote's own round trip is timed
inside the Jupiter client and subtracted for the *internal* figure. Beside it, in the same
run, the floor: one single-row INSERT committed on the same kind of connection (the engine
commits four such transactions per fill). Between rounds the position is closed by SQL so
the gates let the next signal through.

    .venv/bin/python benchmarks/bench_trading.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import base58
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.app_server import ThreadServer  # noqa: E402
from tests.trading.harness import (  # noqa: E402
    astore_signal,
    eligible_signal,
    liquid_mints,
    set_config,
    trading,
)
from walltrack.settings import load_settings  # noqa: E402
from walltrack.simulator import PRESETS, generate_market  # noqa: E402
from walltrack.simulator.server import create_app  # noqa: E402
from walltrack.store import open_database  # noqa: E402
from walltrack.store.repositories import ConfigRepository  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3, 3)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(values, 0.50), "p99_ms": pct(values, 0.99),
            "max_ms": round(max(values) * 1e3, 3)}


async def run(rounds: int, sim_url: str, mints: list[str], settings: Any, db: Any) -> dict:
    import psycopg

    total: list[float] = []
    quote: list[float] = []
    floor: list[float] = []
    loaded = ConfigRepository(db).load()  # the server keeps it in memory (reloaded on NOTIFY)
    async with trading(settings, db, sim_url, config=lambda: loaded) as t:
        jupiter = t.jupiter
        original = jupiter.order
        spent = [0.0]

        async def timed_order(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started

        jupiter.order = timed_order  # type: ignore[method-assign]
        async with await psycopg.AsyncConnection.connect(db.url) as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial, v text)")
            await conn.commit()
            for i in range(rounds + 20):
                mint = mints[i % len(mints)]
                tag = base58.b58encode(i.to_bytes(4, "big")).decode()
                signal = eligible_signal(sim_url, "BenchWa11et" + tag.rjust(33, "1"), mint,
                                         signature="bench" + tag.rjust(83, "1"))
                await astore_signal(db, signal)
                spent[0] = 0.0
                started = time.perf_counter()
                decision = await t.engine.handle(signal)
                elapsed = time.perf_counter() - started
                assert decision is not None and decision.action.value == "opened", decision
                f0 = time.perf_counter()
                await conn.execute("INSERT INTO bench_floor (v) VALUES (%s)", (mint,))
                await conn.commit()
                f1 = time.perf_counter()
                await conn.execute("UPDATE positions SET status = 'closed', closed_at = now() "
                                   "- interval '1 hour' WHERE mint = %s AND status = 'open'",
                                   (mint,))
                await conn.commit()
                if i >= 20:  # warm-up: connections, caches, first quotes
                    total.append(elapsed)
                    quote.append(spent[0])
                    floor.append(f1 - f0)
    internal = [a - b for a, b in zip(total, quote, strict=True)]
    return {"rounds": rounds, "with_quote": summary(total), "quote_round_trip": summary(quote),
            "internal": summary(internal), "floor_one_commit": summary(floor)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="walltrack-bench-trading-"))
    settings = load_settings(_env_file=None, data_dir=tmp)
    db = open_database(settings)
    market = generate_market(PRESETS["small"])
    with ThreadServer(create_app(market, speed=0.0, api_key="sim")) as sim:
        httpx.post(sim.url + "/sim/advance", json={"seconds": 3 * 86_400})
        mints = liquid_mints(sim.url, market.tokens["mint"].to_list(), n=10)
        set_config(db, "gates", cooldown_seconds=0.0, max_total_exposure_sol=1000.0)
        set_config(db, "risk", max_concurrent_positions=1000, starting_capital_sol=1e6)
        set_config(db, "sizing", max_position_sol=0.2)
        set_config(db, "protections", daily_loss_limit=None)
        result = asyncio.run(run(args.rounds, sim.url, mints, settings, db))
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    db.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
