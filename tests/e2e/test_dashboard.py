"""The read-only dashboard under `marimo run`, in a real Chromium, against a real store."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.ui.dashboard_seed import seed_book
from walltrack import models as m
from walltrack.models import utcnow
from walltrack.store import Database
from walltrack.store.repositories import JobRunRepository, SwapRepository, WalletRepository

pytestmark = pytest.mark.browser

SECTIONS = ("Status", "Open positions", "Latest signals", "Trade history", "Alerts",
            "Per-wallet performance")


def test_dashboard_shows_the_book(db: Database, db_url: str, page: Page, marimo_app) -> None:
    seed_book(db, utcnow())
    SwapRepository(db).copy_models([factories.swap(i) for i in range(7)])
    WalletRepository(db).upsert(m.Wallet(address=factories.WALLET))
    JobRunRepository(db).upsert(m.JobRun(job="refresh_tokens", finished_at=utcnow(),
                                         outcome=m.JobOutcome.succeeded))
    with marimo_app("dashboard.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("Realized PnL (7 d)")
        for heading in SECTIONS:
            expect(page.get_by_role("heading", name=heading, exact=True, level=2)).to_be_visible()
        # The KPI tiles: the seeded book's hand-computed figures (tests/ui/dashboard_seed.py).
        for text in ("Equity", "10.9500 SOL", "Unrealized PnL", "+0.2500 SOL",
                     "+0.4000 SOL", "Win rate", "66.7%", "Profit ratio", "4.00",
                     "Open positions", "Drawdown", "Trades", "paper", "running"):
            expect(body).to_contain_text(text)
        expect(body).to_contain_text("Open in Vega Editor")  # the charts are drawn
        # What it did and why: the open position's armed rules, a refused signal's reason,
        # the fills with their trigger, the critical alert, the job's staleness.
        expect(body).to_contain_text("ladder 1/2, next 3×")
        expect(body).to_contain_text("5 positions open (max 5)")
        expect(body).to_contain_text("fill-win-today-exit")
        expect(body).to_contain_text("drawdown pause engaged")
        expect(body).to_contain_text("green")
        # The store status is still there, below.
        expect(page.get_by_text("Schema version")).to_be_visible()
        table = page.get_by_role("table").filter(has_text="funding_transfers")
        expect(table.get_by_role("row").filter(has_text="swaps")).to_contain_text("7")
        expect(body).not_to_contain_text("Store unavailable")


def test_dashboard_renders_an_empty_store(db_url: str, page: Page, marimo_app) -> None:
    with marimo_app("dashboard.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("No trades yet")
        for text in ("Equity", "10.0000 SOL", "Win rate", "Open positions", "Store mode",
                     "No open position", "No signals yet", "No alerts", "never synced",
                     "no delivery yet"):
            expect(body).to_contain_text(text)
        # No cell failed: marimo shows an error's traceback or a danger callout otherwise.
        expect(body).not_to_contain_text("Traceback")
        expect(body).not_to_contain_text("An internal error occurred")
        expect(body).not_to_contain_text("Store unavailable")


def test_dashboard_explains_an_unreachable_store(page: Page, marimo_app) -> None:
    url = "postgresql://wt:dash-secret-pw@127.0.0.1:1/none"
    with marimo_app("dashboard.py", {"WALLTRACK_DATABASE_URL": url}) as app:
        page.goto(app.url)
        expect(page.get_by_text("Store unavailable")).to_be_visible()
        body = page.locator("body")
        # Playwright's text matching pierces marimo's shadow roots; inner_text would not.
        expect(body).to_contain_text("postgresql://wt:***@127.0.0.1:1/none")
        expect(body).to_contain_text("WALLTRACK_DATABASE_URL")
        expect(body).not_to_contain_text("dash-secret-pw")
