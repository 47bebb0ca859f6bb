"""Entry gates: may this eligible signal open a position? (docs/risk.md)

Each gate is one small module behind one interface, ``gate(ctx) -> GateVerdict | None``
(None = pass). They run in this fixed order and the first verdict decides:

1. ``paused``        — trading paused or halted, or a risk protection's lock is active;
2. ``holding``       — the mint is already held: a *confirmation* within the window,
                       ``already_holding`` after it (never a second buy);
3. ``max_positions`` — as many positions open as ``max_concurrent_positions``;
4. ``exposure``      — SOL in open positions leaves less than one minimum trade under the cap;
5. ``cooldown``      — the mint was exited less than ``cooldown_seconds`` ago;
6. ``balance``       — balance − fee reserve is below one minimum trade.

``holding`` runs before the limits so a second signal for a held mint is always recorded as
what it is (a confirmation), even when the book is full.
"""

from __future__ import annotations

from walltrack.models.config import EntryGateConfig
from walltrack.trading.gates import balance, cooldown, exposure, holding, max_positions, paused
from walltrack.trading.gates.context import (
    EntryContext,
    EntryDecision,
    Gate,
    GateReason,
    GateVerdict,
    HeldPosition,
)

GATES: tuple[tuple[str, Gate], ...] = (
    (paused.NAME, paused.gate),
    (holding.NAME, holding.gate),
    (max_positions.NAME, max_positions.gate),
    (exposure.NAME, exposure.gate),
    (cooldown.NAME, cooldown.gate),
    (balance.NAME, balance.gate),
)
"""The gates in their fixed order."""


def check_entry(ctx: EntryContext) -> EntryDecision:
    passed: list[str] = []
    for name, gate in GATES:
        verdict = gate(ctx)
        if verdict is not None:
            return EntryDecision(signal_id=ctx.signal_id, mint=ctx.mint, allowed=False,
                                 verdict=verdict, gates_passed=tuple(passed))
        passed.append(name)
    return EntryDecision(signal_id=ctx.signal_id, mint=ctx.mint, allowed=True,
                         gates_passed=tuple(passed))


__all__ = [
    "GATES",
    "EntryContext",
    "EntryDecision",
    "EntryGateConfig",
    "Gate",
    "GateReason",
    "GateVerdict",
    "HeldPosition",
    "check_entry",
]
