"""The operator's dashboard (notebooks/dashboard.py): is it running, is it making money,
what did it do and why, is anything wrong. Reads only.

Each part is one function ``(db, now, config) -> model | frame`` listed in :data:`VIEWS`;
:func:`dashboard_snapshot` runs them all for one refresh (config read once) and keeps how
long each took. The store aggregates (daily/hourly buckets, ``LIMIT`` for the "latest"
tables): no part reads a whole table into Python.

Figures and where they come from:

- **Equity** = starting capital + realized PnL of every fill + open positions at their last
  stored price against their remaining cost — the rule of ``TradingEngine.equity_sol``,
  computed here in one query (``tests/ui/test_dashboard_view.py`` checks both agree).
- **Realized PnL** (today, 7 d, all) sums the fills' ``pnl_sol`` by execution time, so a
  partial exit of a still-open position counts on the day it was sold.
- **Win rate** and **profit ratio** (gross profit / gross loss) are over closed positions;
  a win is ``realized_pnl_sol > 0`` (as in ``walltrack.trading.performance``).
- **Drawdown** = 1 − equity / peak, the peak being the risk state's peak (what the drawdown
  pause reads) or today's equity when higher.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import polars as pl

from walltrack.app.api import live_figures
from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig, Position, utcnow
from walltrack.models.config import JobIntervals
from walltrack.scheduling import scheduler_plan
from walltrack.store import Database
from walltrack.store.frames import UTC_US, query_frame
from walltrack.store.repositories import (
    ConfigRepository,
    JobRunRepository,
    PositionRepository,
    RiskStateRepository,
)
from walltrack.store.trading_store import OPEN_STATUSES
from walltrack.trading.performance import wallet_performance
from walltrack.trading.risk import ProtectionState
from walltrack.trading.risk.drawdown_pause import drawdown
from walltrack.ui.dashboard_exits import armed_rules, plan_text

log = get_logger(__name__)

FACTORS = ("wallet", "cluster", "token", "context")
DEFAULT_EXPLORER = "/?file=explorer.py"  # `marimo run notebooks/`: the explorer beside it
SIGNAL_DAYS = 30
LATEST_SIGNALS = 100
LATEST_TRADES = 200
LATEST_ALERTS = 100

STALENESS_COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828",
                    "neutral": "#9e9e9e"}
LEVEL_COLORS = {"info": "#1565c0", "warning": "#f9a825", "critical": "#c62828"}


# --- the models the notebook shows ------------------------------------------------------------

class StatusBar(DomainModel):
    """Is it running: mode, trading state, signal sources, inbox, alerts waiting."""

    mode: str
    trading: str  # running | paused | halted
    reason: str | None = None
    risk_updated_at: datetime | None = None
    webhooks: str
    webhook_delivery_age_s: float | None = None
    polling: str
    polling_delivery_age_s: float | None = None
    deadman: str | None = None
    inbox_pending: int = 0
    inbox_parked: int = 0
    oldest_pending_s: float | None = None
    unacknowledged_alerts: int = 0
    critical_alerts: int = 0


class Kpis(DomainModel):
    """Is it making money (SOL)."""

    capital_sol: float
    equity_sol: float
    peak_equity_sol: float
    drawdown: float
    realized_today_sol: float = 0.0
    realized_7d_sol: float = 0.0
    realized_all_sol: float = 0.0
    unrealized_sol: float = 0.0
    open_cost_sol: float = 0.0
    open_positions: int = 0
    closed_positions: int = 0
    wins: int = 0
    win_rate: float | None = None
    gross_profit_sol: float = 0.0
    gross_loss_sol: float = 0.0
    profit_ratio: float | None = None  # None: no loss yet (or nothing closed)
    trades_all: int = 0
    trades_today: int = 0


class Stat(DomainModel):
    """One ``mo.stat`` (label, value, caption, direction)."""

    label: str
    value: str
    caption: str | None = None
    direction: str | None = None  # increase | decrease | None


# --- formatting ----------------------------------------------------------------------------

def ago(seconds: float | None) -> str:
    """A short age: ``12 s``, ``5 min``, ``3.2 h``, ``2.0 d`` (``never`` for None)."""
    if seconds is None:
        return "never"
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:.1f} d"


def sol(value: float) -> str:
    return f"{value:+.4f} SOL"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def explorer_link(kind: str, item_id: str | None, base: str = DEFAULT_EXPLORER) -> str | None:
    """The explorer's URL for one signal/position/trade (it reads ``?<kind>=<id>``)."""
    if not item_id:
        return None
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{kind}={item_id}"


def _link_column(kind: str, column: str, base: str) -> pl.Expr:
    joiner = "&" if "?" in base else "?"
    return (pl.lit(f"{base}{joiner}{kind}=") + pl.col(column)).alias("explore")


def _age_s(now: datetime, column: str) -> pl.Expr:
    return ((pl.lit(now, dtype=UTC_US) - pl.col(column)).dt.total_microseconds() / 1e6)


# --- status bar ---------------------------------------------------------------------------

_LIVE_STATUS_SQL = """
SELECT key, value, updated_at FROM live_status WHERE key IN ('webhooks', 'polling', 'deadman')
"""
_ALERT_COUNTS_SQL = """
SELECT count(*) FILTER (WHERE NOT acknowledged),
       count(*) FILTER (WHERE NOT acknowledged AND level = 'critical')
FROM alerts
"""


def _seconds_between(now: datetime, then: Any) -> float | None:
    if then is None:
        return None
    at = datetime.fromisoformat(then) if isinstance(then, str) else then
    return (now - at).total_seconds()


def trading_state(row: Any) -> tuple[str, str | None]:
    """(running | paused | halted, the locks' reasons) from the stored risk row, read the
    way the engine rebuilds it (``ProtectionState.from_risk_state``)."""
    if row is None:
        return "running", None
    state = ProtectionState.from_risk_state(row, last_reset_at=row.last_reset_at)
    reasons = "; ".join(f"{lock.kind.value}: {lock.reason}" for lock in state.locks) or None
    if state.halted:
        return "halted", reasons
    if state.paused:
        return "paused", reasons
    return "running", reasons


def status_bar(db: Database, now: datetime, config: DynamicConfig) -> StatusBar:
    risk = RiskStateRepository(db).get("global")
    trading, reason = trading_state(risk)
    figures = live_figures(db)
    with db.connection() as conn:
        live = {r[0]: (dict(r[1]), r[2]) for r in conn.execute(_LIVE_STATUS_SQL).fetchall()}
        counts = conn.execute(_ALERT_COUNTS_SQL).fetchone()
    webhook_age = _seconds_between(now, figures["last_webhook_delivery"])
    polling_age = _seconds_between(now, figures["last_polling_delivery"])
    hooks = live.get("webhooks")
    if hooks is None:
        webhooks = "never synced"
    else:
        value, _ = hooks
        synced = ago(_seconds_between(now, value.get("last_sync_at")))
        webhooks = (f"sync failed {synced} ago: {value.get('error')}"
                    if value.get("outcome") == "failed"
                    else f"synced {synced} ago, {value.get('addresses') or 0} addresses")
    poll = live.get("polling")
    if poll is None:
        polling = "no round yet"
    else:
        value, updated = poll
        polling = (f"last round {ago(_seconds_between(now, updated))} ago, "
                   f"{value.get('wallets', 0)} wallets, {value.get('accepted', 0)} new")
    dead = live.get("deadman")
    deadman = None
    if dead is not None:
        value = dead[0]
        deadman = f"{value.get('state')}: {value.get('reason')}"
    assert counts is not None
    return StatusBar(
        mode=config.execution.mode.value, trading=trading, reason=reason,
        risk_updated_at=risk.updated_at if risk else None, webhooks=webhooks,
        webhook_delivery_age_s=webhook_age, polling=polling,
        polling_delivery_age_s=polling_age, deadman=deadman,
        inbox_pending=figures["inbox_pending"], inbox_parked=figures["inbox_parked"],
        oldest_pending_s=figures["oldest_pending_seconds"],
        unacknowledged_alerts=int(counts[0]), critical_alerts=int(counts[1]))


def _delivery(age_s: float | None) -> str:
    return "no delivery yet" if age_s is None else f"last delivery {ago(age_s)} ago"


def status_items(status: StatusBar) -> list[Stat]:
    return [
        Stat(label="Mode", value=status.mode),
        Stat(label="Trading", value=status.trading, caption=status.reason,
             direction="decrease" if status.trading != "running" else None),
        Stat(label="Webhooks", value=_delivery(status.webhook_delivery_age_s),
             caption=status.webhooks),
        Stat(label="Polling", value=_delivery(status.polling_delivery_age_s),
             caption=status.polling),
        Stat(label="Inbox backlog", value=f"{status.inbox_pending:,}",
             caption=(f"oldest {ago(status.oldest_pending_s)}, " if status.oldest_pending_s
                      is not None else "") + f"{status.inbox_parked:,} parked"),
        Stat(label="Unacknowledged alerts", value=f"{status.unacknowledged_alerts:,}",
             caption=f"{status.critical_alerts:,} critical"),
        *([Stat(label="Deadman", value=status.deadman)] if status.deadman else []),
    ]


def job_intervals(intervals: JobIntervals) -> dict[str, int]:
    """Minutes between runs of each scheduled job (a chain's followers share its head's)."""
    return {job: chain.minutes for chain in scheduler_plan(intervals, webhooks=True)
            for job in chain.jobs}


JOBS_SCHEMA = {"job": pl.String, "outcome": pl.String, "started_at": UTC_US,
               "finished_at": UTC_US, "message": pl.String}


def job_table(db: Database, now: datetime, config: DynamicConfig) -> pl.DataFrame:
    """Each job's last run with its staleness: ``green`` within its interval, ``amber``
    within twice, ``red`` beyond or failed; ``neutral`` for a job without an interval."""
    runs = JobRunRepository(db).last_runs()
    frame = pl.DataFrame([{"job": r.job, "outcome": r.outcome.value, "started_at": r.started_at,
                           "finished_at": r.finished_at, "message": r.message} for r in runs],
                         schema=JOBS_SCHEMA)
    intervals = job_intervals(config.jobs)
    age_min = _age_s(now, "last_at") / 60
    return (
        frame
        .with_columns(pl.coalesce("finished_at", "started_at").alias("last_at"),
                      pl.col("job").replace_strict(intervals, default=None,
                                                   return_dtype=pl.Int64).alias("every_min"))
        .with_columns(age_min.round(1).alias("age_min"))
        .with_columns(
            pl.when(pl.col("outcome") == "failed").then(pl.lit("red"))
            .when(pl.col("every_min").is_null()).then(pl.lit("neutral"))
            .when(pl.col("age_min") <= pl.col("every_min")).then(pl.lit("green"))
            .when(pl.col("age_min") <= 2 * pl.col("every_min")).then(pl.lit("amber"))
            .otherwise(pl.lit("red")).alias("staleness"))
        .select("job", "staleness", "outcome", "last_at", "age_min", "every_min", "message")
        .sort("job")
    )


# --- KPIs ---------------------------------------------------------------------------------

_KPI_SQL = f"""
WITH t AS (SELECT %s::timestamptz AS now, date_trunc('day', %s::timestamptz, 'UTC') AS day),
tr AS (
  SELECT coalesce(sum(pnl_sol), 0) AS realized_all,
         coalesce(sum(pnl_sol) FILTER (WHERE executed_at >= t.day
                                         AND executed_at <= t.now), 0) AS realized_today,
         coalesce(sum(pnl_sol) FILTER (WHERE executed_at > t.now - interval '7 days'
                                         AND executed_at <= t.now), 0) AS realized_7d,
         count(*) AS trades_all,
         count(*) FILTER (WHERE executed_at >= t.day AND executed_at <= t.now) AS trades_today
  FROM trades CROSS JOIN t),
po AS (
  SELECT count(*) FILTER (WHERE status = 'closed') AS closed,
         count(*) FILTER (WHERE status = 'closed' AND realized_pnl_sol > 0) AS wins,
         coalesce(sum(realized_pnl_sol) FILTER (WHERE status = 'closed'
                                                  AND realized_pnl_sol > 0), 0) AS gross_profit,
         coalesce(-sum(realized_pnl_sol) FILTER (WHERE status = 'closed'
                                                   AND realized_pnl_sol < 0), 0) AS gross_loss,
         count(*) FILTER (WHERE status IN {OPEN_STATUSES!r}) AS open,
         -- TradingEngine.equity_sol: remaining tokens at the last price − their share of cost
         coalesce(sum(remaining_tokens * last_price_sol
                      - cost_sol * remaining_tokens / token_amount)
                  FILTER (WHERE status IN {OPEN_STATUSES!r} AND token_amount > 0
                            AND last_price_sol IS NOT NULL), 0) AS unrealized,
         coalesce(sum(cost_sol * remaining_tokens / token_amount)
                  FILTER (WHERE status IN {OPEN_STATUSES!r} AND token_amount > 0), 0)
           AS open_cost
  FROM positions)
SELECT * FROM tr, po
"""


def kpis(db: Database, now: datetime, config: DynamicConfig) -> Kpis:
    with db.connection() as conn:
        row = conn.execute(_KPI_SQL, (now, now)).fetchone()
    assert row is not None
    (realized_all, realized_today, realized_7d, trades_all, trades_today, closed, wins,
     gross_profit, gross_loss, open_count, unrealized, open_cost) = row
    capital = config.risk.starting_capital_sol
    equity = max(0.0, capital + float(realized_all) + float(unrealized))
    risk = RiskStateRepository(db).get("global")
    peak = max(risk.peak_equity_sol if risk else capital, equity)
    return Kpis(
        capital_sol=capital, equity_sol=equity, peak_equity_sol=peak,
        drawdown=drawdown(equity, peak), realized_today_sol=float(realized_today),
        realized_7d_sol=float(realized_7d), realized_all_sol=float(realized_all),
        unrealized_sol=float(unrealized), open_cost_sol=float(open_cost),
        open_positions=int(open_count), closed_positions=int(closed), wins=int(wins),
        win_rate=int(wins) / int(closed) if closed else None,
        gross_profit_sol=float(gross_profit), gross_loss_sol=float(gross_loss),
        profit_ratio=float(gross_profit) / float(gross_loss) if gross_loss else None,
        trades_all=int(trades_all), trades_today=int(trades_today))


def _signed(value: float) -> str | None:
    return "increase" if value > 0 else "decrease" if value < 0 else None


def kpi_items(k: Kpis) -> list[Stat]:
    """The KPI tiles, labelled as the end-to-end tests read them."""
    ratio = ("—" if k.profit_ratio is None and not k.gross_profit_sol
             else "∞" if k.profit_ratio is None else f"{k.profit_ratio:.2f}")
    return [
        Stat(label="Equity", value=f"{k.equity_sol:.4f} SOL",
             caption=f"capital {k.capital_sol:g} SOL", direction=_signed(k.equity_sol
                                                                         - k.capital_sol)),
        Stat(label="Realized PnL", value=sol(k.realized_all_sol), caption="all time",
             direction=_signed(k.realized_all_sol)),
        Stat(label="Realized PnL (today)", value=sol(k.realized_today_sol),
             caption="since 00:00 UTC", direction=_signed(k.realized_today_sol)),
        Stat(label="Realized PnL (7 d)", value=sol(k.realized_7d_sol), caption="last 7 d",
             direction=_signed(k.realized_7d_sol)),
        Stat(label="Unrealized PnL", value=sol(k.unrealized_sol),
             caption=f"on {k.open_cost_sol:.4f} SOL open", direction=_signed(k.unrealized_sol)),
        Stat(label="Win rate", value=percent(k.win_rate),
             caption=f"{k.wins} of {k.closed_positions} closed"),
        Stat(label="Profit ratio", value=ratio,
             caption=f"{k.gross_profit_sol:.4f} / {k.gross_loss_sol:.4f} SOL"),
        Stat(label="Open positions", value=str(k.open_positions)),
        Stat(label="Drawdown", value=percent(k.drawdown),
             caption=f"peak {k.peak_equity_sol:.4f} SOL",
             direction="decrease" if k.drawdown > 0 else None),
        Stat(label="Trades", value=f"{k.trades_all:,}", caption=f"{k.trades_today:,} today"),
    ]


# --- charts' data -----------------------------------------------------------------------------

_HOURLY_PNL_SQL = """
SELECT date_trunc('hour', executed_at, 'UTC') AS at, sum(pnl_sol) AS pnl_sol, count(*) AS fills
FROM trades WHERE pnl_sol IS NOT NULL AND executed_at <= %s GROUP BY 1 ORDER BY 1
"""
HOURLY_SCHEMA = {"at": UTC_US, "pnl_sol": pl.Float64, "fills": pl.Int64}


def hourly_pnl(db: Database, now: datetime, config: DynamicConfig) -> pl.DataFrame:
    """Realized PnL per UTC hour (the equity curve and the daily bars derive from it)."""
    return query_frame(db, _HOURLY_PNL_SQL, (now,), schema=HOURLY_SCHEMA)


def equity_curve(hourly: pl.DataFrame, kpi: Kpis, now: datetime) -> pl.DataFrame:
    """Equity after each hour's realized PnL, then now with the open positions at their
    last price; its running peak and drawdown. Starts at the capital."""
    capital = kpi.capital_sol
    points = pl.concat([
        pl.DataFrame({"at": [hourly["at"].min() if hourly.height else now],
                      "equity_sol": [capital]}, schema={"at": UTC_US, "equity_sol": pl.Float64}),
        hourly.select("at", (capital + pl.col("pnl_sol").cum_sum()).alias("equity_sol")),
        pl.DataFrame({"at": [now], "equity_sol": [kpi.equity_sol]},
                     schema={"at": UTC_US, "equity_sol": pl.Float64}),
    ])
    return points.with_columns(pl.col("equity_sol").cum_max().alias("peak_sol")).with_columns(
        pl.when(pl.col("peak_sol") > 0)
        .then((1 - pl.col("equity_sol") / pl.col("peak_sol")).clip(lower_bound=0))
        .otherwise(0.0).alias("drawdown"))


def daily_pnl(hourly: pl.DataFrame) -> pl.DataFrame:
    """Realized PnL per UTC day."""
    return (hourly.group_by(pl.col("at").dt.truncate("1d").alias("day"))
            .agg(pl.col("pnl_sol").sum(), pl.col("fills").sum())
            .sort("day")
            .with_columns(pl.when(pl.col("pnl_sol") >= 0).then(pl.lit("gain"))
                          .otherwise(pl.lit("loss")).alias("sign")))


_SIGNALS_PER_DAY_SQL = """
SELECT date_trunc('day', s.observed_at, 'UTC') AS day,
       s.decision || coalesce(' → ' || d.action, '') AS outcome, count(*) AS signals
FROM signals s LEFT JOIN trade_decisions d ON d.signal_id = s.id
WHERE s.observed_at > %s::timestamptz - make_interval(days => %s) AND s.observed_at <= %s
GROUP BY 1, 2 ORDER BY 1, 2
"""
SIGNALS_PER_DAY_SCHEMA = {"day": UTC_US, "outcome": pl.String, "signals": pl.Int64}


def signals_per_day(db: Database, now: datetime, config: DynamicConfig, *,
                    days: int = SIGNAL_DAYS) -> pl.DataFrame:
    """Signals per UTC day by outcome: the scoring's decision, then what the engine did
    (``eligible → opened``, ``eligible → refused``, ``log_only`` …)."""
    return query_frame(db, _SIGNALS_PER_DAY_SQL, (now, days, now),
                       schema=SIGNALS_PER_DAY_SCHEMA)


# --- tables ---------------------------------------------------------------------------------

def open_positions(db: Database, now: datetime, config: DynamicConfig, *,
                   explorer: str = DEFAULT_EXPLORER) -> pl.DataFrame:
    """Open positions, newest first, with live PnL at their last stored price, the entry
    delay, the exit plan and what of it is armed."""
    with db.cursor() as cur:
        cur.execute("SELECT * FROM positions WHERE status = ANY(%s) ORDER BY opened_at DESC",
                    (list(OPEN_STATUSES),))
        rows = cur.fetchall()
    repo = PositionRepository(db)
    positions: list[Position] = [repo._model(r) for r in rows]
    frame = pl.DataFrame(
        [{"position": p.id, "mint": p.mint, "wallet": p.wallet, "mode": p.mode.value,
          "status": p.status.value, "opened_at": p.opened_at, "cost_sol": p.cost_sol,
          "token_amount": p.token_amount, "remaining_tokens": p.remaining_tokens,
          "entry_price_sol": p.entry_price_sol, "last_price_sol": p.last_price_sol,
          "last_price_at": p.last_price_at, "price_stale": p.price_stale,
          "realized_pnl_sol": p.realized_pnl_sol, "entry_delay_s": p.entry_delay_seconds,
          "exit_plan": plan_text(p), "armed": armed_rules(p)} for p in positions],
        schema={"position": pl.String, "mint": pl.String, "wallet": pl.String,
                "mode": pl.String, "status": pl.String, "opened_at": UTC_US,
                "cost_sol": pl.Float64, "token_amount": pl.Float64,
                "remaining_tokens": pl.Float64, "entry_price_sol": pl.Float64,
                "last_price_sol": pl.Float64, "last_price_at": UTC_US,
                "price_stale": pl.Boolean, "realized_pnl_sol": pl.Float64,
                "entry_delay_s": pl.Float64, "exit_plan": pl.String, "armed": pl.String})
    basis = pl.when(pl.col("token_amount") > 0).then(
        pl.col("cost_sol") * pl.col("remaining_tokens") / pl.col("token_amount")).otherwise(0.0)
    return (
        frame
        .with_columns(basis.alias("open_cost_sol"),
                      (pl.col("remaining_tokens") * pl.col("last_price_sol")).alias("value_sol"))
        .with_columns((pl.col("value_sol") - pl.col("open_cost_sol")).alias("unrealized_pnl_sol"))
        .with_columns(
            pl.when(pl.col("open_cost_sol") > 0)
            .then(pl.col("unrealized_pnl_sol") / pl.col("open_cost_sol")).alias("unrealized_pct"),
            (pl.col("last_price_sol") / pl.col("entry_price_sol")).alias("multiple"),
            (_age_s(now, "opened_at") / 3600).round(2).alias("age_h"),
            _age_s(now, "last_price_at").round(0).alias("price_age_s"),
            _link_column("position", "position", explorer))
        .select("position", "mint", "wallet", "mode", "status", "age_h", "open_cost_sol",
                "value_sol", "unrealized_pnl_sol", "unrealized_pct", "multiple",
                "realized_pnl_sol", "entry_price_sol", "last_price_sol", "price_age_s",
                "price_stale", "entry_delay_s", "exit_plan", "armed", "explore", "opened_at")
    )


_SIGNALS_SQL = """
SELECT s.observed_at, s.id AS signal, s.wallet, s.mint, s.side, s.sol_amount, s.score,
       (s.factors->>'wallet')::float8 AS f_wallet, (s.factors->>'cluster')::float8 AS f_cluster,
       (s.factors->>'token')::float8 AS f_token, (s.factors->>'context')::float8 AS f_context,
       concat_ws('/', s.weights->>'wallet', s.weights->>'cluster', s.weights->>'token',
                 s.weights->>'context') AS weights,
       s.decision, s.reason, d.action, coalesce(d.message, d.reason) AS action_reason,
       d.position_id AS position, s.delay_seconds AS delay_s, s.source
FROM signals s LEFT JOIN trade_decisions d ON d.signal_id = s.id
WHERE s.observed_at <= %s
ORDER BY s.observed_at DESC LIMIT %s
"""
SIGNALS_SCHEMA = {
    "observed_at": UTC_US, "signal": pl.String, "wallet": pl.String, "mint": pl.String,
    "side": pl.String, "sol_amount": pl.Float64, "score": pl.Float64,
    **{f"f_{f}": pl.Float64 for f in FACTORS}, "weights": pl.String, "decision": pl.String,
    "reason": pl.String, "action": pl.String, "action_reason": pl.String,
    "position": pl.String, "delay_s": pl.Float64, "source": pl.String}


def latest_signals(db: Database, now: datetime, config: DynamicConfig, *,
                   limit: int = LATEST_SIGNALS, explorer: str = DEFAULT_EXPLORER) -> pl.DataFrame:
    """The newest signals: the factor breakdown (one column per factor, the weights
    wallet/cluster/token/context), the decision and its reason, what the engine did."""
    frame = query_frame(db, _SIGNALS_SQL, (now, limit), schema=SIGNALS_SCHEMA)
    return frame.with_columns(pl.col("score").round(3),
                              *(pl.col(f"f_{f}").round(3) for f in FACTORS),
                              _link_column("signal", "signal", explorer))


_TRADES_SQL = """
SELECT t.executed_at, t.id AS trade, t.position_id AS position, t.mint, t.wallet, t.side,
       t.mode, t.sol_amount, t.token_amount, t.price_sol, t.fee_sol, t.network_fee_sol,
       t.priority_fee_sol, t.platform_fee_sol, t.price_impact_pct, t.pnl_sol,
       t.delay_seconds AS delay_s, t.trigger, t.tx_signature AS signature,
       coalesce(p.override_strategy, p.strategy) AS strategy, p.status AS position_status,
       t.signal_id AS signal
FROM trades t LEFT JOIN positions p ON p.id = t.position_id
WHERE t.executed_at <= %s
ORDER BY t.executed_at DESC LIMIT %s
"""
TRADES_SCHEMA = {
    "executed_at": UTC_US, "trade": pl.String, "position": pl.String, "mint": pl.String,
    "wallet": pl.String, "side": pl.String, "mode": pl.String, "sol_amount": pl.Float64,
    "token_amount": pl.Float64, "price_sol": pl.Float64, "fee_sol": pl.Float64,
    "network_fee_sol": pl.Float64, "priority_fee_sol": pl.Float64,
    "platform_fee_sol": pl.Float64, "price_impact_pct": pl.Float64, "pnl_sol": pl.Float64,
    "delay_s": pl.Float64, "trigger": pl.String, "signature": pl.String,
    "strategy": pl.String, "position_status": pl.String, "signal": pl.String}


def trade_history(db: Database, now: datetime, config: DynamicConfig, *,
                  limit: int = LATEST_TRADES, explorer: str = DEFAULT_EXPLORER) -> pl.DataFrame:
    """The newest fills with everything about them (fees split, delay, trigger, signature)."""
    frame = query_frame(db, _TRADES_SQL, (now, limit), schema=TRADES_SCHEMA)
    return frame.with_columns(_link_column("trade", "trade", explorer))


_ALERTS_SQL = """
SELECT at, level, source, message, acknowledged, id FROM alerts
ORDER BY at DESC LIMIT %s
"""
ALERTS_SCHEMA = {"at": UTC_US, "level": pl.String, "source": pl.String, "message": pl.String,
                 "acknowledged": pl.Boolean, "id": pl.String}


def alerts(db: Database, now: datetime, config: DynamicConfig, *,
           limit: int = LATEST_ALERTS) -> pl.DataFrame:
    """The newest alerts (acknowledging them is the config notebook's job)."""
    return query_frame(db, _ALERTS_SQL, (limit,), schema=ALERTS_SCHEMA)


def wallet_table(db: Database, now: datetime, config: DynamicConfig) -> pl.DataFrame:
    """Per-source-wallet copy performance (``walltrack.trading.performance``)."""
    return wallet_performance(db, now).with_columns(pl.col("win_rate").round(3),
                                                    pl.col("realized_pnl_sol").round(6))


def level_style(_row: str, column: str, value: object) -> dict[str, str]:
    """marimo cell style: alert levels and job staleness in their colours."""
    colors = {"level": LEVEL_COLORS, "staleness": STALENESS_COLORS}.get(column, {})
    if isinstance(value, str) and value in colors:
        return {"color": "white", "backgroundColor": colors[value]}
    return {}


# --- one refresh ----------------------------------------------------------------------------

View = Callable[[Database, datetime, DynamicConfig], Any]
VIEWS: Mapping[str, View] = MappingProxyType({
    "status": status_bar,
    "jobs": job_table,
    "kpis": kpis,
    "hourly_pnl": hourly_pnl,
    "signals_per_day": signals_per_day,
    "positions": open_positions,
    "signals": latest_signals,
    "trades": trade_history,
    "alerts": alerts,
    "wallets": wallet_table,
})
"""Every store read of one refresh, by name (the benchmark times each)."""


@dataclass(frozen=True)
class DashboardSnapshot:
    now: datetime
    status: StatusBar
    jobs: pl.DataFrame
    kpis: Kpis
    equity: pl.DataFrame
    daily_pnl: pl.DataFrame
    signals_per_day: pl.DataFrame
    positions: pl.DataFrame
    signals: pl.DataFrame
    trades: pl.DataFrame
    alerts: pl.DataFrame
    wallets: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)  # seconds per view


def dashboard_snapshot(db: Database, now: datetime | None = None, *,
                       explorer: str = DEFAULT_EXPLORER) -> DashboardSnapshot:
    """Every part of the dashboard for one refresh (the config read once)."""
    at = now or utcnow()
    started = time.perf_counter()
    config = ConfigRepository(db).load()
    timings = {"config": time.perf_counter() - started}
    parts: dict[str, Any] = {}
    links = {"positions", "signals", "trades"}
    for name, view in VIEWS.items():
        t0 = time.perf_counter()
        parts[name] = (view(db, at, config, explorer=explorer)  # type: ignore[call-arg]
                       if name in links else view(db, at, config))
        timings[name] = time.perf_counter() - t0
    hourly = parts.pop("hourly_pnl")
    timings["total"] = time.perf_counter() - started
    log.debug("dashboard_refreshed", seconds=round(timings["total"], 4))
    return DashboardSnapshot(now=at, equity=equity_curve(hourly, parts["kpis"], at),
                             daily_pnl=daily_pnl(hourly), timings=timings, **parts)


def load_snapshot(db: Database | None, db_error: str | None, *,
                  explorer: str = DEFAULT_EXPLORER) -> tuple[DashboardSnapshot | None, str | None]:
    """(the snapshot, None) — or (None, the message naming the problem and the fix)."""
    if db is None:
        return None, db_error
    try:
        return dashboard_snapshot(db, explorer=explorer), None
    except WallTrackError as exc:
        return None, str(exc)
