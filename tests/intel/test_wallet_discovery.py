"""Wallet discovery: the early-profitable-buyer rule on hand-made histories, and the whole
acquisition against the simulator's server over HTTP, checked against the market's truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.intel.acquisition_sim import API_KEY, FAST, acq_market, acq_sim, market_end  # noqa: F401
from walltrack.clients.helius import DropReason, HeliusClient
from walltrack.intel.fifo import token_trades
from walltrack.intel.wallet_discovery import (
    collect_funding,
    collect_wallet_histories,
    discover_wallets,
    early_cutoff,
    early_profitable_buyers,
)
from walltrack.models import DecayStatus, DiscoveryMethod, Wallet
from walltrack.models.config import WalletDiscoveryConfig
from walltrack.simulator import Market
from walltrack.store import Database
from walltrack.store.repositories import (
    FundingTransferRepository,
    SwapRepository,
    WalletOriginRepository,
    WalletRepository,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
MINT = "M" * 40


def _swaps(rows: list[tuple[str, str, int, float, float]], mint: str = MINT) -> pl.DataFrame:
    """(wallet, side, second, sol, tokens) → a swaps frame in the store's schema."""
    return pl.DataFrame(
        {
            "signature": [f"sig{i:04d}{w}" for i, (w, *_rest) in enumerate(rows)],
            "slot": [100 + s for _w, _side, s, _sol, _tok in rows],
            "timestamp": [T0 + timedelta(seconds=s) for _w, _side, s, _sol, _tok in rows],
            "wallet": [w for w, *_rest in rows],
            "mint": [mint] * len(rows),
            "side": [side for _w, side, *_rest in rows],
            "sol_amount": [sol for *_rest, sol, _tok in rows],
            "token_amount": [tok for *_rest, tok in rows],
            "source": ["RAYDIUM"] * len(rows),
            "fee_sol": [0.0] * len(rows),
        },
        schema=SwapRepository.polars_schema,
    )


# -- the rule on hand-made histories -------------------------------------------------------


def test_cutoff_is_a_share_of_buyers_with_floor_and_cap() -> None:
    cfg = WalletDiscoveryConfig(early_share=0.25, max_early_buyers=3)
    assert early_cutoff(1, cfg) == 1  # at least one
    assert early_cutoff(8, cfg) == 2
    assert early_cutoff(9, cfg) == 3  # ceil(2.25)
    assert early_cutoff(400, cfg) == 3  # capped


def test_early_profitable_buyers_ranks_window_and_exclusions() -> None:
    # Eight distinct buyers, early_share 0.5 → the first 4 ranks are early.
    rows = [
        ("A", "buy", 1, 1.0, 100.0), ("A", "sell", 50, 3.0, 100.0),  # rank 1, +2 SOL
        ("B", "buy", 2, 1.0, 100.0),                                  # rank 2, never sold
        ("C", "buy", 3, 1.0, 100.0), ("C", "sell", 60, 0.5, 100.0),   # rank 3, sold at a loss
        ("D", "buy", 4, 1.0, 100.0), ("D", "sell", 70, 1.2, 50.0),    # rank 4, partial +0.7
        ("E", "buy", 5, 1.0, 100.0), ("E", "sell", 80, 9.0, 100.0),   # rank 5: just too late
        ("F", "buy", 6, 1.0, 100.0), ("G", "buy", 7, 1.0, 100.0), ("H", "buy", 8, 1.0, 100.0),
        ("A", "buy", 9, 1.0, 10.0),  # a later buy does not change A's rank
    ]
    cfg = WalletDiscoveryConfig(early_share=0.5, max_early_buyers=100)
    found = early_profitable_buyers(_swaps(rows), cfg)
    assert found["wallet"].to_list() == ["A", "D"]
    assert found["rank"].to_list() == [1, 4]
    assert found["buyers"].to_list() == [8, 8] and found["cutoff"].to_list() == [4, 4]
    profit = dict(zip(found["wallet"], found["profit_sol"], strict=True))
    assert profit["A"] == pytest.approx(2.0)
    assert profit["D"] == pytest.approx(0.7)

    # The window boundary: with 0.625 the cutoff is 5 and E (rank 5) is in.
    wider = early_profitable_buyers(_swaps(rows), cfg.model_copy(update={"early_share": 0.625}))
    assert wider["wallet"].to_list() == ["A", "D", "E"]
    # A profit floor excludes the small winner.
    floor = early_profitable_buyers(_swaps(rows), cfg.model_copy(update={"min_profit_sol": 1.0}))
    assert floor["wallet"].to_list() == ["A"]


def test_ranks_are_per_token_and_a_sell_without_a_buy_is_no_profit() -> None:
    one = _swaps([("A", "buy", 1, 1.0, 10.0), ("A", "sell", 9, 2.0, 10.0),
                  ("B", "sell", 2, 5.0, 10.0)], mint="X" * 40)  # B sells tokens it never bought
    two = _swaps([("B", "buy", 1, 1.0, 10.0), ("B", "sell", 5, 4.0, 10.0),
                  ("A", "buy", 3, 1.0, 10.0), ("A", "sell", 6, 3.0, 10.0)], mint="Y" * 40)
    cfg = WalletDiscoveryConfig(early_share=0.5)
    found = early_profitable_buyers(pl.concat([one, two]), cfg)
    assert found.select("mint", "wallet", "rank").rows() == [("X" * 40, "A", 1),
                                                             ("Y" * 40, "B", 1)]


# -- the whole acquisition against the simulator's server -----------------------------------


@pytest.fixture
async def helius(acq_sim):  # noqa: F811
    async with HeliusClient(acq_sim.url, API_KEY, policy=FAST) as client:
        yield client


async def test_acquisition_against_the_simulator(helius: HeliusClient, db: Database,
                                                 acq_market: Market) -> None:  # noqa: F811
    swaps = acq_market.swaps
    counts = swaps.group_by("mint").len().sort("len", descending=True)
    mints = counts["mint"].head(6).to_list()  # the busiest tokens: runners and pumps
    cfg = WalletDiscoveryConfig(early_share=0.10, max_early_buyers=100)
    now = market_end(acq_market)
    known = mints and Wallet(address=swaps.filter(pl.col("mint") == mints[0])
                             .sort("seq")["wallet"][0], status=DecayStatus.flagged, score=0.42)
    WalletRepository(db).upsert(known)

    report = await discover_wallets(helius, db, cfg, now=now, mints=mints)
    assert report.tokens == 6 and not report.failed_tokens
    # Transactions without a swap are counted under their reason (a closed set).
    assert set(report.dropped_by_reason) <= {reason.value for reason in DropReason}
    assert sum(report.dropped_by_reason.values()) <= report.transactions

    # Stored swaps of each token = the market's swaps of that token.
    stored = SwapRepository(db).frame()
    key = ["signature", "wallet", "mint", "side"]
    for mint in mints:
        truth = swaps.filter(pl.col("mint") == mint)
        got = stored.filter(pl.col("mint") == mint)
        assert got.height == truth.height
        joined = got.join(truth.select(*key, "sol_amount", "token_amount"), on=key, how="inner",
                          suffix="_truth")
        assert joined.height == truth.height
        assert (joined["sol_amount"] - joined["sol_amount_truth"]).abs().max() < 1e-9
    assert report.swaps_stored == sum(swaps.filter(pl.col("mint") == m).height for m in mints)

    # Every discovered wallet really was early and profitable on that token (market truth).
    origins = WalletOriginRepository(db).list()
    assert report.early_profitable == len(origins) > 0
    truth = swaps.filter(pl.col("mint").is_in(mints)).sort("seq")
    for origin in origins:
        assert origin.method is DiscoveryMethod.early_profitable_buyer
        buyers = (truth.filter((pl.col("mint") == origin.mint) & (pl.col("side") == "buy"))
                  ["wallet"].unique(maintain_order=True).to_list())
        assert buyers.index(origin.wallet) + 1 <= origin.detail["cutoff"]
        mine = truth.filter((pl.col("mint") == origin.mint) & (pl.col("wallet") == origin.wallet))
        pnl = token_trades(mine.select(list(SwapRepository.polars_schema)))["realized_pnl"][0]
        assert pnl > 0 and pnl == pytest.approx(origin.detail["profit_sol"], abs=1e-6)
    # A known wallet keeps its status and score.
    again = WalletRepository(db).get(known.address)
    assert again.status is DecayStatus.flagged and again.score == 0.42

    # Idempotent and incremental: a re-run fetches nothing new and stores nothing twice.
    rerun = await discover_wallets(helius, db, cfg, now=now, mints=mints)
    assert rerun.swaps_stored == 0 and rerun.swaps_fetched == 0 and rerun.new_origins == 0
    # No token has a new swap: no buyer can have changed, none is selected again.
    assert rerun.tokens_changed == 0 and rerun.early_profitable == 0
    assert WalletOriginRepository(db).count() == report.new_origins

    # Wallet histories: each wallet's own swaps since the window start, all tokens.
    wallets = sorted({o.wallet for o in origins})[:15]
    since = acq_market.params.start.astimezone(UTC)
    stored_before = SwapRepository(db).count()
    history = await collect_wallet_histories(helius, db, wallets, since=since, config=cfg)
    added = history.swaps_stored
    assert history.wallets == len(wallets) and history.failed == 0
    assert set(history.dropped_by_reason) <= {reason.value for reason in DropReason}
    assert 0 < sum(history.dropped_by_reason.values()) < history.transactions
    mine = swaps.filter(pl.col("wallet").is_in(wallets))
    assert SwapRepository(db).count() == stored_before + added
    all_stored = SwapRepository(db).frame().filter(pl.col("wallet").is_in(wallets))
    assert all_stored.height == mine.height
    again = await collect_wallet_histories(helius, db, wallets, since=since, config=cfg)
    assert again.swaps_stored == 0

    # Funding: the oldest incoming SOL transfers, as in the market's transfers.
    n = await collect_funding(helius, db, wallets, config=cfg)
    funding = FundingTransferRepository(db).frame()
    assert n == funding.height > 0
    transfers = acq_market.transfers
    for wallet in wallets:
        truth_first = transfers.filter(pl.col("destination") == wallet).sort("seq").head(1)
        got = funding.filter(pl.col("destination") == wallet).sort("timestamp", "slot")
        assert truth_first.height  # every wallet was funded before it traded
        if truth_first.height:
            assert got["signature"][0] == truth_first["signature"][0]
            assert got["source"][0] == truth_first["source"][0]
    assert await collect_funding(helius, db, wallets, config=cfg) == 0  # nothing twice
