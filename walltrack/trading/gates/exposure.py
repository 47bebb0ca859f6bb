"""Gate 4: SOL already in open positions must leave room for at least one minimum trade.

Refused when ``max_total_exposure_sol − exposure < min_trade_sol``. The room left is also a
cap of the sizing (``exposure_headroom_sol``), so a trade never takes exposure over the cap.
"""

from __future__ import annotations

from walltrack.trading.gates.context import LAMPORT_SOL, EntryContext, GateReason, GateVerdict

NAME = "exposure"


def gate(ctx: EntryContext) -> GateVerdict | None:
    exposure = ctx.exposure_sol
    cap = ctx.gates.max_total_exposure_sol
    room = cap - exposure
    if room + LAMPORT_SOL < ctx.gates.min_trade_sol:
        return GateVerdict(gate=NAME, reason=GateReason.max_exposure,
                           message=f"{exposure:.4f} SOL in open positions "
                                   f"(cap {cap:.4f} SOL)",
                           detail={"exposure_sol": exposure, "cap_sol": cap})
    return None
