"""Gate 1: trading paused by the operator, halted, or a risk protection's lock is active."""

from __future__ import annotations

from walltrack.trading.gates.context import EntryContext, GateReason, GateVerdict

NAME = "paused"


def gate(ctx: EntryContext) -> GateVerdict | None:
    if ctx.paused or ctx.halted:
        state = "halted" if ctx.halted else "paused"
        return GateVerdict(gate=NAME, reason=GateReason.trading_paused,
                           message=f"trading is {state}")
    active = ctx.active_locks
    if active:
        kinds = [lock.kind.value for lock in active]
        return GateVerdict(gate=NAME, reason=GateReason.protection_lock,
                           message="locked by " + ", ".join(kinds) + ": " + active[0].reason,
                           detail={"locks": kinds})
    return None
