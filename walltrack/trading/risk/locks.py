"""Locks: what a protection holds against new entries (never against exits)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

from walltrack.models.base import DomainModel, UtcDatetime


class LockKind(StrEnum):
    """Who holds the lock. Sticky kinds stay until an operator lifts them."""

    manual_pause = "manual_pause"  # lifted by `resume`
    drawdown_pause = "drawdown_pause"  # lifted by `reset` only
    win_rate_halt = "win_rate_halt"  # lifted by `reset` only
    daily_loss = "daily_loss"  # lifts itself at the next UTC day
    max_positions = "max_positions"  # lifts itself when a position closes


STICKY: frozenset[LockKind] = frozenset(
    {LockKind.manual_pause, LockKind.drawdown_pause, LockKind.win_rate_halt}
)
"""Locks that only an operator action lifts; they are the ones persisted in the risk row."""


class Lock(DomainModel):
    """One active lock. ``until`` None means "until an operator lifts it"."""

    model_config = ConfigDict(frozen=True)

    kind: LockKind
    reason: str
    since: UtcDatetime
    until: UtcDatetime | None = None

    def active_at(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    @property
    def sticky(self) -> bool:
        return self.kind in STICKY
