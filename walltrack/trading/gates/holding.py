"""Gate 2: one open position per mint.

A second eligible signal for a mint we hold is never a second buy. Within
``confirmation_window_seconds`` of the position's opening it is a *confirmation* (the verdict
says so and names the position); later it is plain ``already_holding``.
"""

from __future__ import annotations

from walltrack.trading.gates.context import EntryContext, GateReason, GateVerdict

NAME = "holding"


def gate(ctx: EntryContext) -> GateVerdict | None:
    held = ctx.open_positions.get(ctx.mint)
    if held is None:
        return None
    age = (ctx.now - held.opened_at).total_seconds()
    window = ctx.gates.confirmation_window_seconds
    if 0 <= age <= window:
        return GateVerdict(gate=NAME, reason=GateReason.confirmation, confirmation=True,
                           position_id=held.position_id,
                           message=f"confirms the position opened {age:.0f}s ago "
                                   f"(window {window:.0f}s)",
                           detail={"age_seconds": age})
    return GateVerdict(gate=NAME, reason=GateReason.already_holding,
                       position_id=held.position_id,
                       message="a position in this token is already open",
                       detail={"age_seconds": age})
