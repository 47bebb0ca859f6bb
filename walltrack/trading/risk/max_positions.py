"""Max positions: as many open positions as ``max_concurrent_positions`` → no new entry.

Not sticky and not an event (each refused signal records ``position_limit``): the lock is
recomputed on every evaluation and lifts itself when a position closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from walltrack.trading.risk.base import ProtectionSnapshot, ProtectionVerdict
from walltrack.trading.risk.locks import Lock, LockKind


@dataclass(frozen=True, slots=True)
class MaxPositions:
    max_concurrent_positions: int = 5
    name: ClassVar[str] = "max_positions"

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        metrics = {"open_positions": float(snap.open_positions)}
        if snap.open_positions < self.max_concurrent_positions:
            return ProtectionVerdict(protection=self.name, metrics=metrics)
        held = snap.lock(LockKind.max_positions)
        lock = held or Lock(kind=LockKind.max_positions, since=snap.now,
                            reason=f"{snap.open_positions} positions open "
                                   f"(max {self.max_concurrent_positions})")
        return ProtectionVerdict(protection=self.name, lock=lock, metrics=metrics)
