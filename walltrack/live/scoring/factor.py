"""The shape every factor returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FactorResult:
    value: float  # in [0, 1]
    inputs: dict[str, Any] = field(default_factory=dict)  # what it read, stored with the signal


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def log_scale(value: float | None, low: float, high: float) -> float:
    """0 at ``low`` (or below, or unknown), 1 at ``high`` (or above), log-linear between."""
    if value is None or value <= low or low <= 0:
        return 0.0 if value is None or value <= low else 1.0
    return clamp(math.log(value / low) / math.log(high / low))
