"""Load client for the webhook benchmarks, run in its own process (bench_live.py starts it).

Posts real-shaped deliveries (``--per`` copies of a real Helius webhook transaction, each
with a fresh signature) and prints one JSON line.

* ``--mode max``: ``--concurrency`` senders in a closed loop for ``--seconds``: the
  sustained rate of acknowledged transactions.
* ``--mode rate``: an open loop at ``--rate`` deliveries/s; each latency is measured from
  the delivery's *scheduled* time (no coordinated omission). ``--record FILE`` writes
  ``signature<TAB>sent epoch`` lines for the signal-latency figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import base58
import httpx
import orjson


def fresh_signature() -> str:
    return base58.b58encode(secrets.token_bytes(64)).decode()


class Deliveries:
    def __init__(self, template: dict[str, Any], per: int) -> None:
        self.template = template
        self.per = per

    def next(self) -> tuple[bytes, list[str]]:
        sigs = [fresh_signature() for _ in range(self.per)]
        return orjson.dumps([{**self.template, "signature": s} for s in sigs]), sigs


def quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 3),
            "max_ms": round(ordered[-1] * 1e3, 3)}


async def run(args: argparse.Namespace, template: dict[str, Any]) -> dict[str, Any]:
    deliveries = Deliveries(template, args.per)
    headers = {"Content-Type": "application/json", "Authorization": args.auth}
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    latencies: list[float] = []
    errors = 0
    accepted = 0
    records: list[str] = []
    async with httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits,
                                 timeout=30) as client:
        async def send(body: bytes, sigs: list[str], scheduled: float) -> None:
            nonlocal errors, accepted
            sent = time.time()
            try:
                answer = await client.post("/webhooks/helius", content=body)
            except httpx.HTTPError:
                errors += 1
                return
            if answer.status_code != 200:
                errors += 1
                return
            latencies.append(time.perf_counter() - scheduled)
            accepted += len(sigs)
            if args.record:
                records.extend(f"{s}\t{sent:.6f}" for s in sigs)

        for _ in range(args.warmup):
            body, sigs = deliveries.next()
            await send(body, sigs, time.perf_counter())
        latencies.clear()
        accepted = 0
        records.clear()
        started = time.perf_counter()
        end = started + args.seconds
        if args.mode == "max":
            async def sender() -> None:
                while time.perf_counter() < end:
                    body, sigs = deliveries.next()
                    await send(body, sigs, time.perf_counter())

            await asyncio.gather(*(sender() for _ in range(args.concurrency)))
        else:
            tasks = []
            interval = 1.0 / args.rate
            n = 0
            while True:
                scheduled = started + n * interval
                if scheduled >= end:
                    break
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                body, sigs = deliveries.next()
                tasks.append(asyncio.create_task(send(body, sigs, scheduled)))
                n += 1
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {"records": records, "mode": args.mode, "deliveries": len(latencies), "tx": accepted,
            "seconds": round(elapsed, 3), "tx_per_s": round(accepted / elapsed, 1),
            "errors": errors, **quantiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--auth", default="bench")
    parser.add_argument("--template", required=True)
    parser.add_argument("--mode", choices=["max", "rate"], default="max")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--per", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--record")
    args = parser.parse_args()
    template = json.loads(Path(args.template).read_text())
    if isinstance(template, list):
        template = template[0]
    result = asyncio.run(run(args, template))
    records = result.pop("records")
    if args.record:
        Path(args.record).write_text("\n".join(records) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
