"""Decay: after each profiling run, every wallet's status follows its recent results.

Rules (``DecayConfig``), checked in this order for a wallet that is not blacklisted:

1. ``dormant``    — no swap for ``dormant_days`` (30) before ``now``;
2. ``downgraded`` — its last ``consecutive_losses`` (3) closed token-trades were all losses;
   its score is multiplied by ``downgrade_factor`` (0.5) until a win ends the streak;
3. ``flagged``    — win rate over its last ``rolling_trades`` (20) closed trades below
   ``min_rolling_win_rate`` (40 %), once it has ``min_rolling_trades`` (10) closed trades;
4. ``ok``         — otherwise.

``blacklisted`` is the operator's (walltrack.intel.blacklist): decay never sets or lifts it.
Each status change is a ``decay_events`` row (before, after, reason, detail).

:func:`decay_timeline` replays the same rules trade by trade (the status right after each
closed trade); the evaluation uses it to tell *when* a fading wallet would have been caught.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from psycopg.types.json import Jsonb
from pydantic import Field

from walltrack.intel.profiling import closed_trades, load_window
from walltrack.logging import get_logger
from walltrack.models import DecayStatus, DomainModel, DynamicConfig, new_id
from walltrack.models.config import DecayConfig
from walltrack.store import Database
from walltrack.store.frames import UTC_US, copy_in, query_frame

log = get_logger(__name__)


def decay_timeline(trades: pl.DataFrame, config: DecayConfig) -> pl.DataFrame:
    """Per closed trade (wallet, closed_at, win): trade_no, rolling win rate, loss streak and
    the trade-driven status after it (``ok`` / ``flagged`` / ``downgraded``)."""
    ordered = trades.sort("wallet", "closed_at", "mint")
    win = pl.col("win").cast(pl.Int32)
    return (
        ordered.with_columns(
            trade_no=pl.int_range(1, pl.len() + 1).over("wallet"),
            rolling_win_rate=win.cast(pl.Float64)
            .rolling_mean(config.rolling_trades, min_samples=1).over("wallet"),
            # Losses since the last win: a win starts a new run.
            run=win.cum_sum().over("wallet"),
        )
        .with_columns(loss_streak=(1 - win).cum_sum().over("wallet", "run"))
        .with_columns(
            status=pl.when(pl.col("loss_streak") >= config.consecutive_losses)
            .then(pl.lit(DecayStatus.downgraded.value))
            .when((pl.col("trade_no") >= config.min_rolling_trades)
                  & (pl.col("rolling_win_rate") < config.min_rolling_win_rate))
            .then(pl.lit(DecayStatus.flagged.value))
            .otherwise(pl.lit(DecayStatus.ok.value))
        )
        .drop("run")
    )


def decide_statuses(
    wallets: pl.DataFrame, trades: pl.DataFrame, config: DecayConfig, *, now: datetime
) -> pl.DataFrame:
    """wallets (wallet, status, last_activity_at) + closed trades → new status and reason."""
    last = decay_timeline(trades, config).group_by("wallet").agg(pl.all().last())
    cutoff = now.astimezone(UTC) - timedelta(days=config.dormant_days)
    joined = wallets.join(last.select("wallet", "trade_no", "rolling_win_rate", "loss_streak",
                                      pl.col("status").alias("trade_status")),
                          on="wallet", how="left")
    dormant = pl.col("last_activity_at").is_null() | (pl.col("last_activity_at") < cutoff)
    return joined.with_columns(
        new_status=pl.when(pl.col("status") == DecayStatus.blacklisted.value)
        .then(pl.lit(DecayStatus.blacklisted.value))
        .when(dormant).then(pl.lit(DecayStatus.dormant.value))
        .otherwise(pl.col("trade_status").fill_null(DecayStatus.ok.value)),
    ).with_columns(
        reason=pl.when(pl.col("new_status") == DecayStatus.dormant.value)
        .then(pl.lit(f"no activity for {config.dormant_days} days"))
        .when(pl.col("new_status") == DecayStatus.downgraded.value)
        .then(pl.format("{} consecutive losses", pl.col("loss_streak")))
        .when(pl.col("new_status") == DecayStatus.flagged.value)
        .then(pl.format("rolling win rate {}% over the last {} trades",
                        (pl.col("rolling_win_rate") * 100).round(0).cast(pl.Int64),
                        pl.min_horizontal("trade_no", pl.lit(config.rolling_trades))))
        .otherwise(pl.lit("recovered")),
    )


class DecayReport(DomainModel):
    wallets: int = 0
    changed: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)

    def summary(self) -> str:
        return f"decay changed {self.changed} statuses {self.by_status}"


def _wallet_frame(db: Database) -> pl.DataFrame:
    return query_frame(
        db, "SELECT w.address, w.status, w.last_activity_at, w.raw_score "
            "FROM wallets w",
        schema={"wallet": pl.String, "status": pl.String, "last_activity_at": UTC_US,
                "score": pl.Float64})


def apply_decay(
    db: Database, config: DynamicConfig, *, now: datetime, swaps: pl.DataFrame | None = None
) -> DecayReport:
    """Set every wallet's status from its recent trades; store a decay event per change.

    ``swaps`` may pass the profiling window already loaded (saves a second COPY).
    """
    wallets = _wallet_frame(db)
    if swaps is None:
        swaps = load_window(db, config.profiling, now=now)
    trades = closed_trades(swaps, window_days=config.profiling.window_days, now=now,
                           wallets=wallets["wallet"].to_list())
    decided = decide_statuses(wallets, trades, config.decay, now=now).with_columns(
        new_score=pl.when(pl.col("new_status") == DecayStatus.downgraded.value)
        .then(pl.col("score") * config.decay.downgrade_factor).otherwise(pl.col("score")),
    )
    changed = decided.filter(pl.col("new_status") != pl.col("status"))
    events = [
        (new_id(), r["wallet"], now, r["status"], r["new_status"], r["reason"],
         Jsonb({"rolling_win_rate": r["rolling_win_rate"], "loss_streak": r["loss_streak"],
                "closed_trades": r["trade_no"],
                "last_activity_at": r["last_activity_at"].isoformat()
                if r["last_activity_at"] else None}))
        for r in changed.iter_rows(named=True)  # one row per *change*: few
    ]
    with db.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE _stage_decay (wallet text, status text, "
                    "score double precision) ON COMMIT DROP")
        copy_in(cur, "_stage_decay", decided.select(
            wallet="wallet", status="new_status", score="new_score"))
        cur.execute(
            "UPDATE wallets w SET status = d.status, score = d.score FROM _stage_decay d "
            "WHERE d.wallet = w.address AND w.status <> 'blacklisted' "
            "AND (w.status <> d.status OR w.score IS DISTINCT FROM d.score)")
        cur.executemany(
            "INSERT INTO decay_events (id, wallet, at, before, after, reason, detail) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)", events)
    counts = decided.group_by("new_status").len()
    report = DecayReport(wallets=decided.height, changed=len(events),
                         by_status=dict(zip(counts["new_status"], counts["len"], strict=True)))
    log.info("wallets_decayed", **report.model_dump())
    return report
