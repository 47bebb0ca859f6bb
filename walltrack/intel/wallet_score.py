"""The wallet score: one number in [0, 1] that ranks wallets worth copying.

Written for a market where most wallets lose, a few have a modest, persistent edge with many
small losses, and a few get lucky on two or three trades. With n closed token-trades, w wins,
realized PnL P (SOL, after fees) on a cost basis C (SOL), and the config's priors:

    edge       = clip(((w + a·p0) / (n + a) − p0) / 0.30, 0, 1)
                 win rate shrunk toward the crowd's base rate p0 (0.35) with a (8) pseudo-
                 trades, rescaled so "no better than the crowd" is 0 and a shrunk win rate
                 30 points above it (0.65) is full marks
    roi_term   = clip(r / (|r| + 0.2), 0, 1)   with r = P / (C + c0)
                 return on capital, shrunk by a pseudo cost basis c0 (5 SOL) so a 0.2 SOL
                 lucky flip cannot look like a 100 % ROI; saturates smoothly (r = 0.2 → 0.5)
    timing     = 1 − timing percentile (0.5 when unknown): how early it buys
    confidence = n / (n + k)   (k = 5): few trades → little weight, whatever they show

    score = confidence × (0.40·edge + 0.40·roi_term + 0.20·timing)
    bots (launch-slot snipers, inhuman holds): score × bot_score_factor (0.1)
    flippers (most trades mostly sold within minutes: they dump on their followers):
    score × flip_score_factor (0.1)
    late buyers (timing percentile above late_timing_percentile, 0.4: outside the earliest
    40 % of a token's buyers, so a copier, later still, buys after the move):
    × late_score_factor (0.5)

Decay (walltrack.intel.decay) then multiplies the stored score by its downgrade factor.
"""

from __future__ import annotations

import polars as pl

from walltrack.models.config import ProfilingConfig

EDGE_WEIGHT, ROI_WEIGHT, TIMING_WEIGHT = 0.40, 0.40, 0.20
FULL_EDGE = 0.30  # shrunk win rate this far above the base rate → edge term 1
ROI_HALF = 0.2  # the shrunk ROI at which the ROI term is one half


def score_expr(config: ProfilingConfig) -> pl.Expr:
    """Needs columns closed_trades, wins, realized_pnl_sol, cost_sold, timing_percentile,
    is_bot, is_flipper."""
    n = pl.col("closed_trades").cast(pl.Float64)
    p0, a = config.score_base_win_rate, config.score_prior_trades
    edge = (((pl.col("wins") + a * p0) / (n + a) - p0) / FULL_EDGE).clip(0.0, 1.0)
    r = pl.col("realized_pnl_sol") / (pl.col("cost_sold") + config.score_prior_cost_sol)
    roi_term = (r / (r.abs() + ROI_HALF)).clip(0.0, 1.0)
    timing = (1 - pl.col("timing_percentile")).fill_null(0.5).fill_nan(0.5)
    confidence = n / (n + config.score_confidence_trades)
    raw = confidence * (EDGE_WEIGHT * edge + ROI_WEIGHT * roi_term + TIMING_WEIGHT * timing)
    penalised = pl.when(pl.col("is_bot")).then(raw * config.bot_score_factor).otherwise(raw)
    penalised = pl.when(pl.col("is_flipper")).then(
        penalised * config.flip_score_factor).otherwise(penalised)
    late = pl.col("timing_percentile").fill_nan(None) > config.late_timing_percentile
    penalised = pl.when(late.fill_null(False)).then(
        penalised * config.late_score_factor).otherwise(penalised)
    return penalised.fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0)
