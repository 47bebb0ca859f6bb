"""Gate 1: trading paused by the operator, halted, or a risk protection's lock is active.

A ``max_positions`` lock is left to gate 3, which counts the live book: so a second signal
for a held mint is still recorded as a confirmation when the book is full.
"""

from __future__ import annotations

from walltrack.trading.gates.context import EntryContext, GateReason, GateVerdict
from walltrack.trading.risk.locks import LockKind

NAME = "paused"


def gate(ctx: EntryContext) -> GateVerdict | None:
    if ctx.paused or ctx.halted:
        state = "halted" if ctx.halted else "paused"
        return GateVerdict(gate=NAME, reason=GateReason.trading_paused,
                           message=f"trading is {state}")
    active = tuple(lock for lock in ctx.active_locks if lock.kind is not LockKind.max_positions)
    if active:
        kinds = [lock.kind.value for lock in active]
        return GateVerdict(gate=NAME, reason=GateReason.protection_lock,
                           message="locked by " + ", ".join(kinds) + ": " + active[0].reason,
                           detail={"locks": kinds})
    return None
