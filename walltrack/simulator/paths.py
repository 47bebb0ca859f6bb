"""Token fates and the price path each fate aims for.

Prices move only through swaps: the path below is the *target* that the crowd trades
toward (buy when the price is below it, sell when above), never a price that is set.
"""

from __future__ import annotations

import numpy as np

FATES = ("runner", "pump_and_dump", "slow_bleed", "rug", "dead_on_arrival")
# Most launches die; a few run. Roughly what launchpad statistics look like.
FATE_PROBS = np.array([0.07, 0.20, 0.25, 0.20, 0.28])
# Retail trades per token by fate (median, before the activity factor).
FATE_TRADES = np.array([5200.0, 1100.0, 650.0, 420.0, 30.0])

HOUR = 3600.0
DAY = 86400.0


def draw_shape(fate: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per token: log peak multiple and seconds from launch to the peak (or the rug)."""
    n = fate.size
    log_peak = np.empty(n)
    t_peak = np.empty(n)
    for code in range(len(FATES)):
        m = fate == code
        k = int(m.sum())
        if code == 0:  # runner: 8x-300x over half a day to several days
            log_peak[m] = np.log(np.clip(rng.lognormal(np.log(25.0), 0.8, k), 6.0, 400.0))
            t_peak[m] = rng.uniform(0.4 * DAY, 4.0 * DAY, k)
        elif code == 1:  # pump and dump: 2.5x-12x in minutes to an hour and a half
            log_peak[m] = np.log(rng.uniform(2.5, 12.0, k))
            t_peak[m] = rng.uniform(12 * 60, 90 * 60, k)
        elif code == 2:  # slow bleed: a small early pop
            log_peak[m] = np.log(rng.uniform(1.2, 2.4, k))
            t_peak[m] = rng.uniform(15 * 60, 2 * HOUR, k)
        elif code == 3:  # rug: climbs until liquidity is pulled
            log_peak[m] = np.log(rng.uniform(1.8, 6.0, k))
            t_peak[m] = rng.uniform(1 * HOUR, 10 * HOUR, k)
        else:  # dead on arrival
            log_peak[m] = np.log(rng.uniform(0.6, 1.3, k))
            t_peak[m] = rng.uniform(3 * 60, 20 * 60, k)
    return log_peak, t_peak


def target_log_multiple(
    fate: int, log_peak: float, t_peak: float, phase: float, u: np.ndarray
) -> np.ndarray:
    """Target log(price / launch price) at ``u`` seconds after launch."""
    x = np.clip(u / t_peak, 0.0, None)
    rise = log_peak * np.minimum(x, 1.0) ** 0.8
    after = np.clip(x - 1.0, 0.0, None)
    if fate == 0:
        fall = np.log(0.35) * np.minimum(after / 2.0, 1.0)
    elif fate == 1:
        fall = (np.log(0.12) - log_peak) * np.minimum(after / 2.5, 1.0)
    elif fate == 2:
        fall = (np.log(0.08) - log_peak) * np.minimum(after * t_peak / (5 * DAY), 1.0)
    elif fate == 3:
        fall = np.zeros_like(u)  # the rug itself does the falling
    else:
        fall = (np.log(0.3) - log_peak) * np.minimum(after / 3.0, 1.0)
    # Waves: real charts are never smooth; pullbacks trap naive momentum.
    wave = 0.18 * np.sin(u / (t_peak * 0.21 + 300.0) + phase)
    return rise + fall + wave


def activity_scale(fate: int, t_peak: float) -> float:
    """Mean seconds after launch of a crowd trade (exponential decay of interest)."""
    if fate == 0:
        return 1.6 * t_peak
    if fate == 1:
        return 3.0 * t_peak
    if fate == 2:
        return 0.8 * DAY
    if fate == 3:
        return 0.7 * t_peak
    return 25 * 60.0
