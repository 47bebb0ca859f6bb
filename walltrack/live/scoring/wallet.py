"""Wallet factor: the wallet's score after decay (walltrack/intel/decay.py)."""

from __future__ import annotations

from walltrack.live.scoring.factor import FactorResult, clamp


def wallet_factor(score_after_decay: float | None, status: str | None) -> FactorResult:
    value = clamp(score_after_decay) if score_after_decay is not None else 0.0
    return FactorResult(value, {"score": score_after_decay, "status": status})
