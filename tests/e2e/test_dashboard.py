"""The read-only dashboard under `marimo run`, in a real Chromium, against a real store."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from walltrack import models as m
from walltrack.store import Database
from walltrack.store.repositories import SwapRepository, WalletRepository

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_store_status(db: Database, db_url: str, page: Page,
                                          marimo_app) -> None:
    SwapRepository(db).copy_models([factories.swap(i) for i in range(7)])
    WalletRepository(db).upsert(m.Wallet(address=factories.WALLET))
    with marimo_app("dashboard.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url)
        expect(page.get_by_text("Schema version")).to_be_visible()
        expect(page.get_by_text("Store mode")).to_be_visible()
        # The summary shows the hosted mode (the test database URL) and the real counts.
        body = page.locator("body")
        expect(body).to_contain_text("hosted")
        expect(body).to_contain_text("Rows per table")
        table = page.get_by_role("table")
        expect(table).to_contain_text("swaps")
        row = table.get_by_role("row").filter(has_text="funding_transfers")
        expect(row).to_contain_text("0")
        swaps_row = table.get_by_role("row").filter(has_text="swaps")
        expect(swaps_row).to_contain_text("7")


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
