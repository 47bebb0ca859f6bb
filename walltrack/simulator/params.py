"""Parameters of a simulated market, with named presets."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class ActorParams(BaseModel):
    """The actors that make copy trading hard (docs/simulator.md, "Copy bots, baits and
    rugs"): fixed before any strategy is tuned, each value with its reason in the docs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    # Copy bots: follow a few informed/insider wallets (and, unknowingly, a few baits).
    copy_bot_share: float = Field(default=0.004, ge=0.0, le=0.05)
    copy_leaders: tuple[int, int] = (4, 10)  # informed/insider wallets each bot follows
    copy_informed_weight: float = Field(default=3.0, gt=0.0)  # vs 1 for an insider
    copy_baits: int = Field(default=2, ge=0)  # bait wallets each bot follows
    copy_follow_prob: float = Field(default=0.85, ge=0.0, le=1.0)
    copy_delay_s: tuple[float, float] = (1.0, 4.0)  # uniform lag after the leader's swap
    copy_size_sol: float = Field(default=1.5, gt=0.0)  # median buy; sigma 0.4 per bot
    copy_hold_s: tuple[float, float] = (1800.0, 7200.0)  # time stop after the copy's buy
    # Bait wallets: buy early, let followers pile in, dump on them.
    bait_share: float = Field(default=0.003, ge=0.0, le=0.05)
    bait_tokens: float = Field(default=16.0, ge=0.0)  # tokens per bait per 30 days
    bait_entry_s: tuple[float, float] = (5.0, 90.0)  # after launch
    bait_size_sol: float = Field(default=1.0, gt=0.0)  # median buy; sigma 0.4
    bait_followers: float = Field(default=4.0, ge=0.0)  # retail followers per bait buy
    bait_follower_lag_s: tuple[float, float] = (3.0, 50.0)
    bait_wait_s: tuple[float, float] = (60.0, 180.0)  # buy → dump
    bait_dump_frac: float = Field(default=0.8, gt=0.0, le=1.0)
    bait_rest_hold_s: float = Field(default=1800.0, ge=0.0)  # mean, exponential
    # Rugs: the crew baits the copiers at the planned pull time, pulls after they bought.
    rug_after_copy_s: tuple[float, float] = (10.0, 40.0)
    # Tracker crowds: wallets that buy on "smart money" alerts (an informed wallet's new
    # position), seconds to a minute later, and flip within the quarter hour.
    tracker_share: float = Field(default=0.06, ge=0.0, le=0.15)
    tracker_followers: float = Field(default=30.0, ge=0.0)  # per alert (Poisson); 0: none
    tracker_lag_s: tuple[float, float] = (5.0, 90.0)
    tracker_size_sol: float = Field(default=0.4, gt=0.0)  # median buy; sigma 1.0
    tracker_hold_s: float = Field(default=900.0, ge=0.0)  # mean, exponential, + 60 s


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
    actors: ActorParams = Field(default_factory=ActorParams)


PRESETS: dict[str, SimParams] = {
    # A few seconds: for tests.
    "small": SimParams(wallets=600, tokens=40, days=5, clusters=4),
    # The default evaluation market (≥ 5 000 wallets, ≥ 20 planted clusters).
    "default": SimParams(),
    # The benchmark size: ≥ 1 000 000 swaps.
    "bench": SimParams(wallets=10_000, tokens=1_000, days=30, clusters=40, activity=1.1),
}
