"""The wallets notebook under `marimo run`, in a real Chromium, against a real store."""

from __future__ import annotations

import time
from datetime import timedelta

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from tests import factories
from walltrack import models as m
from walltrack.intel.research import run_analysis
from walltrack.store import Database
from walltrack.store.repositories import SwapRepository, WalletOriginRepository, WalletRepository

pytestmark = pytest.mark.browser

BEST, OTHER = factories.address("best-wallet"), factories.address("other-wallet")


def seed_store(db: Database) -> None:
    rows = []
    for w, wins in ((BEST, 5), (OTHER, 1)):
        for i in range(6):
            mint = factories.address(f"{w}-{i}")
            t = factories.T0 + timedelta(hours=i)
            sell = 2.0 if i < wins else 0.5
            for k, (side, sol) in enumerate((("buy", 1.0), ("sell", sell))):
                rows.append({"signature": factories.signature(f"{w}{i}{k}"), "slot": 10 + i,
                             "timestamp": t + timedelta(minutes=k * 30), "wallet": w,
                             "mint": mint, "side": side, "sol_amount": sol,
                             "token_amount": 100.0, "source": "PUMP_AMM", "fee_sol": 0.0})
    SwapRepository(db).copy_frame(pl.DataFrame(
        rows, schema_overrides={"timestamp": pl.Datetime("us", "UTC")}))
    for w in (BEST, OTHER):
        WalletRepository(db).upsert(m.Wallet(address=w, first_seen_at=factories.T0))
    WalletOriginRepository(db).upsert(m.WalletOrigin(
        wallet=BEST, mint=factories.MINT, method=m.DiscoveryMethod.early_profitable_buyer,
        rank=3, found_at=factories.T0))
    # The profile_wallets job's stages: profile → decay → watchlist (and the lifecycle).
    run_analysis(db, now=factories.T0 + timedelta(days=1))


def test_wallets_page_shows_the_store_and_blacklists(db: Database, db_url: str, page: Page,
                                                    marimo_app) -> None:
    seed_store(db)
    with marimo_app("wallets.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("2 wallets", timeout=60_000)
        expect(body).to_contain_text(BEST)
        expect(body).to_contain_text(OTHER)
        expect(body).to_contain_text("Open in Vega Editor")  # the scatter is drawn
        # the best-scored wallet is selected: its story is shown
        expect(body).to_contain_text(f"Wallet {BEST}")
        expect(body).to_contain_text("Why it is here")
        expect(body).to_contain_text("Lifecycle")
        expect(body).to_contain_text("ignored")  # 6 closed trades, but below the rule
        page.get_by_role("button", name="Blacklist", exact=True).click()
        deadline = time.monotonic() + 30
        while WalletRepository(db).get(BEST).status is not m.DecayStatus.blacklisted:
            assert time.monotonic() < deadline, "the Blacklist action never reached the store"
            time.sleep(0.2)
        expect(body).to_contain_text("Blacklisted.")
        expect(body).to_contain_text("blacklisted")
    wallet = WalletRepository(db).get(BEST)
    assert wallet.on_watchlist is False
    assert WalletRepository(db).get(OTHER).status is not m.DecayStatus.blacklisted
