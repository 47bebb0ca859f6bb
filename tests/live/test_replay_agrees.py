"""Replay and live agree: the same swaps through a real ``server.py`` (the simulator's
webhooks over HTTP) and through the replay give the same signals, the same decisions and
the same positions — fills aside, which differ by the delay.

The live delays are real (the simulator's clock is advanced a minute at a time, so a swap
reaches the server up to the window's length later); the replay uses one delay. Scores can
then differ a little — the token factor reads the market when the signal is scored, and a
minute later the pool has moved — so decisions are compared where the live score is not
within that margin of the threshold, and the margin itself is asserted small.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.live_run import configure, live_phase, rows, wait_until
from walltrack.clients.usage import UsageMeter
from walltrack.lab.demo import simulator_settings
from walltrack.live.token_data import build_token_data
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.replay import ReplayRun, Window, copier_book, snapshot_research
from walltrack.trading.backtest.stores import ReplayStores
from walltrack.trading.exits import ExitStrategy, StopLoss, TimeStop

pytestmark = pytest.mark.slow

HOLD = ExitStrategy(name="hold", rules=(StopLoss(loss=0.5), TimeStop(max_hours=4.0)))
WINDOW = 600
SCORE_MARGIN = 0.03


def test_the_same_swaps_live_and_replayed_give_the_same_signals_and_positions(
        db: Database, db_url: str, tmp_path: Path, make_settings) -> None:
    configure(db, HOLD)
    with live_phase(db, db_url, tmp_path, window_seconds=WINDOW) as run:
        assert run.market is not None and run.window is not None
        start, end = run.window
        tape = run.market.swaps.filter((pl.col("timestamp") > start)
                                       & (pl.col("timestamp") <= end)
                                       & pl.col("wallet").is_in(run.wallets))
        snapshot = snapshot_research(db, start)  # the watchlist the server loaded
        run.advance(WINDOW)
        wait_until(lambda: rows(db, "SELECT count(*) AS n FROM signals")[0]["n"]
                   >= tape.height, f"{tape.height} live signals", detail=run.server.log_tail)
        wait_until(lambda: rows(db, """SELECT count(*) AS n FROM signals s
                   WHERE decision = 'eligible' AND side = 'buy' AND NOT EXISTS (
                   SELECT 1 FROM trade_decisions d WHERE d.signal_id = s.id)""")[0]["n"] == 0,
                   "every eligible signal decided", detail=run.server.log_tail)
        live = rows(db, "SELECT id, signature, wallet, mint, side, decision, reason, score, "
                        "factors, delay_seconds FROM signals ORDER BY id")
        live_positions = rows(db, "SELECT signal_id, wallet, mint FROM positions "
                                  "WHERE status <> 'failed' ORDER BY signal_id")
        config = ConfigRepository(db).load()
        settings = simulator_settings(make_settings(), run.sim_url)
        delay = float(pl.Series([r["delay_seconds"] for r in live]).median())

        async def replay() -> tuple[list[dict], list[dict]]:
            facts = build_token_data(settings, db, UsageMeter(), lambda: config.safety)
            try:
                with ReplayStores(db_url) as stores:
                    url = stores.new()
                    replayed = ReplayRun(url, SwapHistory(run.market.swaps, run.market.tokens),
                                         facts, config, book="copier", watch=copier_book,
                                         delay_seconds=delay, latency_seconds=0.5,
                                         sol_usd=run.market.params.sol_usd)
                    await replayed.run([Window(snapshot, start, end)], until=end)
                    with psycopg.connect(url, row_factory=dict_row) as conn:
                        signals = conn.execute(
                            "SELECT id, signature, wallet, mint, side, decision, reason, "
                            "score, factors FROM signals ORDER BY id").fetchall()
                        positions = conn.execute(
                            "SELECT signal_id, wallet, mint FROM positions "
                            "WHERE status <> 'failed' ORDER BY signal_id").fetchall()
                    return signals, positions
            finally:
                await facts.aclose()

        replayed, replayed_positions = asyncio.run(replay())

    key = ("id", "signature", "wallet", "mint", "side")
    assert [tuple(r[k] for k in key) for r in replayed] == [tuple(r[k] for k in key)
                                                             for r in live]
    threshold = config.scoring.threshold
    by_id = {r["id"]: r for r in replayed}
    gaps = [abs(by_id[r["id"]]["score"] - r["score"]) for r in live]
    worst = live[max(range(len(live)), key=gaps.__getitem__)]
    assert max(gaps) < SCORE_MARGIN, (
        f"scores differ by up to {max(gaps):.4f}: live {worst['factors']} — replayed "
        f"{by_id[worst['id']]['factors']}")
    clear = {r["id"] for r in live if abs(r["score"] - threshold) >= SCORE_MARGIN}
    assert len(clear) >= len(live) // 2
    for r in live:
        if r["id"] in clear:
            assert (by_id[r["id"]]["decision"], by_id[r["id"]]["reason"]) == \
                (r["decision"], r["reason"]), r
    live_taken = {(p["signal_id"], p["wallet"], p["mint"]) for p in live_positions
                  if p["signal_id"] in clear}
    replay_taken = {(p["signal_id"], p["wallet"], p["mint"]) for p in replayed_positions
                    if p["signal_id"] in clear}
    assert live_taken and live_taken == replay_taken
