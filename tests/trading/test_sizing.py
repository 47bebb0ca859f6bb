"""Sizing: the multipliers, each cap biting alone and together, zero sizes, properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from walltrack.models.config import SizingConfig
from walltrack.trading.sizing import (
    SizeCap,
    SizingInputs,
    ZeroSizeReason,
    size_position,
)

CFG = SizingConfig()  # 2 % risk, ×1.5 / ×1.0 / ×0.5, max 1 SOL, 2 % of liquidity, 0.05 reserve


def inputs(**overrides: Any) -> SizingInputs:
    values: dict[str, Any] = {"capital_sol": 10.0, "pool_liquidity_sol": 1_000.0,
                              "balance_sol": 10.0}
    values.update(overrides)
    return SizingInputs(**values)


@pytest.mark.parametrize(("high", "reduced", "expected"), [
    (False, False, 0.2),
    (True, False, 0.3),
    (False, True, 0.1),
    (True, True, 0.15),
])
def test_base_and_multipliers(high: bool, reduced: bool, expected: float) -> None:
    d = size_position(inputs(high_conviction=high, reduced=reduced), CFG)
    assert d.base_sol == pytest.approx(0.2)
    assert d.size_sol == pytest.approx(expected)
    assert d.uncapped_sol == pytest.approx(expected)
    assert d.binding_caps == ()
    assert d.zero_reason is None
    assert d.reduced is reduced
    assert d.conviction_multiplier == (1.5 if high else 1.0)
    assert d.risk_multiplier == (0.5 if reduced else 1.0)


@pytest.mark.parametrize(("overrides", "cfg", "size", "binding"), [
    # max_position alone
    ({"capital_sol": 100.0}, {}, 1.0, (SizeCap.max_position,)),
    ({"capital_sol": 50.0}, {}, 1.0, ()),  # exactly at the cap: does not bite
    ({"capital_sol": 50.0, "high_conviction": True}, {}, 1.0, (SizeCap.max_position,)),
    # liquidity alone: 2 % of 5 SOL = 0.1
    ({"pool_liquidity_sol": 5.0}, {}, 0.1, (SizeCap.liquidity,)),
    ({"pool_liquidity_sol": 10.0}, {}, 0.2, ()),  # exactly 0.2: does not bite
    ({"pool_liquidity_sol": 9.0}, {"max_liquidity_share": 0.01}, 0.09, (SizeCap.liquidity,)),
    # balance alone: 0.15 − 0.05 = 0.1
    ({"balance_sol": 0.15}, {}, 0.1, (SizeCap.balance,)),
    ({"balance_sol": 0.25}, {}, 0.2, ()),
    ({"balance_sol": 0.15}, {"fee_reserve_sol": 0.0}, 0.15, (SizeCap.balance,)),
    # exposure alone
    ({"exposure_headroom_sol": 0.05}, {}, 0.05, (SizeCap.exposure,)),
    ({"exposure_headroom_sol": 5.0}, {}, 0.2, ()),
    # several at once, tightest first
    ({"capital_sol": 100.0, "pool_liquidity_sol": 30.0}, {}, 0.6,
     (SizeCap.liquidity, SizeCap.max_position)),
    ({"capital_sol": 100.0, "pool_liquidity_sol": 30.0, "balance_sol": 0.35}, {}, 0.3,
     (SizeCap.balance, SizeCap.liquidity, SizeCap.max_position)),
    ({"capital_sol": 100.0, "pool_liquidity_sol": 30.0, "balance_sol": 0.35,
      "exposure_headroom_sol": 0.01}, {}, 0.01,
     (SizeCap.exposure, SizeCap.balance, SizeCap.liquidity, SizeCap.max_position)),
    # equal caps keep the documented order
    ({"pool_liquidity_sol": 5.0, "balance_sol": 0.1}, {"fee_reserve_sol": 0.0}, 0.1,
     (SizeCap.liquidity, SizeCap.balance)),
])
def test_caps(overrides: dict[str, Any], cfg: dict[str, Any], size: float,
              binding: tuple[SizeCap, ...]) -> None:
    d = size_position(inputs(**overrides), CFG.model_copy(update=cfg))
    assert d.size_sol == pytest.approx(size)
    assert d.binding_caps == binding
    assert d.zero_reason is None


@pytest.mark.parametrize(("overrides", "cfg", "reason"), [
    ({"capital_sol": 0.0}, {}, ZeroSizeReason.no_capital),
    ({}, {"risk_per_trade": 0.0}, ZeroSizeReason.no_capital),
    ({"balance_sol": 0.0}, {}, ZeroSizeReason.no_balance),
    ({"balance_sol": 0.05}, {}, ZeroSizeReason.no_balance),  # all reserve
    ({"balance_sol": 0.0}, {"fee_reserve_sol": 0.0}, ZeroSizeReason.no_balance),
    ({"pool_liquidity_sol": 0.0}, {}, ZeroSizeReason.no_liquidity),
    ({"exposure_headroom_sol": 0.0}, {}, ZeroSizeReason.no_exposure_room),
    ({"balance_sol": 0.0, "pool_liquidity_sol": 0.0}, {}, ZeroSizeReason.no_balance),
    ({"capital_sol": 0.0, "balance_sol": 0.0}, {}, ZeroSizeReason.no_capital),
])
def test_zero_sizes_say_why(overrides: dict[str, Any], cfg: dict[str, Any],
                            reason: ZeroSizeReason) -> None:
    d = size_position(inputs(**overrides), CFG.model_copy(update=cfg))
    assert d.size_sol == 0.0
    assert d.zero_reason is reason


def test_the_record_keeps_every_input_and_serializes() -> None:
    i = inputs(high_conviction=True, pool_liquidity_sol=12.0, exposure_headroom_sol=2.0)
    d = size_position(i, CFG)
    assert d.inputs == i and d.config == CFG
    assert set(d.caps) == set(SizeCap)
    assert d.caps[SizeCap.liquidity] == pytest.approx(0.24)
    again = type(d).model_validate_json(d.model_dump_json())
    assert again == d


def test_without_exposure_headroom_there_is_no_exposure_cap() -> None:
    assert SizeCap.exposure not in size_position(inputs(), CFG).caps


def test_inputs_are_validated() -> None:
    with pytest.raises(ValidationError):
        inputs(balance_sol=-1.0)
    with pytest.raises(ValidationError):
        inputs(pool_liquidity_sol=-0.1)


AMOUNTS = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(capital=AMOUNTS, liquidity=AMOUNTS, bal=AMOUNTS,
       headroom=st.none() | AMOUNTS, high=st.booleans(), reduced=st.booleans(),
       risk=st.floats(0.0, 1.0), share=st.floats(0.0, 1.0),
       max_pos=st.floats(1e-6, 1e3), reserve=st.floats(0.0, 10.0))
def test_size_never_exceeds_a_cap_and_is_never_negative(
        capital: float, liquidity: float, bal: float, headroom: float | None, high: bool,
        reduced: bool, risk: float, share: float, max_pos: float, reserve: float) -> None:
    cfg = SizingConfig(risk_per_trade=risk, max_liquidity_share=share, max_position_sol=max_pos,
                       fee_reserve_sol=reserve)
    d = size_position(SizingInputs(capital_sol=capital, high_conviction=high, reduced=reduced,
                                   pool_liquidity_sol=liquidity, balance_sol=bal,
                                   exposure_headroom_sol=headroom), cfg)
    assert d.size_sol >= 0.0
    assert d.size_sol <= d.uncapped_sol
    assert d.size_sol <= max_pos
    assert d.size_sol <= share * liquidity
    assert d.size_sol <= max(0.0, bal - reserve)
    if headroom is not None:
        assert d.size_sol <= headroom
    assert (d.size_sol == 0.0) is (d.zero_reason is not None)
    for cap in d.binding_caps:
        assert d.caps[cap] < d.uncapped_sol
    if d.binding_caps:
        assert d.size_sol == max(0.0, d.caps[d.binding_caps[0]])
