"""Take-profit ladder: at each multiple of the entry price, sell a fraction of the position.

Steps are ``(multiple, fraction)`` with strictly increasing multiples; ``fraction`` is a share
of the *initial* position (the steps together sell at most all of it). Each step fires once,
in order: the state counts the steps done (``ladder_done``). When the price gaps over several
steps, they are sold together in one action. The action's fraction is converted to a share
of the remaining position (capped at all of it); the strategy keeps a moonbag out of it.
"""

from __future__ import annotations

import itertools
import re
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from walltrack.models.base import DomainModel
from walltrack.trading.exits.base import (
    ExitAction,
    ExitKind,
    PositionView,
    RuleConfig,
    StateUpdate,
)

_STEP_KEY = re.compile(r"^step_(\d+)_(multiple|fraction)$")


class LadderStep(DomainModel):
    multiple: float = Field(gt=1.0)  # of the entry price
    fraction: float = Field(gt=0.0, le=1.0)  # of the initial position


class TakeProfitLadder(RuleConfig):
    exit_kind: ClassVar[ExitKind] = ExitKind.take_profit_ladder

    kind: Literal["take_profit_ladder"] = "take_profit_ladder"
    steps: tuple[LadderStep, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        multiples = [s.multiple for s in self.steps]
        if any(b <= a for a, b in itertools.pairwise(multiples)):
            raise ValueError(f"ladder multiples must increase strictly, not {multiples}")
        total = sum(s.fraction for s in self.steps)
        if total > 1.0 + 1e-9:
            raise ValueError(f"ladder fractions sum to {total:.3f} of the position (> 1)")
        return self

    def evaluate(self, view: PositionView) -> ExitAction | None:
        done = view.state.ladder_done
        steps = self.steps
        if done >= len(steps) or view.remaining_tokens <= 0:
            return None
        multiple = view.multiple
        if multiple < steps[done].multiple:
            return None  # the common case, answered first
        reached = done
        while reached < len(steps) and multiple >= steps[reached].multiple:
            reached += 1
        if reached == done:
            return None
        share = sum(s.fraction for s in steps[done:reached])
        fraction = min(1.0, share * view.initial_tokens / view.remaining_tokens)
        names = ", ".join(f"{s.multiple:g}×" for s in steps[done:reached])
        return ExitAction(ExitKind.take_profit_ladder, fraction,
                          f"take profit at {names} (price {multiple:.3f}× entry): "
                          f"{share:.0%} of the initial position",
                          StateUpdate(ladder_done=reached))

    def to_params(self) -> dict[str, float]:
        params: dict[str, float] = {}
        for i, step in enumerate(self.steps, start=1):
            params[f"step_{i}_multiple"] = step.multiple
            params[f"step_{i}_fraction"] = step.fraction
        return params

    @classmethod
    def from_params(cls, params: dict[str, float]) -> Self:
        found: dict[int, dict[str, float]] = {}
        for key, value in params.items():
            match = _STEP_KEY.match(key)
            if match is None:
                raise ValueError(f"unknown take-profit ladder parameter {key!r}")
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
        return cls.model_validate({"kind": cls.exit_kind.value,
                                   "steps": [found[i] for i in sorted(found)]})
