"""Sibling discovery: through private funders only, never through exchanges."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests import factories
from tests.intel.acquisition_sim import API_KEY, FAST, acq_market, acq_sim, market_end  # noqa: F401
from walltrack import models as m
from walltrack.clients.helius import HeliusClient
from walltrack.intel.sibling_discovery import discover_siblings, private_funders
from walltrack.intel.wallet_discovery import collect_funding
from walltrack.models.config import ClusterConfig, WalletDiscoveryConfig
from walltrack.simulator import Market
from walltrack.store import Database
from walltrack.store.repositories import WalletOriginRepository, WalletRepository

A, B, C, D = (factories.address(x) for x in "abcd")
FUNDER, EXCHANGE, BUSY = (factories.address(x) for x in ("funder", "cex", "busy"))


def transfers(rows: list[tuple[str, str, float, int]]) -> pl.DataFrame:
    return pl.DataFrame([
        {"signature": factories.signature(f"t{i}"), "slot": i,
         "timestamp": factories.T0 + timedelta(minutes=minute), "source": src,
         "destination": dst, "sol_amount": sol}
        for i, (src, dst, sol, minute) in enumerate(rows)])


def test_private_funders_skip_dust_exchanges_and_busy_funders() -> None:
    cfg = ClusterConfig(funding_min_sol=0.05, exchange_fanout_threshold=3)
    frame = transfers([
        (BUSY, A, 0.01, 0),       # dust: not a funding
        (FUNDER, A, 1.0, 1),      # A's first meaningful funder
        (EXCHANGE, B, 2.0, 0),    # on the known-exchange list
        (BUSY, C, 1.0, 0),        # BUSY funds 4 wallets: exchange-like
        *[(BUSY, factories.address(f"x{i}"), 1.0, 5) for i in range(3)],
        (FUNDER, D, 0.5, 9),      # not tracked: not a reason to expand
    ])
    got = private_funders(frame, [A, B, C], cfg, exchanges={EXCHANGE})
    assert got.rows() == [(FUNDER, A)]


@pytest.fixture
async def helius(acq_sim):  # noqa: F811
    async with HeliusClient(acq_sim.url, API_KEY, policy=FAST) as client:
        yield client


async def test_siblings_are_the_planted_cluster_members(db: Database, helius: HeliusClient,
                                                         acq_market: Market) -> None:  # noqa: F811
    truth = acq_market.truth_wallets
    insiders = truth.filter(pl.col("role") == "leader")["wallet"].to_list()
    seed_wallet = insiders[0]
    cluster = truth.filter(pl.col("wallet") == seed_wallet)["cluster_id"][0]
    now = market_end(acq_market)
    WalletRepository(db).upsert(m.Wallet(address=seed_wallet, first_seen_at=now))
    WalletOriginRepository(db).upsert(m.WalletOrigin(
        wallet=seed_wallet, mint=acq_market.tokens["mint"][0],
        method=m.DiscoveryMethod.early_profitable_buyer, rank=1, found_at=now))
    wd, cc = WalletDiscoveryConfig(), ClusterConfig()
    await collect_funding(helius, db, [seed_wallet], config=wd)
    report = await discover_siblings(helius, db, wd, cc, now=now)
    members = set(truth.filter((pl.col("cluster_id") == cluster)
                               & (pl.col("role") != "funder"))["wallet"].to_list())
    tracked = {w.address for w in WalletRepository(db).list()}
    assert report.new_wallets == len(members) - 1
    assert tracked == members  # all of the cluster, nothing else
    origins = WalletOriginRepository(db).list(where={"method": m.DiscoveryMethod.cluster_member})
    assert {o.wallet for o in origins} == members - {seed_wallet}
    assert all(o.detail["via"] == seed_wallet for o in origins)
    # Nothing done twice: the funder was walked once.
    again = await discover_siblings(helius, db, wd, cc, now=now)
    assert again.new_wallets == 0 and again.funders_walked == 0


async def test_an_exchange_funded_wallet_brings_no_siblings(db: Database, helius: HeliusClient,
                                                            acq_market: Market) -> None:  # noqa: F811
    truth = acq_market.truth_wallets
    exchanges = set(truth.filter(pl.col("archetype") == "exchange")["wallet"].to_list())
    retail = truth.filter((pl.col("archetype") == "retail")
                          & pl.col("funded_by").is_in(pl.Series(sorted(exchanges)).implode()))
    wallets = retail["wallet"].head(5).to_list()
    now = market_end(acq_market)
    WalletRepository(db).upsert_many(m.Wallet(address=w, first_seen_at=now) for w in wallets)
    wd, cc = WalletDiscoveryConfig(), ClusterConfig()
    await collect_funding(helius, db, wallets, config=wd)
    report = await discover_siblings(helius, db, wd, cc, now=now)
    assert report.new_wallets == 0
    assert WalletRepository(db).count() == len(wallets)
