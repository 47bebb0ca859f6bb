"""Entry gates: each gate on its own (table-driven, boundaries included), then their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from walltrack.trading.gates import (
    GATES,
    EntryContext,
    EntryGateConfig,
    GateReason,
    HeldPosition,
    balance,
    check_entry,
    cooldown,
    exposure,
    holding,
    max_positions,
    paused,
)
from walltrack.trading.risk import Lock, LockKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MINT = "So11111111111111111111111111111111111111112"
OTHER = [f"{c}" * 32 for c in "ABCDEFGHJK"]  # valid base58 addresses


def held(seconds_ago: float = 3600.0, size: float = 0.2, pid: str = "p") -> HeldPosition:
    return HeldPosition(position_id=pid, opened_at=NOW - timedelta(seconds=seconds_ago),
                        size_sol=size)


def ctx(**overrides: Any) -> EntryContext:
    values: dict[str, Any] = {"now": NOW, "signal_id": "sig-1", "mint": MINT, "score": 0.8,
                              "balance_sol": 5.0}
    values.update(overrides)
    return EntryContext(**values)


def others(n: int, size: float = 0.1) -> dict[str, HeldPosition]:
    return {OTHER[i]: held(size=size, pid=f"p{i}") for i in range(n)}


# -- 1. paused ---------------------------------------------------------------------------------

LOCK = Lock(kind=LockKind.drawdown_pause, reason="dd", since=NOW - timedelta(hours=1))
EXPIRED = Lock(kind=LockKind.daily_loss, reason="day", since=NOW - timedelta(hours=5),
               until=NOW)
FULL = Lock(kind=LockKind.max_positions, reason="full", since=NOW)
FUTURE = Lock(kind=LockKind.daily_loss, reason="day", since=NOW, until=NOW + timedelta(hours=1))


@pytest.mark.parametrize(("overrides", "reason"), [
    ({}, None),
    ({"paused": True}, GateReason.trading_paused),
    ({"halted": True}, GateReason.trading_paused),
    ({"paused": True, "locks": (LOCK,)}, GateReason.trading_paused),
    ({"locks": (LOCK,)}, GateReason.protection_lock),
    ({"locks": (FUTURE,)}, GateReason.protection_lock),
    ({"locks": (EXPIRED,)}, None),  # until == now: expired
    ({"locks": (EXPIRED, LOCK)}, GateReason.protection_lock),
    ({"locks": (FULL,)}, None),  # left to the max_positions gate
    ({"locks": (FULL, LOCK)}, GateReason.protection_lock),
], ids=["open", "paused", "halted", "paused+lock", "sticky-lock", "timed-lock",
        "expired-lock", "expired+sticky", "max-positions-lock", "max-positions+sticky"])
def test_paused_gate(overrides: dict[str, Any], reason: GateReason | None) -> None:
    verdict = paused.gate(ctx(**overrides))
    assert (verdict.reason if verdict else None) == reason


def test_paused_gate_names_the_locks() -> None:
    verdict = paused.gate(ctx(locks=(LOCK, FUTURE)))
    assert verdict is not None
    assert verdict.detail["locks"] == ["drawdown_pause", "daily_loss"]


# -- 2. holding --------------------------------------------------------------------------------

@pytest.mark.parametrize(("position", "window", "reason"), [
    (None, 300.0, None),
    (held(0), 300.0, GateReason.confirmation),
    (held(1), 300.0, GateReason.confirmation),
    (held(299.999), 300.0, GateReason.confirmation),
    (held(300), 300.0, GateReason.confirmation),  # boundary: inclusive
    (held(300.001), 300.0, GateReason.already_holding),
    (held(86_400), 300.0, GateReason.already_holding),
    (held(0), 0.0, GateReason.confirmation),
    (held(1), 0.0, GateReason.already_holding),
    (held(-5), 300.0, GateReason.already_holding),  # opened "after" the signal: not a confirm
])
def test_holding_gate(position: HeldPosition | None, window: float,
                      reason: GateReason | None) -> None:
    positions = {} if position is None else {MINT: position}
    c = ctx(open_positions=positions | others(2),
            gates=EntryGateConfig(confirmation_window_seconds=window))
    verdict = holding.gate(c)
    assert (verdict.reason if verdict else None) == reason
    if verdict is not None:
        assert verdict.confirmation is (reason is GateReason.confirmation)
        assert verdict.position_id == "p"


def test_holding_gate_ignores_other_mints() -> None:
    assert holding.gate(ctx(open_positions=others(5))) is None


# -- 3. max positions --------------------------------------------------------------------------

@pytest.mark.parametrize(("open_count", "limit", "blocked"), [
    (0, 1, False), (0, 5, False), (4, 5, False), (5, 5, True), (6, 5, True),
    (1, 1, True), (9, 10, False), (10, 10, True),
])
def test_max_positions_gate(open_count: int, limit: int, blocked: bool) -> None:
    verdict = max_positions.gate(ctx(open_positions=others(open_count),
                                     max_concurrent_positions=limit))
    assert (verdict is not None) is blocked
    if verdict:
        assert verdict.reason is GateReason.max_positions
        assert verdict.detail == {"open": open_count, "max": limit}


# -- 4. exposure -------------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "size", "cap", "min_trade", "blocked"), [
    (0, 0.0, 3.0, 0.01, False),
    (3, 0.5, 3.0, 0.01, False),   # 1.5 of 3.0
    (3, 0.99, 3.0, 0.01, False),  # room 0.03 ≥ 0.01
    (3, 0.995, 3.0, 0.02, True),  # room 0.015 < 0.02
    (3, 1.0, 3.0, 0.01, True),    # exactly at the cap
    (4, 1.0, 3.0, 0.01, True),    # over the cap
    (2, 0.5, 1.5, 0.5, False),    # room == min trade: allowed
    (2, 0.5, 1.5, 0.5000001, True),
    (3, 0.99, 3.0, 0.03, False),  # room 0.03 in floats is 0.0300…0027: within a lamport
])
def test_exposure_gate(count: int, size: float, cap: float, min_trade: float,
                       blocked: bool) -> None:
    c = ctx(open_positions=others(count, size=size), max_concurrent_positions=10,
            gates=EntryGateConfig(max_total_exposure_sol=cap, min_trade_sol=min_trade))
    verdict = exposure.gate(c)
    assert (verdict is not None) is blocked
    if verdict:
        assert verdict.reason is GateReason.max_exposure


# -- 5. cooldown -------------------------------------------------------------------------------

@pytest.mark.parametrize(("exited_ago", "cool", "blocked"), [
    (None, 1800.0, False),
    (0.0, 1800.0, True),
    (1799.999, 1800.0, True),
    (1800.0, 1800.0, False),  # boundary: the cooldown is over
    (1800.001, 1800.0, False),
    (10.0, 0.0, False),
    (0.0, 0.0, False),
    (-30.0, 60.0, True),  # an exit stamped in the future still cools down
])
def test_cooldown_gate(exited_ago: float | None, cool: float, blocked: bool) -> None:
    exits = {} if exited_ago is None else {MINT: NOW - timedelta(seconds=exited_ago)}
    exits[OTHER[0]] = NOW  # another mint's exit never matters
    verdict = cooldown.gate(ctx(last_exit_at=exits, gates=EntryGateConfig(cooldown_seconds=cool)))
    assert (verdict is not None) is blocked
    if verdict:
        assert verdict.reason is GateReason.cooldown


# -- 6. balance --------------------------------------------------------------------------------

@pytest.mark.parametrize(("bal", "reserve", "min_trade", "blocked"), [
    (5.0, 0.05, 0.01, False),
    (0.0, 0.05, 0.01, True),
    (0.0, 0.0, 0.01, True),
    (0.05, 0.05, 0.01, True),     # all reserve
    (0.06, 0.05, 0.01, False),    # exactly one minimum trade, whatever float rounding says
    (0.0599, 0.05, 0.01, True),
    (1.0, 1.0, 0.01, True),
    (1.0, 0.0, 1.0, False),
])
def test_balance_gate(bal: float, reserve: float, min_trade: float, blocked: bool) -> None:
    verdict = balance.gate(ctx(balance_sol=bal, fee_reserve_sol=reserve,
                               gates=EntryGateConfig(min_trade_sol=min_trade)))
    assert (verdict is not None) is blocked
    if verdict:
        assert verdict.reason is GateReason.insufficient_balance


# -- the chain ---------------------------------------------------------------------------------

def test_the_gates_run_in_the_documented_order() -> None:
    assert [name for name, _ in GATES] == ["paused", "holding", "max_positions", "exposure",
                                           "cooldown", "balance"]


def test_everything_clear_allows_and_lists_every_gate() -> None:
    decision = check_entry(ctx())
    assert decision.allowed and decision.verdict is None and decision.reason is None
    assert decision.gates_passed == tuple(name for name, _ in GATES)
    assert not decision.confirmation


EVERYTHING_WRONG: dict[str, Any] = {
    "paused": True,
    "open_positions": {MINT: held(10)} | others(5, size=1.0),
    "last_exit_at": {MINT: NOW},
    "balance_sol": 0.0,
}


@pytest.mark.parametrize(("fixed", "reason"), [
    ([], GateReason.trading_paused),
    (["paused"], GateReason.confirmation),
    (["paused", "holding"], GateReason.max_positions),
    (["paused", "holding", "max_positions"], GateReason.max_exposure),
    (["paused", "holding", "max_positions", "exposure"], GateReason.cooldown),
    (["paused", "holding", "max_positions", "exposure", "cooldown"],
     GateReason.insufficient_balance),
    (["paused", "holding", "max_positions", "exposure", "cooldown", "balance"], None),
])
def test_the_first_failing_gate_decides(fixed: list[str], reason: GateReason | None) -> None:
    values = dict(EVERYTHING_WRONG)
    positions = dict(values["open_positions"])
    if "holding" in fixed:
        positions.pop(MINT)
    if "max_positions" in fixed:
        positions = dict(list(positions.items())[:3])
    if "exposure" in fixed:
        positions = {k: v.model_copy(update={"size_sol": 0.1}) for k, v in positions.items()}
    values["open_positions"] = positions
    if "paused" in fixed:
        values["paused"] = False
    if "cooldown" in fixed:
        values["last_exit_at"] = {}
    if "balance" in fixed:
        values["balance_sol"] = 5.0
    decision = check_entry(ctx(**values))
    assert decision.reason == reason
    assert decision.allowed is (reason is None)
    assert len(decision.gates_passed) == len(fixed)


def test_a_second_signal_for_a_held_mint_is_a_confirmation_even_with_a_full_book() -> None:
    decision = check_entry(ctx(open_positions={MINT: held(60, pid="pos-1")} | others(4),
                               max_concurrent_positions=5, locks=(FULL,)))
    assert not decision.allowed
    assert decision.confirmation
    assert decision.verdict is not None and decision.verdict.position_id == "pos-1"


def test_the_context_is_immutable_and_validated() -> None:
    c = ctx()
    with pytest.raises(ValidationError):
        c.balance_sol = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ctx(balance_sol=-1.0)
    with pytest.raises(ValidationError):
        ctx(mint="not a mint")
    with pytest.raises(ValidationError):
        ctx(score=1.5)
