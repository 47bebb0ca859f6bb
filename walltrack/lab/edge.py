"""Does copying pay? A fresh simulated market → research walk-forward → replays → one report.

``python jobs/replay.py --seed N`` runs this. The research is the scheduler's plan replayed
one simulated day at a time (``walltrack.lab.replay``); right after each day's research a
``ResearchSnapshot`` is taken, and the next day's swaps are traded with it — walk-forward,
so no label sees the future. The trading is ``walltrack.trading.backtest``: the live path
on a simulated clock, one store per run. Books:

- ``copier``: WallTrack's watchlist with its scores (the product);
- ``all_discovered``: every wallet the research discovered, copied equally;
- ``random_watchlist``: as many wallets as the watchlist, drawn at random from those;
- ``oracle``: the wallets the simulator's truth calls smart (informed, insider).

each at every delay. With ``sweep`` (the default) the trading days are cut in two: a sweep
of threshold × exit strategy (the copier at ``sweep_delay``) is traded on the first half,
the setting that made the most there is chosen, and everything reported — every book at
every delay, and the configured setting beside the chosen one — is traded with it on the
second half, which no choice saw.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel

from walltrack.lab.cluster_eval import cluster_accuracy
from walltrack.lab.demo import prepare_store, simulator_settings
from walltrack.lab.evaluation import SMART, evaluate_against_truth
from walltrack.lab.main_command import LiveWindow
from walltrack.lab.replay import replay_schedule
from walltrack.models import DynamicConfig
from walltrack.models.trading import ExitRule
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.simulator import SimParams, generate_market
from walltrack.simulator.background import SimulatorProcess
from walltrack.store import Database, open_database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.backtest.history import SwapHistory
from walltrack.trading.backtest.metrics import RunFigures
from walltrack.trading.backtest.replay import (
    Book,
    ResearchSnapshot,
    Window,
    all_discovered_book,
    copier_book,
    fixed_book,
    random_watchlist_book,
    snapshot_research,
    top_scored_book,
)
from walltrack.trading.backtest.runner import RunSpec, figures
from walltrack.trading.backtest.study import (
    DELAYS,
    label,
    replay_runs,
    run_study,
    windows_of,
)

CALIBRATION_DELAYS = (0.0, 5.0, 60.0)
FOLLOW = "follow_1h"
BOOKS = ("copier", "all_discovered", "random_watchlist", "oracle")


class EdgeReport(BaseModel):
    seed: int
    seconds: float
    params: dict[str, Any]
    research: dict[str, Any]
    trading_days: list[str]  # the windows traded, by start
    delays: dict[str, RunFigures]
    baselines: dict[str, dict[str, RunFigures]]
    others: dict[str, dict[str, RunFigures]] = {}  # e.g. the research's top-N by score
    # The market's calibration through the engine: the informed wallets copied by
    # ``follow_config`` (every buy, out with the leader or after 1 h), by delay.
    calibration: dict[str, RunFigures] = {}
    signals: dict[str, dict[str, int]]  # run label → decision → count
    reasons: dict[str, dict[str, int]] = {}  # run label → "side:reason" → count
    sweep: dict[str, Any]
    run_seconds: dict[str, float]
    run_evaluations: dict[str, int]
    research_seconds: float
    replay_seconds: float


def follow_config(config: DynamicConfig) -> DynamicConfig:
    """The calibration's copier (docs/simulator.md "Calibration"), on the engine: every buy
    of its book copied (threshold 0) at 0.5 SOL, sold with the leader (mirror exit) or after
    one hour, with no position cap, pause or loss limit in the way — the rule the market's
    actors are calibrated against, traded through the same path as the product."""
    dump = config.model_dump()
    dump["scoring"].update(threshold=0.0, high_conviction=1.0)
    dump["risk"].update(max_concurrent_positions=100_000, max_drawdown=1.0, halt_win_rate=0.0,
                        starting_capital_sol=100_000.0)
    dump["sizing"].update(risk_per_trade=0.5 / 100_000.0, max_position_sol=0.5,
                          reduced_multiplier=1.0)
    dump["protections"].update(daily_loss_limit=None)
    dump["gates"].update(max_total_exposure_sol=100_000.0, cooldown_seconds=0.0)
    dump["execution"].update(default_strategy=FOLLOW)
    dump["exits"]["strategies"][FOLLOW] = [
        ExitRule(kind="mirror_exit").model_dump(),
        ExitRule(kind="time_stop", params={"max_hours": 1.0}).model_dump()]
    return DynamicConfig.model_validate(dump)


def replay_report(params: SimParams, *, database_url: str | None = None,
                  progress: Progress | None = None, **options: Any) -> EdgeReport:
    """``run_edge`` on a store of its own (an embedded one under a temporary directory, or
    the empty database at ``database_url``): what ``jobs/replay.py`` and a notebook call —
    never the operator's store, whose research tables ``run_edge`` empties."""
    with tempfile.TemporaryDirectory(prefix="walltrack-replay-") as tmp:
        settings = Settings(database_url=database_url, data_dir=Path(tmp))
        with open_database(settings) as db:
            return run_edge(settings, db, params, progress=progress, **options)


def run_edge(settings: Settings, db: Database, params: SimParams, *,
             delays: Sequence[float] = DELAYS, warmup_days: int = 7,
             trade_days: int | None = None,
             latency_seconds: float = 1.0, sweep_delay: float = 5.0, sweep: bool = True,
             top_scored: int | None = None,
             baseline_delays: Sequence[float] | None = None,
             calibration_delays: Sequence[float] = CALIBRATION_DELAYS,
             concurrency: int = 3, progress: Progress | None = None) -> EdgeReport:
    progress = progress or no_progress
    started = time.perf_counter()
    prepare_store(db, params, fresh=True)
    step = timedelta(days=1)
    end = params.start + timedelta(days=params.days)
    snapshots: list[ResearchSnapshot] = []
    with SimulatorProcess(params, start_at=step.total_seconds()) as sim:
        market = generate_market(params)  # the same market, generated while the child starts
        url = sim.wait_ready()
        # The simulator has no rate limits: lift the free plans' throttles for the replay.
        sim_settings = simulator_settings(settings, url).model_copy(update={
            "jupiter_rps": 1000.0, "dexscreener_rps": 1000.0, "rpc_rps": 1000.0})
        replay_schedule(sim_settings, db, url, end=end, step=step, progress=progress,
                        on_tick=lambda now: snapshots.append(snapshot_research(db, now)))
        research_seconds = time.perf_counter() - started
        research = {**evaluate_against_truth(db, market),
                    **cluster_accuracy(db, market.truth_wallets)}
        config = ConfigRepository(db).load()
        windows = windows_of(snapshots, warmup_days=warmup_days, start=params.start,
                             trade_days=trade_days)
        truth = market.truth_wallets
        oracle = truth.filter(pl.col("archetype").is_in(SMART))["wallet"]
        informed = truth.filter(pl.col("archetype") == "informed")["wallet"]
        books: dict[str, Book] = {
            "copier": copier_book, "all_discovered": all_discovered_book,
            "random_watchlist": random_watchlist_book(params.seed),
            "oracle": fixed_book(oracle.to_list())}
        extra = (f"top{top_scored}_scored",) if top_scored else ()
        if top_scored:
            books[extra[0]] = top_scored_book(top_scored)
        follow = follow_config(config)
        calibration = [RunSpec(label(FOLLOW, d), "informed", d, follow)
                       for d in calibration_delays]
        replay_started = time.perf_counter()
        study = run_study(
            sim_settings, db, history=SwapHistory(market.swaps, market.tokens),
            windows=windows, until=end, config=config, books=books, delays=delays,
            baseline_delays=baseline_delays, extra_specs=calibration,
            extra_books={"informed": fixed_book(informed.to_list())},
            latency_seconds=latency_seconds, sol_usd=params.sol_usd, sweep=sweep,
            sweep_delay=sweep_delay, concurrency=concurrency, progress=progress)
        replay_seconds = time.perf_counter() - replay_started
    return EdgeReport(
        seed=params.seed, seconds=round(time.perf_counter() - started, 2),
        params=params.model_dump(mode="json"), research=research,
        trading_days=study.trading_days, delays=study.delays,
        baselines={b: study.books[b] for b in BOOKS[1:]},
        others={b: study.books[b] for b in extra},
        calibration={f"{d:g}": study.extra[label(FOLLOW, d)] for d in calibration_delays},
        signals=study.signals, reasons=study.reasons, sweep=study.sweep,
        run_seconds=study.run_seconds, run_evaluations=study.run_evaluations,
        research_seconds=round(research_seconds, 2), replay_seconds=round(replay_seconds, 2))


LIVE_BASELINE_DELAY = 5.0


def live_baselines(window: LiveWindow, *, delay_seconds: float = LIVE_BASELINE_DELAY,
                   progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """The main command's comparison: its live window replayed for every book at one
    delay, with what the research knew at the window's start.

    The live phase ran with the engine's wall-clock windows compressed for its accelerated
    clock (``live_overrides``); a replay runs at market pace, so those sections are the
    defaults here — the trade threshold the live phase used is kept."""
    assert window.settings is not None, "the window's settings point at the simulator"
    stored = ConfigRepository(window.db).load()
    default = DynamicConfig()
    config = stored.model_copy(update={"signals": default.signals, "gates": default.gates,
                                       "exits": stored.exits.model_copy(update={
                                           "price_interval_seconds":
                                               default.exits.price_interval_seconds})})
    market = window.market
    oracle = market.truth_wallets.filter(pl.col("archetype").is_in(SMART))["wallet"]
    books: dict[str, Book] = {
        "copier (replayed)": copier_book, "all_discovered": all_discovered_book,
        "random_watchlist": random_watchlist_book(window.params.seed),
        "oracle (truth)": fixed_book(oracle.to_list())}
    snapshot = snapshot_research(window.db, window.start)
    specs = [RunSpec(name, name, delay_seconds, config) for name in books]
    results = asyncio.run(replay_runs(
        specs, books=books, windows=[Window(snapshot, window.start, window.end)],
        until=window.end,
        settings=window.settings.model_copy(update={
            "jupiter_rps": 1000.0, "dexscreener_rps": 1000.0, "rpc_rps": 1000.0}),
        db=window.db, history=SwapHistory(market.swaps, market.tokens), config=config,
        latency_seconds=1.0, sol_usd=window.params.sol_usd, concurrency=len(specs),
        progress=progress or no_progress))
    return {name: {"delay_s": delay_seconds,
                   **figures(results[name], window.capital_sol).model_dump()}
            for name in books}
