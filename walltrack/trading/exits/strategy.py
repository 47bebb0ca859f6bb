"""Exit strategies: named lists of typed rules, evaluated in one fixed order on every price update.

**Order** (``EVALUATION_ORDER``; docs/exits.md):

0. missing or stale price → outcome ``stale``: no rule runs, nothing is sold, no state
   changes (a position is never closed at a price of zero);
1. stop loss;
2. break-even ratchet stop;
3. trailing stop;
4. moonbag trail;
5. mirror exit — when it fires, the take-profit ladder is not asked on the same update
   (the mirror exit overrides the ladder);
6. take-profit ladder;
7. time stop.

**Combining** into at most one sell per update: every rule is asked (a rule that only
changes state — trailing stop armed, ratchet raised — still reports it); then

- the take-profit ladder and the trailing stop are *profit taking*: with a moonbag in the
  strategy they sell down to the moonbag (``keep`` × initial tokens), never into it;
- the first action, in the order above, that sells the whole remaining position wins and is
  the only reason given (a full exit wins over partial ones);
- otherwise the partial actions do not add up: the largest is sold (it covers the others;
  ties go to the earlier rule) and every reason is listed;
- the sell is a fraction of the current remaining position, in (0, 1]: never more than
  what is left;
- the state updates of every rule that acted are merged into the new state to persist.

**Precedence** of strategies (``resolve_strategy``): the per-position override the operator
set while the position is open > the wallet's default > the global default. The exit plan
stored with the position (``plan_of``) is the resolved strategy's rules as
:class:`walltrack.models.trading.ExitRule` (kind + flat float params); ``strategy_from_plan``
reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any, NamedTuple, Self

from pydantic import ConfigDict, Field, model_validator

from walltrack.models.base import DomainModel
from walltrack.models.trading import ExitRule as PlannedRule
from walltrack.trading.exits.base import (
    EPSILON,
    EVALUATION_ORDER,
    ExitAction,
    ExitKind,
    ExitState,
    PositionView,
    RuleConfig,
    RuleResult,
    StateUpdate,
)
from walltrack.trading.exits.break_even import BreakEven
from walltrack.trading.exits.mirror_exit import MirrorExit
from walltrack.trading.exits.moonbag import Moonbag
from walltrack.trading.exits.stop_loss import StopLoss
from walltrack.trading.exits.take_profit_ladder import LadderStep, TakeProfitLadder
from walltrack.trading.exits.time_stop import TimeStop
from walltrack.trading.exits.trailing_stop import TrailingStop

DEFAULT_MAX_PRICE_AGE_SECONDS = 120.0
"""A price older than this (``now − price_at``) is stale: the outcome is ``stale``."""

DEFAULT_STRATEGY = "balanced"

AnyRule = Annotated[
    StopLoss | BreakEven | TrailingStop | Moonbag | MirrorExit | TakeProfitLadder | TimeStop,
    Field(discriminator="kind"),
]

RULE_TYPES: Mapping[ExitKind, type[RuleConfig]] = MappingProxyType({
    cls.exit_kind: cls
    for cls in (StopLoss, BreakEven, TrailingStop, Moonbag, MirrorExit, TakeProfitLadder, TimeStop)
})

_PROFIT_TAKING = frozenset({ExitKind.take_profit_ladder, ExitKind.trailing_stop})
_LADDER = ExitKind.take_profit_ladder
_MIRROR = ExitKind.mirror_exit
_RANK: Mapping[ExitKind, int] = MappingProxyType(
    {kind: i for i, kind in enumerate(EVALUATION_ORDER)})
_DERIVED = ("ordered_rules", "evaluators", "moonbag_keep")  # cached properties of a strategy


class ExitStrategy(DomainModel):
    """A named list of rules, at most one of each kind; evaluated in ``EVALUATION_ORDER``
    whatever order they are listed in."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    rules: tuple[AnyRule, ...] = ()

    @model_validator(mode="after")
    def _one_per_kind(self) -> Self:
        kinds = [rule.kind for rule in self.rules]
        repeated = sorted({k for k in kinds if kinds.count(k) > 1})
        if repeated:
            raise ValueError(f"strategy {self.name!r} has more than one rule of kind "
                             f"{', '.join(repeated)}")
        return self

    # Derived once per (frozen) strategy and cached on the instance: evaluation reads them
    # for every position at every price update.
    @cached_property
    def ordered_rules(self) -> tuple[RuleConfig, ...]:
        return tuple(sorted(self.rules, key=lambda r: _RANK[r.exit_kind]))

    @cached_property
    def evaluators(self) -> tuple[tuple[ExitKind, Callable[[PositionView], RuleResult]], ...]:
        """(kind, bound ``evaluate``) in evaluation order: the hot loop calls these."""
        return tuple((rule.exit_kind, rule.evaluate) for rule in self.ordered_rules)

    @cached_property
    def moonbag_keep(self) -> float:
        """Share of the initial position kept from profit taking (0 without a moonbag)."""
        return next((r.keep for r in self.rules if isinstance(r, Moonbag)), 0.0)

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Self:
        """A copy; with ``update`` the derived values above are computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            for name in _DERIVED:
                copied.__dict__.pop(name, None)
        return copied

    def rule(self, kind: ExitKind) -> RuleConfig | None:
        return next((r for r in self.rules if r.exit_kind is kind), None)


class OutcomeStatus(StrEnum):
    hold = "hold"  # nothing to sell (state may still have changed)
    sell = "sell"
    stale = "stale"  # no usable price: nothing evaluated, nothing sold
    closed = "closed"  # nothing left to sell


class ExitOutcome(NamedTuple):
    """The one decision for a position at one price update, and the state to persist.

    A named tuple (immutable, and the cheapest to build: one per position per update)."""

    status: OutcomeStatus
    state: ExitState
    fraction: float = 0.0  # of the current remaining position, in (0, 1] when selling
    tokens: float = 0.0  # fraction × remaining tokens
    kind: ExitKind | None = None  # the rule whose sell is executed
    kinds: tuple[ExitKind, ...] = ()  # every rule that asked to sell
    reason: str = ""
    state_changed: bool = False

    @property
    def full_exit(self) -> bool:
        return self.status is OutcomeStatus.sell and self.fraction >= 1.0


_HOLD = OutcomeStatus.hold


def evaluate(strategy: ExitStrategy, view: PositionView, *,
             max_price_age_seconds: float = DEFAULT_MAX_PRICE_AGE_SECONDS) -> ExitOutcome:
    """Ask the rules in the fixed order and combine them into at most one sell (module doc)."""
    state = view.state
    remaining = view.remaining_tokens
    if remaining <= 0:
        return ExitOutcome(OutcomeStatus.closed, state, reason="nothing left to sell")
    price, price_at = view.price, view.price_at
    if price is None or not price > 0 or price_at is None:
        return ExitOutcome(OutcomeStatus.stale, state, reason="no price: nothing evaluated")
    age = (view.now - price_at).total_seconds()
    if age > max_price_age_seconds:
        return ExitOutcome(OutcomeStatus.stale, state,
                           reason=f"price is {age:.0f}s old (> {max_price_age_seconds:g}s): "
                                  "nothing evaluated")

    actions: list[ExitAction] = []
    update: StateUpdate | None = None
    mirrored = False
    for kind, rule in strategy.evaluators:
        if mirrored and kind is _LADDER:
            continue  # the mirror exit overrides the ladder on this update
        result = rule(view)
        if result is None:
            continue
        if result.__class__ is StateUpdate:
            found: StateUpdate | None = result  # type: ignore[assignment]
        else:
            action: ExitAction = result  # type: ignore[assignment]
            actions.append(action)
            mirrored = mirrored or kind is _MIRROR
            found = action.update
        if found is not None:
            update = found if update is None else update.merge(found)

    if update is None:
        if not actions:  # the common case: positional arguments are the cheapest
            return ExitOutcome(_HOLD, state, 0.0, 0.0, None, (), "", False)
        return _combine(strategy, view, actions, state, False)
    new_state = update.apply(state)
    changed = new_state is not state
    if not actions:
        return ExitOutcome(_HOLD, new_state, 0.0, 0.0, None, (), "", changed)
    return _combine(strategy, view, actions, new_state, changed)


def _combine(strategy: ExitStrategy, view: PositionView, actions: list[ExitAction],
             state: ExitState, changed: bool) -> ExitOutcome:
    remaining = view.remaining_tokens
    floor = strategy.moonbag_keep * view.initial_tokens
    above_floor = max(0.0, remaining - floor)
    best: tuple[float, ExitAction] | None = None
    for action in actions:
        tokens = action.fraction * remaining
        if floor > 0 and action.kind in _PROFIT_TAKING:
            tokens = min(tokens, above_floor)
        if tokens >= remaining * (1.0 - EPSILON):  # a full exit wins over partial ones
            return ExitOutcome(OutcomeStatus.sell, state, 1.0, remaining, action.kind,
                               tuple(a.kind for a in actions), action.reason, changed)
        if tokens > remaining * EPSILON and (best is None or tokens > best[0]):
            best = (tokens, action)
    kinds = tuple(a.kind for a in actions)
    if best is None:
        return ExitOutcome(OutcomeStatus.hold, state, kinds=kinds,
                           reason="moonbag kept: " + "; ".join(a.reason for a in actions),
                           state_changed=changed)
    tokens, chosen = best
    reasons = [chosen.reason, *(a.reason for a in actions if a is not chosen)]
    return ExitOutcome(OutcomeStatus.sell, state, min(1.0, tokens / remaining), tokens,
                       chosen.kind, kinds, "; ".join(reasons), changed)


# --- named strategies ------------------------------------------------------------------------

NAMED_STRATEGIES: Mapping[str, ExitStrategy] = MappingProxyType({
    s.name: s for s in (
        ExitStrategy(
            name="balanced",
            description="The default. −30 % stop; take 25 % at 2× and 25 % at 3×; break-even "
                        "(+5 %) once 2×; trail 25 % from +50 %; 10 % moonbag on a 50 % trail; "
                        "mirror the source's sells; out after 24 h unless ≥ 1.2×.",
            rules=(
                StopLoss(loss=0.30),
                BreakEven(arm_gain=1.0, lock_gain=0.05),
                TrailingStop(arm_gain=0.5, trail=0.25),
                Moonbag(keep=0.10, trail=0.50),
                MirrorExit(min_fraction=0.10, full_above=0.90),
                TakeProfitLadder(steps=(LadderStep(multiple=2.0, fraction=0.25),
                                        LadderStep(multiple=3.0, fraction=0.25))),
                TimeStop(max_hours=24.0, unless_above=1.2),
            ),
        ),
        ExitStrategy(
            name="conservative",
            description="Protect capital. −15 % stop; take 40 % at 1.5× and 40 % at 2×; "
                        "break-even (+2 %) once +30 %; trail 15 % from +20 %; no moonbag; "
                        "mirror any sell ≥ 5 %, all of it from 75 %; out after 6 h unless "
                        "≥ 1.1×.",
            rules=(
                StopLoss(loss=0.15),
                BreakEven(arm_gain=0.30, lock_gain=0.02),
                TrailingStop(arm_gain=0.20, trail=0.15),
                MirrorExit(min_fraction=0.05, full_above=0.75),
                TakeProfitLadder(steps=(LadderStep(multiple=1.5, fraction=0.40),
                                        LadderStep(multiple=2.0, fraction=0.40))),
                TimeStop(max_hours=6.0, unless_above=1.1),
            ),
        ),
        ExitStrategy(
            name="runner",
            description="Let winners run. −40 % stop; take 20 % at 3×, 5× and 10×; break-even "
                        "(+10 %) once 2.5×, raised 50 % per further 50 %; trail 35 % from 2×; "
                        "20 % moonbag on a 60 % trail; mirror only sells ≥ 25 %, all of it from "
                        "95 %; out after 72 h unless ≥ 1×.",
            rules=(
                StopLoss(loss=0.40),
                BreakEven(arm_gain=1.5, lock_gain=0.10, step_gain=0.5),
                TrailingStop(arm_gain=1.0, trail=0.35),
                Moonbag(keep=0.20, trail=0.60),
                MirrorExit(min_fraction=0.25, full_above=0.95),
                TakeProfitLadder(steps=(LadderStep(multiple=3.0, fraction=0.20),
                                        LadderStep(multiple=5.0, fraction=0.20),
                                        LadderStep(multiple=10.0, fraction=0.20))),
                TimeStop(max_hours=72.0, unless_above=1.0),
            ),
        ),
    )
})


def named_strategy(name: str, extra: Mapping[str, ExitStrategy] | None = None) -> ExitStrategy:
    """A strategy by name: the operator's own (``extra``) first, then the built-in ones."""
    if extra is not None and name in extra:
        return extra[name]
    try:
        return NAMED_STRATEGIES[name]
    except KeyError:
        known = sorted({*NAMED_STRATEGIES, *(extra or {})})
        raise ValueError(f"unknown exit strategy {name!r}; known: {', '.join(known)}") from None


def resolve_strategy(default: ExitStrategy, per_wallet: Mapping[str, ExitStrategy],
                     wallet: str | None, override: ExitStrategy | None = None) -> ExitStrategy:
    """Override (set on the open position) > the source wallet's default > the global default."""
    if override is not None:
        return override
    if wallet is not None:
        found = per_wallet.get(wallet)
        if found is not None:
            return found
    return default


# --- the exit plan stored with the position ----------------------------------------------------

def plan_of(strategy: ExitStrategy) -> list[PlannedRule]:
    """The strategy's rules, in evaluation order, as stored exit-plan rows (kind + params)."""
    return [PlannedRule(kind=rule.exit_kind.value, params=rule.to_params())
            for rule in strategy.ordered_rules]


def strategy_from_plan(name: str, plan: list[PlannedRule]) -> ExitStrategy:
    """Read a stored exit plan back into a strategy (a clear error for an unknown kind)."""
    rules: list[RuleConfig] = []
    for row in plan:
        try:
            kind = ExitKind(row.kind)
        except ValueError:
            raise ValueError(f"unknown exit rule kind {row.kind!r} in the plan of "
                             f"{name!r}") from None
        rules.append(RULE_TYPES[kind].from_params(dict(row.params)))
    return ExitStrategy.model_validate({"name": name, "rules": [r.model_dump() for r in rules]})
