"""Tokens found through wallets: what the tracked wallets bought, as discovery candidates.

DexScreener's boosts, profiles and search show a few dozen tokens at a time; the wallets
WallTrack already tracks traded many more. A token bought by at least ``min_wallets`` tracked
wallets — not bots (they buy every launch), not blacklisted — becomes a token of source
``wallet_history``, and wallet discovery then reads its history for early profitable buyers
like any other token. Well-known mints (wSOL, stablecoins…) are never candidates.
"""

from __future__ import annotations

from datetime import datetime

from walltrack.logging import get_logger
from walltrack.models import Token, TokenSource
from walltrack.reference import common_mints
from walltrack.store import Database
from walltrack.store.repositories import TokenRepository

log = get_logger(__name__)


def tokens_bought_by_tracked_wallets(db: Database, *, min_wallets: int) -> list[str]:
    """Unknown mints bought by ≥ ``min_wallets`` tracked wallets, most bought first."""
    with db.connection() as conn:
        rows = conn.execute(
            """SELECT s.mint
               FROM swaps s JOIN wallets w ON w.address = s.wallet
               WHERE s.side = 'buy' AND NOT w.is_bot AND w.status <> 'blacklisted'
                 AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.mint = s.mint)
               GROUP BY s.mint
               HAVING count(DISTINCT s.wallet) >= %s
               ORDER BY count(DISTINCT s.wallet) DESC, s.mint""",
            (min_wallets,),
        ).fetchall()
    common = common_mints()
    return [r[0] for r in rows if r[0] not in common]


def register_wallet_tokens(db: Database, *, min_wallets: int, now: datetime) -> list[str]:
    """Store the candidates as tokens (source ``wallet_history``); return their mints."""
    mints = tokens_bought_by_tracked_wallets(db, min_wallets=min_wallets)
    TokenRepository(db).insert_new(
        Token(mint=m, source=TokenSource.wallet_history, first_seen_at=now, updated_at=now)
        for m in mints)
    log.info("tokens_from_wallets", count=len(mints), min_wallets=min_wallets)
    return mints
