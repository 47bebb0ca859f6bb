"""Parameters of a simulated market, with named presets."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class SimParams(BaseModel):
    """Everything that determines a market: same params → byte-identical market."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=7, ge=0)
    wallets: int = Field(default=5_000, ge=100)
    tokens: int = Field(default=300, ge=5)
    days: int = Field(default=30, ge=1, le=365)
    clusters: int = Field(default=24, ge=0)
    # Retail trades per token, on average (fates scale it: runners far more, duds far less).
    activity: float = Field(default=1.0, gt=0.0, le=20.0)
    start: datetime = Field(default=datetime(2025, 6, 1, tzinfo=UTC))
    sol_usd: float = Field(default=150.0, gt=0.0)


PRESETS: dict[str, SimParams] = {
    # A few seconds: for tests.
    "small": SimParams(wallets=600, tokens=40, days=5, clusters=4),
    # The default evaluation market (≥ 5 000 wallets, ≥ 20 planted clusters).
    "default": SimParams(),
    # The benchmark size: ≥ 1 000 000 swaps.
    "bench": SimParams(wallets=10_000, tokens=1_000, days=30, clusters=40, activity=1.1),
}
