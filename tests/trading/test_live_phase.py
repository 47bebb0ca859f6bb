"""A whole live phase over HTTP: the simulator delivers the watched wallets' swaps to a real
server.py by webhook; its trading engine opens paper positions at the simulator's quotes,
the price watch evaluates the exits, and several rules close them — the realized PnL is the
fills' arithmetic, and every fill is the quote the pool gave."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from psycopg.types.json import Jsonb

from tests.harness.processes import run_server
from tests.live.conftest import watch
from tests.live.test_crash import server_env
from tests.live.test_simulated_live import register
from tests.trading.harness import rows
from walltrack.simulator import PRESETS, generate_market
from walltrack.simulator.background import serving_process
from walltrack.simulator.params import ActorParams
from walltrack.store import Database
from walltrack.trading.exits import (
    ExitStrategy,
    MirrorExit,
    StopLoss,
    TakeProfitLadder,
    TimeStop,
    plan_of,
)
from walltrack.trading.exits.take_profit_ladder import LadderStep

pytestmark = pytest.mark.slow

LIVE_SECONDS = 900
SERVE_AT = 3 * 86_400 + 12 * 3600
TIGHT = ExitStrategy(name="tight", rules=(
    StopLoss(loss=0.08), MirrorExit(min_fraction=0.05, full_above=0.9),
    TakeProfitLadder(steps=(LadderStep(multiple=1.15, fraction=0.5),)),
    TimeStop(max_hours=0.006)))  # ≈ 22 s of wall clock


def configure(db: Database) -> None:
    updates = {
        "scoring": {"threshold": 0.3, "high_conviction": 0.95},
        "signals": {"stale_after_seconds": 7200.0},
        "risk": {"max_concurrent_positions": 30},
        "gates": {"max_total_exposure_sol": 9.0, "cooldown_seconds": 0.0},
        "protections": {"daily_loss_limit": None},
        "execution": {"default_strategy": "tight", "confirm_poll_seconds": 0.1},
        "exits": {"strategies": {"tight": [r.model_dump() for r in plan_of(TIGHT)]},
                  "price_interval_seconds": 1.0},
    }
    with db.connection() as conn:
        for key, value in updates.items():
            conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                         (Jsonb(value), key))


def test_live_phase_positions_exit_by_several_rules_with_consistent_pnl(
        db: Database, db_url: str, tmp_path: Path) -> None:
    start = datetime.fromtimestamp(int(time.time()) - SERVE_AT - LIVE_SECONDS - 5, UTC)
    # The market without copy bots and baits: this is about the engine's exit rules, and in
    # this 15-minute window of the small market the actors leave only time stops to fire.
    params = PRESETS["small"].model_copy(update={"start": start,
                                                 "actors": ActorParams(enabled=False)})
    market = generate_market(params)
    window = market.swaps.filter((pl.col("t") > SERVE_AT)
                                 & (pl.col("t") <= SERVE_AT + LIVE_SECONDS))
    wallets = sorted(set(window["wallet"].to_list()))
    watch(db, *wallets)
    configure(db)
    with serving_process(params, start_at=SERVE_AT) as sim_url:
        env = server_env(db_url, sim_url, str(tmp_path)) | {
            "WALLTRACK_TRADING_ENABLED": "true", "WALLTRACK_LOG_LEVEL": "INFO"}
        with run_server([sys.executable, "server.py", "--port", "{port}"],
                        ready_path="/health", env=env) as server:
            asyncio.run(register(sim_url, server.url + "/webhooks/helius", wallets))
            for _ in range(LIVE_SECONDS // 60):
                httpx.post(sim_url + "/sim/advance", json={"seconds": 60})
                time.sleep(1.0)
            deadline = time.monotonic() + 120
            while True:  # every position opened must be closed by its time stop at last
                left = rows(db, "SELECT count(*) AS n FROM positions "
                                "WHERE status IN ('opening', 'open', 'closing')")[0]["n"]
                opened = rows(db, "SELECT count(*) AS n FROM positions")[0]["n"]
                if opened and not left:
                    break
                assert time.monotonic() < deadline, (
                    left, opened, rows(db, "SELECT status, close_reason, price_stale, "
                                           "last_price_at FROM positions"),
                    rows(db, "SELECT status, error, attempts FROM orders"),
                    rows(db, "SELECT message FROM alerts"), server.log_tail())
                time.sleep(1.0)
            health = httpx.get(server.url + "/health").json()
    positions = rows(db, "SELECT * FROM positions")
    trades = rows(db, "SELECT * FROM trades")
    orders = {o["id"]: o for o in rows(db, "SELECT * FROM orders")}
    assert health["ok"]
    closed = [p for p in positions if p["status"] == "closed"]
    assert len(closed) >= 3, Counter(p["status"] for p in positions)
    triggers = Counter(t["trigger"] for t in trades if t["side"] == "sell")
    assert len(triggers) >= 2, triggers  # several rules closed positions
    # One position per signal and per mint at a time, one fill per order.
    assert len({p["signal_id"] for p in positions}) == len(positions)
    assert len({t["order_id"] for t in trades}) == len(trades)
    by_position: dict[str, list[dict[str, Any]]] = {}
    for t in trades:
        by_position.setdefault(t["position_id"], []).append(t)
        # Paper fills are the pool's quote: what the order was quoted is what it got.
        quoted = orders[t["order_id"]]["quoted_out"]
        got = t["token_amount"] if t["side"] == "buy" else t["sol_amount"]
        scale = 10 ** next(p["decimals"] for p in positions if p["id"] == t["position_id"])
        assert got == pytest.approx(quoted / (scale if t["side"] == "buy" else 1e9))
        assert t["delay_seconds"] is None or t["delay_seconds"] >= 0
    for p in closed:
        fills = by_position[p["id"]]
        (buy,) = [t for t in fills if t["side"] == "buy"]
        sells = [t for t in fills if t["side"] == "sell"]
        assert p["cost_sol"] == pytest.approx(buy["sol_amount"] + buy["fee_sol"])
        assert sum(t["token_amount"] for t in sells) == pytest.approx(buy["token_amount"])
        proceeds = sum(t["sol_amount"] - t["fee_sol"] for t in sells)
        assert p["realized_pnl_sol"] == pytest.approx(proceeds - p["cost_sol"], abs=1e-9)
        assert p["realized_pnl_sol"] == pytest.approx(sum(t["pnl_sol"] for t in sells),
                                                      abs=1e-9)
    decisions = Counter(r["action"] for r in rows(db, "SELECT action FROM trade_decisions"))
    assert decisions["opened"] == len(positions)
