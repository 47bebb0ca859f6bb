"""Gate 3: no more than ``max_concurrent_positions`` open at once."""

from __future__ import annotations

from walltrack.trading.gates.context import EntryContext, GateReason, GateVerdict

NAME = "max_positions"


def gate(ctx: EntryContext) -> GateVerdict | None:
    count = len(ctx.open_positions)
    if count >= ctx.max_concurrent_positions:
        return GateVerdict(gate=NAME, reason=GateReason.max_positions,
                           message=f"{count} positions open (max "
                                   f"{ctx.max_concurrent_positions})",
                           detail={"open": count, "max": ctx.max_concurrent_positions})
    return None
