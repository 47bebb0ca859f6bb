"""The watchlist: wallets whose buys become signals (and the Helius webhook address list).

Automatic rule (``WatchlistConfig``): a profiled wallet is on the watchlist when it has at
least ``min_trades`` closed trades, a (shrunk) win rate ≥ ``min_win_rate``, ROI ≥
``min_roi``, a score after decay ≥ ``min_score``, is not a bot, and is neither blacklisted nor
dormant; the best ``max_size`` by score are kept. The operator's override wins: ``add`` puts
a wallet on, ``remove`` takes it off — except that a blacklisted wallet is never on it.
"""

from __future__ import annotations

from datetime import datetime

from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig, WatchlistOverride
from walltrack.models.config import WatchlistConfig
from walltrack.store import Database

log = get_logger(__name__)


class UnknownWalletError(WallTrackError):
    code = "unknown_wallet"


class WatchlistReport(DomainModel):
    size: int = 0
    added: int = 0
    removed: int = 0
    automatic: int = 0
    manual_adds: int = 0
    manual_removes: int = 0

    def summary(self) -> str:
        return f"watchlist {self.size} (+{self.added} −{self.removed})"


# Effective membership in one statement: rule → cap → override → blacklist.
_DESIRED_SQL = """
WITH eligible AS (
    SELECT w.address
    FROM wallets w JOIN wallet_metrics m ON m.wallet = w.address
    WHERE m.closed_trades >= %(min_trades)s AND m.win_rate >= %(min_win_rate)s
      AND m.roi >= %(min_roi)s AND COALESCE(w.score, 0) >= %(min_score)s
      AND NOT w.is_bot AND NOT m.is_bot AND w.status NOT IN ('blacklisted', 'dormant')
    ORDER BY w.score DESC, w.address
    LIMIT %(max_size)s
)
SELECT w.address,
       CASE WHEN w.status = 'blacklisted' THEN false
            WHEN w.watchlist_override = 'add' THEN true
            WHEN w.watchlist_override = 'remove' THEN false
            ELSE e.address IS NOT NULL END AS desired,
       e.address IS NOT NULL AS automatic
FROM wallets w LEFT JOIN eligible e ON e.address = w.address
"""


def apply_watchlist(db: Database, config: DynamicConfig, *, now: datetime) -> WatchlistReport:
    """Recompute ``wallets.on_watchlist`` for every wallet; return what changed."""
    rule: WatchlistConfig = config.watchlist
    params = rule.model_dump()
    with db.connection() as conn, conn.transaction():
        rows = conn.execute(
            f"""WITH desired AS ({_DESIRED_SQL}),
                changed AS (
                    UPDATE wallets w SET on_watchlist = d.desired
                    FROM desired d WHERE d.address = w.address
                      AND w.on_watchlist IS DISTINCT FROM d.desired
                    RETURNING d.desired)
                SELECT
                  (SELECT count(*) FILTER (WHERE desired) FROM changed),
                  (SELECT count(*) FILTER (WHERE NOT desired) FROM changed),
                  (SELECT count(*) FILTER (WHERE desired) FROM desired),
                  (SELECT count(*) FILTER (WHERE automatic) FROM desired),
                  (SELECT count(*) FROM wallets WHERE watchlist_override = 'add'
                                                  AND status <> 'blacklisted'),
                  (SELECT count(*) FROM wallets WHERE watchlist_override = 'remove')""",
            params,
        ).fetchone()
    assert rows is not None
    report = WatchlistReport(added=rows[0], removed=rows[1], size=rows[2], automatic=rows[3],
                             manual_adds=rows[4], manual_removes=rows[5])
    log.info("watchlist_applied", at=now.isoformat(), **report.model_dump())
    return report


def set_watchlist_override(
    db: Database, wallet: str, override: WatchlistOverride | str, *,
    config: DynamicConfig | None = None, now: datetime | None = None,
) -> bool:
    """Record the operator's decision for ``wallet`` and apply it at once.

    Returns the wallet's effective membership. ``none`` hands it back to the automatic rule
    (needs ``config``/``now`` to re-run it; otherwise the next run decides).
    """
    choice = WatchlistOverride(override)
    with db.connection() as conn, conn.transaction():
        row = conn.execute(
            "UPDATE wallets SET watchlist_override = %s, on_watchlist = CASE "
            "  WHEN status = 'blacklisted' THEN false "
            "  WHEN %s = 'add' THEN true WHEN %s = 'remove' THEN false "
            "  ELSE on_watchlist END "
            "WHERE address = %s RETURNING on_watchlist",
            (choice.value, choice.value, choice.value, wallet),
        ).fetchone()
    if row is None:
        raise UnknownWalletError(f"wallet {wallet} is not tracked",
                                 hint="discover or add it before editing the watchlist")
    log.info("watchlist_override_set", wallet=wallet, override=choice.value)
    if choice is WatchlistOverride.none and config is not None and now is not None:
        apply_watchlist(db, config, now=now)
        with db.connection() as conn:
            again = conn.execute("SELECT on_watchlist FROM wallets WHERE address = %s",
                                 (wallet,)).fetchone()
        return bool(again and again[0])
    return bool(row[0])
