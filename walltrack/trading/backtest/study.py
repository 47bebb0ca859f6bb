"""One replay study: research snapshots + a swap history → every book at every delay.

The part of a replay that does not care where the swaps and the research came from — a
simulated market (``walltrack.lab.edge``) or an operator's own store
(``walltrack.trading.backtest.store_replay``). With ``sweep`` the trading windows are cut in
two: a threshold × exit-strategy sweep of the copier (at ``sweep_delay``) is traded on the
first half, the setting that made the most there is chosen, and everything reported is
traded with it on the second half, which no choice saw.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from walltrack.clients.usage import UsageMeter
from walltrack.live.token_data import build_token_data
from walltrack.models import DynamicConfig
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.metrics import RunFigures
from walltrack.trading.backtest.replay import Book, ResearchSnapshot, RunResult, Window
from walltrack.trading.backtest.runner import (
    RunSpec,
    choose_setting,
    figures,
    run_many,
    with_setting,
)
from walltrack.trading.backtest.stores import ReplayStores

DELAYS = (0.0, 2.0, 5.0, 15.0, 60.0)
THRESHOLDS = (0.4, 0.5, 0.6, 0.7)
STRATEGIES = ("balanced", "conservative", "runner")
COPIER = "copier"


def windows_of(snapshots: Sequence[ResearchSnapshot], *, warmup_days: int,
               start: datetime, trade_days: int | None = None) -> list[Window]:
    """Each research day's snapshot trades the next day, after ``warmup_days`` — the last
    ``trade_days`` of them when given."""
    first = start + timedelta(days=warmup_days)
    windows = [Window(a, a.at, b.at) for a, b in itertools.pairwise(snapshots)
               if a.at >= first]
    return windows[-trade_days:] if trade_days else windows


def label(book: str, delay: float) -> str:
    return f"{book}@{delay:g}"


def setting_label(threshold: float, strategy: str) -> str:
    return f"threshold {threshold:g}, {strategy}"


@dataclass
class Study:
    """What a study traded, keyed as the report prints it."""

    trading_days: list[str]
    delays: dict[str, RunFigures]  # the copier, by delay
    books: dict[str, dict[str, RunFigures]]  # every other book, by delay
    signals: dict[str, dict[str, int]]
    reasons: dict[str, dict[str, int]]
    sweep: dict[str, Any]
    run_seconds: dict[str, float]
    run_evaluations: dict[str, int]
    extra: dict[str, RunFigures] = field(default_factory=dict)  # label → figures


async def replay_runs(specs: list[RunSpec], *, books: dict[str, Book], windows: list[Window],
                      until: datetime, settings: Settings, db: Database,
                      history: SwapHistory, config: DynamicConfig, latency_seconds: float,
                      sol_usd: float, concurrency: int, progress: Progress
                      ) -> dict[str, RunResult]:
    """``run_many`` with the standing token facts (authorities, holders, sell routes) asked
    of the APIs ``settings`` point at, on trading stores beside ``db``."""
    facts = build_token_data(settings, db, UsageMeter(), lambda: config.safety)
    try:
        with ReplayStores(db.url) as stores:
            return await run_many(specs, books, windows, until=until, stores=stores,
                                  history=history, facts=facts,
                                  latency_seconds=latency_seconds, sol_usd=sol_usd,
                                  concurrency=concurrency, progress=progress)
    finally:
        await facts.aclose()


def run_study(settings: Settings, db: Database, *, history: SwapHistory,
              windows: list[Window], until: datetime, config: DynamicConfig,
              books: dict[str, Book], delays: Sequence[float] = DELAYS,
              baseline_delays: Sequence[float] | None = None,
              extra_specs: Sequence[RunSpec] = (), extra_books: dict[str, Book] | None = None,
              latency_seconds: float = 1.0,
              sol_usd: float, sweep: bool = True, sweep_delay: float = 5.0,
              concurrency: int = 3, progress: Progress | None = None) -> Study:
    """``books`` must hold ``copier``; every other book is a baseline traded at
    ``baseline_delays`` (default ``delays``). ``extra_specs`` (on ``extra_books``, with
    their own configs) run on the test windows too and come back in ``Study.extra``."""
    progress = progress or no_progress
    every = {**books, **(extra_books or {})}

    def run(specs: list[RunSpec], ws: list[Window], end: datetime) -> dict[str, RunResult]:
        return asyncio.run(replay_runs(
            specs, books=every, windows=ws, until=end, settings=settings, db=db,
            history=history, config=config, latency_seconds=latency_seconds,
            sol_usd=sol_usd, concurrency=concurrency, progress=progress))

    capital = config.risk.starting_capital_sol
    train, test = (windows[: len(windows) // 2], windows[len(windows) // 2:]) if sweep \
        else ([], windows)
    chosen_config, sweep_report = config, {}
    if train:
        default = setting_label(config.scoring.threshold, config.execution.default_strategy)
        by_label = {setting_label(t, s): with_setting(config, threshold=t, strategy=s)
                    for t in THRESHOLDS for s in STRATEGIES}
        trained = run([RunSpec(k, COPIER, sweep_delay, c) for k, c in by_label.items()],
                      train, train[-1].end)
        choice = choose_setting(trained, capital, prefer=default)
        chosen_config = by_label[choice.chosen]
        sweep_report = {
            "delay": sweep_delay, "default": default, "chosen": choice.chosen,
            "train_days": [w.start.date().isoformat() for w in train],
            "train": {k: f.model_dump() for k, f in choice.train.items()}}
    around = delays if baseline_delays is None else baseline_delays
    others = [b for b in books if b != COPIER]
    specs = [RunSpec(label(COPIER, d), COPIER, d, chosen_config) for d in delays]
    specs += [RunSpec(label(b, d), b, d, chosen_config) for b in others for d in around]
    if train and chosen_config is not config:  # the default too, judged on the same days
        specs.append(RunSpec("copier_default", COPIER, sweep_delay, config))
    specs += list(extra_specs)
    results = run(specs, test, until)
    per = {spec.label: figures(results[spec.label], spec.config.risk.starting_capital_sol)
           for spec in specs}
    if "copier_default" in per:
        sweep_report["default_test"] = per["copier_default"].model_dump()
    if sweep_report:
        sweep_report["chosen_test"] = per[label(COPIER, sweep_delay)].model_dump() \
            if sweep_delay in delays else None
    return Study(
        trading_days=[w.start.date().isoformat() for w in test],
        delays={f"{d:g}": per[label(COPIER, d)] for d in delays},
        books={b: {f"{d:g}": per[label(b, d)] for d in around} for b in others},
        signals={k: r.signals for k, r in results.items()},
        reasons={k: r.reasons for k, r in results.items()},
        sweep=sweep_report, run_seconds={k: r.seconds for k, r in results.items()},
        run_evaluations={k: r.evaluations for k, r in results.items()},
        extra={s.label: per[s.label] for s in extra_specs})
