"""Position sizing: how much SOL one entry spends (docs/risk.md, DESIGN.md section 5).

    base      = capital × risk_per_trade
    uncapped  = base × (high_conviction_multiplier | standard_multiplier)
                     × (reduced_multiplier while the risk state says so: after max_loss_streak
                        consecutive max-loss trades, until a win — walltrack/trading/risk)
    size      = max(0, min(uncapped, every cap))

Caps: ``max_position`` (max_position_sol), ``liquidity`` (max_liquidity_share × the pool's SOL
liquidity), ``balance`` (available balance − fee_reserve_sol) and, when the gates pass it,
``exposure`` (room left under the total exposure cap). The decision keeps every input, every
cap's value and the caps that bit (tightest first), so it can be stored with the position.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from walltrack.models.base import DomainModel, NonNegative
from walltrack.models.config import SizingConfig


class SizeCap(StrEnum):
    """The caps, in their documented order (ties between equal caps keep this order)."""

    max_position = "max_position"
    liquidity = "liquidity"
    balance = "balance"
    exposure = "exposure"


class ZeroSizeReason(StrEnum):
    no_capital = "no_capital"  # capital × risk_per_trade is 0
    no_liquidity = "no_liquidity"  # the pool has no SOL liquidity
    no_balance = "no_balance"  # the balance does not exceed the fee reserve
    no_exposure_room = "no_exposure_room"  # the total exposure cap is reached


_ZERO_BY_CAP = {
    SizeCap.liquidity: ZeroSizeReason.no_liquidity,
    SizeCap.balance: ZeroSizeReason.no_balance,
    SizeCap.exposure: ZeroSizeReason.no_exposure_room,
}


class SizingInputs(DomainModel):
    model_config = ConfigDict(frozen=True)

    capital_sol: NonNegative
    high_conviction: bool = False
    reduced: bool = False  # the risk state's loss-streak reduction is on
    pool_liquidity_sol: NonNegative  # SOL side of the pool the entry will trade against
    balance_sol: NonNegative  # the trading wallet's SOL balance
    exposure_headroom_sol: NonNegative | None = None  # None: no exposure cap applies


class SizeDecision(DomainModel):
    """The size and everything that produced it."""

    model_config = ConfigDict(frozen=True)

    inputs: SizingInputs
    config: SizingConfig
    base_sol: NonNegative
    conviction_multiplier: float
    reduced: bool
    risk_multiplier: float
    uncapped_sol: NonNegative
    caps: dict[SizeCap, float]  # every cap's value (the balance cap may be negative)
    binding_caps: tuple[SizeCap, ...]  # the caps below the uncapped size, tightest first
    size_sol: NonNegative
    zero_reason: ZeroSizeReason | None = None


def size_position(inputs: SizingInputs, config: SizingConfig) -> SizeDecision:
    base = inputs.capital_sol * config.risk_per_trade
    conviction = (config.high_conviction_multiplier if inputs.high_conviction
                  else config.standard_multiplier)
    reduced = inputs.reduced
    risk = config.reduced_multiplier if reduced else 1.0
    uncapped = base * conviction * risk

    caps: dict[SizeCap, float] = {
        SizeCap.max_position: config.max_position_sol,
        SizeCap.liquidity: config.max_liquidity_share * inputs.pool_liquidity_sol,
        SizeCap.balance: inputs.balance_sol - config.fee_reserve_sol,
    }
    if inputs.exposure_headroom_sol is not None:
        caps[SizeCap.exposure] = inputs.exposure_headroom_sol
    order = list(SizeCap)
    binding = tuple(sorted((cap for cap, value in caps.items() if value < uncapped),
                           key=lambda cap: (caps[cap], order.index(cap))))
    size = max(0.0, min(uncapped, *caps.values()))

    zero_reason: ZeroSizeReason | None = None
    if size <= 0.0:
        size = 0.0
        if uncapped <= 0.0:
            zero_reason = ZeroSizeReason.no_capital
        else:
            # The tightest cap that is at or below zero is the one to name.
            zero_reason = _ZERO_BY_CAP.get(binding[0], ZeroSizeReason.no_capital)
    return SizeDecision(
        inputs=inputs, config=config, base_sol=base, conviction_multiplier=conviction,
        reduced=reduced, risk_multiplier=risk, uncapped_sol=uncapped, caps=caps,
        binding_caps=binding, size_sol=size, zero_reason=zero_reason,
    )
