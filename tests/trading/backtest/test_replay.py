"""The replay on a hand-made market, on real stores: fills at the pools' history, the sweep's
arithmetic, and point in time (deleting the future changes nothing before the cut)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import polars as pl
import psycopg
import pytest

from walltrack.clients.mint_accounts import MintInfo
from walltrack.live.safety import Holders
from walltrack.models import DynamicConfig
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.history_quotes import constant_product_out
from walltrack.trading.backtest.replay import (
    WATCH_SCHEMA,
    ReplayRun,
    ResearchSnapshot,
    RunResult,
    Window,
    copier_book,
    fixed_book,
    top_scored_book,
)
from walltrack.trading.backtest.runner import choose_setting, figures, with_setting
from walltrack.trading.backtest.stores import ReplayStores

T0 = datetime(2025, 6, 10, 12, tzinfo=UTC)
MINT = "Mint111111111111111111111111111111111111111"
LEADER = "Leader1111111111111111111111111111111111111"
FEE_BPS = 25
DECIMALS = 6
SOL = 1_000_000_000
SPL_TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


class StandingFacts:
    """The token's standing facts as an RPC node and Jupiter would give them: a clean mint
    (authorities revoked), spread holders, a route back to SOL."""

    async def mint_facts(self, mint: str) -> MintInfo | None:
        return MintInfo(mint=mint, program=SPL_TOKEN, decimals=DECIMALS, supply=10**15)

    async def holders_now(self, mint: str, pools: set[str]) -> Holders | None:
        return Holders(top10_share=0.2, excluded=())

    async def sell_route(self, mint: str) -> bool | None:
        return True


def market(trades: list[tuple[float, str, str, float]]) -> pl.DataFrame:
    """A pool of 300 SOL / 1e9 tokens, then each (second, wallet, side, amount): a buy of
    ``amount`` SOL or a sell of ``amount`` tokens, through the constant-product pool."""
    sol, token = 300 * SOL, 10**15
    rows = [dict(signature="launch".ljust(64, "x"), slot=0, timestamp=T0, wallet="Creator",
                 mint=MINT, side="buy", sol_amount=0.0, token_amount=0.0, pool_sol_after=sol,
                 pool_token_after=token)]
    for i, (second, wallet, side, amount) in enumerate(trades, start=1):
        if side == "buy":
            lamports = int(amount * SOL)
            out, _ = constant_product_out(lamports, sol, token, FEE_BPS)
            sol, token = sol + lamports, token - out
            sol_amount, tokens = lamports / SOL, out / 10**DECIMALS
        else:
            raw = int(amount * 10**DECIMALS)
            out, _ = constant_product_out(raw, token, sol, FEE_BPS)
            sol, token = sol - out, token + raw
            sol_amount, tokens = out / SOL, amount
        rows.append(dict(signature=f"sig{i:04d}".ljust(64, "x"), slot=i,
                         timestamp=T0 + timedelta(seconds=second), wallet=wallet,
                         mint=MINT, side=side, sol_amount=sol_amount, token_amount=tokens,
                         pool_sol_after=sol, pool_token_after=token))
    return pl.DataFrame(rows)


def history(frame: pl.DataFrame) -> SwapHistory:
    tokens = pl.DataFrame({"mint": [MINT], "decimals": [DECIMALS], "supply_raw": [10**15],
                           "fee_bps": [FEE_BPS], "launch_time": [T0]})
    return SwapHistory(frame, tokens)


def snapshot(at: datetime) -> ResearchSnapshot:
    wallets = pl.DataFrame(
        {"address": [LEADER], "score": [0.95], "status": ["active"], "cluster_id": [None],
         "timing_percentile": [0.9], "avg_buy_sol": [2.0], "on_watchlist": [True]},
        schema={**WATCH_SCHEMA, "on_watchlist": pl.Boolean})
    return ResearchSnapshot(
        at=at, wallets=wallets,
        members=pl.DataFrame(schema={"cluster_id": pl.String, "wallet": pl.String,
                                     "role": pl.String}),
        cluster_buys=pl.DataFrame(schema={"wallet": pl.String, "mint": pl.String,
                                          "ts": pl.Datetime("us", "UTC")}))


# The leader buys a minute after launch; followers push the price up; the leader sells
# half of what it bought an hour later (a mirror exit of a copier), then the rest.
TRADES = [(60, LEADER, "buy", 2.0), (62, "Follower1", "buy", 5.0), (70, "Follower2", "buy", 8.0),
          (300, "Retail1", "buy", 3.0), (1800, "Retail2", "sell", 1_000_000.0),
          (3600, LEADER, "sell", 3_300_000.0), (3700, "Retail3", "buy", 1.0),
          (7200, LEADER, "sell", 3_300_000.0), (7300, "Retail4", "buy", 0.5)]
CONFIG = with_setting(DynamicConfig(), threshold=0.3)


def replay(url: str, tape: SwapHistory, delay: float, *, until: datetime,
           config: DynamicConfig = CONFIG) -> RunResult:
    run = ReplayRun(url, tape, StandingFacts(), config, book="copier", watch=copier_book,
                    delay_seconds=delay, latency_seconds=1.0, sol_usd=150.0)
    window = Window(snapshot(T0), T0, T0 + timedelta(hours=3))
    return asyncio.run(run.run([window], until=until))


def fills(url: str) -> list[tuple[str, int, int, datetime]]:
    """(side, lamports, raw tokens, time) of every fill, as the engine recorded them."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT side, sol_amount, token_amount, executed_at FROM trades "
            "ORDER BY executed_at").fetchall()
    return [(side, round(sol * SOL), round(tokens * 10**DECIMALS), at)
            for side, sol, tokens, at in rows]


@pytest.fixture
def stores(db_url: str):
    with ReplayStores(db_url) as made:
        yield made


def test_fills_are_the_pools_at_the_fill_time_and_a_late_copier_pays_more(stores) -> None:
    tape = history(market([(s, w, side, a) for s, w, side, a in TRADES]))
    end = T0 + timedelta(hours=3)
    early_url, late_url = stores.new(), stores.new()
    early = replay(early_url, tape, 0.0, until=end)
    late = replay(late_url, tape, 15.0, until=end)
    for url, delay, result in ((early_url, 0.0, early), (late_url, 15.0, late)):
        made = fills(url)
        assert [f[0] for f in made][:1] == ["buy"] and len(result.positions) == 1
        _, lamports, tokens, filled_at = made[0]
        # Filled at the leader's swap + delay + our latency, against the pool as it was.
        assert filled_at == T0 + timedelta(seconds=60 + delay + 1.0)
        sol, token = tape.reserves_at(MINT, filled_at)
        assert tokens == constant_product_out(lamports, sol, token, FEE_BPS)[0]
        for side, sol_out, raw_in, at in made[1:]:  # every exit sold into the pool of its time
            assert side == "sell"
            sol, token = tape.reserves_at(MINT, at)
            assert sol_out == constant_product_out(raw_in, token, sol, FEE_BPS)[0]
        row = result.positions.row(0, named=True)
        assert row["pnl_sol"] == pytest.approx(row["proceeds_sol"] - row["cost_sol"])
    # 15 s late, after two followers bought 13 SOL: fewer tokens for the same SOL.
    (_, early_sol, early_tokens, _), (_, late_sol, late_tokens, _) = \
        fills(early_url)[0], fills(late_url)[0]
    assert late_tokens / late_sol < early_tokens / early_sol * 0.97
    capital = CONFIG.risk.starting_capital_sol
    for result in (early, late):
        figs = figures(result, capital)
        assert figs.trades == 1
        assert figs.net_return == pytest.approx(result.positions["pnl_sol"].sum() / capital)


def test_deleting_the_future_changes_nothing_before_the_cut(stores) -> None:
    frame = market([(s, w, side, a) for s, w, side, a in TRADES])
    cut = T0 + timedelta(seconds=3650)
    full_url, cut_url = stores.new(), stores.new()
    replay(full_url, history(frame), 5.0, until=T0 + timedelta(hours=3))
    replay(cut_url, history(frame.filter(pl.col("timestamp") <= cut)), 5.0, until=cut)

    def before_cut(url: str) -> tuple[list[tuple], list[tuple]]:
        with psycopg.connect(url) as conn:
            signals = conn.execute(
                "SELECT signature, decision, reason, score FROM signals "
                "WHERE swap_at <= %s ORDER BY signature", (cut,)).fetchall()
            made = conn.execute(
                "SELECT side, sol_amount, token_amount, executed_at FROM trades "
                "WHERE executed_at <= %s ORDER BY executed_at", (cut,)).fetchall()
        return signals, made

    full, truncated = before_cut(full_url), before_cut(cut_url)
    assert full == truncated
    assert len(full[0]) == 2 and len(full[1]) >= 2  # the buy and the first mirror exit


def test_books_choose_the_wallets_and_copy_them_equally() -> None:
    snap = snapshot(T0)
    book = fixed_book([LEADER, "Unknown1"])(snap)
    assert book["address"].to_list() == [LEADER, "Unknown1"]
    assert book["score"].unique().to_list() == [0.95]  # the watchlist's median, for all
    assert book["status"].to_list() == ["active", "active"]


def test_the_top_scored_book_is_the_research_ranking_with_its_own_scores() -> None:
    wallets = pl.DataFrame(
        {"address": ["A" * 32, "B" * 32, "C" * 32, "D" * 32],
         "score": [0.5, 0.9, None, 0.7], "status": ["active", "active", "active", "blacklisted"],
         "cluster_id": [None] * 4, "timing_percentile": [None] * 4, "avg_buy_sol": [None] * 4,
         "on_watchlist": [False, True, False, False]},
        schema={**WATCH_SCHEMA, "on_watchlist": pl.Boolean})
    snap = ResearchSnapshot(at=T0, wallets=wallets, members=snapshot(T0).members,
                            cluster_buys=snapshot(T0).cluster_buys)
    top = top_scored_book(2)(snap)
    assert top["address"].to_list() == ["B" * 32, "A" * 32]  # unscored and blacklisted left out
    assert top["score"].to_list() == [0.9, 0.5]


def _result(pnls: list[float], opened: list[datetime]) -> RunResult:
    positions = pl.DataFrame({"cost_sol": [1.0] * len(pnls), "pnl_sol": pnls,
                              "opened_at": opened,
                              "closed_at": [o + timedelta(hours=1) for o in opened]},
                             schema={"cost_sol": pl.Float64, "pnl_sol": pl.Float64,
                                     "opened_at": pl.Datetime("us", "UTC"),
                                     "closed_at": pl.Datetime("us", "UTC")})
    return RunResult(book="copier", delay_seconds=5.0, positions=positions)


def test_a_sweep_chooses_the_setting_that_made_most_on_the_train_windows() -> None:
    train = {"a": _result([0.5, -0.1], [T0, T0]), "b": _result([0.1, 0.3], [T0, T0]),
             "c": _result([0.2, 0.1, 0.1], [T0, T0, T0])}
    choice = choose_setting(train, 10.0)
    assert choice.chosen == "a"
    assert choice.train["a"].net_return == pytest.approx(0.04)
    assert choice.train["c"].trades == 3
    # A tie goes to the configured setting (here: none traded at all).
    idle = {"a": _result([], []), "default": _result([], [])}
    assert choose_setting(idle, 10.0, prefer="default").chosen == "default"


def test_figures_count_only_the_positions_opened_in_the_period() -> None:
    result = _result([0.5, -0.1, -0.4], [T0, T0, T0 + timedelta(days=2)])
    split = T0 + timedelta(days=1)
    assert figures(result, 10.0, opened_before=split).net_return == pytest.approx(0.04)
    assert figures(result, 10.0, opened_from=split).net_return == pytest.approx(-0.04)


def test_a_setting_keeps_high_conviction_above_the_threshold() -> None:
    cfg = with_setting(DynamicConfig(), threshold=0.9, strategy="runner")
    assert cfg.scoring.threshold == 0.9 and cfg.scoring.high_conviction >= 0.9
    assert cfg.execution.default_strategy == "runner"
    assert DynamicConfig().scoring.threshold == 0.7  # the default is left alone


def test_a_time_stop_fires_on_the_round_it_falls_due_in_a_flat_market(stores) -> None:
    # After the leader's buy nothing trades: the price never moves, so only the time stop
    # (the one rule that reads the clock) can close the position — on the first price round
    # after it falls due, not at the next safety recheck.
    tape = history(market([(60, LEADER, "buy", 2.0), (9000, "Retail1", "buy", 0.1)]))
    dump = CONFIG.model_dump()
    dump["exits"]["strategies"]["hold_36_min"] = [
        {"kind": "time_stop", "params": {"max_hours": 0.6}}]
    dump["execution"]["default_strategy"] = "hold_36_min"
    result = replay(stores.new(), tape, 0.0, until=T0 + timedelta(hours=3),
                    config=DynamicConfig.model_validate(dump))
    row = result.positions.row(0, named=True)
    assert row["status"] == "closed" and row["close_reason"] == "time_stop"
    held = (row["closed_at"] - row["opened_at"]).total_seconds()
    interval = CONFIG.exits.price_interval_seconds
    assert 0.6 * 3600 <= held <= 0.6 * 3600 + interval + 1.0
