"""The README's main command: the whole research pipeline on a simulated market.

No account and no key: a seeded market (``walltrack.simulator``) is served on 127.0.0.1 in
the real APIs' formats and WallTrack's own clients talk to it over HTTP, exactly as they
would talk to Helius, DexScreener, Jupiter and an RPC node. The scheduler's plan is replayed
through the job entry points, one simulated day at a time (``walltrack.lab.replay``): what
is measured here is what an operator leaves running.
The store (embedded by default) keeps the result, so the notebooks show it afterwards.

A store holds the research of one simulated market: running another seed (or size) on it
needs ``fresh=True``, which empties the research tables first (config edits are kept).
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

import polars as pl
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from walltrack.errors import ConfigurationError
from walltrack.lab.evaluation import evaluate_against_truth
from walltrack.lab.replay import ReplayReport, replay_schedule
from walltrack.progress import Progress
from walltrack.settings import Settings
from walltrack.simulator import Market, SimParams, generate_market
from walltrack.simulator.background import SimulatorProcess
from walltrack.simulator.params import ActorParams
from walltrack.store import Database
from walltrack.store.frames import query_frame

MARKET_KEY = "simulator_market"  # a row of `config` naming the market the research is from
RESEARCH_TABLES = (
    "token_snapshots", "tokens", "swaps", "funding_transfers", "wallet_origins",
    "wallet_metrics", "decay_events", "lifecycle_events", "wallet_edges", "cluster_members",
    "clusters", "wallets", "history_cursors",
)
# What a live phase writes: emptied with the research (a store holds one market's run).
LIVE_TABLES = (
    "inbox", "signals", "signal_outcomes", "trade_decisions", "positions", "orders", "trades",
    "risk_state", "risk_events", "alerts", "live_status", "poll_cursors", "token_safety",
    "wallet_copy_modes",
)


class CreditCost(BaseModel):
    """What the research's Helius calls would have cost, against the configured plan."""

    calls: int
    credits: int
    per_day: float  # per simulated day
    plan_per_day: float  # the plan's monthly credits over a 30-day month
    plan_share: float  # per_day / plan_per_day


def add_market_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The options that choose a simulated market (the evaluation scripts share them)."""
    parser.add_argument("--seed", type=int, required=required)
    parser.add_argument("--wallets", type=int, default=5_000)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--clusters", type=int, default=24)
    parser.add_argument("--actors", type=_actor_params, default=None, metavar="JSON",
                        help='the market\'s actors, e.g. \'{"tracker_followers": 30}\' '
                        "(fields of ActorParams; default: its defaults)")


def _actor_params(text: str) -> ActorParams:
    try:
        return ActorParams.model_validate_json(text)
    except PydanticValidationError as exc:
        raise argparse.ArgumentTypeError(f"{exc.errors()[0]['msg']} "
                                         f"(fields of ActorParams, as JSON)") from None


def market_of(args: argparse.Namespace) -> SimParams:
    return SimParams(seed=args.seed, wallets=args.wallets, tokens=args.tokens, days=args.days,
                     clusters=args.clusters, actors=args.actors or ActorParams())


def helius_cost(api_usage: dict[str, dict[str, int]], *, days: int,
                monthly_credits: int) -> CreditCost:
    helius = [u for api, u in api_usage.items() if api.startswith("helius")]
    credits = sum(u["credits"] for u in helius)
    per_day, plan_per_day = credits / max(1, days), monthly_credits / 30
    return CreditCost(calls=sum(u["calls"] for u in helius), credits=credits,
                      per_day=per_day, plan_per_day=plan_per_day,
                      plan_share=per_day / plan_per_day if plan_per_day else 0.0)


class DemoResult(BaseModel):
    params: dict[str, Any]
    accuracy: dict[str, Any]
    stage_seconds: dict[str, float]
    api_usage: dict[str, dict[str, int]]  # the research's calls, priced as the real APIs
    helius_cost: CreditCost
    seconds: float
    top_wallets: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    counts: dict[str, int]


def top_wallets(db: Database, truth: pl.DataFrame, limit: int = 10) -> list[dict[str, Any]]:
    """The best-scored wallets (after decay) with their profile and, from the simulator's
    truth, what they really are."""
    frame = query_frame(
        db, """SELECT w.address AS wallet, w.score, w.status, w.lifecycle, w.on_watchlist,
                      w.cluster_id, m.closed_trades, m.win_rate, m.realized_pnl_sol
               FROM wallets w JOIN wallet_metrics m ON m.wallet = w.address
               WHERE w.status <> 'blacklisted' AND w.score IS NOT NULL
               ORDER BY w.score DESC, w.address LIMIT %s""", (limit,))
    if frame.is_empty():
        return []
    return frame.join(truth.select("wallet", "archetype"), on="wallet", how="left").to_dicts()


def cluster_list(db: Database, limit: int = 8) -> list[dict[str, Any]]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT id, size, leader, mean_score, jsonb_array_length(shared_tokens) "
            "FROM clusters ORDER BY size DESC, id LIMIT %s", (limit,)).fetchall()
    return [dict(zip(["id", "size", "leader", "mean_score", "shared_tokens"], r, strict=True))
            for r in rows]


def research_counts(db: Database) -> dict[str, int]:
    queries = {
        "tokens": "SELECT count(*) FROM tokens",
        "swaps": "SELECT count(*) FROM swaps",
        "funding_transfers": "SELECT count(*) FROM funding_transfers",
        "wallets": "SELECT count(*) FROM wallets",
        "profiled": "SELECT count(*) FROM wallet_metrics WHERE closed_trades > 0",
        "bots_flagged": "SELECT count(*) FROM wallets WHERE is_bot",
        "watchlist": "SELECT count(*) FROM wallets WHERE on_watchlist",
        "clusters": "SELECT count(*) FROM clusters",
    }
    with db.connection() as conn:
        return {k: int(conn.execute(q).fetchone()[0]) for k, q in queries.items()}


def _stored_market(db: Database) -> dict[str, Any] | None:
    with db.connection() as conn:
        row = conn.execute("SELECT value FROM config WHERE key = %s", (MARKET_KEY,)).fetchone()
    return row[0] if row else None


def _live_rows(db: Database) -> int:
    with db.connection() as conn:
        return int(conn.execute("SELECT (SELECT count(*) FROM signals) + "
                                "(SELECT count(*) FROM positions)").fetchone()[0])


def prepare_store(db: Database, params: SimParams, *, fresh: bool) -> None:
    """Refuse to mix two markets' research in one store; empty it when asked to.

    The main command's market is anchored to the wall clock (its live window ends when the
    run starts), so each run's market differs from the last one by its ``start`` only: that
    is the same market re-timed, and the store is emptied for it — the research tables and
    the live side's (inbox, signals, positions, orders, trades, risk state, alerts) alike. A
    store with signals or positions but no simulated market (a real one) is refused."""
    wanted = params.model_dump(mode="json")
    stored = _stored_market(db)
    same_but_start = stored is not None and (
        {k: v for k, v in stored.items() if k != "start"}
        == {k: v for k, v in wanted.items() if k != "start"})
    if stored is not None and stored != wanted and not (fresh or same_but_start):
        raise ConfigurationError(
            f"this store holds research on another simulated market (seed {stored.get('seed')},"
            f" {stored.get('wallets')} wallets)",
            hint="add --fresh to empty the research tables first, or point "
            "WALLTRACK_DATABASE_URL / WALLTRACK_DATA_DIR at another store",
        )
    if stored is None and not fresh and _live_rows(db):
        raise ConfigurationError(
            "this store holds signals or positions that are not from a simulated market",
            hint="point WALLTRACK_DATABASE_URL / WALLTRACK_DATA_DIR at another store for the "
            "main command, or add --fresh to empty this one (research and live tables)")
    retimed = stored is not None and stored != wanted
    with db.connection() as conn:
        if fresh or retimed:
            conn.execute("TRUNCATE " + ", ".join(RESEARCH_TABLES + LIVE_TABLES))
        conn.execute(
            "INSERT INTO config (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (MARKET_KEY, Jsonb(wanted)),
        )


def simulator_settings(settings: Settings, url: str) -> Settings:
    """``settings`` with every API pointed at the simulator at ``url``."""
    # Validated again (not model_copy): URLs and the key become their proper types.
    return Settings.model_validate({
        **settings.model_dump(), "helius_api_url": url, "dexscreener_url": url,
        "jupiter_url": url, "solana_rpc_urls": [f"{url}/rpc"],
        "helius_api_key": "simulator",
    })


def research_on_market(
    settings: Settings, db: Database, params: SimParams, *,
    step: timedelta = timedelta(hours=24), progress: Progress | None = None,
    with_truth: bool = False,
) -> tuple[ReplayReport, Market | None]:
    """Serve the market of ``params`` from a process of its own (the research and the
    server each get an interpreter), replay the scheduler on it from one ``step`` after its
    start to its end (``walltrack.lab.replay``); the replay's report, and — ``with_truth``
    — the market generated here meanwhile (deterministic: the same as the server's)."""
    end = params.start + timedelta(days=params.days)
    with SimulatorProcess(params, start_at=step.total_seconds()) as sim:
        market = generate_market(params) if with_truth else None  # while the child starts
        url = sim.wait_ready()
        report = replay_schedule(simulator_settings(settings, url), db, url, end=end,
                                 step=step, progress=progress)
    return report, market


def run_simulated_research(
    settings: Settings,
    db: Database,
    params: SimParams,
    *,
    step: timedelta = timedelta(hours=24),
    fresh: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    started = time.perf_counter()
    prepare_store(db, params, fresh=fresh)
    report, market = research_on_market(settings, db, params, step=step, progress=progress,
                                        with_truth=True)
    assert market is not None
    accuracy = evaluate_against_truth(db, market)
    return DemoResult(params=params.model_dump(mode="json"), accuracy=accuracy,
                      stage_seconds=report.stage_seconds, api_usage=report.api_usage,
                      helius_cost=helius_cost(
                          report.api_usage, days=params.days,
                          monthly_credits=settings.helius_limits.monthly_credits),
                      seconds=round(time.perf_counter() - started, 2),
                      top_wallets=top_wallets(db, market.truth_wallets),
                      clusters=cluster_list(db), counts=research_counts(db))
