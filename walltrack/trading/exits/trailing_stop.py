"""Trailing stop: arms once the peak reaches ``entry × (1 + arm_gain)``, then sells when the
price falls to ``peak × (1 − trail)`` or below. Arming is persisted (``trailing_armed``);
with a moonbag in the strategy, the strategy keeps the moonbag out of this sell.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from walltrack.trading.exits.base import (
    ExitAction,
    ExitKind,
    PositionView,
    RuleConfig,
    RuleResult,
    StateUpdate,
)

_ARMED = StateUpdate(trailing_armed=True)


class TrailingStop(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.trailing_stop

    kind: Literal["trailing_stop"] = "trailing_stop"
    arm_gain: float = Field(default=0.5, ge=0.0)  # arms at +50 % (peak ≥ 1.5 × entry)
    trail: float = Field(default=0.25, gt=0.0, lt=1.0)  # sells 25 % below the peak

    def evaluate(self, view: PositionView) -> RuleResult:
        peak = view.peak
        armed = view.state.trailing_armed
        if not armed:
            if peak < view.entry_price * (1.0 + self.arm_gain):
                return None
        price = view.price or 0.0
        if price <= peak * (1.0 - self.trail):
            return ExitAction(ExitKind.trailing_stop, 1.0,
                              f"trailing stop: price {price / peak:.3f}× the peak "
                              f"≤ {1.0 - self.trail:.3f}×", None if armed else _ARMED)
        return None if armed else _ARMED
