"""The engine in paper mode over a real store and the simulator's Jupiter and RPC."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.harness.app_server import ThreadServer
from tests.trading.harness import (
    SOL,
    astore_signal,
    eligible_signal,
    liquid_mints,
    rows,
    set_config,
    store_signal,
    trading,
)
from walltrack.models import SwapSide
from walltrack.models.base import utcnow
from walltrack.settings import Settings
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database

WALLET = "SrcWa11et1111111111111111111111111111111111"
OTHER = "SrcWa11et2222222222222222222222222222222222"


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="module")
def sim(market: Market) -> Iterator[ThreadServer]:
    with ThreadServer(create_app(market, speed=0.0, api_key="sim")) as server:
        yield server


@pytest.fixture
def settings(make_settings: Callable[..., Settings], db_url: str) -> Settings:
    return make_settings(database_url=db_url)


@pytest.fixture(scope="module")
def mints(sim: ThreadServer, market: Market) -> list[str]:
    httpx.post(sim.url + "/sim/advance", json={"seconds": 3 * 86_400})
    return liquid_mints(sim.url, market.tokens["mint"].to_list(), n=6)


def test_an_eligible_signal_opens_one_position_filled_at_the_quote(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[0]
    signal = eligible_signal(sim.url, WALLET, mint, signature="sigA" + "1" * 84)
    store_signal(db, signal)
    quote = httpx.get(sim.url + "/swap/v1/quote", params={
        "inputMint": SOL, "outputMint": mint, "amount": str(int(0.2 * 1e9))}).json()

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            assert await t.engine.process_pending(utcnow() - timedelta(hours=1)) == 1
            # Delivered again (a duplicate): nothing is done twice.
            assert await t.engine.handle(signal) is None

    asyncio.run(go())
    (pos,) = rows(db, "SELECT * FROM positions")
    assert pos["status"] == "open" and pos["signal_id"] == signal.id
    assert pos["wallet"] == WALLET and pos["strategy"] == "balanced"
    assert pos["size_sol"] == pytest.approx(0.2)  # 10 SOL × 2 %
    assert next(r["kind"] for r in pos["exit_plan"]) == "stop_loss"
    assert pos["sizing"]["base_sol"] == pytest.approx(0.2)
    (order,) = rows(db, "SELECT * FROM orders")
    assert order["status"] == "confirmed" and order["attempts"] == 1
    assert order["tx_signature"].startswith("paper-entry:")
    (trade,) = rows(db, "SELECT * FROM trades")
    decimals = pos["decimals"]
    assert trade["token_amount"] == pytest.approx(int(quote["outAmount"]) / 10**decimals)
    assert trade["network_fee_sol"] == pytest.approx(5e-6)
    assert trade["priority_fee_sol"] == pytest.approx(1e-4)
    assert trade["price_impact_pct"] == pytest.approx(float(quote["priceImpactPct"]))
    assert trade["delay_seconds"] is not None and trade["delay_seconds"] >= 2.0
    assert pos["cost_sol"] == pytest.approx(0.2 + 5e-6 + 1e-4)
    (decision,) = rows(db, "SELECT * FROM trade_decisions")
    assert decision["action"] == "opened" and decision["position_id"] == pos["id"]


def test_two_signals_for_one_mint_in_the_same_second_open_one_position(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[1]
    at = utcnow() - timedelta(seconds=1)
    first = eligible_signal(sim.url, WALLET, mint, signature="sigB" + "1" * 84, swap_at=at)
    second = eligible_signal(sim.url, OTHER, mint, signature="sigB" + "2" * 84, swap_at=at)
    for s in (first, second):
        store_signal(db, s)

    async def go() -> None:
        # Two engines (two connections, as two workers or two processes) at once.
        async with trading(settings, db, sim.url) as a, trading(settings, db, sim.url) as b:
            await asyncio.gather(a.engine.handle(first), b.engine.handle(second))

    asyncio.run(go())
    assert len(rows(db, "SELECT * FROM positions")) == 1
    assert len(rows(db, "SELECT * FROM trades")) == 1
    actions = sorted(r["action"] for r in rows(db, "SELECT action FROM trade_decisions"))
    assert actions == ["confirmation", "opened"]
    (pos,) = rows(db, "SELECT confirmations FROM positions")
    assert pos["confirmations"] == 1


def _open(settings: Settings, db: Database, sim_url: str, mint: str, signature: str) -> None:
    store_signal(db, eligible_signal(sim_url, WALLET, mint, signature=signature))

    async def go() -> None:
        async with trading(settings, db, sim_url) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))

    asyncio.run(go())


def test_a_stop_loss_closes_at_the_pools_arithmetic(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[2]
    _open(settings, db, sim.url, mint, "sigC" + "1" * 84)
    (pos,) = rows(db, "SELECT * FROM positions")
    raw = round(pos["token_amount"] * 10 ** pos["decimals"])

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            # The price falls 40 %: the stop loss (−30 %) sells everything.
            await t.engine.on_price(mint, pos["entry_price_sol"] * 0.6, utcnow(), "test")

    quote = httpx.get(sim.url + "/swap/v1/quote", params={
        "inputMint": mint, "outputMint": SOL, "amount": str(raw)}).json()
    asyncio.run(go())
    (closed,) = rows(db, "SELECT * FROM positions")
    assert closed["status"] == "closed" and closed["close_reason"] == "stop_loss"
    sell = rows(db, "SELECT * FROM trades WHERE side = 'sell'")[0]
    proceeds = int(quote["outAmount"]) / 1e9 - 5e-6 - 1e-4
    assert sell["sol_amount"] == pytest.approx(int(quote["outAmount"]) / 1e9)
    assert sell["pnl_sol"] == pytest.approx(proceeds - closed["cost_sol"])
    assert closed["realized_pnl_sol"] == pytest.approx(sell["pnl_sol"])
    # The frozen pool round trip loses fees and impact, never gains.
    assert closed["realized_pnl_sol"] < 0


def test_a_take_profit_step_sells_a_fraction(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[3]
    _open(settings, db, sim.url, mint, "sigD" + "1" * 84)
    (pos,) = rows(db, "SELECT * FROM positions")

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            await t.engine.on_price(mint, pos["entry_price_sol"] * 2.05, utcnow(), "test")

    asyncio.run(go())
    (after,) = rows(db, "SELECT * FROM positions")
    assert after["status"] == "open"
    assert after["remaining_tokens"] == pytest.approx(pos["token_amount"] * 0.75, rel=1e-6)
    assert after["exit_state"]["ladder_done"] == 1
    (sell,) = rows(db, "SELECT * FROM trades WHERE side = 'sell'")
    assert sell["trigger"] == "take_profit_ladder"


def test_a_missing_price_marks_the_position_stale_and_never_sells(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[4]
    _open(settings, db, sim.url, mint, "sigE" + "1" * 84)

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            t.engine._prices.clear()  # nothing known: as after a restart with a dead API
            await t.engine.on_price(mint, None, None, "missing")
            await t.engine.on_price(mint, None, None, "missing")  # alerts once

    asyncio.run(go())
    (pos,) = rows(db, "SELECT * FROM positions")
    assert pos["status"] == "open" and pos["price_stale"] is True
    assert rows(db, "SELECT * FROM trades WHERE side = 'sell'") == []
    alerts = rows(db, "SELECT * FROM alerts WHERE source = 'price_watch'")
    assert len(alerts) == 1 and "stale" in alerts[0]["message"]


def test_the_source_selling_half_mirrors_half(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[5]
    buy = eligible_signal(sim.url, WALLET, mint, signature="sigF" + "1" * 84, tokens=2e5)
    store_signal(db, buy)
    sell = eligible_signal(sim.url, WALLET, mint, signature="sigF" + "2" * 84, tokens=1e5,
                           side=SwapSide.sell, swap_at=buy.swap_at + timedelta(seconds=1))

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))
            await astore_signal(db, sell)
            await t.engine.process_pending(utcnow() - timedelta(hours=1))

    asyncio.run(go())
    (pos,) = rows(db, "SELECT * FROM positions")
    assert pos["remaining_tokens"] == pytest.approx(pos["token_amount"] * 0.5, rel=1e-6)
    (trade,) = rows(db, "SELECT * FROM trades WHERE side = 'sell'")
    assert trade["trigger"] == "mirror_exit"
    decisions = {r["action"] for r in rows(db, "SELECT action FROM trade_decisions")}
    assert decisions == {"opened", "mirror_exit"}


def test_gates_refuse_with_their_reason(settings: Settings, db: Database, sim: ThreadServer,
                                        mints: list[str]) -> None:
    set_config(db, "risk", max_concurrent_positions=1)
    _open(settings, db, sim.url, mints[0], "sigG" + "1" * 84)
    store_signal(db, eligible_signal(sim.url, WALLET, mints[1], signature="sigG" + "2" * 84))

    async def go() -> Any:
        async with trading(settings, db, sim.url) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))

    asyncio.run(go())
    refused = rows(db, "SELECT * FROM trade_decisions WHERE action = 'refused'")
    assert [r["reason"] for r in refused] == ["max_positions"]
    assert len(rows(db, "SELECT * FROM positions")) == 1


def test_drawdown_pause_survives_a_restart_until_the_operator_resets(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    set_config(db, "risk", starting_capital_sol=1.0)
    set_config(db, "sizing", risk_per_trade=0.5, max_position_sol=1.0, max_liquidity_share=0.5)
    set_config(db, "protections", daily_loss_limit=None)
    # Hold through the fall (a time stop only): the drawdown is the open position's.
    set_config(db, "exits", strategies={"hold": [{"kind": "time_stop",
                                                  "params": {"max_hours": 100.0}}]})
    set_config(db, "execution", default_strategy="hold")
    _open(settings, db, sim.url, mints[0], "sigH" + "1" * 84)
    (pos,) = rows(db, "SELECT * FROM positions")

    async def crash_price() -> None:
        async with trading(settings, db, sim.url) as t:
            await t.engine.on_price(mints[0], pos["entry_price_sol"] * 0.4, utcnow(), "test")
            await t.engine.risk_tick()  # what the price watch runs after every round

    asyncio.run(crash_price())
    (risk,) = rows(db, "SELECT * FROM risk_state")
    assert risk["paused"] and "drawdown_pause" in risk["pause_reason"]
    store_signal(db, eligible_signal(sim.url, WALLET, mints[1], signature="sigH" + "2" * 84))

    async def restarted() -> None:
        async with trading(settings, db, sim.url) as t:  # a new process: state from the store
            await t.engine.risk_tick()
            await t.engine.process_pending(utcnow() - timedelta(hours=1))
            await t.engine.operator("resume", "resume is not enough")
            assert (await t.engine.store.risk_state()).paused
            with pytest.raises(ValueError, match="note"):
                await t.engine.operator("reset", "  ")
            state = await t.engine.operator("reset", "reviewed the losses, new peak")
            assert not state.paused

    asyncio.run(restarted())
    refused = rows(db, "SELECT reason FROM trade_decisions WHERE action = 'refused'")
    assert [r["reason"] for r in refused] == ["trading_paused"]
    kinds = [r["kind"] for r in rows(db, "SELECT kind FROM risk_events ORDER BY at")]
    assert kinds[0] == "drawdown_pause" and "reset" in kinds
    assert rows(db, "SELECT count(*) AS n FROM alerts WHERE source = 'risk'")[0]["n"] >= 2


def test_an_override_set_while_open_drives_the_next_exit(
        settings: Settings, db: Database, sim: ThreadServer, mints: list[str]) -> None:
    mint = mints[3]
    _open(settings, db, sim.url, mint, "sigI" + "1" * 84)
    (pos,) = rows(db, "SELECT * FROM positions")

    async def go() -> None:
        async with trading(settings, db, sim.url) as t:
            # −20 %: the default (balanced, −30 % stop) holds; conservative (−15 %) sells.
            await t.engine.on_price(mint, pos["entry_price_sol"] * 0.8, utcnow(), "test")
            assert (await t.engine.store.position(pos["id"])).status.value == "open"
            with pytest.raises(ValueError, match="unknown exit strategy"):
                await t.engine.override_strategy(pos["id"], "nope")
            await t.engine.override_strategy(pos["id"], "conservative")
            await t.engine.on_price(mint, pos["entry_price_sol"] * 0.8, utcnow(), "test")

    asyncio.run(go())
    (after,) = rows(db, "SELECT * FROM positions")
    assert after["status"] == "closed" and after["close_reason"] == "stop_loss"
    assert after["strategy"] == "balanced" and after["override_strategy"] == "conservative"
    assert [r["kind"] for r in after["exit_plan"]] != [r["kind"] for r in after["override_plan"]]
