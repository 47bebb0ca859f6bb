"""Loss streak: after ``max_loss_streak`` consecutive max-loss trades, size × ``reduced_multiplier``
until a win.

A *max-loss trade* closed with an exit reason in ``stop_loss_reasons`` or lost at least
``stop_distance`` of its size. The reduction holds from the streak until the next win (a
breakeven or a small loss ends the streak's count but does not restore the size). No lock:
entries stay allowed, only smaller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from walltrack.models.trading import RiskEventKind
from walltrack.trading.risk.base import (
    AnyRiskEvent,
    ClosedTrade,
    ProtectionSnapshot,
    ProtectionVerdict,
    event,
)

EPSILON = 1e-12


def is_max_loss(trade: ClosedTrade, stop_distance: float,
                stop_loss_reasons: Sequence[str] = ("stop_loss",)) -> bool:
    if trade.exit_reason is not None and trade.exit_reason in stop_loss_reasons:
        return True
    return trade.size_sol > 0 and trade.pnl_sol <= -stop_distance * trade.size_sol + EPSILON


@dataclass(frozen=True, slots=True)
class LossStreak:
    max_loss_streak: int = 3
    reduced_multiplier: float = 0.5
    stop_distance: float = 0.30
    stop_loss_reasons: tuple[str, ...] = ("stop_loss",)
    name: ClassVar[str] = "loss_streak"

    def streak(self, trades: Sequence[ClosedTrade]) -> tuple[int, bool]:
        """(trailing run of max-loss trades, whether a full streak happened since the last win)."""
        run = 0
        trailing: int | None = None
        reduced = False
        for trade in reversed(trades):
            if trade.win:
                break
            if is_max_loss(trade, self.stop_distance, self.stop_loss_reasons):
                run += 1
                if run >= self.max_loss_streak:
                    reduced = True
            else:
                if trailing is None:
                    trailing = run
                run = 0
        return (run if trailing is None else trailing), reduced

    def evaluate(self, snap: ProtectionSnapshot) -> ProtectionVerdict:
        count, reduced = self.streak(snap.closed_trades)
        multiplier = self.reduced_multiplier if reduced else 1.0
        was_reduced = snap.size_multiplier < 1.0
        metrics = {"consecutive_max_losses": float(count)}
        events: tuple[AnyRiskEvent, ...] = ()
        if reduced and not was_reduced:
            events = (event(RiskEventKind.size_reduced, snap.now,
                            f"{self.max_loss_streak} consecutive max-loss trades: size × "
                            f"{self.reduced_multiplier} until a win",
                            consecutive_max_losses=count, multiplier=multiplier),)
        elif was_reduced and not reduced:
            events = (event(RiskEventKind.size_restored, snap.now,
                            "a winning trade ended the loss streak: full size again",
                            multiplier=multiplier),)
        return ProtectionVerdict(protection=self.name, size_multiplier=multiplier,
                                 events=events, metrics=metrics)
