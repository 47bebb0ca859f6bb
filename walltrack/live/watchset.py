"""The watched wallets in memory: one dict lookup per transaction, no store query.

Loaded whole from the store (:func:`load_watchset`) at start and again whenever the
``walltrack_watchlist`` notification fires (a trigger on ``wallets``, migration 0006). A
blacklisted wallet stays in the set (flagged) so a delivery that still names it — the
webhook list is synced on a schedule — is stored as a ``blacklisted`` signal, not lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from walltrack.store import Database
from walltrack.store.frames import query_frame


@dataclass(frozen=True, slots=True)
class WatchedWallet:
    address: str
    score: float | None  # after decay
    status: str
    cluster_id: str | None
    timing_percentile: float | None
    avg_buy_sol: float | None
    blacklisted: bool


class WatchSet:
    def __init__(self, wallets: dict[str, WatchedWallet]) -> None:
        self._wallets = wallets
        self.watched: frozenset[str] = frozenset(
            a for a, w in wallets.items() if not w.blacklisted)

    @property
    def addresses(self) -> frozenset[str]:
        """Every wallet of the set, blacklisted ones too (their swaps are still recorded)."""
        return frozenset(self._wallets)

    def get(self, address: str) -> WatchedWallet | None:
        return self._wallets.get(address)

    def __contains__(self, address: object) -> bool:
        return address in self._wallets

    def __len__(self) -> int:
        return len(self.watched)


_SCHEMA = {"address": pl.String, "score": pl.Float64, "status": pl.String,
           "cluster_id": pl.String, "timing_percentile": pl.Float64,
           "avg_buy_sol": pl.Float64}


def load_watchset(db: Database) -> WatchSet:
    frame = query_frame(
        db, """SELECT w.address, w.score, w.status, w.cluster_id, m.timing_percentile,
                      m.avg_buy_sol
               FROM wallets w LEFT JOIN wallet_metrics m ON m.wallet = w.address
               WHERE w.on_watchlist OR w.status = 'blacklisted'""", schema=_SCHEMA)
    return watchset_from_frame(frame)


def watchset_from_frame(frame: pl.DataFrame) -> WatchSet:
    cols = [frame[c].to_list() for c in _SCHEMA]
    wallets = {
        a: WatchedWallet(a, s, st, c, t, b, st == "blacklisted")
        for a, s, st, c, t, b in zip(*cols, strict=True)
    }
    return WatchSet(wallets)
