"""Data and charts for the wallets notebook (notebooks/wallets.py): reads only, plus thin
wrappers over the package's actions so the notebook holds no rule."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import polars as pl

from walltrack.intel.blacklist import clear_blacklist, set_blacklisted
from walltrack.intel.profiling import latest_swap_at
from walltrack.intel.research import run_analysis
from walltrack.intel.watchlist import set_watchlist_override
from walltrack.models import DecayEvent, LifecycleEvent, WatchlistOverride, utcnow
from walltrack.store import Database
from walltrack.store.frames import UTC_US, query_frame
from walltrack.store.repositories import (
    ConfigRepository,
    DecayEventRepository,
    LifecycleEventRepository,
)

STATUS_COLORS = {
    "ok": "#2e7d32", "flagged": "#f9a825", "downgraded": "#ef6c00",
    "dormant": "#757575", "blacklisted": "#c62828",
}
STATUSES = list(STATUS_COLORS)
LIFECYCLE_COLORS = {
    "discovered": "#90a4ae", "profiled": "#5c6bc0", "watchlisted": "#2e7d32",
    "ignored": "#bdbdbd", "flagged": "#f9a825", "removed": "#6d4c41",
}
LIFECYCLES = list(LIFECYCLE_COLORS)

_TABLE_SQL = """
SELECT w.address AS wallet, w.lifecycle, w.status,
       round(COALESCE(w.score, 0)::numeric, 3)::float AS score,
       round(w.raw_score::numeric, 3)::float AS raw_score, w.on_watchlist AS watch,
       w.watchlist_override AS override, w.is_bot AS bot,
       m.closed_trades AS trades, round(m.win_rate::numeric, 3)::float AS win_rate,
       round(m.realized_pnl_sol::numeric, 3)::float AS pnl_sol,
       round(m.roi::numeric, 3)::float AS roi, m.size_style, w.last_activity_at
FROM wallets w LEFT JOIN wallet_metrics m ON m.wallet = w.address
"""


def wallet_table(db: Database, *, statuses: list[str] | None = None,
                 lifecycles: list[str] | None = None, watchlist_only: bool = False,
                 search: str = "") -> pl.DataFrame:
    """Wallets with their metrics, best score first, filtered as the notebook asks."""
    frame = query_frame(db, _TABLE_SQL + " ORDER BY score DESC NULLS LAST, w.address")
    if frame.is_empty():
        return frame
    if statuses:
        frame = frame.filter(pl.col("status").is_in(statuses))
    if lifecycles:
        frame = frame.filter(pl.col("lifecycle").is_in(lifecycles))
    if watchlist_only:
        frame = frame.filter(pl.col("watch"))
    if search.strip():
        frame = frame.filter(pl.col("wallet").str.contains(search.strip(), literal=True))
    return frame


def status_style(_row: str, column: str, value: object) -> dict[str, str]:
    """marimo table cell style: the decay status and the lifecycle in their colours."""
    colors = {"status": STATUS_COLORS, "lifecycle": LIFECYCLE_COLORS}.get(column, {})
    if isinstance(value, str) and value in colors:
        return {"color": "white", "backgroundColor": colors[value]}
    return {}


def win_rate_pnl_chart(table: pl.DataFrame) -> alt.Chart:
    data = table.filter(pl.col("trades").is_not_null()).select(
        "wallet", "status", "win_rate", "pnl_sol", "score", "trades")
    return (
        alt.Chart(data)
        .mark_circle(opacity=0.7)
        .encode(
            x=alt.X("win_rate:Q", title="win rate (shrunk)"),
            y=alt.Y("pnl_sol:Q", title="realized PnL (SOL)"),
            size=alt.Size("trades:Q", legend=None),
            color=alt.Color("status:N", scale=alt.Scale(
                domain=STATUSES, range=list(STATUS_COLORS.values()))),
            tooltip=["wallet", "status", "score", "win_rate", "pnl_sol", "trades"],
        )
        .properties(height=320, title="Win rate against PnL")
    )


def _events(events: list[DecayEvent] | list[LifecycleEvent]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"at": e.at, "before": e.before.value, "after": e.after.value, "reason": e.reason}
         for e in events],
        schema={"at": UTC_US, "before": pl.String, "after": pl.String, "reason": pl.String})


def wallet_story(db: Database, wallet: str, *, trades: int = 20) -> dict[str, pl.DataFrame]:
    """Everything that answers "why is this wallet here?"."""
    newest_first = {"where": {"wallet": wallet}, "order_by": "at", "descending": True}
    return {
        "origins": query_frame(
            db, "SELECT mint, method, rank, found_at, detail::text AS detail "
                "FROM wallet_origins WHERE wallet = %s ORDER BY found_at, rank", (wallet,)),
        "metrics": query_frame(
            db, "SELECT m.closed_trades, m.wins, m.losses, m.win_rate, m.raw_win_rate, "
                "m.realized_pnl_sol, m.roi, m.profit_ratio, m.avg_hold_seconds, "
                "m.timing_percentile, m.size_style, m.consistency, m.is_bot, m.bot_reason, "
                "w.raw_score AS score_before_decay, w.score AS score_after_decay, "
                "m.computed_at FROM wallet_metrics m JOIN wallets w ON w.address = m.wallet "
                "WHERE m.wallet = %s", (wallet,)),
        "lifecycle": _events(LifecycleEventRepository(db).list(**newest_first)),
        "decay": _events(DecayEventRepository(db).list(**newest_first)),
        "trades": query_frame(
            db, "SELECT timestamp, side, mint, sol_amount, token_amount, source "
                "FROM swaps WHERE wallet = %s ORDER BY timestamp DESC LIMIT %s",
            (wallet, trades)),
    }


def blacklist(db: Database, wallet: str, reason: str, *, now: datetime | None = None) -> int:
    return set_blacklisted(db, [wallet], reason or "operator", now=now or utcnow())


def unblacklist(db: Database, wallet: str, *, now: datetime | None = None) -> int:
    return clear_blacklist(db, [wallet], "operator", now=now or utcnow())


def watchlist(db: Database, wallet: str, choice: str) -> bool:
    config = ConfigRepository(db).load()
    return set_watchlist_override(db, wallet, WatchlistOverride(choice), config=config,
                                  now=utcnow())


def reprofile(db: Database, *, now: datetime | None = None) -> str:
    """The profile_wallets job's stages (profile → decay → watchlist); its summary."""
    return run_analysis(db, now=now or utcnow()).summary()



def data_clock(db: Database) -> datetime | None:
    """The newest stored swap's time: "now" for a simulated market living in the past."""
    return latest_swap_at(db)
