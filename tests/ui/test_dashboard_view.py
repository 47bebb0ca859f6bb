"""The dashboard's figures (walltrack/ui/dashboard_view.py) on a real store, against
hand-computed values (tests/ui/dashboard_seed.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests import factories
from tests.ui.dashboard_seed import PEAK, SOURCE, seed_book
from walltrack import models as m
from walltrack.store import Database
from walltrack.store.repositories import (
    ConfigRepository,
    JobRunRepository,
    PositionRepository,
    RiskStateRepository,
)
from walltrack.store.trading_store import TradingStore
from walltrack.trading.engine import TradingEngine
from walltrack.ui import charts
from walltrack.ui import dashboard_view as dv

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_kpis_equal_the_hand_computed_figures(db: Database) -> None:
    want = seed_book(db, NOW)
    k = dv.kpis(db, NOW, ConfigRepository(db).load())
    assert k.realized_today_sol == pytest.approx(want.realized_today)
    assert k.realized_7d_sol == pytest.approx(want.realized_7d)
    assert k.realized_all_sol == pytest.approx(want.realized_all)
    assert k.unrealized_sol == pytest.approx(want.unrealized)
    assert k.open_cost_sol == pytest.approx(0.5)
    assert k.equity_sol == pytest.approx(want.equity)
    assert k.win_rate == pytest.approx(want.win_rate)
    assert (k.wins, k.closed_positions) == (2, 3)
    assert k.profit_ratio == pytest.approx(want.profit_ratio)
    assert k.open_positions == want.open_positions
    assert (k.trades_all, k.trades_today) == (want.trades, want.trades_today)
    assert k.peak_equity_sol == PEAK
    assert k.drawdown == pytest.approx(want.drawdown)
    labels = {s.label: s.value for s in dv.kpi_items(k)}
    assert labels["Realized PnL (7 d)"] == "+0.4000 SOL"
    assert labels["Win rate"] == "66.7%"
    assert labels["Profit ratio"] == "4.00"
    assert labels["Equity"] == "10.9500 SOL"
    assert labels["Trades"] == "8"


def test_equity_agrees_with_the_engine(db: Database, db_url: str) -> None:
    seed_book(db, NOW)
    config = ConfigRepository(db).load()

    async def engine_equity() -> float:
        store = TradingStore(db_url)
        engine = TradingEngine(store, {}, lambda: config, alerts=None,  # type: ignore[arg-type]
                               decimals=None)  # type: ignore[arg-type]
        try:
            return await engine.equity_sol()
        finally:
            await store.close()

    assert dv.kpis(db, NOW, config).equity_sol == pytest.approx(asyncio.run(engine_equity()))


def test_equity_curve_and_daily_bars_follow_the_fills(db: Database) -> None:
    want = seed_book(db, NOW)
    snap = dv.dashboard_snapshot(db, NOW)
    curve = snap.equity
    assert curve["equity_sol"][0] == 10.0  # starts at the capital
    assert curve["equity_sol"][-1] == pytest.approx(want.equity)  # ends at the KPI
    assert curve["at"][-1] == NOW
    # Peak after the +0.3 (10.3), then 10.1 after the −0.2: the drawdown in between.
    assert curve["drawdown"].max() == pytest.approx(1 - 10.1 / 10.3)
    daily = snap.daily_pnl
    assert daily["pnl_sol"].sum() == pytest.approx(want.realized_all)
    assert set(daily.filter(pl.col("pnl_sol") < 0)["sign"]) == {"loss"}
    assert daily.height == 3  # today, 3 d ago, 10 d ago
    for chart in (charts.equity_chart(curve), charts.daily_pnl_chart(daily),
                  charts.signals_chart(snap.signals_per_day)):
        assert chart.to_dict()  # a valid Vega-Lite spec
    assert set(snap.timings) >= {*dv.VIEWS, "total"}


def test_signals_tables_carry_factors_decisions_and_links(db: Database) -> None:
    seed_book(db, NOW)
    config = ConfigRepository(db).load()
    per_day = dv.signals_per_day(db, NOW, config)
    counts = {(d.day, o): n for d, o, n in per_day.iter_rows()}
    today, yesterday = NOW.day, (NOW - timedelta(days=1)).day
    assert counts == {(today, "eligible → opened"): 1, (today, "eligible → refused"): 1,
                      (today, "log_only"): 1, (yesterday, "log_only"): 1}
    latest = dv.latest_signals(db, NOW, config, limit=3, explorer="http://x/")
    assert latest["signal"].to_list() == ["sig-low", "sig-refused", "sig-open-half"]
    low = latest.row(0, named=True)
    assert (low["f_wallet"], low["f_cluster"], low["f_token"], low["f_context"]) == (
        0.2, 0.0, 0.4, 0.1)
    assert low["weights"] == "0.3/0.25/0.25/0.2"
    assert (low["decision"], low["reason"], low["action"]) == (
        "log_only", "below_threshold", None)
    refused = latest.row(1, named=True)
    assert (refused["action"], refused["action_reason"]) == (
        "refused", "5 positions open (max 5)")
    assert low["explore"] == "http://x/?signal=sig-low"
    trades = dv.trade_history(db, NOW, config)
    assert trades.height == 8
    newest = trades.row(0, named=True)
    assert (newest["trade"], newest["side"], newest["pnl_sol"], newest["trigger"]) == (
        "fill-win-today-exit", "sell", 0.5, "take_profit_ladder")
    assert newest["strategy"] == "balanced" and newest["signature"]
    assert newest["explore"] == f"{dv.DEFAULT_EXPLORER}&trade=fill-win-today-exit"
    alerts = dv.alerts(db, NOW, config)
    assert alerts["id"].to_list() == ["al-crit", "al-warn", "al-old"]
    assert alerts["acknowledged"].to_list() == [False, False, True]
    assert dv.level_style("0", "level", "critical")["backgroundColor"] == dv.LEVEL_COLORS[
        "critical"]
    wallets = dv.wallet_table(db, NOW, config)
    row = wallets.filter(pl.col("wallet") == SOURCE).row(0, named=True)
    assert (row["closed"], row["wins"], row["open_positions"]) == (3, 2, 1)
    assert (row["signals_24h"], row["signals_7d"]) == (3, 4)


def test_open_positions_show_live_pnl_and_armed_rules(db: Database) -> None:
    seed_book(db, NOW)
    fresh = PositionRepository(db).get("open-half").model_copy(update={
        "id": "fresh", "signal_id": "sig-fresh", "mint": factories.address("fresh"),
        "exit_state": {}, "remaining_tokens": 1000.0, "realized_pnl_sol": 0.0,
        "opened_at": NOW - timedelta(hours=1)})
    PositionRepository(db).upsert(fresh)
    frame = dv.open_positions(db, NOW, ConfigRepository(db).load())
    assert frame["position"].to_list() == ["fresh", "open-half"]  # newest first
    half = frame.row(1, named=True)
    assert half["unrealized_pnl_sol"] == pytest.approx(0.25)
    assert half["unrealized_pct"] == pytest.approx(0.5)
    assert half["multiple"] == pytest.approx(1.5)
    assert half["entry_delay_s"] == 3.5
    assert half["age_h"] == 6.0
    assert half["exit_plan"].startswith("balanced: stop −30%")
    assert "take 25% at 2×, 25% at 3×" in half["exit_plan"]
    for part in ("stop at 0.70×", "break-even stop at 1.05×",
                 "trailing armed (sells ≤ 1.12×)", "ladder 1/2, next 3×"):
        assert part in half["armed"], (part, half["armed"])
    assert "moonbag trail armed" not in half["armed"]  # 50 % left > the 10 % moonbag
    new = frame.row(0, named=True)
    assert "trailing armed" not in new["armed"]
    assert "break-even" not in new["armed"]
    assert "ladder 0/2, next 2×" in new["armed"]
    assert new["explore"] == f"{dv.DEFAULT_EXPLORER}&position=fresh"


@pytest.mark.parametrize(("job", "outcome", "minutes_ago", "colour"), [
    ("refresh_tokens", m.JobOutcome.succeeded, 3, "green"),  # every 5 min
    ("discover_tokens", m.JobOutcome.succeeded, 45, "amber"),  # every 30 min
    ("sync_webhooks", m.JobOutcome.succeeded, 25, "red"),  # every 10 min
    ("profile_wallets", m.JobOutcome.failed, 60, "red"),  # research chain, failed
    ("build_clusters", m.JobOutcome.succeeded, 1500, "amber"),  # research: 1440 min
    ("migrate", m.JobOutcome.succeeded, 99_999, "neutral"),  # no interval
])
def test_job_staleness_colours(db: Database, job: str, outcome: m.JobOutcome,
                               minutes_ago: int, colour: str) -> None:
    at = NOW - timedelta(minutes=minutes_ago)
    JobRunRepository(db).upsert(m.JobRun(job=job, started_at=at - timedelta(seconds=5),
                                         finished_at=at, outcome=outcome))
    table = dv.job_table(db, NOW, ConfigRepository(db).load())
    assert table.row(0, named=True)["staleness"] == colour
    assert table.row(0, named=True)["age_min"] == minutes_ago


@pytest.mark.parametrize(("risk", "state", "reason"), [
    (None, "running", None),
    (m.RiskState(), "running", None),
    (m.RiskState(paused=True, pause_reason="manual_pause: going to lunch"), "paused",
     "manual_pause: going to lunch"),
    (m.RiskState(paused=True, pause_reason="drawdown_pause: equity 7.9 is 21% below"),
     "paused", "drawdown_pause: equity 7.9 is 21% below"),
    (m.RiskState(halted=True, pause_reason="win_rate_halt: 30% over 50"), "halted",
     "win_rate_halt: 30% over 50"),
])
def test_status_bar_reads_the_risk_state(db: Database, risk: m.RiskState | None, state: str,
                                         reason: str | None) -> None:
    if risk is not None:
        RiskStateRepository(db).upsert(risk)
    status = dv.status_bar(db, NOW, ConfigRepository(db).load())
    assert (status.mode, status.trading, status.reason) == ("paper", state, reason)
    items = {s.label: s for s in dv.status_items(status)}
    assert items["Trading"].value == state


def test_status_bar_shows_sources_and_backlog(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("INSERT INTO inbox (signature, source, received_at, payload) VALUES "
                     "('a', 'webhook', %s, '{}'), ('b', 'polling', %s, '{}')",
                     (NOW - timedelta(seconds=40), NOW - timedelta(minutes=3)))
        conn.execute("INSERT INTO live_status (key, value) VALUES ('webhooks', %s)",
                     ('{"outcome": "succeeded", "last_sync_at": "2026-03-10T11:50:00+00:00",'
                      ' "addresses": 42}',))
    seed_book(db, NOW)
    status = dv.status_bar(db, NOW, ConfigRepository(db).load())
    assert status.webhooks == "synced 10 min ago, 42 addresses"
    assert status.webhook_delivery_age_s == pytest.approx(40)
    assert status.polling_delivery_age_s == pytest.approx(180)
    assert status.polling == "no round yet"
    assert (status.inbox_pending, status.unacknowledged_alerts, status.critical_alerts) == (
        2, 2, 1)
    items = {s.label: s for s in dv.status_items(status)}
    assert items["Webhooks"].value == "last delivery 40 s ago"
    assert items["Inbox backlog"].value == "2"


def test_an_empty_store_gives_zeros_and_empty_frames(db: Database) -> None:
    snap = dv.dashboard_snapshot(db, NOW)
    k = snap.kpis
    assert (k.equity_sol, k.realized_all_sol, k.unrealized_sol, k.drawdown) == (10, 0, 0, 0)
    assert (k.win_rate, k.profit_ratio, k.trades_all, k.open_positions) == (None, None, 0, 0)
    values = {s.label: s.value for s in dv.kpi_items(k)}
    assert (values["Win rate"], values["Profit ratio"]) == ("—", "—")
    for frame in (snap.jobs, snap.daily_pnl, snap.signals_per_day, snap.positions,
                  snap.signals, snap.trades, snap.alerts, snap.wallets):
        assert frame.is_empty()
    assert snap.status.trading == "running"
    assert snap.status.webhooks == "never synced"
    assert snap.equity["equity_sol"].to_list() == [10.0, 10.0]
    assert charts.equity_chart(snap.equity).to_dict()


def test_an_unreachable_store_is_a_message_not_an_exception() -> None:
    snap, error = dv.load_snapshot(None, "cannot reach the database")
    assert snap is None and error == "cannot reach the database"
