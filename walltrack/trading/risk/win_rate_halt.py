"""Win-rate halt: win rate < ``halt_win_rate`` over the last ``window`` closed trades → halt.

Only judged once ``window`` trades exist; trades closed before the operator's last reset do
not count (a reset starts a new window). Sticky: only ``RiskManager.reset`` lifts it.
A win is a trade with a positive PnL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from walltrack.models.trading import RiskEventKind
from walltrack.trading.risk.base import ProtectionSnapshot, ProtectionVerdict, event
from walltrack.trading.risk.locks import Lock, LockKind


@dataclass(frozen=True, slots=True)
class WinRateHalt:
    halt_win_rate: float = 0.40
    window: int = 50
    name: ClassVar[str] = "win_rate_halt"

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        held = snap.lock(LockKind.win_rate_halt)
        if held is not None:
            return ProtectionVerdict(protection=self.name, lock=held)
        counted = [t for t in snap.closed_trades
                   if snap.last_reset_at is None or t.closed_at > snap.last_reset_at]
        if len(counted) < self.window:
            return ProtectionVerdict(protection=self.name, metrics={"trades": len(counted)})
        recent = counted[-self.window:]
        wins = sum(1 for t in recent if t.win)
        rate = wins / self.window
        metrics = {"trades": float(len(counted)), "win_rate": rate}
        if rate >= self.halt_win_rate:
            return ProtectionVerdict(protection=self.name, metrics=metrics)
        reason = (f"win rate {rate:.0%} ({wins}/{self.window}) over the last {self.window} "
                  f"trades < {self.halt_win_rate:.0%}")
        return ProtectionVerdict(
            protection=self.name,
            lock=Lock(kind=LockKind.win_rate_halt, reason=reason, since=snap.now),
            events=(event(RiskEventKind.win_rate_halt, snap.now, reason,
                          win_rate=rate, wins=wins, window=self.window),),
            metrics=metrics,
        )
