"""Exit rules one by one (tables), their fixed order, strategy precedence, the stored plan,
and properties over random positions (docs/exits.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from walltrack.models import ExitRule as PlannedRule
from walltrack.models import Position
from walltrack.trading.exits import (
    EVALUATION_ORDER,
    NAMED_STRATEGIES,
    BreakEven,
    ExitAction,
    ExitKind,
    ExitOutcome,
    ExitRule,
    ExitState,
    ExitStrategy,
    LadderStep,
    MirrorExit,
    Moonbag,
    OutcomeStatus,
    PositionView,
    StateUpdate,
    StopLoss,
    TakeProfitLadder,
    TimeStop,
    TrailingStop,
    evaluate,
    named_strategy,
    plan_of,
    resolve_strategy,
    strategy_from_plan,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def view(price: float | None = 1.0, *, entry: float = 1.0, peak: float | None = None,
         initial: float = 100.0, remaining: float = 100.0, hours: float = 1.0,
         price_age: float = 0.0, state: ExitState | None = None,
         sold: float | None = None) -> PositionView:
    return PositionView(
        entry_price=entry, price=price,
        price_at=NOW - timedelta(seconds=price_age), now=NOW,
        peak_price=peak if peak is not None else max(entry, price or 0.0),
        opened_at=NOW - timedelta(hours=hours), initial_tokens=initial,
        remaining_tokens=remaining, state=state or ExitState(), source_sold_fraction=sold)


def only(*rules: Any) -> ExitStrategy:
    return ExitStrategy(name="test", rules=rules)


BALANCED = NAMED_STRATEGIES["balanced"]


# --- every rule kind implements the one interface ----------------------------------------------

@pytest.mark.parametrize("rule", [
    StopLoss(), BreakEven(), TrailingStop(), Moonbag(), MirrorExit(), TimeStop(),
    TakeProfitLadder(steps=(LadderStep(multiple=2, fraction=0.5),)),
])
def test_every_rule_kind_speaks_the_interface(rule: Any) -> None:
    assert isinstance(rule, ExitRule)
    assert rule.kind == rule.exit_kind.value
    assert rule.exit_kind in EVALUATION_ORDER


def test_the_order_is_documented_and_fixed() -> None:
    assert [k.value for k in EVALUATION_ORDER] == [
        "stop_loss", "break_even", "trailing_stop", "moonbag", "mirror_exit",
        "take_profit_ladder", "time_stop"]
    shuffled = only(TimeStop(), StopLoss(), MirrorExit())
    assert [r.exit_kind for r in shuffled.ordered_rules] == [
        ExitKind.stop_loss, ExitKind.mirror_exit, ExitKind.time_stop]


# --- stop loss -------------------------------------------------------------------------------

@pytest.mark.parametrize(("loss", "entry", "price", "fires"), [
    (0.30, 1.0, 0.50, True),
    (0.30, 1.0, 0.69, True),
    (0.30, 1.0, 0.70, True),  # boundary: at the trigger it fires
    (0.30, 1.0, 0.7000001, False),
    (0.30, 1.0, 1.00, False),
    (0.30, 1.0, 5.00, False),
    (0.10, 2.0, 1.80, True),
    (0.10, 2.0, 1.81, False),
    (0.50, 4e-9, 2e-9, True),  # memecoin prices: tiny SOL per token
    (0.50, 4e-9, 2.1e-9, False),
])
def test_stop_loss(loss: float, entry: float, price: float, fires: bool) -> None:
    action = StopLoss(loss=loss).evaluate(view(price, entry=entry))
    if fires:
        assert action is not None and action.full and action.kind is ExitKind.stop_loss
        assert "stop loss" in action.reason
    else:
        assert action is None


# --- take-profit ladder ------------------------------------------------------------------------

LADDER = TakeProfitLadder(steps=(LadderStep(multiple=2.0, fraction=0.25),
                                 LadderStep(multiple=3.0, fraction=0.25)))


@pytest.mark.parametrize(("price", "done", "remaining", "fraction", "done_after"), [
    (1.99, 0, 100, None, 0),
    (2.00, 0, 100, 0.25, 1),  # boundary: the multiple itself fires
    (2.50, 1, 75, None, 1),  # the step already done never fires again
    (3.00, 1, 75, 25 / 75, 2),  # a share of the initial position, as a share of what is left
    (3.50, 0, 100, 0.50, 2),  # gapped over two steps: both at once
    (9.00, 2, 50, None, 2),  # all steps done
    (2.00, 0, 20, 1.0, 1),  # never more than what is left
    (0.50, 0, 100, None, 0),
])
def test_take_profit_ladder(price: float, done: int, remaining: float,
                            fraction: float | None, done_after: int) -> None:
    action = LADDER.evaluate(view(price, remaining=remaining, state=ExitState(ladder_done=done)))
    if fraction is None:
        assert action is None
    else:
        assert action is not None and action.kind is ExitKind.take_profit_ladder
        assert action.fraction == pytest.approx(fraction)
        assert action.update == StateUpdate(ladder_done=done_after)


@pytest.mark.parametrize("steps", [
    (),
    ((2.0, 0.5), (2.0, 0.2)),  # multiples must increase strictly
    ((3.0, 0.5), (2.0, 0.2)),
    ((2.0, 0.6), (3.0, 0.6)),  # more than the whole position
    ((1.0, 0.5),),  # a multiple must be above entry
    ((2.0, 0.0),),
])
def test_ladder_rejects_bad_steps(steps: tuple[tuple[float, float], ...]) -> None:
    with pytest.raises(ValidationError):
        TakeProfitLadder(steps=tuple(LadderStep(multiple=m, fraction=f) for m, f in steps))


# --- trailing stop -----------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "peak", "armed", "expect"), [
    (1.20, 1.20, False, None),  # not armed, nothing
    (1.50, 1.50, False, "arm"),  # boundary: arms at exactly +50 %
    (1.60, 1.40, False, "arm"),  # the current price counts towards the peak
    (1.00, 1.40, False, None),  # never armed: no sell, however far below the peak
    (1.50, 2.00, False, "sell+arm"),  # the peak armed it, the price is at the trail
    (1.51, 2.00, True, None),
    (1.50, 2.00, True, "sell"),  # boundary: 25 % below the peak fires
    (0.90, 1.00, True, None),  # armed earlier; trail from the peak 1.0 is 0.75
    (0.75, 1.00, True, "sell"),
])
def test_trailing_stop(price: float, peak: float, armed: bool, expect: str | None) -> None:
    result = TrailingStop(arm_gain=0.5, trail=0.25).evaluate(
        view(price, peak=peak, state=ExitState(trailing_armed=armed)))
    if expect is None:
        assert result is None
    elif expect == "arm":
        assert result == StateUpdate(trailing_armed=True)
    else:
        assert isinstance(result, ExitAction) and result.full
        assert result.update == (StateUpdate(trailing_armed=True) if expect == "sell+arm"
                                 else None)


# --- break-even ratchet ------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "price", "peak", "level", "sells", "level_after"), [
    (BreakEven(arm_gain=1.0, lock_gain=0.05), 1.50, 1.90, None, False, None),
    (BreakEven(arm_gain=1.0, lock_gain=0.05), 2.00, 2.00, None, False, 0.05),  # arms at 2×
    (BreakEven(arm_gain=1.0, lock_gain=0.05), 1.05, 2.50, None, True, 0.05),  # boundary
    (BreakEven(arm_gain=1.0, lock_gain=0.05), 1.06, 2.50, 0.05, False, 0.05),
    (BreakEven(arm_gain=1.0, lock_gain=0.05), 1.04, 1.50, 0.05, True, 0.05),  # stays armed
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 1.9, 2.0, None, False, 0.0),
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 2.4, 2.5, 0.0, False, 0.5),
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 2.9, 2.99, 0.5, False, 0.5),
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 2.9, 3.0, 0.5, False, 1.0),
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 1.5, 3.0, 1.0, True, 1.0),
    (BreakEven(arm_gain=1.0, lock_gain=0.0, step_gain=0.5), 2.0, 2.0, 1.0, True, 1.0),  # never
    # lowered: a lower reported peak keeps the level already earned
])
def test_break_even_ratchet(rule: BreakEven, price: float, peak: float, level: float | None,
                            sells: bool, level_after: float | None) -> None:
    result = rule.evaluate(view(price, peak=peak, state=ExitState(ratchet_level=level)))
    update = result.update if isinstance(result, ExitAction) else result
    assert isinstance(result, ExitAction) is sells
    if sells:
        assert isinstance(result, ExitAction) and result.full
    new_level = update.apply(ExitState(ratchet_level=level)).ratchet_level if update else level
    assert new_level == (pytest.approx(level_after) if level_after is not None else None)


# --- moonbag -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("remaining", "price", "peak", "fires"), [
    (100, 0.40, 1.0, False),  # not down to the moonbag: other rules' business
    (11, 0.50, 3.0, False),
    (10, 1.00, 2.0, True),  # boundary: exactly keep × initial and exactly 50 % off the peak
    (10, 1.01, 2.0, False),
    (5, 0.50, 3.0, True),
    (10, 4.00, 4.0, False),
])
def test_moonbag(remaining: float, price: float, peak: float, fires: bool) -> None:
    action = Moonbag(keep=0.10, trail=0.50).evaluate(view(price, peak=peak, remaining=remaining))
    assert (action is not None and action.full) is fires


# --- time stop ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "hours", "price", "fires"), [
    (TimeStop(max_hours=24, unless_above=1.2), 23.99, 1.0, False),
    (TimeStop(max_hours=24, unless_above=1.2), 24.0, 1.0, True),  # boundary
    (TimeStop(max_hours=24, unless_above=1.2), 30.0, 1.19, True),
    (TimeStop(max_hours=24, unless_above=1.2), 30.0, 1.2, False),  # boundary: a winner stays
    (TimeStop(max_hours=24, unless_above=1.2), 30.0, 0.5, True),
    (TimeStop(max_hours=24), 30.0, 50.0, True),  # no exception: always
    (TimeStop(max_hours=0.5), 0.4, 1.0, False),
])
def test_time_stop(rule: TimeStop, hours: float, price: float, fires: bool) -> None:
    action = rule.evaluate(view(price, hours=hours))
    assert (action is not None and action.full) is fires


# --- mirror exit -------------------------------------------------------------------------------

@pytest.mark.parametrize(("sold", "fraction"), [
    (None, None),
    (0.0, None),
    (0.05, None),  # dust sells are ignored
    (0.10, 0.10),  # boundary: min_fraction mirrors
    (0.50, 0.50),
    (0.89, 0.89),
    (0.90, 1.0),  # boundary: from full_above, everything
    (1.00, 1.0),
])
def test_mirror_exit(sold: float | None, fraction: float | None) -> None:
    action = MirrorExit(min_fraction=0.10, full_above=0.90).evaluate(view(2.0, sold=sold))
    if fraction is None:
        assert action is None
    else:
        assert action is not None and action.fraction == pytest.approx(fraction)


# --- missing and stale prices ------------------------------------------------------------------

@pytest.mark.parametrize("strategy", [*NAMED_STRATEGIES.values(), only(StopLoss()),
                                      only(TimeStop(max_hours=1)), only(MirrorExit())])
@pytest.mark.parametrize(("price", "age"), [(None, 0.0), (0.0, 0.0), (-1.0, 0.0),
                                            (0.5, 121.0), (0.5, 3600.0)])
def test_no_rule_fires_without_a_fresh_price(strategy: ExitStrategy, price: float | None,
                                             age: float) -> None:
    # Every rule would fire on this position (−50 %, 100 h old, the source sold everything).
    outcome = evaluate(strategy, view(price, peak=3.0, hours=100, price_age=age, sold=1.0,
                                      state=ExitState(trailing_armed=True, ratchet_level=0.0)))
    assert outcome.status is OutcomeStatus.stale
    assert outcome.fraction == 0 and outcome.tokens == 0 and not outcome.state_changed


def test_price_age_boundary_and_missing_time() -> None:
    assert evaluate(only(StopLoss()), view(0.5, price_age=120.0)).status is OutcomeStatus.sell
    assert evaluate(only(StopLoss()), view(0.5, price_age=120.1)).status is OutcomeStatus.stale
    assert evaluate(only(StopLoss()), view(0.5, price_age=10),
                    max_price_age_seconds=5).status is OutcomeStatus.stale
    no_time = PositionView(entry_price=1, price=0.5, price_at=None, now=NOW, peak_price=1,
                           opened_at=NOW, initial_tokens=1, remaining_tokens=1)
    assert evaluate(only(StopLoss()), no_time).status is OutcomeStatus.stale


def test_nothing_left_is_closed() -> None:
    assert evaluate(BALANCED, view(0.1, remaining=0)).status is OutcomeStatus.closed


# --- the order and the combination -------------------------------------------------------------

def test_stop_loss_beats_everything() -> None:
    state = ExitState(trailing_armed=True, ratchet_level=0.05)
    outcome = evaluate(BALANCED, view(0.5, peak=2.5, hours=100, sold=0.4, state=state))
    assert outcome.status is OutcomeStatus.sell and outcome.full_exit
    assert outcome.kind is ExitKind.stop_loss
    assert outcome.reason.startswith("stop loss") and ";" not in outcome.reason
    assert outcome.kinds[0] is ExitKind.stop_loss and ExitKind.time_stop in outcome.kinds


def test_mirror_exit_suppresses_the_ladder_on_the_same_update() -> None:
    outcome = evaluate(BALANCED, view(2.0, sold=0.3))
    assert outcome.kind is ExitKind.mirror_exit and outcome.fraction == pytest.approx(0.3)
    assert ExitKind.take_profit_ladder not in outcome.kinds
    assert outcome.state.ladder_done == 0  # the step is still to come
    after = evaluate(BALANCED, view(2.0, remaining=70, state=outcome.state))
    assert after.kind is ExitKind.take_profit_ladder
    assert after.tokens == pytest.approx(25.0)


def test_a_dust_source_sell_does_not_suppress_the_ladder() -> None:
    outcome = evaluate(BALANCED, view(2.0, sold=0.01))
    assert outcome.kind is ExitKind.take_profit_ladder


class Run:
    """A position living through price updates: applies each outcome like the engine would."""

    def __init__(self, strategy: ExitStrategy, initial: float = 100.0) -> None:
        self.strategy = strategy
        self.remaining = initial
        self.initial = initial
        self.peak = 1.0
        self.state = ExitState()
        self.outcomes: list[ExitOutcome] = []

    def tick(self, price: float, hours: float = 1.0, sold: float | None = None) -> ExitOutcome:
        outcome = evaluate(self.strategy, view(price, peak=self.peak, initial=self.initial,
                                               remaining=self.remaining, hours=hours,
                                               state=self.state, sold=sold))
        self.peak = max(self.peak, price)
        self.state = outcome.state
        if outcome.status is OutcomeStatus.sell:
            assert outcome.tokens <= self.remaining
            self.remaining -= outcome.tokens
            if outcome.full_exit:
                self.remaining = 0.0
        self.outcomes.append(outcome)
        return outcome

    def sells(self) -> list[tuple[ExitKind | None, float]]:
        return [(o.kind, round(o.tokens, 6)) for o in self.outcomes
                if o.status is OutcomeStatus.sell]


def test_ladder_steps_fire_once_each() -> None:
    run = Run(only(LADDER))
    for price in (1.0, 2.0, 2.2, 2.0, 1.5, 2.1, 3.0, 3.1, 2.9, 3.5, 10.0):
        run.tick(price)
    assert run.sells() == [(ExitKind.take_profit_ladder, 25.0),
                           (ExitKind.take_profit_ladder, 25.0)]
    assert run.state.ladder_done == 2 and run.remaining == pytest.approx(50.0)


def test_trailing_stop_arms_then_trails() -> None:
    run = Run(only(StopLoss(), TrailingStop(arm_gain=0.5, trail=0.25)))
    assert run.tick(1.2).status is OutcomeStatus.hold and not run.state.trailing_armed
    armed = run.tick(1.6)
    assert armed.status is OutcomeStatus.hold and armed.state_changed
    assert run.state.trailing_armed
    assert run.tick(2.0).status is OutcomeStatus.hold
    assert not run.outcomes[-1].state_changed
    assert run.tick(1.51).status is OutcomeStatus.hold
    out = run.tick(1.5)
    assert out.kind is ExitKind.trailing_stop and out.full_exit


def test_break_even_ratchet_turns_a_winner_into_no_loss() -> None:
    run = Run(only(StopLoss(loss=0.3), BreakEven(arm_gain=1.0, lock_gain=0.05)))
    run.tick(1.8)
    assert run.state.ratchet_level is None
    run.tick(2.2)
    assert run.state.ratchet_level == pytest.approx(0.05)
    assert run.tick(1.2).status is OutcomeStatus.hold
    out = run.tick(1.04)  # long before the stop loss at 0.7
    assert out.kind is ExitKind.break_even and out.full_exit


def test_moonbag_keeps_its_remainder_then_rides_a_wide_trail() -> None:
    run = Run(BALANCED)
    run.tick(2.0)  # ladder 25
    run.tick(3.0)  # ladder 25
    run.tick(4.0)  # peak; trailing armed long ago, trail at 3.0
    out = run.tick(3.0)
    assert out.kind is ExitKind.trailing_stop and not out.full_exit
    assert out.tokens == pytest.approx(40.0)  # 50 left, the 10 % moonbag kept
    assert run.remaining == pytest.approx(10.0)
    assert run.tick(2.5).status is OutcomeStatus.hold  # moonbag trail: 50 % off 4.0 = 2.0
    last = run.tick(2.0)
    assert last.kind is ExitKind.moonbag and last.full_exit


def test_the_ladder_never_sells_into_the_moonbag() -> None:
    strategy = only(Moonbag(keep=0.1, trail=0.5),
                    TakeProfitLadder(steps=(LadderStep(multiple=2, fraction=0.5),
                                            LadderStep(multiple=3, fraction=0.5))))
    run = Run(strategy)
    run.tick(2.0)
    run.tick(3.0)
    assert run.sells() == [(ExitKind.take_profit_ladder, 50.0),
                           (ExitKind.take_profit_ladder, 40.0)]
    assert run.remaining == pytest.approx(10.0)
    held = run.tick(5.0)
    assert held.status is OutcomeStatus.hold and run.state.ladder_done == 2


def test_profit_taking_down_to_the_moonbag_holds_with_its_reason() -> None:
    strategy = only(Moonbag(keep=0.1, trail=0.9), TrailingStop(arm_gain=0.1, trail=0.2))
    outcome = evaluate(strategy, view(1.5, peak=2.0, remaining=10))
    assert outcome.status is OutcomeStatus.hold and outcome.reason.startswith("moonbag kept")


def test_mirror_and_full_rules_sell_through_the_moonbag() -> None:
    outcome = evaluate(BALANCED, view(2.5, peak=3.0, remaining=10, sold=1.0,
                                      state=ExitState(ladder_done=2, trailing_armed=True)))
    assert outcome.kind is ExitKind.mirror_exit and outcome.full_exit


def test_time_stop_in_a_strategy() -> None:
    assert evaluate(BALANCED, view(1.0, hours=25)).kind is ExitKind.time_stop
    assert evaluate(BALANCED, view(1.3, hours=25)).status is OutcomeStatus.hold


def test_a_full_exit_wins_over_partial_ones() -> None:
    outcome = evaluate(BALANCED, view(1.0, hours=25, sold=0.3))
    assert outcome.kind is ExitKind.time_stop and outcome.full_exit
    assert outcome.kinds == (ExitKind.mirror_exit, ExitKind.time_stop)
    assert outcome.reason.startswith("time stop")


def test_partial_sells_do_not_add_up_the_largest_covers_the_others() -> None:
    state = ExitState(ladder_done=1, trailing_armed=True)
    outcome = evaluate(BALANCED, view(1.5, peak=2.0, remaining=75, sold=0.3, state=state))
    assert outcome.kind is ExitKind.trailing_stop
    assert outcome.tokens == pytest.approx(65.0)  # down to the 10-token moonbag
    assert outcome.fraction == pytest.approx(65 / 75)
    assert "mirror exit" in outcome.reason


def test_the_ladder_fires_beside_the_trailing_arm_and_both_persist() -> None:
    outcome = evaluate(BALANCED, view(2.0))
    assert outcome.kind is ExitKind.take_profit_ladder
    assert outcome.state == ExitState(ladder_done=1, trailing_armed=True, ratchet_level=0.05)
    assert outcome.state_changed


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("cls", "params"), [
    (StopLoss, {"loss": 0.0}), (StopLoss, {"loss": 1.0}), (StopLoss, {"loss": -0.1}),
    (TrailingStop, {"trail": 0.0}), (TrailingStop, {"arm_gain": -1}),
    (BreakEven, {"arm_gain": 0.0}), (BreakEven, {"lock_gain": -0.1}),
    (BreakEven, {"arm_gain": 0.5, "lock_gain": 0.5}), (BreakEven, {"step_gain": 1e-300}),
    (Moonbag, {"keep": 0.0}), (Moonbag, {"keep": 0.6}), (Moonbag, {"trail": 1.0}),
    (TimeStop, {"max_hours": 0}), (TimeStop, {"unless_above": 0}),
    (MirrorExit, {"min_fraction": 0.0}), (MirrorExit, {"min_fraction": 0.5, "full_above": 0.4}),
    (StopLoss, {"loss": 0.2, "extra": 1.0}),
])
def test_rule_configs_validate(cls: type, params: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        cls(**params)


def test_configs_are_immutable() -> None:
    rule = StopLoss()
    with pytest.raises(ValidationError):
        rule.loss = 0.5  # type: ignore[misc]


def test_a_strategy_has_one_rule_per_kind() -> None:
    with pytest.raises(ValidationError, match="more than one rule of kind stop_loss"):
        only(StopLoss(), StopLoss(loss=0.2))


def test_strategy_rules_parse_from_json_by_kind() -> None:
    strategy = ExitStrategy.model_validate_json(
        '{"name": "x", "rules": [{"kind": "time_stop", "max_hours": 2},'
        ' {"kind": "stop_loss", "loss": 0.2}]}')
    assert [type(r) for r in strategy.ordered_rules] == [StopLoss, TimeStop]
    with pytest.raises(ValidationError):
        ExitStrategy.model_validate({"name": "x", "rules": [{"kind": "nope"}]})


@pytest.mark.parametrize("kwargs", [
    {"entry_price": 0.0}, {"initial_tokens": 0.0}, {"remaining_tokens": 101.0},
    {"remaining_tokens": -1.0}, {"source_sold_fraction": 1.5}, {"price": float("nan")},
])
def test_position_view_validates(kwargs: dict[str, float]) -> None:
    base: dict[str, Any] = {"entry_price": 1.0, "price": 1.0, "price_at": NOW, "now": NOW,
                            "peak_price": 1.0, "opened_at": NOW, "initial_tokens": 100.0,
                            "remaining_tokens": 100.0}
    with pytest.raises(ValueError):
        PositionView(**{**base, **kwargs})


def test_exit_action_fraction_in_0_1() -> None:
    for bad in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError, match="fraction"):
            ExitAction(ExitKind.stop_loss, bad, "x")


# --- strategy resolution and the named ones ----------------------------------------------------

WALLET = "W" * 40
OTHER = "V" * 40


@pytest.mark.parametrize(("per_wallet", "wallet", "override", "expected"), [
    ({}, WALLET, None, "balanced"),
    ({WALLET: "runner"}, WALLET, None, "runner"),
    ({OTHER: "runner"}, WALLET, None, "balanced"),
    ({WALLET: "runner"}, WALLET, "conservative", "conservative"),
    ({}, WALLET, "conservative", "conservative"),
    ({WALLET: "runner"}, None, None, "balanced"),
])
def test_resolution_override_then_wallet_then_default(
        per_wallet: dict[str, str], wallet: str | None, override: str | None,
        expected: str) -> None:
    resolved = resolve_strategy(
        NAMED_STRATEGIES["balanced"],
        {w: NAMED_STRATEGIES[n] for w, n in per_wallet.items()}, wallet,
        NAMED_STRATEGIES[override] if override else None)
    assert resolved.name == expected


def test_named_strategies() -> None:
    assert set(NAMED_STRATEGIES) >= {"balanced", "conservative", "runner"}
    for name, strategy in NAMED_STRATEGIES.items():
        assert strategy.name == name and strategy.description
        assert strategy.rule(ExitKind.stop_loss) is not None
    mine = only(StopLoss(loss=0.05))
    assert named_strategy("test", {"test": mine}) is mine
    assert named_strategy("runner") is NAMED_STRATEGIES["runner"]
    with pytest.raises(ValueError, match="unknown exit strategy 'nope'"):
        named_strategy("nope")
    with pytest.raises(TypeError):
        NAMED_STRATEGIES["x"] = mine  # type: ignore[index]


# --- the exit plan stored with the position ----------------------------------------------------

@pytest.mark.parametrize("strategy", [*NAMED_STRATEGIES.values(), only(StopLoss()),
                                      only(TimeStop(max_hours=3))])
def test_plan_round_trip(strategy: ExitStrategy) -> None:
    plan = plan_of(strategy)
    assert all(isinstance(row, PlannedRule) for row in plan)
    assert [row.kind for row in plan] == [r.kind for r in strategy.ordered_rules]
    position = Position(signal_id="s", mint="M" * 40, size_sol=1.0, strategy=strategy.name,
                        exit_plan=plan)
    stored = Position.model_validate_json(position.model_dump_json())
    back = strategy_from_plan(stored.strategy, stored.exit_plan)
    assert back.name == strategy.name
    assert back.ordered_rules == strategy.ordered_rules


def test_plan_params_are_flat_floats() -> None:
    plan = {row.kind: row.params for row in plan_of(BALANCED)}
    assert plan["take_profit_ladder"] == {"step_1_multiple": 2.0, "step_1_fraction": 0.25,
                                          "step_2_multiple": 3.0, "step_2_fraction": 0.25}
    assert plan["time_stop"] == {"max_hours": 24.0, "unless_above": 1.2}
    assert "unless_above" not in plan_of(only(TimeStop()))[0].params


@pytest.mark.parametrize(("row", "match"), [
    (PlannedRule(kind="teleport", params={}), "unknown exit rule kind 'teleport'"),
    (PlannedRule(kind="take_profit_ladder", params={"step_1_price": 2.0}),
     "unknown take-profit ladder parameter"),
    (PlannedRule(kind="stop_loss", params={"loss": 2.0}), "loss"),
])
def test_a_bad_plan_is_a_clear_error(row: PlannedRule, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        strategy_from_plan("x", [row])


# --- properties --------------------------------------------------------------------------------

unit = st.floats(min_value=0.01, max_value=0.99)


@st.composite
def random_strategy(draw: st.DrawFn) -> ExitStrategy:
    arm = draw(st.floats(0.01, 5))
    pool: list[Any] = [
        StopLoss(loss=draw(unit)),
        BreakEven(arm_gain=arm, lock_gain=arm * draw(st.floats(0, 0.99)),
                  step_gain=draw(st.just(0.0) | st.floats(0.01, 1))),
        TrailingStop(arm_gain=draw(st.floats(0, 5)), trail=draw(unit)),
        Moonbag(keep=draw(st.floats(0.01, 0.5)), trail=draw(unit)),
        MirrorExit(min_fraction=draw(st.floats(0.01, 0.5)),
                   full_above=draw(st.floats(0.5, 1.0))),
        TimeStop(max_hours=draw(st.floats(0.1, 100)),
                 unless_above=draw(st.none() | st.floats(0.5, 10))),
    ]
    multiples = sorted(set(draw(st.lists(st.floats(1.01, 50), min_size=1, max_size=4))))
    shares = draw(st.lists(st.floats(0.01, 1), min_size=len(multiples),
                           max_size=len(multiples)))
    scale = max(1.0, sum(shares))
    pool.append(TakeProfitLadder(steps=tuple(
        LadderStep(multiple=m, fraction=min(1.0, f / scale) * 0.999)
        for m, f in zip(multiples, shares, strict=True))))
    chosen = draw(st.lists(st.sampled_from(range(len(pool))), unique=True, max_size=len(pool)))
    return ExitStrategy(name="random", rules=tuple(pool[i] for i in chosen))


@st.composite
def random_view(draw: st.DrawFn) -> PositionView:
    entry = draw(st.floats(1e-10, 10))
    price = draw(st.none() | st.floats(0, entry * 100))
    initial = draw(st.floats(1e-3, 1e12))
    return PositionView(
        entry_price=entry, price=price,
        price_at=NOW - timedelta(seconds=draw(st.floats(0, 600))), now=NOW,
        peak_price=draw(st.floats(0, entry * 100)),
        opened_at=NOW - timedelta(hours=draw(st.floats(0, 200))),
        initial_tokens=initial, remaining_tokens=initial * draw(st.floats(0, 1)),
        state=ExitState(ladder_done=draw(st.integers(0, 5)),
                        trailing_armed=draw(st.booleans()),
                        ratchet_level=draw(st.none() | st.floats(0, 3))),
        source_sold_fraction=draw(st.none() | st.floats(0, 1)))


@settings(max_examples=400, deadline=None)
@given(strategy=random_strategy() | st.sampled_from(list(NAMED_STRATEGIES.values())),
       position=random_view())
def test_properties(strategy: ExitStrategy, position: PositionView) -> None:
    outcome = evaluate(strategy, position)
    if position.price is None or position.price <= 0:
        assert outcome.status in (OutcomeStatus.stale, OutcomeStatus.closed)
    if outcome.status is OutcomeStatus.sell:
        assert 0 < outcome.fraction <= 1
        assert 0 < outcome.tokens <= position.remaining_tokens * (1 + 1e-12)
        assert outcome.kind in outcome.kinds
        assert outcome.reason
    else:
        assert outcome.fraction == 0 and outcome.tokens == 0
    if outcome.status in (OutcomeStatus.stale, OutcomeStatus.closed):
        assert outcome.state is position.state
    # a rule's own action always sells a fraction in (0, 1] of what is left
    if position.has_price and position.remaining_tokens > 0:
        for rule in strategy.ordered_rules:
            result = rule.evaluate(position)
            if isinstance(result, ExitAction):
                assert 0 < result.fraction <= 1


def test_position_view_is_immutable_and_derives_peak_and_multiple() -> None:
    v = view(2.0, entry=0.5, peak=1.5)
    assert v.peak == 2.0 and v.multiple == 4.0
    assert view(None, entry=0.5, peak=0.2).peak == 0.5  # never below entry, 0 without a price
    assert view(None).multiple == 0.0
    with pytest.raises(AttributeError):
        v.price = 3.0  # type: ignore[misc]


def test_a_copied_strategy_with_new_rules_evaluates_its_own_rules() -> None:
    assert BALANCED.ordered_rules and BALANCED.moonbag_keep == 0.1  # cached on the original
    copied = BALANCED.model_copy(update={"rules": (StopLoss(loss=0.5),)})
    assert [r.kind for r in copied.ordered_rules] == ["stop_loss"]
    assert copied.moonbag_keep == 0.0
    assert evaluate(copied, view(2.0)).status is OutcomeStatus.hold
    assert len(BALANCED.ordered_rules) == 7
