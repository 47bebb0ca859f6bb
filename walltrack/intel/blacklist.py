"""Blacklisting: the operator's hardest override. A blacklisted wallet is excluded from
everything downstream (watchlist, webhook address list, signals, clusters' scores).

Blacklisting records a decay event per wallet (before → ``blacklisted``) and takes the wallet
off the watchlist; un-blacklisting returns it to ``ok`` and lets the next profiling run
decide its status again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg.types.json import Jsonb

from walltrack.logging import get_logger
from walltrack.models import DecayStatus, new_id
from walltrack.store import Database

log = get_logger(__name__)


def set_blacklisted(
    db: Database, wallets: Sequence[str], reason: str, *, now: datetime
) -> int:
    """Blacklist ``wallets`` (created if unknown); return how many changed status."""
    if not wallets:
        return 0
    changed = 0
    with db.connection() as conn, conn.transaction():
        for wallet in dict.fromkeys(wallets):  # keep order, drop repeats
            row = conn.execute(
                "SELECT status FROM wallets WHERE address = %s FOR UPDATE", (wallet,)
            ).fetchone()
            before = row[0] if row else DecayStatus.ok.value
            if before == DecayStatus.blacklisted.value:
                continue
            conn.execute(
                """INSERT INTO wallets (address, first_seen_at, status, on_watchlist,
                                        watchlist_override)
                   VALUES (%s, %s, 'blacklisted', false, 'remove')
                   ON CONFLICT (address) DO UPDATE
                   SET status = 'blacklisted', on_watchlist = false,
                       watchlist_override = 'remove'""",
                (wallet, now),
            )
            conn.execute(
                "INSERT INTO decay_events (id, wallet, at, before, after, reason, detail) "
                "VALUES (%s, %s, %s, %s, 'blacklisted', %s, %s)",
                (new_id(), wallet, now, before, reason, Jsonb({"manual": True})),
            )
            changed += 1
    log.info("wallets_blacklisted", count=changed, reason=reason)
    return changed


def clear_blacklist(db: Database, wallets: Sequence[str], reason: str, *, now: datetime) -> int:
    """Lift the blacklist; the wallet returns to ``ok`` with no manual watchlist override."""
    changed = 0
    with db.connection() as conn, conn.transaction():
        for wallet in dict.fromkeys(wallets):
            cur = conn.execute(
                "UPDATE wallets SET status = 'ok', watchlist_override = 'none' "
                "WHERE address = %s AND status = 'blacklisted'",
                (wallet,),
            )
            if cur.rowcount:
                conn.execute(
                    "INSERT INTO decay_events (id, wallet, at, before, after, reason, detail) "
                    "VALUES (%s, %s, %s, 'blacklisted', 'ok', %s, %s)",
                    (new_id(), wallet, now, reason, Jsonb({"manual": True})),
                )
                changed += 1
    log.info("wallets_unblacklisted", count=changed, reason=reason)
    return changed


def blacklisted_wallets(db: Database) -> set[str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT address FROM wallets WHERE status = 'blacklisted'")
        return {r[0] for r in rows.fetchall()}
