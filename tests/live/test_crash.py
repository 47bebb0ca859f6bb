"""kill -9 of a real server.py in the middle of a stream of deliveries, then a restart.

Every acknowledged signature must be in the inbox, every watched swap must end as exactly
one signal, and a redelivery of everything (what Helius does after failures) changes
nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import random
import signal
import sys
import threading
import time
from typing import Any

import httpx
import orjson
import pytest

from tests.factories import address, signature
from tests.harness.processes import run_server
from tests.live.conftest import watch
from tests.live.helpers import AUTH, swap_tx
from walltrack.simulator import PRESETS
from walltrack.simulator.background import serving_process
from walltrack.store import Database

pytestmark = pytest.mark.slow

DELIVERIES = 2400
PER_DELIVERY = 3


def server_env(db_url: str, sim_url: str, tmp: str) -> dict[str, str]:
    return {"WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_SIGNAL_SOURCE": "webhook",
            "WALLTRACK_WEBHOOK_AUTH_HEADER": AUTH, "WALLTRACK_INBOX_WORKERS": "2",
            "WALLTRACK_DATA_DIR": tmp, "WALLTRACK_HELIUS_API_URL": sim_url,
            "WALLTRACK_HELIUS_API_KEY": "simulator", "WALLTRACK_DEXSCREENER_URL": sim_url,
            "WALLTRACK_JUPITER_URL": sim_url, "WALLTRACK_SOLANA_RPC_URLS": sim_url + "/rpc",
            "WALLTRACK_LOG_LEVEL": "WARNING", "WALLTRACK_JUPITER_RPS": "1000",
            "WALLTRACK_DEXSCREENER_RPS": "1000", "WALLTRACK_RPC_RPS": "1000"}


def scalar(db: Database, query: str) -> Any:
    with db.connection() as conn:
        return conn.execute(query).fetchone()[0]


def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(db: Database, db_url: str,
                                                                tmp_path: Any) -> None:
    rng = random.Random(7)
    wallets = [address(f"cw{i}") for i in range(40)]
    mints = [address(f"cm{i}") for i in range(8)]
    watch(db, *wallets)
    now = int(time.time())
    deliveries = [
        [swap_tx(signature(f"k{d}-{j}"), rng.choice(wallets), rng.choice(mints),
                 side=rng.choice(["buy", "buy", "sell"]), ts=now)
         for j in range(PER_DELIVERY)]
        for d in range(DELIVERIES)
    ]
    bodies = [orjson.dumps(d) for d in deliveries]
    acked: set[int] = set()
    lock = threading.Lock()

    local = threading.local()

    def send(url: str, i: int) -> None:
        client = getattr(local, url, None)
        if client is None:  # one keep-alive client per sender thread and server
            client = httpx.Client(timeout=5)
            setattr(local, url, client)
        try:
            answer = client.post(url + "/webhooks/helius", content=bodies[i],
                                 headers={"Content-Type": "application/json",
                                          "Authorization": AUTH})
        except httpx.HTTPError:
            return
        if answer.status_code == 200:
            with lock:
                acked.add(i)

    args = [sys.executable, "server.py", "--port", "{port}"]
    with serving_process(PRESETS["small"]) as sim_url:
        env = server_env(db_url, sim_url, str(tmp_path))
        with run_server(args, ready_path="/health", env=env) as first:
            def kill_at_a_third() -> None:  # mid-stream, whatever the machine's speed
                while len(acked) < DELIVERIES // 3:
                    time.sleep(0.005)
                os.killpg(first.process.pid, signal.SIGKILL)

            killer = threading.Thread(target=kill_at_a_third)
            killer.start()
            with cf.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: send(first.url, i), range(DELIVERIES)))
            killer.join()
            first.process.wait(timeout=10)
            assert first.process.returncode == -signal.SIGKILL
        acked_before = set(acked)
        assert 0 < len(acked_before) < DELIVERIES, "the kill must land mid-stream"
        stored = {r[0] for r in _rows(db, "SELECT signature FROM inbox")}
        missing = {tx["signature"] for i in acked_before for tx in deliveries[i]} - stored
        assert not missing, f"{len(missing)} acknowledged transactions lost"
        pending_at_kill = scalar(db, "SELECT count(*) FROM inbox WHERE status = 'pending'")

        with run_server(args, ready_path="/health", env=env) as second:
            # Helius redelivers what failed — and, to be hard, everything else too.
            with cf.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: send(second.url, i), range(DELIVERIES)))
            deadline = time.monotonic() + 120
            while scalar(db, "SELECT count(*) FROM inbox WHERE status = 'pending'"):
                assert time.monotonic() < deadline, second.log_tail()
                time.sleep(0.2)
            health = httpx.get(second.url + "/health").json()
    assert len(acked) == DELIVERIES
    total = DELIVERIES * PER_DELIVERY
    assert scalar(db, "SELECT count(*) FROM inbox") == total
    assert scalar(db, "SELECT count(*) FROM inbox WHERE status = 'done'") == total
    assert scalar(db, "SELECT count(*) FROM signals") == total  # one per watched swap
    assert scalar(db, "SELECT count(DISTINCT (signature, wallet, mint)) FROM signals") == total
    # The second pass redelivered every transaction stored before it: each counted once.
    assert scalar(db, "SELECT sum(duplicates) FROM inbox") == len(stored)
    assert health["inbox_pending"] == 0 and health["inbox_parked"] == 0
    print(f"acknowledged before the kill: {len(acked_before)} deliveries; "
          f"pending at the kill: {pending_at_kill}")


def _rows(db: Database, query: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(query).fetchall()
