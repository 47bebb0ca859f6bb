"""Gate 5: after an exit, a mint waits ``cooldown_seconds`` before it can be bought again."""

from __future__ import annotations

from walltrack.trading.gates.context import EntryContext, GateReason, GateVerdict

NAME = "cooldown"


def gate(ctx: EntryContext) -> GateVerdict | None:
    exited = ctx.last_exit_at.get(ctx.mint)
    if exited is None:
        return None
    since = (ctx.now - exited).total_seconds()
    cooldown = ctx.gates.cooldown_seconds
    if since < cooldown:
        return GateVerdict(gate=NAME, reason=GateReason.cooldown,
                           message=f"exited {since:.0f}s ago (cooldown {cooldown:.0f}s)",
                           detail={"since_exit_seconds": since, "cooldown_seconds": cooldown})
    return None
