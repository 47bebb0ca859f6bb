"""Recent buys of watched wallets per mint, in memory: duplicates and confirmations.

Fed by the live pipeline as it sees buys (and seeded from the stored signals at start), so
"did this wallet already buy this mint?" and "who else bought it in the window?" never query
the store. Order-independent: a buy is a duplicate only of an *earlier* buy (by swap time,
then signature), so two workers seeing the two transactions in either order agree.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from datetime import datetime


class RecentBuys:
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._by_mint: dict[str, list[tuple[float, str, str]]] = {}  # (t, signature, wallet)
        self._lock = threading.Lock()
        self._newest = 0.0

    def record(self, mint: str, wallet: str, at: datetime, signature: str) -> None:
        t = at.timestamp()
        with self._lock:
            buys = self._by_mint.setdefault(mint, [])
            entry = (t, signature, wallet)
            i = bisect_left(buys, entry)
            if i < len(buys) and buys[i] == entry:
                return
            insort(buys, entry)
            if t > self._newest + self.keep_seconds:
                self._prune(t)
            self._newest = max(self._newest, t)

    def _prune(self, now: float) -> None:
        cutoff = now - self.keep_seconds
        for mint in list(self._by_mint):
            kept = [b for b in self._by_mint[mint] if b[0] >= cutoff]
            if kept:
                self._by_mint[mint] = kept
            else:
                del self._by_mint[mint]

    def _window(self, mint: str, at: datetime, window_s: float) -> list[tuple[float, str, str]]:
        t = at.timestamp()
        buys = self._by_mint.get(mint, [])
        lo = bisect_left(buys, (t - window_s, "", ""))
        return [b for b in buys[lo:] if b[0] <= t]

    def earlier_by(self, wallet: str, mint: str, at: datetime, signature: str,
                   window_s: float) -> bool:
        """The same wallet bought this mint before (time, signature) within the window."""
        key = (at.timestamp(), signature)
        with self._lock:
            return any(w == wallet and (t, s) < key
                       for t, s, w in self._window(mint, at, window_s))

    def buyers(self, mint: str, at: datetime, window_s: float) -> set[str]:
        """Wallets that bought the mint in [at − window, at]."""
        with self._lock:
            return {w for _t, _s, w in self._window(mint, at, window_s)}
