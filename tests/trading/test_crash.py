"""kill -9 at each step of an order → restart → exactly one position and one fill.

The steps: the signature stored as ``submitted`` but nothing sent; sent but not confirmed;
landed but its fill not recorded. The simulator lives on (it is the chain); the trading
process dies with SIGKILL and a new one reconciles before it does anything else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import base58
import httpx
import pytest
from solders.keypair import Keypair

from tests.harness.app_server import ThreadServer
from tests.trading.harness import (
    eligible_signal,
    liquid_mints,
    rows,
    rpc_call,
    set_config,
    store_signal,
)
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
WALLET = "SrcWa11et1111111111111111111111111111111111"


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture
def sim(market: Market) -> Iterator[ThreadServer]:
    with ThreadServer(create_app(market, speed=0.0, api_key="sim")) as server:
        httpx.post(server.url + "/sim/advance", json={"seconds": 3 * 86_400})
        yield server


def worker(env: dict[str, str], sim_url: str, kill_at: str | None) -> int:
    cmd = [sys.executable, "-m", "tests.trading.crash_worker", sim_url]
    if kill_at:
        cmd += ["--kill-at", kill_at]
    done = subprocess.run(cmd, cwd=ROOT, env=os.environ | env, capture_output=True,
                          text=True, timeout=120)
    if kill_at is None:
        assert done.returncode == 0, done.stderr[-3000:]
    return done.returncode


@pytest.mark.parametrize("mode", ["paper", "live"])
@pytest.mark.parametrize("kill_at", ["submitted", "sent", "landed"])
def test_kill_9_at_each_step_then_restart_gives_one_position_and_one_fill(
        db: Database, db_url: str, sim: ThreadServer, market: Market, tmp_path: Path,
        mode: str, kill_at: str) -> None:
    keypair = Keypair()
    user = str(keypair.pubkey())
    rpc_call(sim.url, "requestAirdrop", [user, 5 * 10**9])
    env = {"WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DATA_DIR": str(tmp_path),
           "WALLTRACK_JUPITER_URL": sim.url, "WALLTRACK_SOLANA_RPC_URLS": sim.url + "/rpc",
           "WALLTRACK_LOG_LEVEL": "WARNING", "WALLTRACK_LIVE_TRADING_ALLOWED": "true",
           "WALLTRACK_TRADING_PRIVATE_KEY": base58.b58encode(bytes(keypair)).decode()}
    if mode == "live":
        set_config(db, "execution", mode="live")
        with db.connection() as conn:
            conn.execute("INSERT INTO wallet_copy_modes VALUES (%s, 'live', now(), 'ok')",
                         (WALLET,))
    mint = liquid_mints(sim.url, market.tokens["mint"].to_list())[0]
    store_signal(db, eligible_signal(sim.url, WALLET, mint, signature="sigK" + "1" * 84))

    assert worker(env, sim.url, kill_at) == -9
    (order,) = rows(db, "SELECT * FROM orders")
    assert order["status"] == "submitted" and order["tx_signature"]  # stored before the send
    assert rows(db, "SELECT * FROM trades") == []
    # Time passes on the chain (a blockhash lives ≈ 60 s): an attempt that never left can
    # be known never to land, and only then is it re-quoted and sent again.
    httpx.post(sim.url + "/sim/advance", json={"seconds": 120})
    worker(env, sim.url, None)

    (pos,) = rows(db, "SELECT * FROM positions")
    assert pos["status"] == "open"
    (trade,) = rows(db, "SELECT * FROM trades")
    (order,) = rows(db, "SELECT * FROM orders")
    assert order["status"] == "confirmed"
    retried = kill_at == "submitted" or mode == "paper"
    assert order["attempts"] == (2 if retried else 1)
    assert trade["tx_signature"] == order["tx_signature"]
    if mode == "live":
        # The chain holds exactly what the store says: one buy landed, never two.
        held = rpc_call(sim.url, "getTokenAccountsByOwner",
                        [user, {"mint": mint}, {"encoding": "jsonParsed"}])["value"]
        raw = int(held[0]["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"])
        assert raw == round(trade["token_amount"] * 10 ** pos["decimals"])
        sigs = rpc_call(sim.url, "getSignaturesForAddress", [user, {"limit": 10}])
        swaps = [s for s in sigs if s["err"] is None]
        assert len(swaps) == 2  # the airdrop and the one buy
