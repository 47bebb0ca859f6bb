"""Context factor: how early in the token's run, the wallet's habit, the size of the buy.

    early  e = 0.5 ** (pair age at the swap in hours / early_half_life_hours)   (unknown: 0.5)
    habit  h = 1 − the wallet's mean timing percentile (0 = first buyer)       (unknown: 0.5)
    size   s = clamp(0.5 + 0.25 × log2(this buy / the wallet's mean buy))      (unknown: 0.5)
    context = 0.5 e + 0.25 h + 0.25 s
"""

from __future__ import annotations

import math
from datetime import datetime

from walltrack.live.scoring.factor import FactorResult, clamp


def context_factor(swap_at: datetime, pair_created_at: datetime | None,
                   timing_percentile: float | None, sol_amount: float,
                   avg_buy_sol: float | None, *, half_life_hours: float) -> FactorResult:
    age_h = None
    if pair_created_at is not None:
        age_h = max(0.0, (swap_at - pair_created_at).total_seconds() / 3600)
    early = 0.5 if age_h is None else 0.5 ** (age_h / half_life_hours)
    habit = 0.5 if timing_percentile is None else clamp(1.0 - timing_percentile)
    if avg_buy_sol and avg_buy_sol > 0 and sol_amount > 0:
        size = clamp(0.5 + 0.25 * math.log2(sol_amount / avg_buy_sol))
    else:
        size = 0.5
    value = clamp(0.5 * early + 0.25 * habit + 0.25 * size)
    return FactorResult(value, {
        "pair_age_hours": None if age_h is None else round(age_h, 3),
        "early": round(early, 4), "timing_percentile": timing_percentile,
        "habit": round(habit, 4), "avg_buy_sol": avg_buy_sol, "size": round(size, 4)})
