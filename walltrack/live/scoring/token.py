"""Token factor: market quality and safety.

    quality = mean(liq, mcap, vol) with each log-scaled between a floor and a ceiling:
              liquidity 5 k → 500 k USD, market cap 50 k → 5 M USD, 24 h volume 10 k → 1 M USD
    token   = 0 when a safety check failed, else 0.5 × safety score + 0.5 × quality
"""

from __future__ import annotations

from walltrack.live.scoring.factor import FactorResult, log_scale
from walltrack.models import TokenView

LIQUIDITY = (5_000.0, 500_000.0)
MARKET_CAP = (50_000.0, 5_000_000.0)
VOLUME = (10_000.0, 1_000_000.0)


def token_factor(view: TokenView) -> FactorResult:
    market = view.market
    liq = log_scale(market.liquidity_usd if market else None, *LIQUIDITY)
    mcap = log_scale(market.market_cap_usd if market else None, *MARKET_CAP)
    vol = log_scale(market.volume_24h_usd if market else None, *VOLUME)
    quality = (liq + mcap + vol) / 3
    safety = view.safety
    value = 0.0 if safety.failed else 0.5 * safety.score + 0.5 * quality
    return FactorResult(value, {
        "liquidity_usd": market.liquidity_usd if market else None,
        "market_cap_usd": market.market_cap_usd if market else None,
        "volume_24h_usd": market.volume_24h_usd if market else None,
        "quality": round(quality, 4), "safety_score": safety.score,
        "failed_checks": [c.value for c in safety.failed]})
