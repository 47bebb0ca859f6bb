"""The explorer notebook under `marimo run`, in a real Chromium, against a real store.

Labels the journey tests rely on: the buttons "Blacklist this wallet" and "Blacklist this
cluster", the text field "Reason", the outcome "Cluster <id> blacklisted: N wallets", the
wallet tab "Why it is here".
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.ui.test_explorer_view import FUNDER, LEADER, MEMBER, MINT, seed_chain
from walltrack import models as m
from walltrack.store import Database
from walltrack.store.repositories import WalletRepository

pytestmark = pytest.mark.browser


def _statuses(db: Database) -> set[m.DecayStatus]:
    rows = [WalletRepository(db).get(w) for w in (LEADER, MEMBER, FUNDER)]
    return {r.status for r in rows if r is not None}


def test_explore_a_trade_to_its_cluster_and_blacklist_it(db: Database, db_url: str,
                                                        page: Page, marimo_app) -> None:
    chain = seed_chain(db)
    with marimo_app("explorer.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        body = page.locator("body")
        # an unknown id is a message, not a traceback
        page.goto(app.url + "?trade=no-such-trade")
        expect(body).to_contain_text("no trade with id 'no-such-trade'", timeout=60_000)

        page.set_viewport_size({"width": 1400, "height": 7000})  # every chart in view
        page.goto(app.url + f"?trade={chain.sell_trade}")
        expect(body).to_contain_text(f"Exploring trade {chain.sell_trade}", timeout=60_000)
        # the position and the signal's breakdown, the decision that took it
        expect(body).to_contain_text(f"Position {chain.position}")
        expect(body).to_contain_text(f"Signal {chain.signal} — score breakdown")
        expect(body).to_contain_text("decision eligible")
        expect(body).to_contain_text("above_threshold")
        expect(body).to_contain_text("Taken: a position was opened")
        expect(body).to_contain_text("contribution")
        # the wallet and why it is here (its origin token is the first tab)
        expect(body).to_contain_text(f"Wallet {LEADER}")
        expect(body).to_contain_text("Why it is here")
        expect(body).to_contain_text(MINT)
        # its cluster, graph drawn; the shadow outcomes of what was not taken
        expect(body).to_contain_text(f"Cluster {chain.cluster}: 3 wallets")
        expect(body).to_contain_text("signals not taken: 1, mean 1 h return -20.00 %, "
                                     "taken: 1, mean realized return +25.00 %")
        # breakdown, graph and shadow chart each drawn by vega-embed
        expect(page.get_by_text("Open in Vega Editor", exact=False)).to_have_count(3)

        page.get_by_role("textbox", name="Reason").fill("insider cluster")
        page.get_by_role("button", name="Blacklist this cluster").click()
        deadline = time.monotonic() + 30
        while _statuses(db) != {m.DecayStatus.blacklisted}:
            assert time.monotonic() < deadline, "the cluster blacklist never reached the store"
            time.sleep(0.2)
        expect(body).to_contain_text(f"Cluster {chain.cluster} blacklisted: 3 wallets")

        # a row picked in the signals picker wins over the URL's entry
        page.get_by_role("radio", name="Signals").check()
        page.get_by_role("row").filter(has_text=chain.skipped).get_by_role("checkbox").click()
        expect(body).to_contain_text(f"Exploring signal {chain.skipped}")
        expect(body).to_contain_text("reason below_threshold")
        expect(body).to_contain_text("has not decided on this signal")
    events = WalletRepository(db).get(LEADER)
    assert events is not None and events.on_watchlist is False


def test_an_empty_store_has_nothing_to_explore(db_url: str, page: Page, marimo_app) -> None:
    with marimo_app("explorer.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url + "?cluster=c-gone")
        body = page.locator("body")
        expect(body).to_contain_text("Nothing to explore yet", timeout=60_000)
        expect(body).to_contain_text("no cluster with id 'c-gone'")
        expect(page.get_by_role("button", name="Blacklist this cluster")).to_have_count(0)
