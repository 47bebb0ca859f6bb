"""The deadman: the pure rule, then webhook silence against the simulator and a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import signature
from tests.harness.app_server import ThreadServer
from tests.live.test_polling import FAST, WINDOW, advance, busy_wallets, config, sim_now
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.live.deadman import Deadman, DeadmanState, judge
from walltrack.live.inbox import InboxEntry, InboxWriter
from walltrack.live.live_store import LiveStore, get_status
from walltrack.live.polling import Poller
from walltrack.models import SignalSource, utcnow
from walltrack.models.config import SourceConfig
from walltrack.settings import SignalSourceMode
from walltrack.simulator import Market
from walltrack.store import Database

T = datetime(2026, 1, 1, tzinfo=UTC)
DEADMAN = 600.0


def test_judge() -> None:
    cfg = SourceConfig(deadman_seconds=DEADMAN)
    ok = judge(T, T + timedelta(seconds=599), 5, cfg)
    assert ok.state is DeadmanState.ok and ok.silent_seconds == 599
    quiet = judge(T, T + timedelta(seconds=601), 0, cfg)
    assert quiet.state is DeadmanState.silent_but_quiet and "quiet" in quiet.reason
    tripped = judge(T, T + timedelta(seconds=900), 3, cfg)
    assert tripped.state is DeadmanState.tripped
    assert "900 s" in tripped.reason and "3 swap(s)" in tripped.reason
    never = judge(None, T, 1, cfg)
    assert never.state is DeadmanState.tripped and never.silent_seconds is None
    assert judge(None, T, 0, cfg).state is DeadmanState.silent_but_quiet


class FakeClock:
    """The store's wall clock moved on by ``offset`` seconds (no real waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return utcnow() + timedelta(seconds=self.offset)


def alerts(db: Database) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute("SELECT level, source, message, detail FROM alerts ORDER BY at")
        return list(cur.fetchall())


@pytest.fixture
async def rig(live_sim: ThreadServer, db: Database, live_market: Market
              ) -> AsyncIterator[dict[str, Any]]:
    writer = InboxWriter(db.url)
    await writer.start()
    store = LiveStore(db.url)
    async with SolanaRpcClient([live_sim.url + "/rpc"], policy=FAST) as rpc, \
            httpx.AsyncClient(base_url=live_sim.url, timeout=30) as sim:
        t0 = await sim_now(sim)
        watched = busy_wallets(live_market, t0, t0 + WINDOW, 5)
        cfg = config(deadman_seconds=DEADMAN)
        poller = Poller(rpc, writer, store, lambda: watched, lambda: cfg)
        yield {"writer": writer, "store": store, "sim": sim, "poller": poller, "cfg": cfg}
    await store.close()
    await writer.stop()


async def deliver(writer: InboxWriter, seed: str) -> None:
    ack = await writer.submit([InboxEntry(signature=signature(seed), payload=b"{}")],
                              SignalSource.webhook)
    assert ack.accepted == 1


async def test_silent_webhooks_while_wallets_trade_trip_and_force_polling(
        rig: dict[str, Any], db: Database) -> None:
    clock = FakeClock()
    await deliver(rig["writer"], "hook-1")
    deadman = Deadman(rig["poller"], rig["store"], lambda: rig["cfg"],
                      mode=SignalSourceMode.webhook, clock=clock, release_after_seconds=120)
    first = await deadman.check()
    assert first.state is DeadmanState.ok and deadman.primed and deadman.probes == 0
    assert not deadman.polling_forced and alerts(db) == []

    # The wallets trade, nothing is delivered for longer than the deadman's limit.
    await advance(rig["sim"], WINDOW)
    clock.offset = DEADMAN + 30
    verdict = await deadman.check()
    assert verdict.state is DeadmanState.tripped, verdict
    assert deadman.polling_forced and deadman.swaps_missed > 0
    [alert] = alerts(db)
    assert (alert["level"], alert["source"]) == ("critical", "deadman")
    assert "Polling has been switched on" in alert["message"]
    assert "sync_webhooks" in alert["message"]
    status = get_status(db, "deadman")
    assert status is not None and status["state"] == "tripped" and status["polling_forced"]
    with db.connection() as conn:
        polled = conn.execute("SELECT count(*) FROM inbox WHERE source = 'polling'").fetchone()
    assert polled is not None and polled[0] >= deadman.swaps_missed  # the gap is filled

    # Still silent: no second alert.
    clock.offset += 60
    assert (await deadman.check()).state is DeadmanState.tripped
    assert len(alerts(db)) == 1

    # Deliveries resume: recorded, polling kept on (until release_after_seconds here).
    await deliver(rig["writer"], "hook-2")
    again = await deadman.check()
    assert again.state is DeadmanState.tripped and "resumed" in again.reason
    assert deadman.polling_forced and deadman.recovered_at is not None
    levels = [(a["level"], a["source"]) for a in alerts(db)]
    assert levels == [("critical", "deadman"), ("info", "deadman")]
    assert "polling stays on" in alerts(db)[1]["message"]
    clock.offset += 121
    released = await deadman.check()
    assert released.state is DeadmanState.ok and not deadman.polling_forced


async def test_silent_webhooks_with_quiet_wallets_raise_nothing(
        rig: dict[str, Any], db: Database) -> None:
    clock = FakeClock()
    await deliver(rig["writer"], "hook-3")
    deadman = Deadman(rig["poller"], rig["store"], lambda: rig["cfg"],
                      mode=SignalSourceMode.webhook, clock=clock)
    assert (await deadman.check()).state is DeadmanState.ok
    clock.offset = DEADMAN * 3  # silence, but the simulated market does not move
    verdict = await deadman.check()
    assert verdict.state is DeadmanState.silent_but_quiet and deadman.probes == 1
    assert not deadman.polling_forced and alerts(db) == []
    assert get_status(db, "deadman")["state"] == "silent_but_quiet"  # type: ignore[index]


async def test_the_deadman_stands_down_when_polling_is_on(rig: dict[str, Any],
                                                          db: Database) -> None:
    clock = FakeClock()
    clock.offset = DEADMAN * 10
    deadman = Deadman(rig["poller"], rig["store"], lambda: rig["cfg"],
                      mode=SignalSourceMode.both, clock=clock)
    assert (await deadman.check()).state is DeadmanState.ok
    assert not deadman.primed and rig["poller"].rounds == 0 and alerts(db) == []
