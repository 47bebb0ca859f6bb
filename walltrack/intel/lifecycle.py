"""The wallet lifecycle, beside the decay status:

    discovered → profiled → watchlisted | ignored → flagged → removed

- ``discovered``: found (early buyer, sibling…), nothing profiled yet;
- ``profiled``: has a profile; the watchlist rule has not judged it yet;
- ``watchlisted``: on the watchlist (the automatic rule or the operator's add);
- ``ignored``: profiled, and the watchlist criteria say no — the reason names which;
- ``flagged``: on the watchlist while decay flags or downgrades it;
- ``removed``: was watchlisted and is not any more (rule, dormancy, the operator), or
  blacklisted.

Every change is a ``lifecycle_events`` row with before, after and the reason. The rule is
the pure :func:`decide_lifecycle`; :func:`apply_lifecycle` reads and writes the store.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from pydantic import Field

from walltrack.logging import get_logger
from walltrack.models import DecayStatus, DomainModel, Lifecycle, new_id
from walltrack.models.config import WatchlistConfig
from walltrack.store import Database
from walltrack.store.frames import UTC_US, copy_in, query_frame, stage_frame

log = get_logger(__name__)

WAS_WATCHED = (Lifecycle.watchlisted.value, Lifecycle.flagged.value, Lifecycle.removed.value)
STATE_SCHEMA = {
    "wallet": pl.String, "before": pl.String, "status": pl.String, "on_watchlist": pl.Boolean,
    "override": pl.String, "is_bot": pl.Boolean, "profiled": pl.Boolean,
    "closed_trades": pl.Int64, "win_rate": pl.Float64, "roi": pl.Float64,
    "score": pl.Float64,
}


class LifecycleReport(DomainModel):
    wallets: int = 0
    changed: int = 0
    by_lifecycle: dict[str, int] = Field(default_factory=dict)

    def summary(self) -> str:
        return f"lifecycle changed {self.changed} {self.by_lifecycle}"


def _unmet(rule: WatchlistConfig) -> pl.Expr:
    """The watchlist criteria a wallet misses, as one readable string ('' when none)."""
    checks = [
        (pl.col("is_bot"), pl.lit("bot")),
        (pl.col("status") == DecayStatus.dormant.value, pl.lit("dormant")),
        (pl.col("closed_trades") < rule.min_trades,
         pl.format("closed trades {} < {}", pl.col("closed_trades"), pl.lit(rule.min_trades))),
        (pl.col("win_rate") < rule.min_win_rate,
         pl.format("win rate {} < {}", pl.col("win_rate").round(2), pl.lit(rule.min_win_rate))),
        (pl.col("roi") < rule.min_roi,
         pl.format("ROI {} < {}", pl.col("roi").round(2), pl.lit(rule.min_roi))),
        (pl.col("score").fill_null(0) < rule.min_score,
         pl.format("score {} < {}", pl.col("score").fill_null(0).round(2),
                   pl.lit(rule.min_score))),
    ]
    return pl.concat_str([pl.when(cond.fill_null(False)).then(text) for cond, text in checks],
                         separator="; ", ignore_nulls=True)


def decide_lifecycle(state: pl.DataFrame, rule: WatchlistConfig, *,
                     judged: bool) -> pl.DataFrame:
    """``state`` (``STATE_SCHEMA``) → wallet, before, after, reason.

    ``judged``: the watchlist rule has just been applied (after the watchlist stage); before
    it (after a profile), only ``discovered → profiled`` and blacklisting can happen.
    """
    before = pl.col("before")
    unmet = _unmet(rule)
    decayed = pl.col("status").is_in([DecayStatus.flagged.value, DecayStatus.downgraded.value])
    blacklisted = pl.col("status") == DecayStatus.blacklisted.value
    after = (
        pl.when(blacklisted).then(pl.lit(Lifecycle.removed.value))
        .when(~pl.lit(judged) & (before == Lifecycle.discovered.value) & pl.col("profiled"))
        .then(pl.lit(Lifecycle.profiled.value))
        .when(~pl.lit(judged)).then(before)
        .when(pl.col("on_watchlist") & decayed).then(pl.lit(Lifecycle.flagged.value))
        .when(pl.col("on_watchlist")).then(pl.lit(Lifecycle.watchlisted.value))
        .when(before.is_in(WAS_WATCHED)).then(pl.lit(Lifecycle.removed.value))
        .when(pl.col("profiled")).then(pl.lit(Lifecycle.ignored.value))
        .otherwise(before)
    )
    reason = (
        pl.when(blacklisted).then(pl.lit("blacklisted by the operator"))
        .when(pl.col("after") == Lifecycle.profiled.value).then(pl.lit("profiled"))
        .when(pl.col("after") == Lifecycle.flagged.value)
        .then(pl.format("decay status {}", pl.col("status")))
        .when((pl.col("after") == Lifecycle.watchlisted.value) & (pl.col("override") == "add"))
        .then(pl.lit("added by the operator"))
        .when(pl.col("after") == Lifecycle.watchlisted.value)
        .then(pl.format("meets the watchlist criteria (score {})",
                        pl.col("score").fill_null(0).round(2)))
        .when(pl.col("override") == "remove").then(pl.lit("removed by the operator"))
        .when(unmet != "").then(pl.format("watchlist criteria not met: {}", unmet))
        .otherwise(pl.lit("beyond the watchlist's maximum size"))
    )
    return (state.with_columns(after=after).with_columns(reason=reason)
            .select("wallet", "before", "after", "reason"))


def apply_lifecycle(db: Database, rule: WatchlistConfig, *, now: datetime,
                    judged: bool) -> LifecycleReport:
    """Move every wallet to its lifecycle state; one event per change."""
    state = query_frame(db, """
        SELECT w.address, w.lifecycle, w.status, w.on_watchlist, w.watchlist_override,
               w.is_bot, m.wallet IS NOT NULL, m.closed_trades, m.win_rate, m.roi, w.score
        FROM wallets w LEFT JOIN wallet_metrics m ON m.wallet = w.address""",
                        schema=STATE_SCHEMA)
    decided = decide_lifecycle(state, rule, judged=judged)
    changed = decided.filter(pl.col("after") != pl.col("before"))
    if changed.height:
        events = changed.select(
            id=pl.Series([new_id() for _ in range(changed.height)], dtype=pl.String),
            wallet="wallet", at=pl.lit(now).cast(UTC_US), before="before", after="after",
            reason="reason")
        with db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            staging = stage_frame(cur, changed.select(
                address="wallet", lifecycle="after", lifecycle_reason="reason",
                first_seen_at=pl.lit(now).cast(UTC_US), status=pl.lit("ok")),
                like="wallets")
            cur.execute(f"UPDATE wallets w SET lifecycle = s.lifecycle, "
                        f"lifecycle_reason = s.lifecycle_reason FROM {staging} s "
                        "WHERE s.address = w.address")
            copy_in(cur, "lifecycle_events", events)
    counts = decided.group_by("after").len()
    report = LifecycleReport(wallets=decided.height, changed=changed.height,
                             by_lifecycle=dict(zip(counts["after"], counts["len"],
                                                   strict=True)))
    log.info("wallets_lifecycle_applied", judged=judged, **report.model_dump())
    return report
