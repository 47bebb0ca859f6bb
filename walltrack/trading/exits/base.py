"""The one interface every exit rule implements, and the values it reads and returns.

A rule reads an immutable :class:`PositionView` (the position, the current price and the
exit state persisted with it) and returns, from ``evaluate(view)``:

- an :class:`ExitAction` — sell ``fraction`` of the *current remaining* position (in (0, 1]),
  with a reason and, optionally, a :class:`StateUpdate` to persist (ladder step done, …);
- a bare :class:`StateUpdate` — nothing to sell, but state changed (trailing stop armed,
  break-even ratchet raised);
- ``None`` — nothing to do.

Rules never see a missing or stale price: ``strategy.evaluate`` answers ``stale`` before any
rule runs, so no rule can close a position at a price of zero. Every rule is pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Protocol, Self, runtime_checkable

from pydantic import ConfigDict, Field

from walltrack.models.base import DomainModel


class ExitKind(StrEnum):
    """The rule kinds, declared in the fixed evaluation order (docs/exits.md)."""

    stop_loss = "stop_loss"
    break_even = "break_even"
    trailing_stop = "trailing_stop"
    moonbag = "moonbag"
    mirror_exit = "mirror_exit"
    take_profit_ladder = "take_profit_ladder"
    time_stop = "time_stop"


EVALUATION_ORDER: tuple[ExitKind, ...] = tuple(ExitKind)
"""Stop loss first … time stop last; the order in which ``strategy.evaluate`` asks the rules."""

EPSILON = 1e-9  # relative tolerance for token amounts (float dust)


class ExitState(DomainModel):
    """What the exit rules remember between price updates; persisted with the position."""

    model_config = ConfigDict(frozen=True)

    ladder_done: int = Field(default=0, ge=0)  # take-profit steps already sold, in order
    trailing_armed: bool = False
    ratchet_level: float | None = Field(default=None, ge=0.0)  # stop at entry × (1 + level)


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """A change to :class:`ExitState`; ``None`` fields are left as they are."""

    ladder_done: int | None = None
    trailing_armed: bool | None = None
    ratchet_level: float | None = None

    def merge(self, other: StateUpdate) -> StateUpdate:
        return StateUpdate(
            ladder_done=other.ladder_done if other.ladder_done is not None else self.ladder_done,
            trailing_armed=(other.trailing_armed if other.trailing_armed is not None
                            else self.trailing_armed),
            ratchet_level=(other.ratchet_level if other.ratchet_level is not None
                           else self.ratchet_level),
        )

    def apply(self, state: ExitState) -> ExitState:
        """The new state; the very same object when nothing changed."""
        ladder = state.ladder_done if self.ladder_done is None else self.ladder_done
        armed = state.trailing_armed if self.trailing_armed is None else self.trailing_armed
        level = state.ratchet_level if self.ratchet_level is None else self.ratchet_level
        if (ladder == state.ladder_done and armed == state.trailing_armed
                and level == state.ratchet_level):
            return state
        return ExitState(ladder_done=ladder, trailing_armed=armed, ratchet_level=level)


_NO_STATE = ExitState()


_INF = math.inf


def _invalid(view: PositionView) -> None:
    if not 0 < view.entry_price < _INF:
        raise ValueError(f"entry_price must be a positive number, not {view.entry_price}")
    if not view.initial_tokens > 0:
        raise ValueError(f"initial_tokens must be positive, not {view.initial_tokens}")
    if not 0 <= view.remaining_tokens <= view.initial_tokens * (1 + EPSILON):
        raise ValueError(f"remaining_tokens must be in [0, initial_tokens], "
                         f"not {view.remaining_tokens}")
    if not view.peak_price >= 0:
        raise ValueError(f"peak_price must be ≥ 0, not {view.peak_price}")
    if view.price is not None and not -_INF < view.price < _INF:
        raise ValueError(f"price is {view.price}: pass None for a missing price")
    raise ValueError(f"source_sold_fraction must be in [0, 1], not {view.source_sold_fraction}")


@dataclass(frozen=True, slots=True)
class PositionView:
    """An open position as the exit rules see it, at one price update. Prices in SOL/token.

    ``price`` is ``None`` when no price is known (a price ≤ 0 counts as missing);
    ``peak_price`` is the highest price seen since entry, before this update: rules read
    ``peak``, which includes the current price and the entry, and ``multiple`` (price /
    entry). ``source_sold_fraction`` is the share of its holding the source wallet just sold
    (``None`` when it did not sell).
    """

    entry_price: float
    price: float | None
    price_at: datetime | None
    now: datetime
    peak_price: float
    opened_at: datetime
    initial_tokens: float
    remaining_tokens: float
    state: ExitState = _NO_STATE
    source_sold_fraction: float | None = None
    # Derived once here, read by several rules: the peak including the current price, and
    # the current price as a multiple of entry (0 without a price).
    peak: float = field(init=False, repr=False, compare=False)
    multiple: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entry, price, sold = self.entry_price, self.price, self.source_sold_fraction
        # One combined test on the hot path (a view is built per position per update);
        # comparisons with NaN are false, so NaN fails it too. The messages come after.
        if not (0 < entry < _INF and 0 <= self.remaining_tokens
                <= self.initial_tokens * (1 + EPSILON) and self.initial_tokens > 0
                and self.peak_price >= 0 and (price is None or -_INF < price < _INF)
                and (sold is None or 0 <= sold <= 1)):
            _invalid(self)
        if price is None or price <= 0:
            price = 0.0
        peak = self.peak_price
        if price > peak:
            peak = price
        object.__setattr__(self, "peak", peak if peak > entry else entry)
        object.__setattr__(self, "multiple", price / entry)

    @property
    def has_price(self) -> bool:
        return self.price is not None and self.price > 0


@dataclass(frozen=True, slots=True)
class ExitAction:
    """Sell ``fraction`` (in (0, 1]) of the current remaining position, for ``reason``."""

    kind: ExitKind
    fraction: float
    reason: str
    update: StateUpdate | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"an exit action sells a fraction in (0, 1], not {self.fraction}")

    @property
    def full(self) -> bool:
        return self.fraction >= 1.0


RuleResult = ExitAction | StateUpdate | None


@runtime_checkable
class ExitRule(Protocol):
    """The interface of a rule kind (not to be confused with the stored
    :class:`walltrack.models.trading.ExitRule`, the rule's kind + params in an exit plan)."""

    @property
    def kind(self) -> str: ...

    def evaluate(self, view: PositionView) -> RuleResult: ...


class RuleConfig(DomainModel):
    """Base of every rule's typed parameters: frozen, validated, convertible to plan params.

    ``to_params``/``from_params`` map to and from the flat ``dict[str, float]`` of the
    stored :class:`walltrack.models.trading.ExitRule`; optional parameters left at ``None``
    are omitted. Rules with structured parameters (the ladder) override both.
    """

    model_config = ConfigDict(frozen=True)

    exit_kind: ClassVar[ExitKind]

    def to_params(self) -> dict[str, float]:
        return {name: float(value) for name, value in self.model_dump(exclude={"kind"}).items()
                if value is not None}

    @classmethod
    def from_params(cls, params: dict[str, float]) -> Self:
        return cls.model_validate({"kind": cls.exit_kind.value, **params})

    def evaluate(self, view: PositionView) -> RuleResult:  # pragma: no cover - overridden
        raise NotImplementedError
