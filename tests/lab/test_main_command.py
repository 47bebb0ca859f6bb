"""The README's main command end to end at a small size: research, webhook registration, a
live phase where a real server.py hears a real simulator process over HTTP and trades on
paper, the summary — every figure checked against the store."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
from psycopg.types.json import Jsonb

from tests.harness.processes import REPO_ROOT
from walltrack.cli import _print_live
from walltrack.errors import ConfigurationError
from walltrack.lab.demo import prepare_store
from walltrack.lab.main_command import (
    SIZES,
    TAIL_DAYS,
    LivePlan,
    LiveSummary,
    live_overrides,
    market_params,
)
from walltrack.store import Database

SMALL = ["--wallets", "800", "--tokens", "80", "--days", "5", "--clusters", "4",
         "--live-hours", "12", "--live-seconds", "15"]


def _store(db: Database, query: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return list(conn.execute(query).fetchall())


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in the output"
    return float(found[1].replace(",", ""))


def test_the_main_command_runs_research_registration_live_phase_and_summary(
        db: Database, db_url: str, tmp_path: Any) -> None:
    # A 5-day market is too young for the default watchlist rule (5 closed trades…) and its
    # wallets' signals score below the default threshold: the operator's config, loosened
    # here as the config notebook would (the command keeps config edits).
    with db.connection() as conn:
        for key, value in {"watchlist": {"min_trades": 2, "min_win_rate": 0.5, "min_roi": 0.0,
                                         "min_score": 0.3},
                           "scoring": {"threshold": 0.3, "high_conviction": 0.95}}.items():
            conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                         (Jsonb(value), key))
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url,
           "WALLTRACK_DATA_DIR": str(tmp_path / "data"), "WALLTRACK_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-m", "walltrack", "run", *SMALL], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Simulated market: seed 7, 800 wallets" in out
    assert re.search(r"webhooks: 1 for \d+ addresses; created 1", out), out
    assert "live phase, simulated minutes: 720/720 (100 %)" in out
    assert "marimo run notebooks/dashboard.py" in out.splitlines()[-5]

    decisions = dict(_store(db, "SELECT decision, count(*) FROM signals GROUP BY decision"))
    assert sum(decisions.values()) > 0, out
    positions = _store(db, "SELECT status, realized_pnl_sol FROM positions")
    assert positions, out  # at least one paper position opened
    assert {r[0] for r in _store(db, "SELECT DISTINCT mode FROM positions")} == {"paper"}
    # The summary's figures are the store's.
    assert _number(r"signals ([\d,]+):", out) == sum(decisions.values())
    for decision, count in decisions.items():
        assert _number(rf"signals [\d,]+:.*\b{decision} ([\d,]+)", out) == count
    closed = [p for p in positions if p[0] == "closed"]
    assert _number(r"paper positions (\d+)", out) == len(positions)
    assert _number(r"closed (\d+)\); fills", out) == len(closed)
    fills = _store(db, "SELECT count(*), coalesce(sum(pnl_sol), 0) FROM trades")[0]
    assert _number(r"fills (\d+)", out) == fills[0]
    assert _number(r"PnL realized ([+-][\d.]+) SOL", out) == pytest.approx(fills[1], abs=1e-4)
    wins = sum(1 for p in closed if p[1] > 0)
    assert _number(r"\((\d+) of \d+\)", out) == wins
    unrealized = _store(db, """SELECT coalesce(sum(remaining_tokens * last_price_sol
                                      - cost_sol * remaining_tokens / token_amount), 0)
                               FROM positions WHERE status <> 'closed' AND token_amount > 0
                                 AND last_price_sol IS NOT NULL""")[0][0]
    assert _number(r"unrealized ([+-][\d.]+) SOL", out) == pytest.approx(unrealized, abs=1e-4)
    net = (fills[1] + unrealized) / 10.0
    assert _number(r"= ([+-][\d.]+) % of the 10 SOL", out) == pytest.approx(100 * net,
                                                                            abs=0.006)
    # The accelerated clock's config is put back; nothing of the run is left running.
    signals_cfg = _store(db, "SELECT value FROM config WHERE key = 'signals'")[0][0]
    assert signals_cfg["stale_after_seconds"] == 120.0
    leftovers = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if (proc.pid != os.getpid()
                    and proc.environ().get("WALLTRACK_DATABASE_URL") == db_url):
                leftovers.append(proc.info["cmdline"])
    assert not leftovers


def test_the_live_window_is_market_time_after_the_research() -> None:
    plan = LivePlan(hours=12)
    now = datetime(2026, 1, 10, tzinfo=UTC).timestamp()
    params = market_params(SIZES["quick"], plan, now=now)
    research_end = params.start + timedelta(days=SIZES["quick"].days)
    assert research_end + timedelta(hours=12) <= datetime.fromtimestamp(now, UTC)
    assert params.days == SIZES["quick"].days + 1 + TAIL_DAYS  # the window inside the market
    overrides = live_overrides(plan, oldest_age_seconds=12 * 3600 + 90)
    assert overrides["signals"]["stale_after_seconds"] > 12 * 3600 + 90
    assert overrides["execution"]["mode"] == "paper"


def test_a_store_with_signals_but_no_simulated_market_is_refused(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("""INSERT INTO signals (id, signature, wallet, mint, side, sol_amount,
                        observed_at, swap_at, factors, weights, score, decision, reason)
                        VALUES ('s1', 'sig', 'w', 'm', 'buy', 1, now(), now(), '{}', '{}',
                                0.5, 'log_only', 'below_threshold')""")
    with pytest.raises(ConfigurationError, match="not from a simulated market") as exc:
        prepare_store(db, SIZES["quick"], fresh=False)
    assert "--fresh" in (exc.value.hint or "")


def test_the_summary_prints_the_baselines_beside_walltrack(capsys: Any) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    live = LiveSummary(
        window_start=start, window_end=start + timedelta(hours=12), sim_hours=12,
        wall_seconds=45, acceleration=960, watched_wallets=3, deliveries=5, inbox=9,
        signals=9, signals_by_decision={"eligible": 2, "log_only": 7},
        trade_actions={"opened": 2}, positions_opened=2, open_positions=1,
        closed_positions=1, trades=1, fills=3, wins=1, win_rate=1.0, realized_pnl_sol=0.05,
        unrealized_pnl_sol=-0.01, capital_sol=10, net_pnl_sol=0.04, net_return=0.004,
        overrides={}, baselines={"oracle": {"trades": 7, "win_rate": 0.71, "net_return": 0.12},
                                 "random watchlist": {"trades": 4, "net_return": -0.02}})
    _print_live(live)
    out = capsys.readouterr().out
    assert re.search(r"WallTrack \(live, paper\)\s+1\s+100\s+\+0\.40", out)
    assert re.search(r"oracle\s+7\s+71\s+\+12\.00", out)
    assert re.search(r"random watchlist\s+4\s+–\s+-2\.00", out)
