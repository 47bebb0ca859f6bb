"""Drawdown pause: equity ≥ ``max_drawdown`` below its peak → pause until the operator resets.

Sticky: once set, the lock is kept whatever equity does next; only ``RiskManager.reset``
lifts it (and restarts the peak at the equity of that moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from walltrack.models.trading import RiskEventKind
from walltrack.trading.risk.base import ProtectionSnapshot, ProtectionVerdict, event
from walltrack.trading.risk.locks import Lock, LockKind

EPSILON = 1e-12  # 8 / 10 is a 20 % drawdown, whatever the float rounding says


def drawdown(equity_sol: float, peak_sol: float) -> float:
    if peak_sol <= 0:
        return 0.0
    return max(0.0, 1.0 - equity_sol / peak_sol)


@dataclass(frozen=True, slots=True)
class DrawdownPause:
    max_drawdown: float = 0.20
    name: ClassVar[str] = "drawdown_pause"

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        dd = drawdown(snap.equity_sol, snap.peak_equity_sol)
        held = snap.lock(LockKind.drawdown_pause)
        if held is not None:
            return ProtectionVerdict(protection=self.name, lock=held, metrics={"drawdown": dd})
        if dd + EPSILON < self.max_drawdown:
            return ProtectionVerdict(protection=self.name, metrics={"drawdown": dd})
        reason = (f"equity {snap.equity_sol:.4f} SOL is {dd:.1%} below its peak "
                  f"{snap.peak_equity_sol:.4f} SOL (max {self.max_drawdown:.0%})")
        return ProtectionVerdict(
            protection=self.name,
            lock=Lock(kind=LockKind.drawdown_pause, reason=reason, since=snap.now),
            events=(event(RiskEventKind.drawdown_pause, snap.now, reason,
                          drawdown=dd, equity_sol=snap.equity_sol,
                          peak_equity_sol=snap.peak_equity_sol),),
            metrics={"drawdown": dd},
        )
