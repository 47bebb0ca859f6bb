"""Token discovery: the filters on hand-made candidates, then a run against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from tests.intel.acquisition_sim import FAST, acq_market, acq_sim, market_end  # noqa: F401
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.models import DexPair
from walltrack.intel.token_discovery import discover_tokens, rejection_reason
from walltrack.models import TokenSource
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.simulator import Market
from walltrack.store import Database
from walltrack.store.repositories import TokenRepository, TokenSnapshotRepository

NOW = datetime(2025, 6, 10, tzinfo=UTC)
SOL = "So11111111111111111111111111111111111111112"
CFG = TokenDiscoveryConfig(min_liquidity_usd=10_000, min_market_cap_usd=50_000,
                           min_volume_24h_usd=5_000, min_age_hours=1, max_age_hours=48)


def pair(*, liq: float = 20_000, mcap: float | None = 100_000, fdv: float | None = None,
         age_h: float | None = 10, vol: float = 8_000) -> DexPair:
    data: dict[str, Any] = {
        "chainId": "solana", "dexId": "raydium", "pairAddress": "P" * 40,
        "baseToken": {"address": "T" * 40, "symbol": "TT", "name": "Test"},
        "quoteToken": {"address": SOL, "symbol": "SOL"},
        "liquidity": {"usd": liq}, "marketCap": mcap, "fdv": fdv, "volume": {"h24": vol},
    }
    if age_h is not None:
        data["pairCreatedAt"] = int((NOW - timedelta(hours=age_h)).timestamp() * 1000)
    return DexPair.model_validate(data)


def test_a_good_candidate_is_kept() -> None:
    assert rejection_reason(pair(), CFG, NOW) is None


def test_each_filter_names_its_reason() -> None:
    assert rejection_reason(None, CFG, NOW) == "no_pair"
    assert rejection_reason(pair(liq=9_999), CFG, NOW) == "liquidity"
    assert rejection_reason(pair(mcap=49_000), CFG, NOW) == "market_cap"
    assert rejection_reason(pair(mcap=None, fdv=60_000), CFG, NOW) is None  # fdv stands in
    assert rejection_reason(pair(age_h=0.5), CFG, NOW) == "too_young"
    assert rejection_reason(pair(age_h=-2), CFG, NOW) == "too_young"  # after "now"
    assert rejection_reason(pair(age_h=49), CFG, NOW) == "too_old"
    assert rejection_reason(pair(age_h=None), CFG, NOW) == "too_young"  # age unknown
    assert rejection_reason(pair(vol=4_999), CFG, NOW) == "volume"
    assert rejection_reason(pair(), CFG, NOW, stale=True) == "stale"


def test_boundaries_are_inclusive_and_the_first_failure_wins() -> None:
    assert rejection_reason(pair(liq=10_000, mcap=50_000, vol=5_000, age_h=48), CFG, NOW) is None
    assert rejection_reason(pair(age_h=1), CFG, NOW) is None
    assert rejection_reason(pair(liq=1, mcap=1, vol=0), CFG, NOW) == "liquidity"


async def test_discovery_against_the_simulator(db: Database, acq_sim,  # noqa: F811
                                               acq_market: Market) -> None:  # noqa: F811
    now = market_end(acq_market)
    loose = TokenDiscoveryConfig(min_liquidity_usd=0, min_market_cap_usd=0,
                                 min_volume_24h_usd=0, max_age_hours=24 * 30,
                                 search_terms=["pump"])
    async with DexScreenerClient(acq_sim.url, policy=FAST) as dex:
        report = await discover_tokens(dex, db, loose, now=now)
        tokens = {t.mint: t for t in TokenRepository(db).list()}
        assert report.kept == len(tokens) == report.new_tokens == report.snapshots > 0
        assert report.candidates == report.kept + sum(report.rejected.values())
        launched = set(acq_market.tokens["mint"].to_list())
        assert set(tokens) <= launched
        # Sources: every boosted one is a boost, search hits end in "pump".
        assert {t.source for t in tokens.values()} <= {
            TokenSource.boost_latest, TokenSource.boost_top, TokenSource.profile,
            TokenSource.search}
        # Pair facts agree with the market: creation time = launch time.
        launch = dict(acq_market.tokens.select("mint", "launch_time").iter_rows())
        for mint, token in tokens.items():
            assert abs((token.pair_created_at - launch[mint]).total_seconds()) < 1
        snap = TokenSnapshotRepository(db).history(next(iter(tokens)))
        assert len(snap) == 1 and snap[0].taken_at == now

        # A second run with strict filters keeps fewer, and first sightings stay first.
        first_seen = {m: (t.first_seen_at, t.source) for m, t in tokens.items()}
        strict = loose.model_copy(update={"min_liquidity_usd": 20_000})
        later = now + timedelta(hours=1)
        again = await discover_tokens(dex, db, strict, now=later)
        assert again.new_tokens == 0 and again.rejected.get("liquidity", 0) > 0
        for t in TokenRepository(db).list():
            assert (t.first_seen_at, t.source) == first_seen[t.mint]

        # Liquidity of the kept ones really is at least the floor (pool SOL × 2 × $150).
        kept = [s for s in TokenSnapshotRepository(db).list() if s.taken_at == later]
        assert kept and all(s.liquidity_usd >= 20_000 for s in kept)
        assert len(kept) == again.kept
        assert not pl.Series([s.mint for s in kept]).is_duplicated().any()
