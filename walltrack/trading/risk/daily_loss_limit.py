"""Daily loss limit: today's (UTC) net realized loss ≥ ``limit`` × capital → pause until the
next UTC day.

Recomputed from the closed trades on every evaluation: the lock carries ``until`` = the next
UTC midnight and lifts itself then (with a ``daily_loss_resume`` event). ``limit`` None: off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar

from walltrack.models.trading import RiskEventKind
from walltrack.trading.risk.base import (
    ProtectionSnapshot,
    ProtectionVerdict,
    event,
)
from walltrack.trading.risk.locks import Lock, LockKind

EPSILON = 1e-12


def day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


@dataclass(frozen=True, slots=True)
class DailyLossLimit:
    limit: float | None = 0.10
    name: ClassVar[str] = "daily_loss_limit"

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        start = day_start(snap.now)
        net = sum(t.pnl_sol for t in snap.closed_trades if start <= t.closed_at <= snap.now)
        loss = max(0.0, -net)
        held = snap.lock(LockKind.daily_loss)
        metrics = {"daily_loss_sol": loss}
        if self.limit is None:
            return ProtectionVerdict(protection=self.name, metrics=metrics)
        cap = self.limit * snap.capital_sol
        metrics["daily_loss_cap_sol"] = cap
        hit = loss > 0 and loss + EPSILON >= cap
        if hit:
            if held is not None and held.active_at(snap.now):
                return ProtectionVerdict(protection=self.name, lock=held, metrics=metrics)
            reason = (f"lost {loss:.4f} SOL today (UTC), cap {cap:.4f} SOL "
                      f"({self.limit:.0%} of capital)")
            lock = Lock(kind=LockKind.daily_loss, reason=reason, since=snap.now,
                        until=start + timedelta(days=1))
            return ProtectionVerdict(
                protection=self.name, lock=lock, metrics=metrics,
                events=(event(RiskEventKind.daily_loss_pause, snap.now, reason,
                              loss_sol=loss, cap_sol=cap, until=lock.until.isoformat()
                              if lock.until else None),),
            )
        if held is not None:
            return ProtectionVerdict(
                protection=self.name, metrics=metrics,
                events=(event(RiskEventKind.daily_loss_resume, snap.now,
                              "a new UTC day: the daily loss pause is lifted"),),
            )
        return ProtectionVerdict(protection=self.name, metrics=metrics)
