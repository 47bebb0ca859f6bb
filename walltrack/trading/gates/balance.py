"""Gate 6: the balance minus the fee reserve must cover at least one minimum trade."""

from __future__ import annotations

from walltrack.trading.gates.context import LAMPORT_SOL, EntryContext, GateReason, GateVerdict

NAME = "balance"


def gate(ctx: EntryContext) -> GateVerdict | None:
    available = ctx.balance_sol - ctx.fee_reserve_sol
    if available + LAMPORT_SOL < ctx.gates.min_trade_sol:
        return GateVerdict(gate=NAME, reason=GateReason.insufficient_balance,
                           message=f"{ctx.balance_sol:.4f} SOL − {ctx.fee_reserve_sol:.4f} "
                                   f"reserve < {ctx.gates.min_trade_sol:.4f} SOL minimum",
                           detail={"balance_sol": ctx.balance_sol,
                                   "fee_reserve_sol": ctx.fee_reserve_sol})
    return None
