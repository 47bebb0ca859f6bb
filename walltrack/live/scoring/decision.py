"""The decision of a signal: ``eligible`` or ``log_only``, with one reason from a closed set.

Rules run in this fixed order; the first that speaks decides (docs/live.md):

1. ``source_sold``     — a sell: stored for the trading engine's mirror exits, never bought;
2. ``blacklisted``     — the wallet (or its cluster) is blacklisted;
3. ``stale``           — the swap was older than ``stale_after_seconds`` when it reached us;
4. ``duplicate``       — the same wallet bought the same mint earlier within the window;
5. ``token_unsafe``    — a safety check failed (the message names every failed check);
6. ``below_threshold`` — score < threshold;
7. ``high_conviction`` (score ≥ high_conviction) or ``above_threshold``: eligible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from walltrack.models import DecisionReason, SignalDecision, SwapSide


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    side: SwapSide
    blacklisted: bool
    delay_seconds: float
    stale_after_seconds: float
    earlier_buy_within_window: bool
    failed_checks: tuple[str, ...]
    score: float
    threshold: float
    high_conviction: float


@dataclass(frozen=True, slots=True)
class Decision:
    decision: SignalDecision
    reason: DecisionReason
    message: str
    high_conviction: bool = False


Rule = Callable[[DecisionInputs], Decision | None]
LOG = SignalDecision.log_only


def sold(d: DecisionInputs) -> Decision | None:
    if d.side is SwapSide.sell:
        return Decision(LOG, DecisionReason.source_sold, "the wallet sold this token")
    return None


def blacklisted(d: DecisionInputs) -> Decision | None:
    if d.blacklisted:
        return Decision(LOG, DecisionReason.blacklisted, "the wallet or its cluster is blacklisted")
    return None


def stale(d: DecisionInputs) -> Decision | None:
    if d.delay_seconds > d.stale_after_seconds:
        return Decision(LOG, DecisionReason.stale,
                        f"reached us {d.delay_seconds:.0f}s after the swap "
                        f"(> {d.stale_after_seconds:.0f}s)")
    return None


def duplicate(d: DecisionInputs) -> Decision | None:
    if d.earlier_buy_within_window:
        return Decision(LOG, DecisionReason.duplicate,
                        "the same wallet already bought this token within the window")
    return None


def unsafe(d: DecisionInputs) -> Decision | None:
    if d.failed_checks:
        return Decision(LOG, DecisionReason.token_unsafe,
                        "token failed: " + ", ".join(d.failed_checks))
    return None


def threshold(d: DecisionInputs) -> Decision:
    if d.score < d.threshold:
        return Decision(LOG, DecisionReason.below_threshold,
                        f"score {d.score:.3f} < threshold {d.threshold:.2f}")
    if d.score >= d.high_conviction:
        return Decision(SignalDecision.eligible, DecisionReason.high_conviction,
                        f"score {d.score:.3f} ≥ high conviction {d.high_conviction:.2f}", True)
    return Decision(SignalDecision.eligible, DecisionReason.above_threshold,
                    f"score {d.score:.3f} ≥ threshold {d.threshold:.2f}")


RULES: tuple[Rule, ...] = (sold, blacklisted, stale, duplicate, unsafe)


def decide(inputs: DecisionInputs) -> Decision:
    for rule in RULES:
        found = rule(inputs)
        if found is not None:
            return found
    return threshold(inputs)
