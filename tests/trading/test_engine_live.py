"""The live path against the simulator: quote → transaction → sign → simulate → send →
getSignatureStatuses → the landed meta. Paper and live leave the same records apart from the
execution fields; a transaction that cannot go through leaves no phantom position."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

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
    trading,
)
from walltrack.models import SwapSide, TradingMode
from walltrack.models.base import utcnow
from walltrack.settings import Settings
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database
from walltrack.trading.execution import SwapRequest

WALLET = "SrcWa11et1111111111111111111111111111111111"
SIG = "sigL" + "1" * 84
# What a position is, whichever way it was executed (the rest is execution: ids, times,
# the balance the sizing saw, fees and rent in the cost, the delay).
SAME_FIELDS = ("wallet", "mint", "status", "strategy", "exit_plan", "exit_state", "size_sol",
               "token_amount", "remaining_tokens", "entry_price_sol", "decimals",
               "confirmations", "realized_pnl_sol")


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(PRESETS["small"])


def _serve(market: Market) -> ThreadServer:
    return ThreadServer(create_app(market, speed=0.0, api_key="sim"))


@pytest.fixture
def sim(market: Market) -> Iterator[ThreadServer]:
    """A server of its own: live swaps move its pools and balances."""
    with _serve(market) as server:
        httpx.post(server.url + "/sim/advance", json={"seconds": 3 * 86_400})
        yield server


def live_settings(make_settings: Callable[..., Settings], db_url: str, sim_url: str,
                  keypair: Keypair, **extra: Any) -> Settings:
    return make_settings(
        database_url=db_url, live_trading_allowed=True, jupiter_url=sim_url,
        solana_rpc_urls=sim_url + "/rpc",
        trading_private_key=base58.b58encode(bytes(keypair)).decode(), **extra)


def go_live(db: Database, wallet: str) -> None:
    set_config(db, "execution", mode="live")
    with db.connection() as conn:
        conn.execute("INSERT INTO wallet_copy_modes (wallet, mode, changed_at, note) "
                     "VALUES (%s, 'live', now(), 'proved itself in paper')", (wallet,))


def _run(settings: Settings, db: Database, sim_url: str, **options: Any) -> None:
    async def go() -> None:
        async with trading(settings, db, sim_url, **options) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))

    asyncio.run(go())


def test_live_and_paper_leave_the_same_records_but_the_execution(
        make_settings: Callable[..., Settings], db: Database, db_url: str,
        market: Market, pg_cluster: Any, template_db: str) -> None:
    from tests.harness.postgres import unique_name
    from walltrack.store import open_database

    keypair = Keypair()
    positions: dict[str, dict[str, Any]] = {}
    trades: dict[str, dict[str, Any]] = {}
    for mode in ("paper", "live"):
        with _serve(market) as server:  # the same market, fresh pools for each mode
            httpx.post(server.url + "/sim/advance", json={"seconds": 3 * 86_400})
            mint = liquid_mints(server.url, market.tokens["mint"].to_list())[0]
            rpc_call(server.url, "requestAirdrop", [str(keypair.pubkey()), 5 * 10**9])
            name = unique_name()
            url = pg_cluster.create_database(name, template=template_db)
            settings = live_settings(make_settings, url, server.url, keypair)
            store = open_database(settings)
            try:
                if mode == "live":
                    go_live(store, WALLET)
                store_signal(store, eligible_signal(server.url, WALLET, mint, signature=SIG))
                _run(settings, store, server.url)
                (positions[mode],) = rows(store, "SELECT * FROM positions")
                (trades[mode],) = rows(store, "SELECT * FROM trades")
                (order,) = rows(store, "SELECT * FROM orders")
                if mode == "live":
                    # The chain saw it: the signature's status and the wallet's tokens.
                    status = rpc_call(server.url, "getSignatureStatuses",
                                      [[order["tx_signature"]]])["value"][0]
                    assert status["err"] is None
                    held = rpc_call(server.url, "getTokenAccountsByOwner", [
                        str(keypair.pubkey()), {"mint": mint}, {"encoding": "jsonParsed"}])
                    raw = int(held["value"][0]["account"]["data"]["parsed"]["info"]
                              ["tokenAmount"]["amount"])
                    assert raw == round(trades["live"]["token_amount"]
                                        * 10 ** positions["live"]["decimals"])
            finally:
                store.close()
                pg_cluster.drop_database(name)
    paper, live = positions["paper"], positions["live"]
    assert paper["mode"] == "paper" and live["mode"] == "live"
    for name in SAME_FIELDS:
        if isinstance(paper[name], float):
            assert live[name] == pytest.approx(paper[name], rel=1e-9), name
        else:
            assert live[name] == paper[name], name
    assert trades["live"]["tx_signature"] != trades["paper"]["tx_signature"]
    assert trades["live"]["token_amount"] == pytest.approx(trades["paper"]["token_amount"])
    # The fees the live fill paid were read from the landed meta (5 000 + priority).
    assert trades["live"]["network_fee_sol"] == pytest.approx(5e-6)
    assert trades["live"]["priority_fee_sol"] > 0


def test_live_is_refused_without_the_environments_permission(
        make_settings: Callable[..., Settings], db: Database, db_url: str,
        sim: ThreadServer, market: Market) -> None:
    keypair = Keypair()
    rpc_call(sim.url, "requestAirdrop", [str(keypair.pubkey()), 5 * 10**9])
    settings = live_settings(make_settings, db_url, sim.url, keypair)
    settings = settings.model_copy(update={"live_trading_allowed": False})
    go_live(db, WALLET)
    mint = liquid_mints(sim.url, market.tokens["mint"].to_list())[0]
    store_signal(db, eligible_signal(sim.url, WALLET, mint, signature=SIG))
    _run(settings, db, sim.url)
    assert rows(db, "SELECT * FROM positions") == []
    (decision,) = rows(db, "SELECT * FROM trade_decisions")
    assert decision["reason"] == "live_not_allowed"
    assert "WALLTRACK_LIVE_TRADING_ALLOWED" in decision["message"]
    assert rows(db, "SELECT * FROM alerts WHERE source = 'live_guard'")


def test_a_transaction_that_cannot_go_through_leaves_no_phantom_position(
        make_settings: Callable[..., Settings], db: Database, db_url: str,
        sim: ThreadServer, market: Market) -> None:
    keypair = Keypair()
    user = str(keypair.pubkey())
    rpc_call(sim.url, "requestAirdrop", [user, 2 * 10**9])
    settings = live_settings(make_settings, db_url, sim.url, keypair)
    go_live(db, WALLET)
    mint, other = liquid_mints(sim.url, market.tokens["mint"].to_list())[:2]
    store_signal(db, eligible_signal(sim.url, WALLET, mint, signature=SIG))
    from walltrack.clients.jupiter import sign_transaction

    async def drain_wallet(point: str) -> None:
        # Between the stored signature and the send, the wallet spends its SOL elsewhere:
        # every attempt's simulation fails for insufficient funds.
        if point != "submitted":
            return
        balance = rpc_call(sim.url, "getBalance", [user])["value"]
        spend = balance - 10**7
        if spend <= 10**7:
            return  # drained already
        async with httpx.AsyncClient(base_url=sim.url) as c:
            q = (await c.get("/swap/v1/quote", params={
                "inputMint": "So11111111111111111111111111111111111111112",
                "outputMint": other, "amount": str(spend - 3 * 10**6)})).json()
            tx = (await c.post("/swap/v1/swap", json={"quoteResponse": q,
                                                      "userPublicKey": user})).json()
        rpc_call(sim.url, "sendTransaction",
                 [sign_transaction(tx["swapTransaction"], keypair), {"encoding": "base64"}])

    _run(settings, db, sim.url, faults=drain_wallet)
    (pos,) = rows(db, "SELECT * FROM positions")
    assert pos["status"] == "failed" and pos["remaining_tokens"] == 0
    (order,) = rows(db, "SELECT * FROM orders")
    assert order["status"] == "failed" and order["attempts"] == 3
    assert all("simulation failed" in h["error"] for h in order["history"])
    assert rows(db, "SELECT * FROM trades") == []
    held = rpc_call(sim.url, "getTokenAccountsByOwner",
                    [user, {"mint": mint}, {"encoding": "jsonParsed"}])["value"]
    assert held == []  # nothing landed for the mint: no phantom tokens either


def test_a_transaction_landed_with_an_error_is_no_fill_and_v1_paths_trade(
        make_settings: Callable[..., Settings], db: Database, db_url: str,
        sim: ThreadServer, market: Market) -> None:
    """A swap of the wallet that lands with ``meta.err`` (its minimum not met) is seen as
    failed and gives no fill; the order itself, on the v1 paths, buys exactly once."""
    from walltrack.clients.jupiter import sign_transaction
    from walltrack.trading.execution.live import LiveExecutor

    keypair = Keypair()
    user = str(keypair.pubkey())
    rpc_call(sim.url, "requestAirdrop", [user, 5 * 10**9])
    settings = live_settings(make_settings, db_url, sim.url, keypair)
    go_live(db, WALLET)
    set_config(db, "execution", jupiter_api="v1")  # the older paths stay supported
    mint = liquid_mints(sim.url, market.tokens["mint"].to_list())[0]
    store_signal(db, eligible_signal(sim.url, WALLET, mint, signature=SIG))
    landed_failed: list[str] = []

    async def land_a_failure(point: str) -> None:
        # Instead of our transaction, one that cannot meet its minimum lands (as when the
        # price ran between the quote and the block): the chain records it failed.
        if point != "submitted" or landed_failed:
            return
        async with httpx.AsyncClient(base_url=sim.url) as c:
            q = (await c.get("/swap/v1/quote", params={
                "inputMint": "So11111111111111111111111111111111111111112",
                "outputMint": mint, "amount": str(10**8)})).json()
            q["otherAmountThreshold"] = str(int(q["outAmount"]) * 10)
            tx = (await c.post("/swap/v1/swap", json={"quoteResponse": q,
                                                      "userPublicKey": user})).json()
        signed = sign_transaction(tx["swapTransaction"], keypair)
        sig = rpc_call(sim.url, "sendTransaction",
                       [signed, {"encoding": "base64", "skipPreflight": True}])
        landed_failed.append(sig)

    async def go() -> None:
        from tests.trading.harness import trading

        async with trading(settings, db, sim.url, faults=land_a_failure) as t:
            await t.engine.process_pending(utcnow() - timedelta(hours=1))
            live = t.engine.executors[TradingMode.live]
            assert isinstance(live, LiveExecutor)
            seen = await live.observe(landed_failed[0], None)
            assert seen.chain.value == "failed"
            request = SwapRequest(key="x", mint=mint, side=SwapSide.buy, amount_in=10**8,
                                  slippage_bps=300, decimals=6)
            assert await live.fill(landed_failed[0], request) is None  # meta.err: no fill

    asyncio.run(go())
    (order,) = rows(db, "SELECT * FROM orders")
    assert order["status"] == "confirmed" and order["attempts"] == 1
    (trade,) = rows(db, "SELECT * FROM trades")
    assert trade["tx_signature"] == order["tx_signature"] != landed_failed[0]
    held = rpc_call(sim.url, "getTokenAccountsByOwner",
                    [user, {"mint": mint}, {"encoding": "jsonParsed"}])["value"]
    raw = int(held[0]["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"])
    (pos,) = rows(db, "SELECT decimals FROM positions")
    assert raw == round(trade["token_amount"] * 10 ** pos["decimals"])  # one buy landed
