"""Break-even ratchet: once the peak gain reaches ``arm_gain``, a stop sits at
``entry × (1 + lock_gain)`` (break-even plus a buffer for fees); with ``step_gain`` > 0 the
stop moves up by ``step_gain`` for every further ``step_gain`` of peak gain. The level only
ever rises (``ratchet_level`` in the state); at or below it, everything is sold.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from walltrack.trading.exits.base import (
    ExitAction,
    ExitKind,
    PositionView,
    RuleConfig,
    RuleResult,
    StateUpdate,
)


class BreakEven(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.break_even

    kind: Literal["break_even"] = "break_even"
    arm_gain: float = Field(default=1.0, gt=0.0)  # arms at +100 % (peak ≥ 2 × entry)
    lock_gain: float = Field(default=0.05, ge=0.0)  # first stop: entry × 1.05
    step_gain: float = Field(default=0.0, ge=0.0)  # 0: one step only, else ≥ 0.01

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if self.lock_gain >= self.arm_gain:
            raise ValueError("lock_gain must be below arm_gain: the stop sits under the price "
                             "that armed it")
        if 0 < self.step_gain < 0.01:
            raise ValueError("step_gain is 0 (one step) or at least 0.01")
        return self

    def level_for(self, peak_gain: float) -> float | None:
        """The ratchet level earned by a peak gain (``None``: not armed yet)."""
        if peak_gain < self.arm_gain:
            return None
        if self.step_gain <= 0:
            return self.lock_gain
        steps = math.floor((peak_gain - self.arm_gain) / self.step_gain + 1e-12)
        return self.lock_gain + steps * self.step_gain

    def evaluate(self, view: PositionView) -> RuleResult:
        old = view.state.ratchet_level
        peak_gain = view.peak / view.entry_price - 1.0
        if old is None and peak_gain < self.arm_gain:
            return None  # the common case, answered first
        earned = self.level_for(peak_gain)
        level = old if earned is None or (old is not None and old >= earned) else earned
        if level is None:
            return None
        update = StateUpdate(ratchet_level=level) if level != old else None
        if view.multiple <= 1.0 + level:
            return ExitAction(ExitKind.break_even, 1.0,
                              f"break-even ratchet: price {view.multiple:.3f}× entry ≤ "
                              f"stop {1.0 + level:.3f}×", update)
        return update
