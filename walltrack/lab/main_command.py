"""The README's main command, the whole product on one simulated market (issue 13, item 4):

research → webhook registration → live phase → summary.

1. **Research** (``walltrack.lab.demo``): the scheduler's plan replayed day by day on the
   market's first ``params.days`` days, through the job entry points.
2. **Registration**: ``jobs/sync_webhooks.py`` — the scheduler's job, in a process of its
   own — registers the watchlist the research made with the simulator's Helius API.
3. **Live phase**: a real ``server.py`` (webhook source, paper trading) hears the simulator
   deliver the watched wallets' swaps over HTTP while its clock runs through the
   ``live.hours`` *after* the research's end, accelerated: no research label saw them.
   Signals → entry gates → paper positions (quoted by the simulator's Jupiter) → exits.
4. **Summary** from the store, as the dashboard computes it: signals by decision, trades,
   win rate, PnL realized / unrealized, net return on the starting capital — and, when the
   caller passes ``baselines``, the same figures of other books side by side.

The market is anchored to the wall clock: its live window ends when the run starts, so a
delivered swap's age is real and never negative. The accelerated clock stretches the
engine's wall-clock windows, so the live phase runs with a few config sections adjusted
(:func:`live_overrides`) and put back afterwards. Every child (simulator, server, job) is
stopped when the run ends, on an error or Ctrl-C too.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from walltrack.errors import WallTrackError
from walltrack.lab.demo import (
    DemoResult,
    cluster_list,
    helius_cost,
    prepare_store,
    research_counts,
    simulator_settings,
    top_wallets,
)
from walltrack.lab.evaluation import evaluate_against_truth
from walltrack.lab.live import (
    ServerProcess,
    free_port,
    live_env,
    live_secrets,
    merged_config,
    sync_webhooks_job,
    wait_for,
)
from walltrack.lab.replay import replay_schedule
from walltrack.live.webhook_sync import watchlist_addresses
from walltrack.logging import get_logger
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.simulator import Market, SimParams, generate_market
from walltrack.simulator.background import SimulatorProcess
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.ui.dashboard_view import kpis

log = get_logger(__name__)

# The main command's sizes. quick: research ≈ 75 s on 2 cores, top-50 precision 0.82 and
# cluster pairwise F1 1.0 on seed 7 (docs/benchmarks.md, "Main command"); full: the
# evaluation market of docs/research.md.
SIZES: dict[str, SimParams] = {
    "quick": SimParams(wallets=3_000, tokens=160, days=20, clusters=14),
    "full": SimParams(),
}
TAIL_DAYS = 2


class LivePlan(BaseModel):
    hours: float = Field(default=24.0, gt=0, le=24 * 7)  # market time after the research
    wall_seconds: float = Field(default=45.0, gt=0)  # how long delivering it takes
    step_seconds: float = Field(default=180.0, gt=0)  # simulated seconds per advance
    drain_seconds: float = Field(default=30.0, ge=0)  # at most, after the last advance

    @property
    def acceleration(self) -> float:
        return self.hours * 3600 / self.wall_seconds


@dataclass(frozen=True)
class LiveWindow:
    """What a baseline needs to replay the live window: the store (the research's
    watchlist and discovered wallets, the window's swaps are the simulator's), the market
    and its truth, the window in market time, the watched wallets and the capital."""

    db: Database
    params: SimParams
    market: Market
    start: datetime
    end: datetime
    watched: tuple[str, ...]
    capital_sol: float
    settings: Settings | None = None  # the APIs pointed at the simulator (still serving)


# book name → figures (trades, win_rate, net_return, …), printed beside WallTrack's own.
Baselines = Callable[[LiveWindow], Mapping[str, Mapping[str, Any]]]


class Registration(BaseModel):
    summary: str  # the job's own line (never a secret)
    addresses: int
    webhooks: int


class LiveSummary(BaseModel):
    window_start: datetime
    window_end: datetime
    sim_hours: float
    wall_seconds: float
    acceleration: float
    watched_wallets: int
    deliveries: int  # webhook POSTs the simulator made
    inbox: int  # transactions the server stored
    signals: int
    signals_by_decision: dict[str, int]
    trade_actions: dict[str, int]  # trade_decisions.action → count
    positions_opened: int
    open_positions: int
    closed_positions: int
    trades: int  # closed positions (a baseline's trades are its closed positions too)
    fills: int  # rows of `trades`: every entry and exit fill
    wins: int
    win_rate: float | None
    realized_pnl_sol: float
    unrealized_pnl_sol: float
    capital_sol: float
    net_pnl_sol: float
    net_return: float  # net PnL (realized + unrealized) / starting capital
    overrides: dict[str, dict[str, Any]]
    baselines: dict[str, dict[str, Any]] | None = None


class MainResult(BaseModel):
    research: DemoResult
    registration: Registration
    live: LiveSummary
    stage_seconds: dict[str, float]  # research, registration, live phase, summary
    seconds: float


def market_params(size: SimParams, plan: LivePlan, *, now: float | None = None) -> SimParams:
    """``size`` lengthened by the live window and anchored so the window ends at ``now``:
    the research sees days [0, size.days), the live phase the ``plan.hours`` after."""
    # The market goes on TAIL_DAYS past the window (never served): a market's last day is
    # quiet for the informed wallets (they buy into future runners), the window must not be.
    live_days = math.ceil(plan.hours / 24)
    end = int(time.time() if now is None else now) - 1
    start = datetime.fromtimestamp(end - size.days * 86_400 - plan.hours * 3600, UTC)
    return size.model_copy(update={"days": size.days + live_days + TAIL_DAYS, "start": start})


DEMO_THRESHOLD = 0.5  # the trade threshold of the live phase, at most


def live_overrides(plan: LivePlan, *, oldest_age_seconds: float,
                   threshold: float = 0.70) -> dict[str, dict[str, Any]]:
    """Config for the accelerated clock: the engine's windows are wall-clock seconds, the
    market runs ``plan.acceleration`` times faster. Paper mode whatever the store says.

    The trade threshold is lowered to :data:`DEMO_THRESHOLD` (never raised): an informed
    wallet outside any cluster scores ≈ 0.45–0.55 on the simulator (cluster factor 0.3),
    so the default 0.70 would log every signal of a short window and trade none."""
    with_margin = oldest_age_seconds + plan.wall_seconds + plan.drain_seconds + 600
    a = plan.acceleration
    return {
        # Every swap of the window happened before the run: its age is the anchoring's.
        "signals": {"stale_after_seconds": round(with_margin)},
        "gates": {"cooldown_seconds": round(1800.0 / a, 2),
                  "confirmation_window_seconds": round(300.0 / a, 2)},
        "exits": {"price_interval_seconds": 1.0},
        "scoring": {"threshold": min(threshold, DEMO_THRESHOLD)},
        "execution": {"mode": "paper", "confirm_poll_seconds": 0.1},
    }


def _scalar(db: Database, query: str, *params: Any) -> Any:
    with db.connection() as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _counts(db: Database, query: str) -> dict[str, int]:
    with db.connection() as conn:
        return {str(k): int(v) for k, v in conn.execute(query).fetchall()}


def _sim_state(sim_url: str) -> dict[str, Any]:
    response = httpx.get(sim_url + "/sim/state", timeout=30)
    response.raise_for_status()
    state: dict[str, Any] = response.json()
    return state


def summarize(db: Database, *, window: LiveWindow, plan: LivePlan, wall_seconds: float,
              deliveries: int, overrides: dict[str, dict[str, Any]],
              baselines: Baselines | None = None) -> LiveSummary:
    """The live phase's figures from the store (the dashboard's own KPIs), and the
    ``baselines``' books when given: ``baselines(window)`` → book name → figures."""
    config = ConfigRepository(db).load()
    k = kpis(db, datetime.now(UTC), config)
    net = k.realized_all_sol + k.unrealized_sol
    books = None
    if baselines is not None:
        books = {name: dict(figures) for name, figures in baselines(window).items()}
    return LiveSummary(
        window_start=window.start, window_end=window.end, sim_hours=plan.hours,
        wall_seconds=round(wall_seconds, 1), acceleration=round(plan.acceleration, 1),
        watched_wallets=len(window.watched), deliveries=deliveries,
        inbox=int(_scalar(db, "SELECT count(*) FROM inbox")),
        signals=int(_scalar(db, "SELECT count(*) FROM signals")),
        signals_by_decision=_counts(
            db, "SELECT decision, count(*) FROM signals GROUP BY decision ORDER BY decision"),
        trade_actions=_counts(
            db, "SELECT action, count(*) FROM trade_decisions GROUP BY action ORDER BY action"),
        positions_opened=int(_scalar(db, "SELECT count(*) FROM positions")),
        open_positions=k.open_positions, closed_positions=k.closed_positions,
        trades=k.closed_positions, fills=k.trades_all, wins=k.wins, win_rate=k.win_rate,
        realized_pnl_sol=k.realized_all_sol, unrealized_pnl_sol=k.unrealized_sol,
        capital_sol=k.capital_sol, net_pnl_sol=net, net_return=net / k.capital_sol,
        overrides=overrides, baselines=books)


def _live_progress(db: Database, progress: Progress) -> Callable[[], None]:
    last = {"signals": -1, "positions": -1, "closed": -1}

    def report() -> None:
        with db.connection() as conn:
            signals, eligible = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE decision = 'eligible') FROM signals"
            ).fetchone()
            opened, closed = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM positions"
            ).fetchone()
        if signals != last["signals"]:
            progress(f"signals (eligible {eligible})", int(signals), 0)
        if opened != last["positions"] or closed != last["closed"]:
            progress(f"paper positions (closed {closed})", int(opened), 0)
        last.update(signals=int(signals), positions=int(opened), closed=int(closed))

    return report


def _drained(db: Database, previous: list[int]) -> bool:
    """Nothing pending in the inbox, no order in flight, and the signal count still."""
    with db.connection() as conn:
        pending, signals, busy = conn.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending'), "
            "(SELECT count(*) FROM signals), "
            "(SELECT count(*) FROM positions WHERE status IN ('opening', 'closing'))"
        ).fetchone()
    still = previous == [int(signals)]
    previous[:] = [int(signals)]
    return bool(pending == 0 and busy == 0 and still)


def run_live_phase(db: Database, sim_url: str, server: ServerProcess, plan: LivePlan, *,
                   progress: Progress) -> tuple[float, int]:
    """Move the simulator's clock through the live window, paced to ``plan.wall_seconds``;
    its webhooks deliver the watched wallets' swaps to ``server`` meanwhile. Returns the
    wall seconds it took and the deliveries sent."""
    started = time.monotonic()
    steps = max(1, math.ceil(plan.hours * 3600 / plan.step_seconds))
    pause = plan.wall_seconds / steps
    seen = _live_progress(db, progress)
    total_minutes = round(plan.hours * 60)
    last_look = 0.0
    with httpx.Client(base_url=sim_url, timeout=30) as client:
        paced = time.monotonic()
        left = plan.hours * 3600
        for _step in range(steps):
            seconds = min(plan.step_seconds, left)
            client.post("/sim/advance", json={"seconds": seconds}).raise_for_status()
            left -= seconds
            progress("live phase, simulated minutes", round((plan.hours * 3600 - left) / 60),
                     total_minutes)
            if time.monotonic() - last_look >= 2.0:
                if not server.alive():
                    raise WallTrackError("server.py stopped during the live phase",
                                         hint="its output:\n" + server.log_tail())
                seen()
                last_look = time.monotonic()
            paced += pause  # on a deadline: a slow step does not stretch the run
            time.sleep(max(0.0, paced - time.monotonic()))
    previous: list[int] = []
    time.sleep(0.5)  # the simulator's deliverer ticks every 0.2 s
    wait_for(lambda: _drained(db, previous), plan.drain_seconds, every=1.0)
    seen()
    return time.monotonic() - started, int(_sim_state(sim_url)["deliveries_sent"])


def run_main(settings: Settings, db: Database, size: SimParams, *, plan: LivePlan | None = None,
             fresh: bool = False, progress: Progress | None = None,
             baselines: Baselines | None = None,
             on_research: Callable[[DemoResult], None] | None = None,
             on_registration: Callable[[Registration], None] | None = None) -> MainResult:
    """Research on ``size``'s market, register the watchlist, run the live phase, summarize.

    ``baselines`` — the seam for the replayed books (walltrack/trading/backtest): called once
    after the live phase with the :class:`LiveWindow`, it returns book name → figures
    (``trades``, ``win_rate``, ``net_return``, anything else printable); the summary keeps
    them in ``live.baselines`` and the CLI prints them beside WallTrack's own figures.
    ``None`` (the default) leaves the comparison out.
    ``on_research`` / ``on_registration`` see each stage's result as soon as it is done
    (the CLI prints them while the run goes on).
    """
    plan = plan or LivePlan()
    progress = progress or no_progress
    started = time.perf_counter()
    params = market_params(size, plan)
    research_end = params.start + timedelta(days=size.days)
    window_end = research_end + timedelta(hours=plan.hours)
    prepare_store(db, params, fresh=fresh)
    step = timedelta(hours=24)
    stages: dict[str, float] = {}
    with SimulatorProcess(params, start_at=step.total_seconds()) as sim, \
            tempfile.TemporaryDirectory(prefix="walltrack-run-") as tmp:
        market = generate_market(params)  # the truth, while the child starts
        sim_url = sim.wait_ready()
        report = replay_schedule(simulator_settings(settings, sim_url), db, sim_url,
                                 end=research_end, step=step, progress=progress)
        research = DemoResult(
            params=size.model_dump(mode="json") | {"live_hours": plan.hours},
            accuracy=evaluate_against_truth(db, market), stage_seconds=report.stage_seconds,
            api_usage=report.api_usage,
            helius_cost=helius_cost(report.api_usage, days=size.days,
                                    monthly_credits=settings.helius_limits.monthly_credits),
            seconds=round(time.perf_counter() - started, 2),
            top_wallets=top_wallets(db, market.truth_wallets), clusters=cluster_list(db),
            counts=research_counts(db))
        stages["research"] = research.seconds
        if on_research:
            on_research(research)

        mark = time.perf_counter()
        watched = tuple(watchlist_addresses(db))
        port = free_port()
        env = live_env(db_url=db.url, sim_url=sim_url, data_dir=Path(tmp) / "data",
                       port=port, keys=live_secrets(),
                       log_level="WARNING" if settings.log_level.upper() != "DEBUG"
                       else "DEBUG")
        overrides = live_overrides(
            plan, oldest_age_seconds=time.time() - research_end.timestamp(),
            threshold=ConfigRepository(db).load().scoring.threshold)
        with merged_config(db, overrides), ServerProcess(env, port) as server:
            line = sync_webhooks_job(env)  # while the server starts
            server.wait_ready()
            state = _sim_state(sim_url)
            registration = Registration(summary=line, addresses=len(watched),
                                        webhooks=int(state.get("webhooks", 0)))
            stages["registration"] = round(time.perf_counter() - mark, 2)
            if on_registration:
                on_registration(registration)
            mark = time.perf_counter()
            wall, deliveries = run_live_phase(db, sim_url, server, plan, progress=progress)
            server.stop()  # the figures below are final: nothing trades any more
            stages["live phase"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            window = LiveWindow(db=db, params=params, market=market, start=research_end,
                                end=window_end, watched=watched,
                                capital_sol=ConfigRepository(db).load().risk.starting_capital_sol,
                                settings=simulator_settings(settings, sim_url))
            live = summarize(db, window=window, plan=plan, wall_seconds=wall,
                             deliveries=deliveries, overrides=overrides, baselines=baselines)
        stages["summary"] = round(time.perf_counter() - mark, 2)
    seconds = round(time.perf_counter() - started, 2)
    log.info("main_run_done", seconds=seconds, signals=live.signals,
             positions=live.positions_opened, **{k.replace(" ", "_"): v
                                                 for k, v in stages.items()})
    return MainResult(research=research, registration=registration, live=live,
                      stage_seconds=stages, seconds=seconds)
