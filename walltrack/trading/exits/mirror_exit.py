"""Mirror exit: the source wallet sold ``f`` of its holding → sell ``f`` of our remaining
position; everything when ``f ≥ full_above``; nothing for sells below ``min_fraction``
(dust). On the update where it fires, the take-profit ladder does not (it overrides it)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from walltrack.trading.exits.base import ExitAction, ExitKind, PositionView, RuleConfig


class MirrorExit(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.mirror_exit

    kind: Literal["mirror_exit"] = "mirror_exit"
    min_fraction: float = Field(default=0.05, gt=0.0, le=1.0)
    full_above: float = Field(default=0.90, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.full_above < self.min_fraction:
            raise ValueError("full_above must be at least min_fraction")
        return self

    def evaluate(self, view: PositionView) -> ExitAction | None:
        sold = view.source_sold_fraction
        if sold is None or sold < self.min_fraction or view.remaining_tokens <= 0:
            return None
        fraction = 1.0 if sold >= self.full_above else sold
        return ExitAction(ExitKind.mirror_exit, fraction,
                          f"mirror exit: the source wallet sold {sold:.0%} of its holding")
