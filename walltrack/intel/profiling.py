"""Wallet profiling: swap history → one row of metrics and a score per wallet (polars).

``compute_profiles`` is pure (frame in, frame out); ``profile_wallets`` pulls the swaps from
the store in bulk (COPY), computes, and writes ``wallet_metrics`` plus ``wallets.score /
is_bot / last_activity_at`` back in bulk. The score formula lives in
:mod:`walltrack.intel.wallet_score` (documented there and in docs/profiling.md).

Definitions (all over the profiling window, default 90 days before ``now``):

- token-trade: one (wallet, token); FIFO lot matching (:mod:`walltrack.intel.fifo`) gives
  its realized PnL after fees; it is *closed* when ≤ 1 % of the bought tokens remain.
  Open positions are neither wins nor losses.
- win rate: (wins + prior_wins) / (closed + prior_trades) — 3/3 is 0.71, not 100 %.
- profit ratio: average winning PnL / average losing |PnL| (None without both).
- ROI: realized PnL / SOL cost basis of the tokens sold (fees included in the PnL).
- hold time: mean seconds from first buy to last sell of closed token-trades.
- timing percentile: for each token with enough known buyers, the rank of the wallet's first
  buy among the token's buyers (0 = first, 1 = last); averaged over its tokens.
- launch share: share of its tokens (with a known launch) first bought within
  ``bot_launch_slots`` slots of the token's first known swap.
- activity hours: UTC histogram of its swaps; size style from its median buy in SOL.
- consistency: share of its active days with a positive realized PnL, shrunk (p+1)/(d+2).
- bot: launch share ≥ ``bot_launch_slot_share`` over ≥ ``bot_min_tokens`` tokens, or a
  median hold under ``bot_min_hold_seconds`` over ≥ ``bot_min_tokens`` closed trades.
- flipper: over ≥ ``bot_min_tokens`` closed trades, a share above ``flip_max_share`` of them
  are flips — ≥ ``flip_sold_share`` of the bought tokens sold within ``flip_seconds`` of the
  first buy. Such a wallet buys early and dumps on whoever follows it (a bait): its own
  record is good, a copier's is not. Its score is multiplied by ``flip_score_factor``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import polars as pl
from psycopg import sql

from walltrack.intel.fifo import token_trades
from walltrack.intel.wallet_score import score_expr
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig
from walltrack.models.config import ProfilingConfig
from walltrack.progress import Progress, no_progress
from walltrack.store import Database
from walltrack.store.frames import UTC_US, stage_frame
from walltrack.store.repositories import SwapRepository

log = get_logger(__name__)

# Median buy (SOL) upper bounds of each size style.
SIZE_STYLES: list[tuple[float, str]] = [
    (0.1, "micro"), (0.5, "small"), (2.0, "medium"), (10.0, "large"),
]

METRIC_COLUMNS = [
    "wallet", "computed_at", "window_days", "swaps", "tokens_traded", "closed_trades", "wins",
    "losses", "win_rate", "raw_win_rate", "realized_pnl_sol", "invested_sol", "roi",
    "profit_ratio", "avg_hold_seconds", "timing_percentile", "activity_hours", "size_style",
    "avg_buy_sol", "consistency", "is_bot", "bot_reason", "score", "last_trade_at",
]


def _encode(swaps: pl.DataFrame) -> pl.DataFrame:
    """Wallet/mint as categoricals: group-bys and sorts on their integer codes are far
    cheaper than on base58 strings."""
    return swaps.with_columns(pl.col("wallet", "mint").cast(pl.Categorical))


def _with_timing(trades: pl.DataFrame, config: ProfilingConfig) -> pl.DataFrame:
    """Per token-trade: timing percentile and launch-slot flag, where the token is known well
    (≥ timing_min_buyers buyers among the stored swaps); null elsewhere."""
    launch = pl.col("first_buy_slot").min().over("mint")
    buyers = pl.col("first_buy_at").count().over("mint")
    known = buyers >= config.timing_min_buyers
    return trades.with_columns(
        timing=pl.when(known).then(
            (pl.col("first_buy_at").rank("min").over("mint") - 1) / (buyers - 1)),
        launch_buy=pl.when(known & pl.col("first_buy_slot").is_not_null())
        .then((pl.col("first_buy_slot") - launch) <= config.bot_launch_slots),
    )


def _flips(swaps: pl.DataFrame, config: ProfilingConfig) -> pl.DataFrame:
    """Per (wallet, token): whether most of what was bought was sold within flip_seconds of
    the first buy."""
    buy = pl.col("side") == "buy"
    quick = pl.col("timestamp") <= pl.col("timestamp").filter(buy).min() + pl.duration(
        seconds=config.flip_seconds)
    return swaps.group_by("wallet", "mint").agg(
        flip=pl.col("token_amount").filter(~buy & quick).sum()
        >= config.flip_sold_share * pl.col("token_amount").filter(buy).sum())


def closed_trades(
    swaps: pl.DataFrame, *, window_days: int, now: datetime, wallets: list[str] | None = None
) -> pl.DataFrame:
    """Closed token-trades (wallet, mint, closed_at, realized_pnl, win) in the window."""
    now = now.astimezone(UTC)  # one tz object: polars compares time zones by name
    since = now - timedelta(days=window_days)
    swaps = swaps.filter((pl.col("timestamp") >= since) & (pl.col("timestamp") <= now))
    if wallets is not None:
        swaps = swaps.filter(pl.col("wallet").is_in(pl.Series(wallets, dtype=pl.String).implode()))
    return (
        token_trades(_encode(swaps)).filter(pl.col("closed"))
        .select(pl.col("wallet", "mint").cast(pl.String), closed_at="last_sell_at",
                realized_pnl="realized_pnl", win=pl.col("realized_pnl") > 0)
    )


def compute_profiles(
    swaps: pl.DataFrame,
    config: ProfilingConfig,
    *,
    now: datetime,
    wallets: pl.Series | list[str] | None = None,
) -> pl.DataFrame:
    """One row per wallet with the ``WalletMetrics`` columns (pure: no I/O).

    ``swaps`` holds every known swap in the window (other wallets' swaps on the same tokens
    feed the timing percentile and the launch slot); ``wallets`` limits the output rows.
    """
    now = now.astimezone(UTC)  # one tz object: polars compares time zones by name
    since = now - timedelta(days=config.window_days)
    swaps = swaps.filter((pl.col("timestamp") >= since) & (pl.col("timestamp") <= now))
    coded = _encode(swaps)
    mine = coded
    # Every stored wallet's token-trades: its first buys rank the tracked wallets' timing.
    trades = _with_timing(token_trades(coded), config)
    everyone = trades
    if wallets is not None:
        wanted = pl.Series(list(wallets), dtype=pl.String).implode()
        mine = coded.filter(pl.col("wallet").cast(pl.String).is_in(wanted))
        trades = trades.filter(pl.col("wallet").cast(pl.String).is_in(wanted))
    closed = trades.filter(pl.col("closed"))
    flip_share = closed.select("wallet", "mint").join(
        _flips(mine, config), on=["wallet", "mint"], how="left"
    ).group_by("wallet").agg(flip_share=pl.col("flip").fill_null(False).mean())
    day = pl.col("last_sell_at").dt.truncate("1d")
    daily = closed.group_by("wallet", day.alias("day")).agg(pnl=pl.col("realized_pnl").sum())
    consistency = daily.group_by("wallet").agg(
        consistency=((pl.col("pnl") > 0).sum() + 1) / (pl.len() + 2)
    )

    win, loss = pl.col("realized_pnl") > 0, pl.col("realized_pnl") <= 0
    per_trade = trades.group_by("wallet").agg(
        tokens_traded=pl.len(),
        closed_trades=pl.col("closed").sum(),
        wins=(pl.col("closed") & win).sum(),
        losses=(pl.col("closed") & loss).sum(),
        realized_pnl_sol=pl.col("realized_pnl").sum(),
        invested_sol=pl.col("bought_sol").sum(),
        cost_sold=(pl.col("cost_basis") + pl.col("fees")).sum(),
        avg_win=pl.col("realized_pnl").filter(pl.col("closed") & win).mean(),
        avg_loss=(-pl.col("realized_pnl")).filter(pl.col("closed") & loss).mean(),
        avg_hold_seconds=pl.col("hold_seconds").filter(pl.col("closed")).mean(),
        median_hold=pl.col("hold_seconds").filter(pl.col("closed")).median(),
        timing_percentile=pl.col("timing").mean(),
        launch_tokens=pl.col("launch_buy").is_not_null().sum(),
        launch_share=pl.col("launch_buy").mean(),
    )
    per_swap = mine.group_by("wallet").agg(
        swaps=pl.len(),
        last_trade_at=pl.col("timestamp").max(),
        avg_buy_sol=pl.col("sol_amount").filter(pl.col("side") == "buy").mean(),
        median_buy=pl.col("sol_amount").filter(pl.col("side") == "buy").median(),
    ).join(_activity_hours(mine), on="wallet", how="left")
    n = pl.col("closed_trades")
    size_style = pl.when(pl.col("median_buy").is_null()).then(pl.lit(None, dtype=pl.String))
    for bound, name in SIZE_STYLES:
        size_style = size_style.when(pl.col("median_buy") < bound).then(pl.lit(name))
    size_style = size_style.otherwise(pl.lit("whale"))
    launch_bot = (pl.col("launch_tokens") >= config.bot_min_tokens) & (
        pl.col("launch_share") >= config.bot_launch_slot_share
    )
    fast_bot = (n >= config.bot_min_tokens) & (
        pl.col("median_hold") < config.bot_min_hold_seconds
    )
    out = (
        per_swap.join(per_trade, on="wallet", how="left")
        .join(consistency, on="wallet", how="left")
        .join(flip_share, on="wallet", how="left")
        .with_columns(pl.col("wallet").cast(pl.String))
        .with_columns(
            pl.col("closed_trades", "wins", "losses", "tokens_traded").fill_null(0),
            pl.col("realized_pnl_sol", "invested_sol", "cost_sold").fill_null(0.0),
        )
        .with_columns(
            win_rate=(pl.col("wins") + config.prior_wins) / (n + config.prior_trades),
            raw_win_rate=pl.when(n > 0).then(pl.col("wins") / n).otherwise(0.0),
            roi=pl.when(pl.col("cost_sold") > 0)
            .then(pl.col("realized_pnl_sol") / pl.col("cost_sold")).otherwise(0.0),
            profit_ratio=pl.when(pl.col("avg_loss") > 0)
            .then(pl.col("avg_win") / pl.col("avg_loss")),
            size_style=size_style,
            is_bot=launch_bot | fast_bot,
            is_flipper=(n >= config.bot_min_tokens)
            & (pl.col("flip_share").fill_null(0.0) > config.flip_max_share),
            bot_reason=pl.when(launch_bot).then(pl.format(
                "bought {}% of its tokens within {} slots of launch",
                (pl.col("launch_share") * 100).round(0).cast(pl.Int64),
                pl.lit(config.bot_launch_slots)))
            .when(fast_bot).then(pl.format(
                "median hold {} s", pl.col("median_hold").round(1))),
        )
        .with_columns(
            pl.col("is_bot", "is_flipper").fill_null(False),
        )
        .with_columns(
            score=score_expr(config),
            computed_at=pl.lit(now).cast(UTC_US),
            window_days=pl.lit(config.window_days),
        )
    )
    return _penalise_followers(out, everyone, config).select(METRIC_COLUMNS).sort("wallet")


def _penalise_followers(profiles: pl.DataFrame, trades: pl.DataFrame,
                        config: ProfilingConfig) -> pl.DataFrame:
    """Score × follow_score_factor for alert followers, judged against the wallets this very
    profile ranks best (their first buys among ``trades``, every stored wallet's)."""
    firsts = trades.select(pl.col("wallet", "mint").cast(pl.String), "first_buy_at").drop_nulls()
    leaders = (profiles.filter(pl.col("score") > 0)
               .sort(["score", "wallet"], descending=[True, False])
               .head(config.follow_leaders).select("wallet"))
    led = firsts.join(leaders, on="wallet").select("mint", leader="wallet", led_at="first_buy_at")
    lag = (pl.col("first_buy_at") - pl.col("led_at")).dt.total_seconds()
    # Each followed first buy is credited to the first leader in the window before it.
    followed = (firsts.join(led, on="mint")
                .filter((pl.col("leader") != pl.col("wallet"))
                        & lag.is_between(1.0, config.follow_lag_seconds))
                .sort("led_at").group_by("wallet", "mint").agg(pl.col("leader").first()))
    per = followed.group_by("wallet", "leader").len().group_by("wallet").agg(
        followed=pl.col("len").sum(), top_leader=pl.col("len").max())
    share = (firsts.group_by("wallet").agg(first_buys=pl.len())
             .join(per, on="wallet", how="left")
             .select("wallet", "first_buys",
                     follow_share=pl.col("followed").fill_null(0) / pl.col("first_buys"),
                     leader_share=pl.col("top_leader") / pl.col("followed")))
    follower = ((pl.col("first_buys") >= config.bot_min_tokens)
                & (pl.col("follow_share") > config.follow_max_share)
                & (pl.col("leader_share") <= config.follow_max_leader_share)).fill_null(False)
    return (profiles.join(share, on="wallet", how="left")
            .with_columns(
                score=pl.when(follower).then(pl.col("score") * config.follow_score_factor)
                .otherwise(pl.col("score")),
                bot_reason=pl.when(follower & pl.col("bot_reason").is_null()).then(pl.format(
                    "follows the research's best wallets: {}% of its first buys within {} s "
                    "of one of theirs", (pl.col("follow_share") * 100).round(0).cast(pl.Int64),
                    pl.lit(int(config.follow_lag_seconds)))).otherwise(pl.col("bot_reason"))))


def _activity_hours(swaps: pl.DataFrame) -> pl.DataFrame:
    """wallet → a 24-long list of its swap counts per UTC hour."""
    counts = (
        swaps.group_by("wallet", hour=pl.col("timestamp").dt.hour())
        .len()
        .pivot(on="hour", index="wallet", values="len")
    )
    cols = [str(h) for h in range(24)]
    counts = counts.with_columns(
        pl.lit(0, dtype=pl.UInt32).alias(c) for c in cols if c not in counts.columns
    )
    return counts.select(
        "wallet", activity_hours=pl.concat_list(pl.col(cols).fill_null(0).cast(pl.Int64))
    )


class ProfilingReport(DomainModel):
    wallets: int = 0
    swaps: int = 0
    bots: int = 0
    load_seconds: float = 0.0
    compute_seconds: float = 0.0
    write_seconds: float = 0.0

    def summary(self) -> str:
        return f"profiled {self.wallets} wallets from {self.swaps} swaps ({self.bots} bots)"


def load_window(db: Database, config: ProfilingConfig, *, now: datetime) -> pl.DataFrame:
    """Every stored swap of the profiling window (COPY out)."""
    return SwapRepository(db).frame_since(now - timedelta(days=config.window_days))


def latest_swap_at(db: Database) -> datetime | None:
    """The newest stored swap's time: "now" for a simulated market living in the past."""
    with db.connection() as conn:
        row = conn.execute("SELECT max(timestamp) FROM swaps").fetchone()
    return row[0].astimezone(UTC) if row and row[0] else None


def tracked_wallets(db: Database) -> list[str]:
    with db.connection() as conn:
        return [r[0] for r in conn.execute("SELECT address FROM wallets").fetchall()]


def profile_wallets(
    db: Database, config: DynamicConfig, *, now: datetime, progress: Progress | None = None,
    swaps: pl.DataFrame | None = None,
) -> ProfilingReport:
    """Profile every wallet of the ``wallets`` table from the stored swaps; write back.

    ``swaps`` may pass the window already loaded (the pipeline shares it with decay).
    """
    report_progress = progress or no_progress
    report = ProfilingReport()
    started = time.perf_counter()
    wallets = tracked_wallets(db)
    report_progress("load", 0, 3)
    if swaps is None:
        swaps = load_window(db, config.profiling, now=now)
    report.swaps = swaps.height
    report.load_seconds = round(time.perf_counter() - started, 3)
    report_progress("compute", 1, 3)
    started = time.perf_counter()
    profiles = compute_profiles(swaps, config.profiling, now=now, wallets=wallets)
    report.compute_seconds = round(time.perf_counter() - started, 3)
    report_progress("write", 2, 3)
    started = time.perf_counter()
    write_profiles(db, profiles)
    report.write_seconds = round(time.perf_counter() - started, 3)
    report_progress("write", 3, 3)
    report.wallets = profiles.height
    report.bots = int(profiles["is_bot"].sum()) if profiles.height else 0
    log.info("wallets_profiled", **report.model_dump())
    return report


def write_profiles(db: Database, profiles: pl.DataFrame) -> None:
    """Upsert ``wallet_metrics`` and set wallets.score/is_bot/last_activity_at, in bulk.

    ``wallets.raw_score`` is the profile's score; ``apply_decay`` writes ``wallets.score``
    (after decay) from it.
    """
    if profiles.is_empty():
        return
    cols = sql.SQL(", ").join(map(sql.Identifier, METRIC_COLUMNS))
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in METRIC_COLUMNS if c != "wallet"
    )
    with db.connection() as conn, conn.transaction(), conn.cursor() as cur:
        stage_frame(cur, profiles.select(METRIC_COLUMNS), like="wallet_metrics",
                    name="_stage_metrics")
        cur.execute(sql.SQL(
            "INSERT INTO wallet_metrics ({cols}) SELECT {cols} FROM _stage_metrics "
            "ON CONFLICT (wallet) DO UPDATE SET {updates}").format(cols=cols, updates=updates))
        cur.execute(
            """UPDATE wallets w SET raw_score = m.score, is_bot = m.is_bot,
                   last_activity_at = GREATEST(w.last_activity_at, m.last_trade_at)
               FROM _stage_metrics m WHERE m.wallet = w.address
                 AND (w.raw_score IS DISTINCT FROM m.score
                      OR w.is_bot IS DISTINCT FROM m.is_bot
                      OR w.last_activity_at IS DISTINCT FROM
                         GREATEST(w.last_activity_at, m.last_trade_at))"""
        )
