"""Stop loss: sell everything when the price falls to ``entry × (1 − loss)`` or below."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from walltrack.trading.exits.base import ExitAction, ExitKind, PositionView, RuleConfig


class StopLoss(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.stop_loss

    kind: Literal["stop_loss"] = "stop_loss"
    loss: float = Field(default=0.30, gt=0.0, lt=1.0)  # 0.30: sell at −30 % or worse

    def evaluate(self, view: PositionView) -> ExitAction | None:
        if view.multiple <= 1.0 - self.loss:
            return ExitAction(ExitKind.stop_loss, 1.0,
                              f"stop loss: price {view.multiple:.3f}× entry ≤ "
                              f"{1.0 - self.loss:.3f}×")
        return None
