"""Many replay runs over the same windows: books × delays × settings, and their figures.

Runs share the history, the research snapshots and the standing token facts; each trades
on a store of its own. They run concurrently (their store round trips overlap each other's
Python), ``concurrency`` at a time.

Parameter sweeps are judged out of sample: a setting is chosen on runs over the train
windows (``choose_setting``) and reported on runs over the test windows that follow, never
on the trades it was chosen by.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from walltrack.models import DynamicConfig
from walltrack.progress import Progress, no_progress
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.history_tokens import StandingFacts
from walltrack.trading.backtest.metrics import RunFigures, run_figures
from walltrack.trading.backtest.replay import Book, ReplayRun, RunResult, Window
from walltrack.trading.backtest.stores import ReplayStores


@dataclass(frozen=True)
class RunSpec:
    label: str  # unique: names the run in the report
    book: str  # a key of the books given to ``run_many``
    delay_seconds: float
    config: DynamicConfig


def with_setting(config: DynamicConfig, *, threshold: float | None = None,
                 strategy: str | None = None) -> DynamicConfig:
    """``config`` with another trade threshold and/or default exit strategy."""
    scoring, execution = config.scoring, config.execution
    if threshold is not None:
        scoring = type(scoring).model_validate({
            **scoring.model_dump(), "threshold": threshold,
            "high_conviction": max(threshold, scoring.high_conviction)})
    if strategy is not None:
        execution = type(execution).model_validate({**execution.model_dump(),
                                                    "default_strategy": strategy})
    return config.model_copy(update={"scoring": scoring, "execution": execution})


async def run_many(specs: Sequence[RunSpec], books: dict[str, Book], windows: Sequence[Window],
                   *, until: datetime, stores: ReplayStores, history: SwapHistory,
                   facts: StandingFacts, latency_seconds: float, sol_usd: float,
                   concurrency: int = 3,
                   progress: Progress | None = None) -> dict[str, RunResult]:
    progress = progress or no_progress
    gate = asyncio.Semaphore(concurrency)
    done: dict[str, RunResult] = {}

    async def one(spec: RunSpec) -> None:
        async with gate:
            url = await asyncio.to_thread(stores.new)
            run = ReplayRun(url, history, facts, spec.config, book=spec.book,
                            watch=books[spec.book], delay_seconds=spec.delay_seconds,
                            latency_seconds=latency_seconds, sol_usd=sol_usd)
            done[spec.label] = await run.run(windows, until=until, progress=progress)
            progress("replay runs", len(done), len(specs))

    progress("replay runs", 0, len(specs))
    await asyncio.gather(*(one(s) for s in specs))
    return {s.label: done[s.label] for s in specs}


def figures(result: RunResult, capital_sol: float, *, opened_from: datetime | None = None,
            opened_before: datetime | None = None) -> RunFigures:
    """The run's figures, over the positions opened in [opened_from, opened_before)."""
    frame = result.positions
    if opened_from is not None:
        frame = frame.filter(pl.col("opened_at") >= opened_from)
    if opened_before is not None:
        frame = frame.filter(pl.col("opened_at") < opened_before)
    return run_figures(frame.filter(pl.col("cost_sol") > 0), capital_sol)


@dataclass(frozen=True)
class SweepChoice:
    chosen: str  # the label of the setting with the best net return on the train windows
    train: dict[str, RunFigures]


def choose_setting(train: dict[str, RunResult], capital_sol: float, *,
                   prefer: str | None = None) -> SweepChoice:
    """The setting whose runs over the train windows made the most; on a tie ``prefer``
    (the configured one), then the first label. It is then judged on runs over the next
    windows, which it was not chosen by."""
    figs = {k: figures(r, capital_sol) for k, r in train.items()}
    chosen = max(sorted(figs), key=lambda k: (figs[k].net_return, k == prefer))
    return SweepChoice(chosen=chosen, train=figs)
