"""The discovery notebook under `marimo run`, in Chromium, against a real store and the
simulator process: the table shows stored tokens, filters change it, "Run discovery" works."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.harness.processes import ServerProcess, run_server
from walltrack.models import Token, TokenSnapshot
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.store import Database
from walltrack.store.repositories import (
    ConfigRepository,
    TokenRepository,
    TokenSnapshotRepository,
)

pytestmark = pytest.mark.browser
SIM_END = datetime(2025, 6, 6, tzinfo=UTC)  # the small preset: 5 days from June 1st


@pytest.fixture(scope="module")
def sim() -> Iterator[ServerProcess]:
    with run_server([sys.executable, "-m", "walltrack.simulator", "serve", "--preset", "small",
                     "--port", "{port}", "--speed", "0", "--start-at", str(5 * 86400)],
                    ready_path="/health", timeout=120) as server:
        yield server


def seed(db: Database) -> None:
    ConfigRepository(db).save_section("token_discovery", TokenDiscoveryConfig(
        min_liquidity_usd=0, min_market_cap_usd=0, min_volume_24h_usd=0,
        max_age_hours=24 * 30, search_terms=["pump"]))
    for symbol, mint, liq in (("BIGT", "B" * 40, 90_000.0), ("SMOL", "S" * 40, 3_000.0)):
        TokenRepository(db).upsert(Token(mint=mint, symbol=symbol, first_seen_at=SIM_END,
                                         pair_created_at=SIM_END - timedelta(hours=5)))
        for h in (2, 1):
            TokenSnapshotRepository(db).upsert(TokenSnapshot(
                mint=mint, taken_at=SIM_END - timedelta(hours=h), price_usd=0.001 * h,
                liquidity_usd=liq, market_cap_usd=liq * 4, volume_24h_usd=liq))


def test_discovery_notebook_table_filters_and_run(db: Database, db_url: str, page: Page,
                                                  marimo_app, sim: ServerProcess) -> None:
    seed(db)
    env = {"WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DEXSCREENER_URL": sim.url}
    with marimo_app("discovery.py", env) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("Token discovery")
        expect(body).to_contain_text("simulator clock")
        table = page.get_by_role("table").first
        expect(table).to_contain_text("BIGT")
        expect(table).to_contain_text("SMOL")

        # A stricter liquidity filter hides the small token (the intel rule, on snapshots).
        liquidity = page.locator('input[aria-label*="min liquidity usd"]')
        liquidity.fill("50000")
        liquidity.press("Enter")
        expect(table).not_to_contain_text("SMOL")
        expect(table).to_contain_text("BIGT")
        liquidity.fill("0")
        liquidity.press("Enter")
        expect(table).to_contain_text("SMOL")

        # Selecting a token draws its snapshots.
        table.get_by_role("row").filter(has_text="BIGT").get_by_role("checkbox").click()
        expect(body).to_contain_text(f"Snapshots of {'B' * 40}")

        # Run discovery against the simulator: the store gains tokens, the page says so.
        before = TokenRepository(db).count()
        page.get_by_role("button", name="Run discovery").click()
        expect(body).to_contain_text("kept", timeout=90_000)
        deadline = time.monotonic() + 30
        while TokenRepository(db).count() <= before and time.monotonic() < deadline:
            time.sleep(0.5)
        assert TokenRepository(db).count() > before
