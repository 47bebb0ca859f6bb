"""The dashboard (notebooks/dashboard.py) on a full store: every view's server-side time, and
the first paint in Chromium (issue 12: compute < 1 s, first contentful paint < 2 s).

An embedded store in a temporary directory filled by COPY with 100 000 signals over 30 days
(200 watched wallets, ~10 % eligible, their trade decisions), 2 475 closed positions (a buy
and a sell fill each) and 50 open ones (a buy each): 5 000 fills, their orders, 500 alerts,
job runs. Each view of ``walltrack.ui.dashboard_view.VIEWS`` is timed cold (its first run)
and warm (median of ``--runs``), beside the floor ``SELECT count(*) FROM signals``; then the
whole snapshot. Then ``marimo run notebooks/dashboard.py`` against that store, opened in
Chromium: first contentful paint (``performance.getEntriesByName``) and the time until the
KPI text ("Realized PnL (7 d)") is visible, from navigation start.

    .venv/bin/python benchmarks/bench_dashboard.py [--runs 7] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import base58
import numpy as np
import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.harness.processes import run_server  # noqa: E402
from walltrack.models import utcnow  # noqa: E402
from walltrack.settings import load_settings  # noqa: E402
from walltrack.store import Database, open_database  # noqa: E402
from walltrack.store.frames import UTC_US, copy_in  # noqa: E402
from walltrack.store.repositories import ConfigRepository  # noqa: E402
from walltrack.trading.exits import NAMED_STRATEGIES, plan_of  # noqa: E402
from walltrack.ui import dashboard_view as dv  # noqa: E402

SIGNALS, CLOSED, OPEN, WALLETS, ALERTS = 100_000, 2_475, 50, 200, 500


def _address(prefix: str, i: int) -> str:
    return prefix + base58.b58encode(i.to_bytes(4, "big")).decode().rjust(44 - len(prefix), "1")


def _times(now: Any, seconds: np.ndarray) -> pl.Series:
    return pl.Series([now - timedelta(seconds=float(s)) for s in seconds], dtype=UTC_US)


def fill(db: Database) -> dict[str, int]:
    rng = np.random.default_rng(12)
    now = utcnow()
    wallets = [_address("BenchWa11et", i) for i in range(WALLETS)]
    mints = [_address("BenchM1nt", i) for i in range(5_000)]
    month = 30 * 86_400
    ago = rng.uniform(0, month, SIGNALS)
    eligible = rng.random(SIGNALS) < 0.10
    fv = rng.random((SIGNALS, 4)).round(3)
    factors = [orjson.dumps(dict(zip(dv.FACTORS, row.tolist(), strict=True))).decode()
               for row in fv]
    weights = orjson.dumps({"wallet": 0.3, "cluster": 0.25, "token": 0.25,
                            "context": 0.2}).decode()
    observed = _times(now, ago)
    signals = pl.DataFrame({
        "id": [f"sig-{i}" for i in range(SIGNALS)],
        "signature": [f"bench-sig-{i}" for i in range(SIGNALS)],
        "wallet": [wallets[i % WALLETS] for i in range(SIGNALS)],
        "mint": [mints[i % len(mints)] for i in range(SIGNALS)],
        "side": "buy", "sol_amount": rng.uniform(0.1, 5, SIGNALS),
        "observed_at": observed, "swap_at": observed,
        "factors": factors, "weights": weights,
        "score": (fv @ np.array([0.3, 0.25, 0.25, 0.2])).round(4),
        "decision": np.where(eligible, "eligible", "log_only"),
        "reason": np.where(eligible, "above_threshold", "below_threshold"),
    })
    picked = signals.filter(pl.col("decision") == "eligible").head(CLOSED + OPEN)
    n = picked.height
    pnl = rng.normal(0.02, 0.3, n)
    is_open = np.arange(n) >= CLOSED
    opened_ago = ago[eligible][:n]
    plan = orjson.dumps([r.model_dump() for r in plan_of(NAMED_STRATEGIES["balanced"])]).decode()
    # Each open position its own mint: the store allows one open position per mint.
    open_mints = [_address("BenchHe1dM1nt", i) for i in range(OPEN)]
    pos_mint = [open_mints[i - CLOSED] if is_open[i] else m
                for i, m in enumerate(picked["mint"].to_list())]
    closed_ago = np.maximum(opened_ago - rng.uniform(60, 86_400, n), 0)
    positions = pl.DataFrame({
        "id": [f"pos-{i}" for i in range(n)], "signal_id": picked["id"],
        "wallet": picked["wallet"], "mint": pos_mint, "mode": "paper",
        "status": np.where(is_open, "open", "closed"), "strategy": "balanced",
        "exit_plan": plan, "exit_state": '{"trailing_armed": true, "ladder_done": 1}',
        "size_sol": 1.0, "cost_sol": 1.0, "entry_price_sol": 0.001, "token_amount": 1000.0,
        "remaining_tokens": np.where(is_open, 1000.0, 0.0), "peak_price_sol": 0.0015,
        "last_price_sol": 0.001 * (1 + rng.normal(0, 0.2, n)).clip(0.1),
        "last_price_at": _times(now, np.full(n, 20.0)),
        "realized_pnl_sol": np.where(is_open, 0.0, pnl), "entry_delay_seconds": 3.0,
        "opened_at": _times(now, opened_ago),
        "closed_at": pl.Series([None if o else now - timedelta(seconds=float(c))
                                for o, c in zip(is_open, closed_ago, strict=True)],
                               dtype=UTC_US),
        "close_reason": np.where(is_open, None, "stop_loss"),
    })
    legs = []
    for side, kind in (("buy", "entry"), ("sell", "exit")):
        rows = positions if side == "buy" else positions.filter(pl.col("status") == "closed")
        legs.append(rows.select(
            pl.format("{}-{}", "id", pl.lit(kind)).alias("order_id"),
            pl.col("id").alias("position_id"), "mint", "wallet", "signal_id",
            pl.lit(side).alias("side"), pl.lit(kind).alias("kind"),
            (pl.col("opened_at") if side == "buy" else pl.col("closed_at")).alias("at"),
            (pl.lit(None, pl.Float64) if side == "buy" else pl.col("realized_pnl_sol"))
            .alias("pnl_sol")))
    fills = pl.concat(legs)
    orders = fills.select(
        pl.col("order_id").alias("id"), "position_id", pl.col("order_id")
        .alias("idempotency_key"), "kind", "side", "mint", pl.lit("paper").alias("mode"),
        pl.lit("confirmed").alias("status"), pl.lit(1.0).alias("amount_in"),
        pl.lit(300).alias("slippage_bps"), pl.lit(1).alias("attempts"),
        pl.col("at").alias("created_at"))
    trades = fills.select(
        pl.format("fill-{}", "order_id").alias("id"), "order_id", "position_id", "mint",
        "wallet", "signal_id", "side", pl.lit("paper").alias("mode"),
        pl.lit(1.0).alias("sol_amount"), pl.lit(1000.0).alias("token_amount"),
        pl.lit(0.001).alias("price_sol"), pl.lit(0.0001).alias("fee_sol"),
        pl.lit(0.5).alias("price_impact_pct"), "pnl_sol", pl.lit(3.0).alias("delay_seconds"),
        pl.format("bench-tx-{}", "order_id").alias("tx_signature"),
        pl.col("at").alias("executed_at"))
    decisions = signals.filter(pl.col("decision") == "eligible").select(
        pl.col("id").alias("signal_id"), pl.col("observed_at").alias("decided_at")
    ).join(positions.select(pl.col("signal_id"), pl.col("id").alias("position_id")),
           on="signal_id", how="left").with_columns(
        pl.when(pl.col("position_id").is_null()).then(pl.lit("refused"))
        .otherwise(pl.lit("opened")).alias("action"))
    alerts = pl.DataFrame({
        "id": [f"al-{i}" for i in range(ALERTS)],
        "at": _times(now, rng.uniform(0, month, ALERTS)),
        "level": rng.choice(["info", "warning", "critical"], ALERTS),
        "source": "trading", "message": [f"alert {i}" for i in range(ALERTS)],
        "acknowledged": rng.random(ALERTS) < 0.5})
    wallet_rows = pl.DataFrame({"address": wallets, "first_seen_at": _times(
        now, np.full(WALLETS, float(month))), "status": "ok", "on_watchlist": True})
    jobs = pl.DataFrame({"id": [f"job-{j}" for j in range(4)],
                         "job": ["refresh_tokens", "discover_tokens", "discover_wallets",
                                 "sync_webhooks"],
                         "started_at": _times(now, np.array([120.0, 900, 7200, 4000])),
                         "finished_at": _times(now, np.array([100.0, 880, 7000, 3990])),
                         "outcome": ["succeeded", "succeeded", "succeeded", "failed"]})
    with db.connection() as conn, conn.cursor() as cur:
        for table, frame in (("wallets", wallet_rows), ("signals", signals),
                             ("positions", positions), ("orders", orders), ("trades", trades),
                             ("trade_decisions", decisions), ("alerts", alerts),
                             ("job_runs", jobs)):
            copy_in(cur, table, frame)
        cur.execute("ANALYZE")
    return {"signals": signals.height, "positions": positions.height,
            "open_positions": int(is_open.sum()), "trades": trades.height,
            "orders": orders.height, "trade_decisions": decisions.height}


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1e3, 2)


def time_views(db: Database, runs: int) -> dict[str, Any]:
    now = utcnow()
    config = ConfigRepository(db).load()
    out: dict[str, Any] = {}
    floor: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with db.connection() as conn:
            conn.execute("SELECT count(*) FROM signals").fetchone()
        floor.append(time.perf_counter() - t0)
    out["floor_count_signals_ms"] = _ms(floor)
    for name, view in dv.VIEWS.items():
        spent = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            view(db, now, config)
            spent.append(time.perf_counter() - t0)
        out[name] = {"first_ms": round(spent[0] * 1e3, 2), "warm_ms": _ms(spent[1:])}
    totals = []
    for _ in range(runs):
        t0 = time.perf_counter()
        dv.dashboard_snapshot(db, now)
        totals.append(time.perf_counter() - t0)
    out["snapshot_total_ms"] = {"median": _ms(totals), "max": round(max(totals) * 1e3, 2),
                                "target_ms": 1000}
    return out


FLOOR_NOTEBOOK = """import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    mo.md("## Realized PnL (7 d)")
    return


@app.cell
def _(mo):
    mo.md("Rows per table")
    return
"""


def _open_page(browser: Any, url: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.get_by_text("Realized PnL (7 d)").first.wait_for(timeout=120_000)
    kpi_ms = page.evaluate("performance.now()")
    fcp = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
    page.get_by_text("Rows per table").first.wait_for(timeout=120_000)  # the last cell
    done_ms = page.evaluate("performance.now()")
    context.close()
    return {"first_contentful_paint_ms": round(fcp, 1) if fcp else None,
            "kpi_visible_ms": round(kpi_ms, 1), "every_cell_shown_ms": round(done_ms, 1)}


def time_browser(db: Database, notebook: Path, visits: int = 3) -> list[dict[str, Any]]:
    """Open the notebook ``visits`` times (each a new marimo session, the first one also
    paying the imports) and measure each paint from navigation start."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "WALLTRACK_DATABASE_URL": db.url, "WALLTRACK_LOG_FORMAT": "json"}
    with run_server(
        [sys.executable, "-m", "marimo", "run", str(notebook),
         "--headless", "--no-token", "--host", "127.0.0.1", "--port", "{port}"],
        ready_path="/", env=env, timeout=90,
    ) as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            return [_open_page(browser, app.url) for _ in range(visits)]
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="walltrack-bench-dashboard-"))
    db = open_database(load_settings(_env_file=None, data_dir=tmp))
    t0 = time.perf_counter()
    result: dict[str, Any] = {"store": fill(db), "fill_s": round(time.perf_counter() - t0, 2)}
    result["views"] = time_views(db, args.runs)
    if not args.no_browser:
        floor = tmp / "floor_notebook.py"
        floor.write_text(FLOOR_NOTEBOOK)
        result["browser"] = {"dashboard": time_browser(db, ROOT / "notebooks" / "dashboard.py"),
                             "floor_two_markdown_cells": time_browser(db, floor),
                             "fcp_target_ms": 2000}
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    db.close()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
