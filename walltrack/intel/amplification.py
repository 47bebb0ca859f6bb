"""Cluster amplification for live scoring: "who else of this wallet's cluster just bought?".

An in-memory index (no store access per lookup): wallet → cluster, and per (cluster, mint)
the sorted buy times of its trading members. ``lookup`` answers in a few microseconds
(two dict hits and a bisect over a handful of buys).

Definitions (docs/clusters.md):

* ``members_bought`` — distinct *other* trading members (leader or member role) of the
  wallet's cluster whose buy of ``mint`` lies in ``[at − window, at]`` (only the past: live
  scoring cannot see the future, and a backtest must not either);
* ``leader_bought`` — the leader bought within that window, or the wallet is the leader;
* ``cluster_size`` — trading members of the cluster (the funder, who never trades, is not
  counted).

No module state: :func:`load_index` builds an index from the store (after each clustering
run, or at a process's start) and the caller holds it — the live server passes it to
scoring; the live pipeline can add the buys it sees with :meth:`AmplificationIndex.record_buy`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from walltrack.store import Database
from walltrack.store.frames import UTC_US, query_frame

TRADING_ROLES = ("leader", "member")


@dataclass(frozen=True, slots=True)
class Amplification:
    members_bought: int = 0
    cluster_size: int = 0
    leader_bought: bool = False
    cluster_id: str | None = None


NO_CLUSTER = Amplification()
_EMPTY: tuple[list[float], list[str]] = ([], [])


class AmplificationIndex:
    def __init__(self, members: pl.DataFrame, buys: pl.DataFrame, *, window_s: float) -> None:
        """``members``: cluster_id, wallet, role; ``buys``: wallet, mint, ts (UTC datetime)."""
        self.window_s = float(window_s)
        trading = members.filter(pl.col("role").is_in(TRADING_ROLES))
        self._cluster_of: dict[str, str] = dict(
            zip(trading["wallet"].to_list(), trading["cluster_id"].to_list(), strict=True))
        self._size: dict[str, int] = {
            r[0]: r[1] for r in trading.group_by("cluster_id").len().iter_rows()}
        leaders = trading.filter(pl.col("role") == "leader")
        self._leader: dict[str, str] = dict(
            zip(leaders["cluster_id"].to_list(), leaders["wallet"].to_list(), strict=True))
        self._buys: dict[tuple[str, str], tuple[list[float], list[str]]] = {}
        if trading.height and buys.height:
            grouped = (
                buys.join(trading.select("wallet", "cluster_id"), on="wallet")
                .with_columns((pl.col("ts").dt.epoch("us") / 1e6).alias("t"))
                .sort("cluster_id", "mint", "t", "wallet")
                .group_by("cluster_id", "mint", maintain_order=True)
                .agg(pl.col("t"), pl.col("wallet"))
            )
            for cid, mint, times, wallets in grouped.iter_rows():
                self._buys[(cid, mint)] = (list(times), list(wallets))
        self._lock = threading.Lock()

    @property
    def clusters(self) -> int:
        return len(self._size)

    def cluster_of(self, wallet: str) -> str | None:
        return self._cluster_of.get(wallet)

    def record_buy(self, wallet: str, mint: str, at: datetime) -> None:
        """Add a live buy of a clustered wallet (others are ignored)."""
        cid = self._cluster_of.get(wallet)
        if cid is None:
            return
        with self._lock:
            times, wallets = self._buys.setdefault((cid, mint), ([], []))
            t = at.timestamp()
            i = bisect_right(times, t)
            times.insert(i, t)
            wallets.insert(i, wallet)

    def lookup(
        self, wallet: str, mint: str, at: datetime, window_s: float | None = None
    ) -> Amplification:
        cid = self._cluster_of.get(wallet)
        if cid is None:
            return NO_CLUSTER
        leader = self._leader.get(cid)
        times, wallets = self._buys.get((cid, mint), _EMPTY)
        t = at.timestamp()
        lo = bisect_left(times, t - (self.window_s if window_s is None else window_s))
        hi = bisect_right(times, t)
        others = {w for w in wallets[lo:hi] if w != wallet}
        return Amplification(
            members_bought=len(others),
            cluster_size=self._size[cid],
            leader_bought=wallet == leader or leader in others,
            cluster_id=cid,
        )


def index_frames(db: Database, *, until: datetime | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The index's inputs from the store: cluster members (leaders and members) and their
    first buy of each mint — up to ``until`` when given (a replay's point in time)."""
    members = query_frame(
        db, "SELECT cluster_id, wallet, role FROM cluster_members "
            "WHERE role IN ('leader', 'member')",
        schema={"cluster_id": pl.String, "wallet": pl.String, "role": pl.String})
    buys = query_frame(
        db, """SELECT s.wallet, s.mint, min(s.timestamp)
               FROM swaps s JOIN cluster_members m ON m.wallet = s.wallet
               WHERE s.side = 'buy' AND m.role IN ('leader', 'member')
                 AND (%s::timestamptz IS NULL OR s.timestamp <= %s)
               GROUP BY s.wallet, s.mint""", (until, until),
        schema={"wallet": pl.String, "mint": pl.String, "ts": UTC_US})
    return members, buys


def load_index(db: Database, *, window_s: float) -> AmplificationIndex:
    """Rebuild the index from the store (cluster members and their buys)."""
    members, buys = index_frames(db)
    return AmplificationIndex(members, buys, window_s=window_s)


__all__ = [
    "NO_CLUSTER",
    "Amplification",
    "AmplificationIndex",
    "index_frames",
    "load_index",
]
