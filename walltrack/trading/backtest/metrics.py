"""The figures of one replayed run, from its closed positions — pure, on a polars frame.

A run's trades are its closed positions: ``cost_sol`` (SOL spent, fees and rent included),
``pnl_sol`` (realized, net of every fee) and ``closed_at``. A trade's return is
pnl / cost; net return is the run's net PnL over the starting capital; the equity curve
is the capital plus the PnL in the order the positions closed, and max drawdown is taken
on it with the risk rule's own ``drawdown``. Profit ratio is the dashboard's: gross
profit / gross loss (None without a loss). The interval of the net return is a percentile
bootstrap over the trades, seeded, so a report is reproducible.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from walltrack.errors import ConfigurationError
from walltrack.trading.risk.drawdown_pause import drawdown

COLUMNS = ("cost_sol", "pnl_sol", "closed_at")


class RunFigures(BaseModel):
    """One line of the report: ``delays["5"]`` or ``baselines["oracle"]["5"]``."""

    model_config = ConfigDict(frozen=True)

    trades: int
    win_rate: float | None
    profit_ratio: float | None
    mean_return: float | None
    median_return: float | None
    net_return: float
    net_return_ci: tuple[float, float]
    max_drawdown: float


def max_drawdown(capital_sol: float, pnl_in_close_order: np.ndarray) -> float:
    """The deepest fall of capital + cumulative PnL below its running peak."""
    equity = capital_sol + np.concatenate(([0.0], np.cumsum(pnl_in_close_order)))
    peaks = np.maximum.accumulate(equity)
    return max((drawdown(float(e), float(p)) for e, p in zip(equity, peaks, strict=True)),
               default=0.0)


def bootstrap_interval(pnl: np.ndarray, capital_sol: float, *, samples: int = 2_000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the net return (sum of resampled trades / capital)."""
    if pnl.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, pnl.size, size=(samples, pnl.size))
    totals = pnl[picks].sum(axis=1) / capital_sol
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(totals, [tail, 1.0 - tail])
    return (float(low), float(high))


def run_figures(closed: pl.DataFrame, capital_sol: float, *, samples: int = 2_000,
                seed: int = 0) -> RunFigures:
    if capital_sol <= 0:
        raise ConfigurationError(f"starting capital {capital_sol} SOL cannot give returns",
                                 hint="set sizing.capital_sol to a positive amount")
    missing = [c for c in COLUMNS if c not in closed.columns]
    if missing:
        raise ConfigurationError(f"closed positions lack the columns {missing}",
                                 hint=f"pass a frame with {', '.join(COLUMNS)}")
    free = closed.filter(pl.col("cost_sol").is_null() | (pl.col("cost_sol") <= 0)).height
    if free:
        raise ConfigurationError(f"{free} closed positions have no positive cost",
                                 hint="a trade's return is pnl / cost: pass the SOL spent")
    trades = closed.sort("closed_at").with_columns(
        ret=pl.col("pnl_sol") / pl.col("cost_sol"))
    pnl = trades["pnl_sol"].to_numpy().astype(np.float64)
    n = trades.height
    if n == 0:
        return RunFigures(trades=0, win_rate=None, profit_ratio=None, mean_return=None,
                          median_return=None, net_return=0.0, net_return_ci=(0.0, 0.0),
                          max_drawdown=0.0)
    gross = trades.select(
        profit=pl.col("pnl_sol").clip(lower_bound=0).sum(),
        loss=(-pl.col("pnl_sol")).clip(lower_bound=0).sum(),
        wins=(pl.col("pnl_sol") > 0).sum(),
        mean=pl.col("ret").mean(), median=pl.col("ret").median()).row(0, named=True)
    return RunFigures(
        trades=n, win_rate=gross["wins"] / n,
        profit_ratio=gross["profit"] / gross["loss"] if gross["loss"] > 0 else None,
        mean_return=gross["mean"], median_return=gross["median"],
        net_return=float(pnl.sum()) / capital_sol,
        net_return_ci=bootstrap_interval(pnl, capital_sol, samples=samples, seed=seed),
        max_drawdown=max_drawdown(capital_sol, pnl))
