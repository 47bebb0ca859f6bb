"""What a SIGTERM'd server does with the trading work in hand: the order being sent is
finished (confirmed, not left between send and fill), no new signal is taken once the stop
began, and what was left undecided is decided at the next start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.harness.app_server import ThreadServer
from tests.trading.harness import eligible_signal, liquid_mints, rows, store_signal, trading
from walltrack.settings import Settings
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database

WALLET = "SrcWa11et1111111111111111111111111111111111"


@pytest.fixture(scope="module")
def sim() -> Iterator[ThreadServer]:
    market: Market = generate_market(PRESETS["small"])
    with ThreadServer(create_app(market, speed=0.0, api_key="sim")) as server:
        httpx.post(server.url + "/sim/advance", json={"seconds": 3 * 86_400})
        server.mints = liquid_mints(server.url, market.tokens["mint"].to_list(),  # type: ignore[attr-defined]
                                    n=3)
        yield server


def test_a_stop_mid_order_finishes_that_order_and_takes_no_new_signal(
        make_settings: Callable[..., Settings], db_url: str, db: Database,
        sim: ThreadServer) -> None:
    settings = make_settings(database_url=db_url)
    mints: list[str] = sim.mints  # type: ignore[attr-defined]
    for i, mint in enumerate(mints):
        store_signal(db, eligible_signal(sim.url, WALLET, mint, signature=f"stop{i}" + "1" * 83))
    held: dict[str, Any] = {}

    async def sigterm_at_submit(point: str) -> None:
        # The stop arrives between "signature stored" and the send of the first order.
        service = held.get("service")
        if point == "submitted" and service is not None and "stop" not in held:
            held["stop"] = asyncio.create_task(service.stop())
            await asyncio.sleep(0.05)  # the stop has begun when the send goes out

    async def first_run() -> None:
        async with trading(settings, db, sim.url, start=True, faults=sigterm_at_submit) as t:
            held["service"] = t.service  # before the signal loop's first step
            for _ in range(400):
                if "stop" in held:
                    break
                await asyncio.sleep(0.05)
            assert "stop" in held, "the first order never reached submitted"
            await held["stop"]

    asyncio.run(first_run())
    orders = rows(db, "SELECT status, attempts FROM orders")
    assert [(o["status"], o["attempts"]) for o in orders] == [("confirmed", 1)], orders
    assert [p["status"] for p in rows(db, "SELECT status FROM positions")] == ["open"]
    decided = rows(db, "SELECT count(*) AS n FROM trade_decisions")[0]["n"]
    assert decided == 1, "signals were taken after the stop began"

    async def second_run() -> None:  # the next start decides what the stop left
        async with trading(settings, db, sim.url, start=True) as t:
            for _ in range(400):
                if len(rows(db, "SELECT id FROM positions")) == 3:
                    break
                await asyncio.sleep(0.05)
            assert t.engine.reconciled

    asyncio.run(second_run())
    statuses = sorted(o["status"] for o in rows(db, "SELECT status FROM orders"))
    assert statuses == ["confirmed"] * 3
