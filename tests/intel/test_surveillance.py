"""Surveillance: dead / rug rules on hand-made snapshots; a real rug and a real outage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import polars as pl
import pytest

from tests.harness.app_server import ThreadServer
from tests.intel.acquisition_sim import FAST, acq_market  # noqa: F401
from walltrack.clients.base import RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.intel.surveillance import refresh_tokens, status_for
from walltrack.models import Token, TokenSnapshot, TokenStatus
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.simulator import Market
from walltrack.simulator.server import create_app
from walltrack.store import Database
from walltrack.store.repositories import TokenRepository, TokenSnapshotRepository

NOW = datetime(2025, 6, 10, tzinfo=UTC)
CFG = TokenDiscoveryConfig(dead_liquidity_usd=1_000, rug_liquidity_drop=0.8,
                           dead_no_volume_after_hours=24)
MINT = "T" * 40


def snap(liq: float | None, vol: float | None = 5_000.0, trades: int = 10) -> TokenSnapshot:
    return TokenSnapshot(mint=MINT, taken_at=NOW, liquidity_usd=liq, volume_24h_usd=vol,
                         buys_24h=trades, sells_24h=0)


def verdict(prev: TokenSnapshot | None, cur: TokenSnapshot, age_h: float = 48):
    return status_for(prev, cur, CFG, pair_created_at=NOW - timedelta(hours=age_h), now=NOW)


def test_healthy_token_stays_active() -> None:
    assert verdict(snap(50_000), snap(45_000)) is None
    assert verdict(None, snap(50_000)) is None


def test_rug_is_a_liquidity_collapse_between_snapshots() -> None:
    status, reason = verdict(snap(50_000), snap(9_000))  # −82 %
    assert status is TokenStatus.rugged and "82%" in reason
    assert verdict(snap(50_000), snap(10_001)) is None  # −79.998 %: not a rug
    status, _ = verdict(snap(50_000), snap(10_000))  # exactly −80 %: a rug
    assert status is TokenStatus.rugged
    # A collapse below the dead line is still called a rug (the stronger fact).
    status, _ = verdict(snap(50_000), snap(500))
    assert status is TokenStatus.rugged


def test_dead_by_liquidity_or_by_no_volume_once_old_enough() -> None:
    status, reason = verdict(None, snap(999))
    assert status is TokenStatus.dead and "below" in reason
    assert verdict(snap(1_100), snap(1_000)) is None  # at the line: alive
    status, reason = verdict(snap(5_000), snap(5_000, vol=0, trades=0), age_h=30)
    assert status is TokenStatus.dead and reason == "no volume in 24 h"
    # A fresh launch without trades yet is not dead.
    assert verdict(None, snap(5_000, vol=0, trades=0), age_h=2) is None


@pytest.fixture
def rug_sim(acq_market: Market) -> Iterator[tuple[ThreadServer, dict]]:  # noqa: F811
    tokens = acq_market.tokens.filter(
        pl.col("rug_t").is_not_nan() & (pl.col("rug_t") - pl.col("launch_t") > 3 * 3600))
    rug = tokens.row(0, named=True)
    other = acq_market.tokens.filter(
        pl.col("rug_t").is_nan() & (pl.col("launch_t") < rug["rug_t"] - 7200)
        & (pl.col("swap_count") > 500)).row(0, named=True)
    app = create_app(acq_market, speed=0.0, start_at=float(rug["rug_t"]) - 1800)
    with ThreadServer(app) as server:
        yield server, {"rug": rug["mint"], "other": other["mint"],
                       "start": acq_market.params.start.astimezone(UTC),
                       "t0": float(rug["rug_t"]) - 1800}


async def test_a_real_rug_is_marked_and_an_outage_stores_nothing(
        db: Database, rug_sim: tuple[ThreadServer, dict]) -> None:
    server, info = rug_sim
    repo = TokenRepository(db)
    t0 = info["start"] + timedelta(seconds=info["t0"])
    for mint in (info["rug"], info["other"]):
        repo.upsert(Token(mint=mint, first_seen_at=t0))
    cfg = TokenDiscoveryConfig(dead_liquidity_usd=0)  # only the rug rule can fire
    policy = FAST.with_(retry=RetryPolicy(retries=1, waits=(0.01,)))
    async with DexScreenerClient(server.url, policy=policy) as dex:
        first = await refresh_tokens(dex, db, cfg, now=t0)
        assert first.snapshots == 2 and first.rugged == 0 and not first.values_are_stale

        async with httpx.AsyncClient() as client:
            await client.post(server.url + "/sim/advance", json={"seconds": 3600})
        t1 = t0 + timedelta(hours=1)
        second = await refresh_tokens(dex, db, cfg, now=t1)
        assert second.rugged == 1 and info["rug"] in second.marked
        rugged = repo.get(info["rug"])
        assert rugged.status is TokenStatus.rugged and "between snapshots" in rugged.status_reason
        assert repo.get(info["other"]).status is TokenStatus.active
        hist = TokenSnapshotRepository(db).history(info["rug"])
        assert hist[1].liquidity_usd < 0.2 * hist[0].liquidity_usd

        # Outage: the server goes away; the client serves stale values; nothing is stored.
        server.__exit__(None, None, None)
        before = TokenSnapshotRepository(db).count()
        t2 = t1 + timedelta(hours=1)
        outage = await refresh_tokens(dex, db, cfg, now=t2)
        assert outage.values_are_stale and outage.stale == 1 and outage.snapshots == 0
        assert outage.stale_reason
        assert TokenSnapshotRepository(db).count() == before
        assert repo.get(info["other"]).status is TokenStatus.active  # never judged stale

    # A fresh client knows nothing: the outage is still reported, not hidden.
    async with DexScreenerClient(server.url, policy=policy) as cold:
        blind = await refresh_tokens(cold, db, cfg, now=t2)
        assert blind.stale == 1 and blind.snapshots == 0 and blind.values_are_stale
