"""The report's arithmetic on a hand-made set of trades, worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from walltrack.errors import ConfigurationError
from walltrack.trading.backtest.metrics import bootstrap_interval, max_drawdown, run_figures

T0 = datetime(2025, 6, 10, tzinfo=UTC)


def closed(*trades: tuple[float, float]) -> pl.DataFrame:
    """(cost, pnl) per trade, closing one hour apart in the given order."""
    return pl.DataFrame({"cost_sol": [c for c, _ in trades], "pnl_sol": [p for _, p in trades],
                         "closed_at": [T0 + timedelta(hours=i) for i in range(len(trades))]})


def test_figures_of_four_trades_by_hand() -> None:
    # Capital 10 SOL; trades +0.5 on 1, −0.25 on 0.5, +1.0 on 1, −0.5 on 1.
    f = run_figures(closed((1.0, 0.5), (0.5, -0.25), (1.0, 1.0), (1.0, -0.5)), 10.0)
    assert f.trades == 4
    assert f.win_rate == 0.5
    assert f.profit_ratio == pytest.approx(1.5 / 0.75)
    assert f.mean_return == pytest.approx((0.5 - 0.5 + 1.0 - 0.5) / 4)
    assert f.median_return == pytest.approx(0.0)  # returns 0.5, −0.5, 1.0, −0.5 → (−0.5+0.5)/2
    assert f.net_return == pytest.approx(0.075)
    # Equity 10 → 10.5 → 10.25 → 11.25 → 10.75: the deepest fall is 0.5 below 11.25.
    assert f.max_drawdown == pytest.approx(0.5 / 11.25)
    low, high = f.net_return_ci
    assert low < f.net_return < high


def test_trades_are_taken_in_closing_order_for_the_drawdown() -> None:
    frame = closed((1.0, -1.0), (1.0, 2.0)).with_columns(
        closed_at=pl.Series([T0 + timedelta(hours=5), T0]))  # the gain closed first
    assert run_figures(frame, 10.0).max_drawdown == pytest.approx(1.0 / 12.0)


def test_no_trade_and_no_loss() -> None:
    empty = run_figures(closed(), 10.0)
    assert (empty.trades, empty.win_rate, empty.net_return, empty.net_return_ci) == (
        0, None, 0.0, (0.0, 0.0))
    only_wins = run_figures(closed((1.0, 0.2), (1.0, 0.1)), 5.0)
    assert only_wins.profit_ratio is None and only_wins.max_drawdown == 0.0


def test_bootstrap_interval_is_seeded_and_narrows_with_more_trades() -> None:
    rng = np.random.default_rng(1)
    few, many = rng.normal(0.1, 1.0, 20), rng.normal(0.1, 1.0, 2_000)
    assert bootstrap_interval(few, 10.0, seed=3) == bootstrap_interval(few, 10.0, seed=3)
    lo_f, hi_f = bootstrap_interval(few / few.size, 10.0)
    lo_m, hi_m = bootstrap_interval(many / many.size, 10.0)
    assert hi_m - lo_m < hi_f - lo_f
    # A sure thing has no spread.
    assert bootstrap_interval(np.full(10, 0.5), 10.0) == pytest.approx((0.5, 0.5))


def test_drawdown_of_a_steady_climb_is_zero_and_of_a_wipeout_is_one() -> None:
    assert max_drawdown(10.0, np.array([1.0, 1.0, 1.0])) == 0.0
    assert max_drawdown(10.0, np.array([-10.0])) == 1.0


def test_bad_inputs_name_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="capital"):
        run_figures(closed((1.0, 0.1)), 0.0)
    with pytest.raises(ConfigurationError, match="pnl_sol"):
        run_figures(pl.DataFrame({"cost_sol": [1.0], "closed_at": [T0]}), 10.0)
    with pytest.raises(ConfigurationError, match="no positive cost"):
        run_figures(closed((1.0, 0.1), (0.0, 0.2)), 10.0)
