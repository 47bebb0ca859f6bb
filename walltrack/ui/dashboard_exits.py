"""An open position's exit plan in words, and which of its rules are armed right now.

Reads the plan stored with the position (``Position.plan``: the override while one is set)
through the exit package's own parser (``strategy_from_plan``) and the state the rules keep
between price updates (``ExitState``: ladder steps done, trailing armed, break-even ratchet
level); the engine's own keys in ``exit_state`` (``_exits``) are left out as the engine does.
"""

from __future__ import annotations

from datetime import timedelta

from walltrack.models import Position
from walltrack.trading.exits import (
    BreakEven,
    ExitState,
    MirrorExit,
    Moonbag,
    RuleConfig,
    StopLoss,
    TakeProfitLadder,
    TimeStop,
    TrailingStop,
    strategy_from_plan,
)
from walltrack.trading.exits.base import EPSILON

__all__ = ["armed_rules", "exit_state_of", "plan_text"]


def exit_state_of(position: Position) -> ExitState:
    """The rules' state as the engine reads it (its ``_``-prefixed keys apart)."""
    raw = {k: v for k, v in (position.exit_state or {}).items() if not k.startswith("_")}
    return ExitState.model_validate(raw)


def _rule_text(rule: RuleConfig) -> str:
    if isinstance(rule, StopLoss):
        return f"stop −{rule.loss:.0%}"
    if isinstance(rule, BreakEven):
        step = f" +{rule.step_gain:.0%}/step" if rule.step_gain else ""
        return f"break-even at {1 + rule.arm_gain:g}× → +{rule.lock_gain:.0%}{step}"
    if isinstance(rule, TrailingStop):
        return f"trail {rule.trail:.0%} from {1 + rule.arm_gain:g}×"
    if isinstance(rule, Moonbag):
        return f"moonbag {rule.keep:.0%} on a {rule.trail:.0%} trail"
    if isinstance(rule, MirrorExit):
        return f"mirror sells ≥ {rule.min_fraction:.0%} (all from {rule.full_above:.0%})"
    if isinstance(rule, TakeProfitLadder):
        steps = ", ".join(f"{s.fraction:.0%} at {s.multiple:g}×" for s in rule.steps)
        return f"take {steps}"
    if isinstance(rule, TimeStop):
        unless = f" unless ≥ {rule.unless_above:g}×" if rule.unless_above else ""
        return f"out after {rule.max_hours:g} h{unless}"
    return rule.exit_kind.value  # pragma: no cover - every kind is listed above


def _rules(position: Position) -> tuple[RuleConfig, ...] | None:
    try:
        return strategy_from_plan(position.plan_name, position.plan).ordered_rules
    except ValueError:
        return None  # a plan this code cannot read: shown raw, never guessed


def plan_text(position: Position) -> str:
    """``strategy: rule · rule · …`` (the override marked as such)."""
    name = position.plan_name + (" (override)" if position.override_strategy else "")
    rules = _rules(position)
    if rules is None:
        return f"{name}: " + " · ".join(r.kind for r in position.plan)
    return f"{name}: " + " · ".join(_rule_text(r) for r in rules) if rules else name


def armed_rules(position: Position) -> str:
    """What is engaged now: armed stops with their level, ladder progress, the time stop's
    deadline. Empty when nothing beyond the plain stop is in play."""
    rules = _rules(position)
    if not rules:
        return ""
    state = exit_state_of(position)
    entry = position.entry_price_sol or 0.0
    peak = max(position.peak_price_sol or entry, entry)
    parts: list[str] = []
    for rule in rules:
        if isinstance(rule, StopLoss):
            parts.append(f"stop at {1 - rule.loss:.2f}×")
        elif isinstance(rule, BreakEven) and state.ratchet_level is not None:
            parts.append(f"break-even stop at {1 + state.ratchet_level:.2f}×")
        elif isinstance(rule, TrailingStop) and state.trailing_armed:
            level = peak * (1 - rule.trail) / entry if entry > 0 else 0.0
            parts.append(f"trailing armed (sells ≤ {level:.2f}×)")
        elif isinstance(rule, Moonbag) and position.token_amount > 0 and (
                position.remaining_tokens <= rule.keep * position.token_amount * (1 + EPSILON)):
            parts.append("moonbag trail armed")
        elif isinstance(rule, TakeProfitLadder):
            done = min(state.ladder_done, len(rule.steps))
            following = (f", next {rule.steps[done].multiple:g}×" if done < len(rule.steps)
                         else "")
            parts.append(f"ladder {done}/{len(rule.steps)}{following}")
        elif isinstance(rule, TimeStop):
            due = position.opened_at + timedelta(hours=rule.max_hours)
            parts.append(f"time stop {due:%m-%d %H:%M} UTC")
    return " · ".join(parts)
