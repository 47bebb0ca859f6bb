"""Time stop: sell everything once the position has been open ``max_hours``, unless the
price is at least ``unless_above`` × entry (a winner is left to its other rules)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import ClassVar, Literal

from pydantic import Field

from walltrack.trading.exits.base import ExitAction, ExitKind, PositionView, RuleConfig


class TimeStop(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.time_stop

    kind: Literal["time_stop"] = "time_stop"
    max_hours: float = Field(default=24.0, gt=0.0)
    unless_above: float | None = Field(default=None, gt=0.0)  # multiple of entry; None: always

    @cached_property
    def max_age(self) -> timedelta:
        return timedelta(hours=self.max_hours)

    def evaluate(self, view: PositionView) -> ExitAction | None:
        age = view.now - view.opened_at
        if age < self.max_age:
            return None
        hours = age.total_seconds() / 3600.0
        if self.unless_above is not None and view.multiple >= self.unless_above:
            return None
        return ExitAction(ExitKind.time_stop, 1.0,
                          f"time stop: open {hours:.1f} h ≥ {self.max_hours:g} h")
