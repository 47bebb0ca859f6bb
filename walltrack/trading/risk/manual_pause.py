"""Manual pause: the operator's pause holds until the operator resumes.

The evaluation only keeps the lock; ``RiskManager.pause`` sets it and ``RiskManager.resume``
lifts it (each with a note and an event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from walltrack.trading.risk.base import ProtectionSnapshot, ProtectionVerdict
from walltrack.trading.risk.locks import LockKind


@dataclass(frozen=True, slots=True)
class ManualPause:
    name: ClassVar[str] = "manual_pause"

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        return ProtectionVerdict(protection=self.name, lock=snap.lock(LockKind.manual_pause))
