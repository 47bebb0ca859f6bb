"""Per-source-wallet copy performance (issue 11 item 11) and the per-wallet copy mode.

The store aggregates (one ``GROUP BY`` per table); polars joins the parts and derives the
rates: :func:`performance_frame` is pure, :func:`wallet_performance` loads its inputs.

A wallet's row counts the positions copied from it: ``positions`` = ``open_positions``
(opening, open or closing) + ``closed``; a ``failed`` position (its entry never filled) is
no copy and counts nowhere. ``wins`` are closed positions with ``realized_pnl_sol > 0``;
``realized_pnl_sol`` sums every one of its positions (partial exits of open ones included).
Signal windows end at ``now`` (``now - 24 h < observed_at <= now``); ``signals_all`` and
``eligible_all`` count every stored signal of the wallet.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from walltrack.models import Alert, AlertLevel, TradingMode, WalletCopyMode
from walltrack.models.base import utcnow
from walltrack.store import Database
from walltrack.store.frames import UTC_US, query_frame
from walltrack.store.repositories import AlertRepository, WalletCopyModeRepository
from walltrack.trading.alerts import log_alert

COUNTS = ("positions", "open_positions", "closed", "wins")
SIGNAL_COUNTS = ("signals_24h", "signals_7d", "signals_30d", "signals_all", "eligible_all")
COLUMNS = ("wallet", "copy_mode", *COUNTS, "win_rate", "realized_pnl_sol", *SIGNAL_COUNTS,
           "last_signal_at", "watched")

WATCHED_SCHEMA = {"wallet": pl.String}
POSITIONS_SCHEMA = {"wallet": pl.String, **dict.fromkeys(COUNTS, pl.Int64),
                    "realized_pnl_sol": pl.Float64}
SIGNALS_SCHEMA = {"wallet": pl.String, **dict.fromkeys(SIGNAL_COUNTS, pl.Int64),
                  "last_signal_at": UTC_US}
MODES_SCHEMA = {"wallet": pl.String, "mode": pl.String}

_POSITIONS_SQL = """
SELECT wallet,
       count(*) FILTER (WHERE status <> 'failed'),
       count(*) FILTER (WHERE status IN ('opening', 'open', 'closing')),
       count(*) FILTER (WHERE status = 'closed'),
       count(*) FILTER (WHERE status = 'closed' AND realized_pnl_sol > 0),
       coalesce(sum(realized_pnl_sol), 0)
FROM positions WHERE wallet IS NOT NULL GROUP BY wallet"""

_SIGNALS_SQL = """
WITH t AS (SELECT %s::timestamptz AS now)
SELECT s.wallet,
       count(*) FILTER (WHERE s.observed_at > t.now - interval '24 hours'
                          AND s.observed_at <= t.now),
       count(*) FILTER (WHERE s.observed_at > t.now - interval '7 days'
                          AND s.observed_at <= t.now),
       count(*) FILTER (WHERE s.observed_at > t.now - interval '30 days'
                          AND s.observed_at <= t.now),
       count(*),
       count(*) FILTER (WHERE s.decision = 'eligible'),
       max(s.observed_at)
FROM signals s CROSS JOIN t
WHERE s.wallet IN (SELECT address FROM wallets WHERE on_watchlist
                   UNION SELECT wallet FROM positions WHERE wallet IS NOT NULL)
GROUP BY s.wallet"""


def performance_frame(watched: pl.DataFrame, positions: pl.DataFrame, signals: pl.DataFrame,
                      modes: pl.DataFrame) -> pl.DataFrame:
    """One row per watched wallet or wallet with positions (frames shaped like the
    ``*_SCHEMA``s), best realized PnL first."""
    subjects = pl.concat([watched.select("wallet"), positions.select("wallet")]).unique()
    return (
        subjects
        .join(positions, on="wallet", how="left")
        .join(signals, on="wallet", how="left")
        .join(modes.rename({"mode": "copy_mode"}), on="wallet", how="left")
        .with_columns(
            *(pl.col(c).fill_null(0) for c in (*COUNTS, *SIGNAL_COUNTS)),
            pl.col("realized_pnl_sol").fill_null(0.0),
            pl.col("copy_mode").fill_null(TradingMode.paper.value),
            pl.col("wallet").is_in(watched["wallet"].implode()).alias("watched"),
        )
        .with_columns(
            pl.when(pl.col("closed") > 0)
            .then(pl.col("wins") / pl.col("closed"))
            .otherwise(None)
            .alias("win_rate"))
        .select(COLUMNS)
        .sort(["realized_pnl_sol", "wallet"], descending=[True, False])
    )


def wallet_performance(db: Database, now: datetime | None = None) -> pl.DataFrame:
    """Copy performance of every watched wallet and every wallet positions were copied from."""
    at = now or utcnow()
    watched = query_frame(db, "SELECT address FROM wallets WHERE on_watchlist",
                          schema=WATCHED_SCHEMA)
    positions = query_frame(db, _POSITIONS_SQL, schema=POSITIONS_SCHEMA)
    signals = query_frame(db, _SIGNALS_SQL, [at], schema=SIGNALS_SCHEMA)
    modes = query_frame(db, "SELECT wallet, mode FROM wallet_copy_modes", schema=MODES_SCHEMA)
    return performance_frame(watched, positions, signals, modes)


def set_copy_mode(db: Database, wallet: str, mode: TradingMode, note: str, *,
                  now: datetime | None = None) -> WalletCopyMode:
    """Set ``wallet``'s copy mode; the note is required and the change is kept as an
    operator alert (previous mode, new mode, note) in the same transaction."""
    text = (note or "").strip()
    if not text:
        raise ValueError(f"setting the copy mode of {wallet} needs a note saying why: "
                         "pass note='…' (e.g. the paper record that convinced you)")
    target = TradingMode(mode)
    row = WalletCopyMode(wallet=wallet, mode=target, changed_at=now or utcnow(), note=text)
    modes = WalletCopyModeRepository(db)
    alerts = AlertRepository(db)
    with db.connection() as conn:
        found = conn.execute("SELECT mode FROM wallet_copy_modes WHERE wallet = %s FOR UPDATE",
                             (wallet,)).fetchone()
        previous = found[0] if found else TradingMode.paper.value
        alert = Alert(at=row.changed_at, level=AlertLevel.info, source="operator",
                      message=f"copy mode of {wallet}: {previous} → {target.value} ({text})",
                      detail={"kind": "copy_mode", "wallet": wallet, "previous": previous,
                              "mode": target.value, "note": text})
        conn.execute(modes._insert_sql(update=True), modes._row(row))
        conn.execute(alerts._insert_sql(update=False), alerts._row(alert))
    log_alert(alert)  # once committed
    return row
