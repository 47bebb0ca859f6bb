"""The config notebook under `marimo run`, in a real Chromium, against a real store.

A field's input is found by its label, which starts with the field name:
``page.get_by_role("textbox", name="risk_per_trade")`` (numbers are text boxes with
spin buttons). Sections sit in tabs ("Sizing", "Risk limits", …, "Advanced").
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.harness.processes import free_port
from walltrack.models import Alert
from walltrack.store import Database
from walltrack.store.repositories import AlertRepository, ConfigRepository

pytestmark = pytest.mark.browser


def stored(db: Database) -> dict[str, object]:
    with db.connection() as conn:
        return dict(conn.execute("SELECT key, value FROM config").fetchall())


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def set_field(page: Page, name: str, value: str) -> None:
    box = page.get_by_role("textbox", name=name)
    box.fill(value)
    box.press("Enter")  # a number commits its value on Enter / blur


def test_settings_save_refuse_and_live_refused(db: Database, db_url: str, page: Page,
                                               marimo_app) -> None:
    port = free_port()  # nobody listens: the operator actions say the server is down
    AlertRepository(db).upsert_many([Alert(source="risk", message=f"drawdown {i}")
                                     for i in range(2)])
    env = {"WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_LIVE_TRADING_ALLOWED": "false",
           "WALLTRACK_SERVER_PORT": str(port), "WALLTRACK_OPERATOR_TOKEN": "t" * 32}
    with marimo_app("config.py", env) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("Save scoring", timeout=60_000)

        # (a) a valid edit of two sections lands in the config table.
        page.get_by_role("tab", name="Risk limits").click()
        set_field(page, "starting_capital_sol", "25")
        page.get_by_role("button", name="Save risk", exact=True).click()
        wait_for(lambda: stored(db)["risk"]["starting_capital_sol"] == 25,
                 "Save risk never reached the config table")
        expect(body).to_contain_text("Saved risk")
        page.get_by_role("tab", name="Sizing").click()
        set_field(page, "risk_per_trade", "0.03")
        page.get_by_role("button", name="Save sizing", exact=True).click()
        wait_for(lambda: stored(db)["sizing"]["risk_per_trade"] == 0.03,
                 "Save sizing never reached the config table")
        expect(body).to_contain_text("Saved sizing")
        config = ConfigRepository(db).load()
        assert config.risk.starting_capital_sol == 25 and config.sizing.risk_per_trade == 0.03

        # (b) invalid values: the error beside the field, nothing written.
        before = stored(db)
        set_field(page, "risk_per_trade", "5")
        set_field(page, "max_position_sol", "2")  # valid, but its section is refused
        page.get_by_role("button", name="Save sizing", exact=True).click()
        expect(body).to_contain_text("risk_per_trade: Input should be less than or equal to 1")
        expect(body).to_contain_text("Not saved: sizing")
        page.get_by_role("tab", name="Scoring").click()
        set_field(page, "weights.wallet", "0.5")
        page.get_by_role("button", name="Save scoring", exact=True).click()
        expect(body).to_contain_text("scoring weights must sum to 1.0")
        time.sleep(1.0)  # a save that slipped through would have landed by now
        assert stored(db) == before

        # (c) live without a key nor the environment's permission: refused, every reason.
        page.get_by_label("I have read this").check()
        page.get_by_role("button", name="Switch to live", exact=True).click()
        expect(body).to_contain_text("Live mode refused")
        expect(body).to_contain_text("WALLTRACK_LIVE_TRADING_ALLOWED is not true")
        expect(body).to_contain_text("WALLTRACK_TRADING_PRIVATE_KEY")
        expect(body).to_contain_text("No trading wallet")
        assert ConfigRepository(db).load().execution.mode.value == "paper"
        assert stored(db) == before

        # Operator actions: an empty note is refused in the notebook; with one, the
        # request goes to the server the settings name (none runs here: said so).
        page.get_by_role("button", name="Reset protections", exact=True).click()
        expect(body).to_contain_text("Refused: the Operator note is empty")
        page.get_by_role("textbox", name="Operator note").fill("after the review")
        page.get_by_role("textbox", name="Operator note").press("Enter")
        page.get_by_role("button", name="Pause trading", exact=True).click()
        expect(body).to_contain_text(f"not reachable at http://127.0.0.1:{port}")
        expect(body).to_contain_text("python server.py")

        # Alerts: acknowledge the selected one.
        page.get_by_role("checkbox", name="Select row").first.check()
        page.get_by_role("button", name="Acknowledge", exact=True).click()
        expect(body).to_contain_text("Acknowledged 1 alert(s).")
    with db.connection() as conn:
        acknowledged = conn.execute("SELECT id FROM alerts WHERE acknowledged").fetchall()
    assert len(acknowledged) == 1
