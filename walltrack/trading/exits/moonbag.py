"""Moonbag: keep ``keep`` of the initial position out of profit taking (the take-profit
ladder and the trailing stop sell down to it, never into it), and sell that remainder
only on a wide trail: at or below ``peak × (1 − trail)``, once the position is down to
the moonbag. Protective rules (stop loss, break-even, time stop) and the mirror exit sell
through it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from walltrack.trading.exits.base import EPSILON, ExitAction, ExitKind, PositionView, RuleConfig


class Moonbag(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.moonbag

    kind: Literal["moonbag"] = "moonbag"
    keep: float = Field(default=0.10, gt=0.0, le=0.5)  # of the initial position
    trail: float = Field(default=0.50, gt=0.0, lt=1.0)  # sells 50 % below the peak

    def floor_tokens(self, view: PositionView) -> float:
        """Tokens profit taking must leave."""
        return self.keep * view.initial_tokens

    def evaluate(self, view: PositionView) -> ExitAction | None:
        if view.remaining_tokens > self.keep * view.initial_tokens * (1.0 + EPSILON):
            return None  # not down to the moonbag yet
        peak = view.peak
        price = view.price or 0.0
        if price <= peak * (1.0 - self.trail):
            return ExitAction(ExitKind.moonbag, 1.0,
                              f"moonbag trail: price {price / peak:.3f}× the peak "
                              f"≤ {1.0 - self.trail:.3f}×")
        return None
