"""The whole path over HTTP: the simulator's live phase delivers watched wallets' swaps to a
real server.py, whose token lookups go to the same simulator → signals with breakdowns."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl
import pytest
from psycopg.types.json import Jsonb

from tests.harness.processes import run_server
from tests.live.conftest import watch
from tests.live.helpers import AUTH
from tests.live.test_crash import server_env
from walltrack.clients.helius import HeliusClient, WebhookSpec
from walltrack.simulator import PRESETS, generate_market
from walltrack.simulator.background import serving_process
from walltrack.store import Database

pytestmark = pytest.mark.slow

LIVE_SECONDS = 600  # simulated seconds delivered, all before the wall clock's now
SERVE_AT = 3 * 86_400 + 12 * 3600


def scalar(db: Database, query: str) -> Any:
    with db.connection() as conn:
        return conn.execute(query).fetchone()[0]


async def register(sim_url: str, hook_url: str, wallets: list[str]) -> None:
    async with HeliusClient(sim_url, "simulator") as helius:
        await helius.create_webhook(WebhookSpec(
            webhookURL=hook_url, accountAddresses=wallets, transactionTypes=["ANY"],
            authHeader=AUTH))


@pytest.mark.parametrize("source", ["webhook", "polling"])
def test_live_phase_swaps_become_scored_signals(db: Database, db_url: str, tmp_path: Any,
                                                source: str) -> None:
    # The market's clock is set so the delivered window ends before the wall clock's now:
    # a delivery's delay is then real (wall clock − simulated swap time) and never negative.
    start = datetime.fromtimestamp(int(time.time()) - SERVE_AT - LIVE_SECONDS - 5, UTC)
    params = PRESETS["small"].model_copy(update={"start": start})
    market = generate_market(params)
    window = market.swaps.filter((pl.col("t") > SERVE_AT)
                                 & (pl.col("t") <= SERVE_AT + LIVE_SECONDS))
    wallets = sorted(set(window["wallet"].to_list()))
    assert len(wallets) >= 5
    watch(db, *wallets)
    with db.connection() as conn:  # poll every second (the default is 10 s)
        conn.execute("UPDATE config SET value = value || %s WHERE key = 'sources'",
                     (Jsonb({"poll_interval_seconds": 1.0}),))
    with serving_process(params, start_at=SERVE_AT) as sim_url:
        env = server_env(db_url, sim_url, str(tmp_path)) | {"WALLTRACK_SIGNAL_SOURCE": source}
        with run_server([sys.executable, "server.py", "--port", "{port}"],
                        ready_path="/health", env=env) as server:
            if source == "webhook":
                asyncio.run(register(sim_url, server.url + "/webhooks/helius", wallets))
            else:  # the first round only sets each wallet's cursor (no backfill)
                deadline = time.monotonic() + 60
                while scalar(db, "SELECT count(*) FROM poll_cursors") < len(wallets):
                    assert time.monotonic() < deadline, server.log_tail()
                    time.sleep(0.2)
            for _ in range(LIVE_SECONDS // 60):
                httpx.post(sim_url + "/sim/advance", json={"seconds": 60})
                time.sleep(0.25)
            deadline = time.monotonic() + 90
            while scalar(db, "SELECT count(*) FROM signals") < window.height:
                assert time.monotonic() < deadline, (
                    f"{scalar(db, 'SELECT count(*) FROM signals')} of {window.height} "
                    f"signals\n{server.log_tail()}")
                time.sleep(0.25)
            time.sleep(1.0)
            page = httpx.get(server.url + "/api/signals", params={"limit": 500}).json()
            sim_state = httpx.get(sim_url + "/sim/state").json()
    stored = {s["signature"] for s in page["data"]}
    assert stored == set(window["signature"].to_list())
    assert scalar(db, "SELECT count(*) FROM signals") == window.height
    assert sim_state["delivery_failures"] == 0
    for s in page["data"]:
        assert set(s["factors"]["detail"]) >= {"wallet", "cluster", "token", "context", "safety"}
        assert s["source"] == source
        assert s["delay_seconds"] >= 0
    # Token data came from the simulator's APIs: market figures for launched tokens.
    assert any(s["factors"]["detail"]["token"]["liquidity_usd"] for s in page["data"])
    sides = {s["side"] for s in page["data"]}
    assert "buy" in sides
    assert all(s["reason"] == "source_sold" for s in page["data"] if s["side"] == "sell")
