"""Risk protections and the manager that combines them (docs/risk.md).

One module per protection behind one interface (``Protection.evaluate(snapshot) ->
ProtectionVerdict``); ``RiskManager`` runs them in a documented order. Pure: no store, no I/O.
"""

from __future__ import annotations

from walltrack.models.config import ProtectionConfig
from walltrack.trading.risk.base import (
    AnyRiskEvent,
    ClosedTrade,
    Protection,
    ProtectionSnapshot,
    ProtectionVerdict,
)
from walltrack.trading.risk.daily_loss_limit import DailyLossLimit
from walltrack.trading.risk.drawdown_pause import DrawdownPause
from walltrack.trading.risk.locks import Lock, LockKind
from walltrack.trading.risk.loss_streak import LossStreak, is_max_loss
from walltrack.trading.risk.manager import (
    ProtectionState,
    RiskManager,
    RiskObservation,
    RiskOutcome,
)
from walltrack.trading.risk.manual_pause import ManualPause
from walltrack.trading.risk.max_positions import MaxPositions
from walltrack.trading.risk.win_rate_halt import WinRateHalt

__all__ = [
    "AnyRiskEvent",
    "ClosedTrade",
    "DailyLossLimit",
    "DrawdownPause",
    "Lock",
    "LockKind",
    "LossStreak",
    "ManualPause",
    "MaxPositions",
    "Protection",
    "ProtectionConfig",
    "ProtectionSnapshot",
    "ProtectionState",
    "ProtectionVerdict",
    "RiskManager",
    "RiskObservation",
    "RiskOutcome",
    "WinRateHalt",
    "is_max_loss",
]
