"""RPC polling against the simulator: new transactions land in the inbox exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import orjson
import polars as pl
import pytest

from tests.harness.app_server import ThreadServer
from walltrack.clients.base import ClientPolicy
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.live.inbox import InboxEntry, InboxWriter
from walltrack.live.live_store import LiveStore, get_status
from walltrack.live.polling import Poller
from walltrack.models import DynamicConfig, SignalSource
from walltrack.models.config import SourceConfig
from walltrack.simulator import Market
from walltrack.store import Database

FAST = ClientPolicy(rate_per_second=1000.0, burst=1000)
WINDOW = 6 * 3600.0  # simulated seconds per step


def config(**sources: float) -> DynamicConfig:
    base = {"poll_rate_per_second": 500.0, "poll_concurrency": 3,
            "poll_signatures_limit": 10, **sources}
    return DynamicConfig(sources=SourceConfig.model_validate(base))


async def sim_now(sim: httpx.AsyncClient) -> float:
    return float((await sim.get("/sim/state")).json()["sim_seconds"])


async def advance(sim: httpx.AsyncClient, seconds: float) -> None:
    (await sim.post("/sim/advance", json={"seconds": seconds})).raise_for_status()


def busy_wallets(market: Market, t0: float, t1: float, n: int) -> list[str]:
    window = market.swaps.filter((pl.col("t") > t0) & (pl.col("t") <= t1))
    ranked = window.group_by("wallet").len().sort(["len", "wallet"], descending=[True, False])
    return ranked["wallet"].head(n).to_list()


def inbox(db: Database) -> dict[str, tuple[str, bytes]]:
    with db.connection() as conn:
        rows = conn.execute("SELECT signature, source, payload FROM inbox").fetchall()
    return {r[0]: (r[1], bytes(r[2])) for r in rows}


def cursors(db: Database) -> dict[str, str | None]:
    with db.connection() as conn:
        return dict(conn.execute("SELECT wallet, last_signature FROM poll_cursors").fetchall())


@pytest.fixture
async def parts(live_sim: ThreadServer, db: Database
                ) -> AsyncIterator[tuple[SolanaRpcClient, InboxWriter, httpx.AsyncClient]]:
    writer = InboxWriter(db.url)
    await writer.start()
    async with SolanaRpcClient([live_sim.url + "/rpc"], policy=FAST) as rpc, \
            httpx.AsyncClient(base_url=live_sim.url, timeout=30) as sim:
        yield rpc, writer, sim
    await writer.stop()


async def expected_new(rpc: SolanaRpcClient, wallets: list[str],
                       since: dict[str, str | None]) -> set[str]:
    found: set[str] = set()
    for wallet in wallets:
        infos = await rpc.get_signatures_for_address(wallet, until=since[wallet], limit=1000)
        found |= {i.signature for i in infos if i.err is None}
    return found


async def test_new_transactions_land_once_and_a_restart_resumes(
        parts: tuple[SolanaRpcClient, InboxWriter, httpx.AsyncClient], db: Database,
        live_market: Market) -> None:
    rpc, writer, sim = parts
    t0 = await sim_now(sim)
    watched = busy_wallets(live_market, t0, t0 + 3 * WINDOW, 6)
    assert len(watched) == 6
    cfg = config()
    store = LiveStore(db.url)
    poller = Poller(rpc, writer, store, lambda: watched, lambda: cfg)

    # First sight: cursors at each wallet's newest signature, no history backfilled.
    first = await poller.poll_round()
    assert first.cursors_started == 6 and first.accepted == 0 and first.errors == 0
    assert inbox(db) == {}
    start = cursors(db)
    assert set(start) == set(watched)

    # Time passes: the watched wallets trade; one round brings every new transaction.
    await advance(sim, WINDOW)
    want = await expected_new(rpc, watched, start)
    assert want
    second = await poller.poll_round()
    assert second.errors == 0 and second.accepted == len(want) == second.submitted
    assert second.signatures_seen >= len(want)
    assert second.failed_skipped == second.signatures_seen - len(want)
    assert second.failed_skipped > 0  # the small market's wallets also fail sometimes
    assert second.swap_transactions_accepted > 0
    stored = inbox(db)
    assert set(stored) == want and {src for src, _ in stored.values()} == {"polling"}
    t1 = await sim_now(sim)
    their_swaps = live_market.swaps.filter(
        pl.col("wallet").is_in(pl.Series(watched).implode()) & (pl.col("t") > t0)
        & (pl.col("t") <= t1))
    assert set(their_swaps["signature"].to_list()) <= want
    for signature, (_, payload) in list(stored.items())[:20]:
        tx = orjson.loads(payload)
        assert isinstance(tx, dict) and tx["signature"] == signature
        assert tx["transactionError"] is None and tx["accountData"]
    moved = cursors(db)
    traded = set(their_swaps["wallet"].to_list())
    assert traded and all(moved[w] != start[w] for w in traded)

    # Nothing new: nothing added, cursors unchanged.
    third = await poller.poll_round()
    assert (third.signatures_seen, third.submitted, third.accepted) == (0, 0, 0)
    assert cursors(db) == moved
    await store.close()

    # A restart (new poller, new store connection) resumes from the stored cursors; what a
    # webhook already delivered is a duplicate, never a second row.
    await advance(sim, WINDOW)
    want2 = await expected_new(rpc, watched, moved)
    assert want2 and not want2 & want
    delivered = sorted(want2)[0]
    ack = await writer.submit([InboxEntry(signature=delivered, payload=b"{}")],
                              SignalSource.webhook)
    assert ack.accepted == 1
    store2 = LiveStore(db.url)
    again = Poller(rpc, writer, store2, lambda: watched, lambda: cfg)
    fourth = await again.poll_round()
    assert fourth.cursors_started == 0 and fourth.errors == 0
    assert fourth.accepted == len(want2) - 1 and fourth.duplicates == 1
    stored = inbox(db)
    assert set(stored) == want | want2 and stored[delivered][0] == "webhook"
    assert (await again.poll_round()).accepted == 0
    await store2.close()


async def test_a_new_wallet_mid_way_starts_at_its_newest(
        parts: tuple[SolanaRpcClient, InboxWriter, httpx.AsyncClient], db: Database,
        live_market: Market) -> None:
    rpc, writer, sim = parts
    t0 = await sim_now(sim)
    wallets = busy_wallets(live_market, t0, t0 + WINDOW, 2)
    watched = wallets[:1]
    store = LiveStore(db.url)
    poller = Poller(rpc, writer, store, lambda: list(watched), lambda: config())
    await poller.poll_round()
    watched.append(wallets[1])  # the server's watch set grew
    report = await poller.poll_round()
    assert report.wallets == 2 and report.cursors_started == 1 and report.accepted == 0
    assert set(cursors(db)) == set(wallets)
    await store.close()


async def test_run_loops_until_stopped_and_records_its_status(
        parts: tuple[SolanaRpcClient, InboxWriter, httpx.AsyncClient], db: Database,
        live_market: Market) -> None:
    rpc, writer, sim = parts
    t0 = await sim_now(sim)
    watched = busy_wallets(live_market, t0, t0 + WINDOW, 2)
    store = LiveStore(db.url)
    poller = Poller(rpc, writer, store, lambda: watched,
                    lambda: config(poll_interval_seconds=0.02))
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    for _ in range(500):
        if poller.rounds >= 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert poller.rounds >= 3
    status = get_status(db, "polling")
    assert status is not None and status["wallets"] == 2 and status["rounds"] >= 3
    await store.close()
