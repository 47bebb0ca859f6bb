"""The three journeys of the product, in a real Chromium over `marimo run` notebooks, on a
store filled by a real live phase: the simulator delivers the watched wallets' swaps to a
real ``server.py`` whose engine trades them on paper (tests/e2e/live_run.py).

- Day one: set capital and risk per trade in the config notebook → in the ``config`` table;
  run discovery; the first signal arrives with its score and a position opens — on the
  dashboard, sized from the capital just saved.
- Sunday review: the week's PnL, trade count and win rate on the dashboard are the store's;
  the equity curve is drawn; the per-wallet table sorts.
- Red alert: three max-loss trades in a row → the alert is on the dashboard and the size is
  halved; the operator blacklists the cluster responsible from the explorer and resets the
  protection with a note in the config notebook; the store shows each step.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live_run import CLUSTER, configure, live_phase, rows, wait_until
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.exits import (
    ExitStrategy,
    MirrorExit,
    StopLoss,
    TakeProfitLadder,
    TimeStop,
)
from walltrack.trading.exits.take_profit_ladder import LadderStep

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOLD = ExitStrategy(name="hold", rules=(StopLoss(loss=0.5), TimeStop(max_hours=4.0)))
MIXED = ExitStrategy(name="mixed", rules=(
    StopLoss(loss=0.08), MirrorExit(min_fraction=0.05, full_above=0.9),
    TakeProfitLadder(steps=(LadderStep(multiple=1.15, fraction=0.5),)),
    TimeStop(max_hours=0.006)))  # ≈ 22 s of wall clock
# Every price below the entry stops out: the closed trades are max-loss trades in a row.
REDLINE = ExitStrategy(name="redline", rules=(StopLoss(loss=0.001), TimeStop(max_hours=4.0)))


def set_field(page: Page, tab: str, name: str, value: str) -> None:
    """Type a config field's value (its label carries the field's name) in its tab."""
    page.get_by_role("tab", name=tab).click()
    box = page.get_by_role("textbox", name=name)
    box.fill(value)
    box.press("Enter")


def open_notebook(page: Page, url: str, ready_text: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_contain_text(ready_text, timeout=90_000)


def test_day_one(db: Database, db_url: str, page: Page, marimo_app, tmp_path: Path) -> None:
    configure(db, HOLD)
    with live_phase(db, db_url, tmp_path, window_seconds=600) as run:
        body = page.locator("body")
        # 1. Capital and risk per trade, saved from the config notebook.
        with marimo_app("config.py", run.env) as app:
            open_notebook(page, app.url, "Operator actions")
            set_field(page, "Risk limits", "starting_capital_sol", "20")
            page.get_by_role("button", name="Save risk", exact=True).click()
            expect(body).to_contain_text("Saved risk")
            set_field(page, "Sizing", "risk_per_trade", "0.03")
            page.get_by_role("button", name="Save sizing", exact=True).click()
            expect(body).to_contain_text("Saved sizing")
        config = ConfigRepository(db).load()
        assert config.risk.starting_capital_sol == 20.0
        assert config.sizing.risk_per_trade == 0.03

        # 2. Discovery, from its notebook, against the simulator's market data.
        with marimo_app("discovery.py", run.env | {
                "WALLTRACK_DEXSCREENER_URL": run.sim_url}) as app:
            open_notebook(page, app.url, "Token discovery")
            # A young simulated market: its pools are smaller than the defaults ask for.
            for name in ("min liquidity usd", "min market cap usd"):
                box = page.locator(f'input[aria-label*="{name}"]')
                box.fill("0")
                box.press("Enter")
            page.get_by_role("button", name="Run discovery").click()
            expect(body).to_contain_text(re.compile(r"\d+ kept of \d+ candidates"),
                                         timeout=90_000)
            said = page.get_by_text(re.compile(r"kept of \d+ candidates")).first.inner_text()
            outcome = re.search(r"(\d+) kept of (\d+) candidates", said)
        assert outcome and int(outcome[1]) > 0, said
        assert rows(db, "SELECT count(*) AS n FROM tokens")[0]["n"] >= int(outcome[1])

        # 3. The watched wallets trade: the first signal, the first position.
        run.advance(300)
        position = wait_until(
            lambda: rows(db, "SELECT * FROM positions WHERE status = 'open' "
                             "ORDER BY opened_at LIMIT 1"),
            "a position opening", detail=run.server.log_tail)[0]
        signal = rows(db, "SELECT * FROM signals WHERE id = %s", position["signal_id"])[0]
        # Sized from the capital saved in step 1: 20 SOL × 3 % before the caps.
        assert position["sizing"]["inputs"]["capital_sol"] == 20.0
        assert position["sizing"]["base_sol"] == pytest.approx(0.6)
        with marimo_app("dashboard.py", run.env) as app:
            open_notebook(page, app.url, "Open positions")
            expect(body).to_contain_text(position["mint"])
            expect(body).to_contain_text(signal["id"])
            expect(body).to_contain_text(f"{signal['score']:.2f}")
            expect(body).to_contain_text("paper")


def test_sunday_review(db: Database, db_url: str, page: Page, marimo_app,
                       tmp_path: Path) -> None:
    configure(db, MIXED)
    with live_phase(db, db_url, tmp_path, window_seconds=900) as run:
        run.advance(900)
        counts = ("SELECT count(*) FILTER (WHERE status = 'closed') AS closed, "
                  "count(*) FILTER (WHERE status <> 'closed') AS left FROM positions")
        wait_until(lambda: (lambda r: r["closed"] >= 3 and r["left"] == 0)(
            rows(db, counts)[0]), "every position closed", detail=run.server.log_tail)
        # What the store says about the week.
        closed = rows(db, "SELECT realized_pnl_sol FROM positions WHERE status = 'closed'")
        wins = sum(1 for p in closed if p["realized_pnl_sol"] > 0)
        week = rows(db, "SELECT coalesce(sum(pnl_sol), 0) AS pnl, count(*) AS fills "
                        "FROM trades WHERE executed_at > now() - interval '7 days'")[0]
        assert week["pnl"] == pytest.approx(sum(p["realized_pnl_sol"] for p in closed))
        with marimo_app("dashboard.py", run.env) as app:
            body = page.locator("body")
            open_notebook(page, app.url, "Per-wallet performance")
            tile = page.get_by_role("heading", name="Realized PnL (7 d)", exact=True)
            expect(tile.locator("xpath=../..")).to_contain_text(f"{week['pnl']:+.4f} SOL")
            expect(body).to_contain_text(f"{wins / len(closed):.1%}")
            expect(body).to_contain_text(f"{wins} of {len(closed)} closed")
            expect(body).to_contain_text(f"{week['fills']:,}")
            page.set_viewport_size({"width": 1400, "height": 7000})  # charts draw in view
            expect(page.get_by_text("Open in Vega Editor").first).to_be_attached()
            sort_wallet_table(page, db)


def test_red_alert(db: Database, db_url: str, page: Page, marimo_app, tmp_path: Path) -> None:
    configure(db, REDLINE)
    with live_phase(db, db_url, tmp_path, window_seconds=900, cluster=CLUSTER) as run:
        run.advance(900)
        wait_until(lambda: rows(db, "SELECT * FROM risk_events WHERE kind = 'size_reduced'"),
                   "the size reduction", detail=run.server.log_tail)
        state = rows(db, "SELECT * FROM risk_state WHERE id = 'global'")[0]
        assert state["size_multiplier"] == 0.5
        body = page.locator("body")
        # The alert is on the dashboard, and so is the halved size.
        with marimo_app("dashboard.py", run.env) as app:
            open_notebook(page, app.url, "Alerts")
            expect(body).to_contain_text("3 consecutive max-loss trades")
            expect(body).to_contain_text("× 0.5")
        # The cluster responsible, blacklisted from the explorer (from one of its trades).
        trade = rows(db, "SELECT id FROM trades WHERE side = 'sell' ORDER BY executed_at "
                         "LIMIT 1")[0]
        with marimo_app("explorer.py", run.env) as app:
            open_notebook(page, f"{app.url}?trade={trade['id']}", CLUSTER)
            page.get_by_role("textbox", name="Reason").fill("red alert: three stop losses")
            page.get_by_role("button", name="Blacklist this cluster").click()
            expect(body).to_contain_text(f"Cluster {CLUSTER} blacklisted: {len(run.wallets)}")
        members = rows(db, "SELECT w.status FROM cluster_members m JOIN wallets w "
                           "ON w.address = m.wallet WHERE m.cluster_id = %s", CLUSTER)
        assert members and {m["status"] for m in members} == {"blacklisted"}
        # The protection reset with a note, from the config notebook, through the server.
        with marimo_app("config.py", run.env) as app:
            open_notebook(page, app.url, "Operator actions")
            note = page.get_by_role("textbox", name="Operator note")
            note.fill("cluster blacklisted, resuming")
            note.press("Enter")
            page.get_by_role("button", name="Reset protections", exact=True).click()
            expect(body).to_contain_text("Done: reset (cluster blacklisted, resuming).")
        reset = wait_until(lambda: rows(db, "SELECT * FROM risk_events WHERE kind = 'reset'"),
                           "the reset event")
        assert "cluster blacklisted, resuming" in str(reset[0])
        assert rows(db, "SELECT last_reset_at FROM risk_state")[0]["last_reset_at"]


def sort_wallet_table(page: Page, db: Database) -> None:
    """Sort the per-wallet table by realized PnL, ascending: the worst copied wallet (per
    the store) comes first, where the default order put the best first."""
    per_wallet = rows(db, "SELECT wallet, sum(realized_pnl_sol) AS pnl FROM positions "
                          "GROUP BY wallet ORDER BY pnl, wallet")
    best = max(per_wallet, key=lambda r: r["pnl"])
    worst = per_wallet[0]
    assert worst["pnl"] < 0 < best["pnl"], per_wallet  # a mixed week: something to sort
    table = page.get_by_role("table").filter(has_text="signals_24h").first
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text(best["wallet"])
    header = table.locator("th").filter(has_text="realized_pnl_sol")
    header.hover()
    header.get_by_role("button", name="Sort column ascending").click()
    expect(first_row).to_contain_text(worst["wallet"])
