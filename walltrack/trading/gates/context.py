"""The entry gates' shared vocabulary: the snapshot they read and the verdict they give."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from walltrack.models.base import Address, DomainModel, Fraction, NonNegative, UtcDatetime
from walltrack.models.config import EntryGateConfig
from walltrack.trading.risk.locks import Lock

LAMPORT_SOL = 1e-9
"""Comparisons of SOL amounts forgive less than one lamport of float rounding."""


class GateReason(StrEnum):
    """Why a gate stopped an entry: a closed set, in gate order."""

    trading_paused = "trading_paused"  # the operator paused trading (or the halt flag is set)
    protection_lock = "protection_lock"  # a risk protection holds a lock
    confirmation = "confirmation"  # same mint, within the window: a confirmation, not a buy
    already_holding = "already_holding"  # one open position per mint
    max_positions = "max_positions"
    max_exposure = "max_exposure"
    cooldown = "cooldown"  # the mint was exited too recently
    insufficient_balance = "insufficient_balance"  # after the fee reserve


class HeldPosition(DomainModel):
    """What the gates need of an open position."""

    model_config = ConfigDict(frozen=True)

    position_id: str | None = None
    opened_at: UtcDatetime
    size_sol: NonNegative


class EntryContext(DomainModel):
    """An immutable snapshot of everything the gates look at for one eligible signal."""

    model_config = ConfigDict(frozen=True)

    now: UtcDatetime
    signal_id: str
    mint: Address
    score: Fraction
    high_conviction: bool = False
    open_positions: Mapping[str, HeldPosition] = Field(default_factory=dict)  # by mint
    last_exit_at: Mapping[str, UtcDatetime] = Field(default_factory=dict)  # by mint
    balance_sol: NonNegative
    paused: bool = False
    halted: bool = False
    locks: tuple[Lock, ...] = ()
    max_concurrent_positions: int = Field(default=5, ge=1)  # RiskConfig
    fee_reserve_sol: NonNegative = 0.05  # SizingConfig
    gates: EntryGateConfig = Field(default_factory=EntryGateConfig)

    @property
    def exposure_sol(self) -> float:
        return sum(p.size_sol for p in self.open_positions.values())

    @property
    def exposure_headroom_sol(self) -> float:
        """Room left under the exposure cap: the sizing's ``exposure_headroom_sol``."""
        return max(0.0, self.gates.max_total_exposure_sol - self.exposure_sol)

    @property
    def active_locks(self) -> tuple[Lock, ...]:
        return tuple(lock for lock in self.locks if lock.active_at(self.now))


class GateVerdict(DomainModel):
    """A gate's refusal. ``confirmation`` True: record the signal as confirming the position."""

    model_config = ConfigDict(frozen=True)

    gate: str
    reason: GateReason
    message: str
    confirmation: bool = False
    position_id: str | None = None  # the position a confirmation confirms
    detail: dict[str, Any] = Field(default_factory=dict)


Gate = Callable[[EntryContext], GateVerdict | None]
"""One gate: a verdict stops the entry, None lets it through to the next gate."""


class EntryDecision(DomainModel):
    """What ``check_entry`` found: allowed, or the first verdict (and the gates that ran)."""

    model_config = ConfigDict(frozen=True)

    signal_id: str
    mint: Address
    allowed: bool
    verdict: GateVerdict | None = None
    gates_passed: tuple[str, ...] = ()

    @property
    def confirmation(self) -> bool:
        return self.verdict is not None and self.verdict.confirmation

    @property
    def reason(self) -> GateReason | None:
        return None if self.verdict is None else self.verdict.reason
