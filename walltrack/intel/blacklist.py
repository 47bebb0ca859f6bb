"""Blacklisting: the operator's hardest override. A blacklisted wallet is excluded from
everything downstream (watchlist, webhook address list, signals, clusters' scores).

Blacklisting records a decay event per wallet (before → ``blacklisted``), moves its lifecycle
to ``removed`` (with its event) and takes the wallet off the watchlist; un-blacklisting
returns it to ``ok`` and lets the next profiling run
decide its status again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg.types.json import Jsonb

from walltrack.logging import get_logger
from walltrack.models import DecayStatus, Lifecycle, new_id
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
                "SELECT status, lifecycle FROM wallets WHERE address = %s FOR UPDATE",
                (wallet,)).fetchone()
            before = row[0] if row else DecayStatus.ok.value
            lifecycle = row[1] if row else Lifecycle.discovered.value
            if before == DecayStatus.blacklisted.value:
                continue
            conn.execute(
                """INSERT INTO wallets (address, first_seen_at, status, on_watchlist,
                                        watchlist_override, lifecycle, lifecycle_reason)
                   VALUES (%s, %s, 'blacklisted', false, 'remove', 'removed', %s)
                   ON CONFLICT (address) DO UPDATE
                   SET status = 'blacklisted', on_watchlist = false,
                       watchlist_override = 'remove', lifecycle = 'removed',
                       lifecycle_reason = EXCLUDED.lifecycle_reason""",
                (wallet, now, f"blacklisted by the operator: {reason}"),
            )
            if lifecycle != Lifecycle.removed.value:
                conn.execute(
                    "INSERT INTO lifecycle_events (id, wallet, at, before, after, reason) "
                    "VALUES (%s, %s, %s, %s, 'removed', %s)",
                    (new_id(), wallet, now, lifecycle, f"blacklisted by the operator: {reason}"))
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
