"""API usage: what WallTrack asked of each external API, and what it cost (issue 9).

The counting object is ``walltrack.clients.usage.UsageMeter``; the store keeps its counts per
UTC day and API (``walltrack.store.usage.UsageRepository``, migration 0005). These models
are what crosses between the two and what the status command shows.

Units, the same everywhere:

* ``operations`` — client calls (one ``ApiClient.request``), however many attempts they took;
* ``calls`` — HTTP requests that were sent (retries included). A refused connection, a
  connect timeout or an open breaker sends nothing and is not a call. Providers count and
  bill calls, not operations;
* ``failures`` — sent requests that got no usable answer (429, 5xx, other 4xx, timeout,
  broken or malformed body);
* ``errors`` — operations that ended in an error for the caller (retries spent, breaker open,
  refused connection, 4xx);
* ``credits`` — the provider's billing unit (Helius), from the table in
  ``walltrack.clients.usage``; 0 for DexScreener, Jupiter and non-Helius RPC;
* wait times — seconds spent waiting for our own rate limiter, and sleeping between retries.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from walltrack.models.base import DomainModel, UtcDatetime

__all__ = [
    "ADDITIVE_FIELDS",
    "LOCAL_SUFFIX",
    "ApiUsage",
    "ApiUsageDay",
    "ApiUsageSummary",
    "BreakerState",
    "CreditPlanUsage",
    "UsageCounts",
    "UsageSource",
    "UsageSummary",
    "UsageWindow",
    "is_local_usage",
]

# The usage name of a client whose base URL is on this machine (the simulator, a test
# server) ends with this: it is shown, but never counted against a provider's plan.
LOCAL_SUFFIX = "@local"


def is_local_usage(api: str) -> bool:
    return api.endswith(LOCAL_SUFFIX)


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class UsageCounts(BaseModel):
    """Additive counters (see the module docstring for the units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operations: int = 0
    calls: int = 0
    failures: int = 0
    errors: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    credits: int = 0
    webhook_events: int = 0  # Helius webhook deliveries received (1 credit each)
    rate_wait_seconds: float = 0.0  # waiting for our own token bucket
    retry_wait_seconds: float = 0.0  # backoff sleeps between attempts

    def plus(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(**{f: getattr(self, f) + getattr(other, f) for f in ADDITIVE_FIELDS})

    def minus(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(**{f: getattr(self, f) - getattr(other, f) for f in ADDITIVE_FIELDS})

    def is_empty(self) -> bool:
        return all(not getattr(self, f) for f in ADDITIVE_FIELDS)


ADDITIVE_FIELDS: tuple[str, ...] = tuple(UsageCounts.model_fields)


class ApiUsage(UsageCounts):
    """One API's counters in a meter, plus its live state (what ``api_metrics()`` was)."""

    api: str
    breaker_state: BreakerState = BreakerState.closed
    breaker_opened: int = 0
    last_latency_ms: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None

    def counts(self) -> UsageCounts:
        return UsageCounts(**{f: getattr(self, f) for f in ADDITIVE_FIELDS})


class UsageSource(Protocol):
    """What the store needs from a meter to flush it (``UsageMeter`` implements it).

    ``flushing()`` yields the counts per API not flushed yet and, when the block ends
    without an error, marks them flushed — so a second flush adds nothing twice.
    """

    def flushing(self) -> AbstractContextManager[dict[str, UsageCounts]]: ...


class ApiUsageDay(UsageCounts):
    """One stored row: an API's usage on one UTC day (all processes added together)."""

    day: date
    api: str
    updated_at: UtcDatetime | None = None


class UsageWindow(DomainModel):
    """One API's totals over a window of days."""

    calls: int = 0
    failures: int = 0
    rate_limited: int = 0
    credits: int = 0


class ApiUsageSummary(DomainModel):
    api: str
    today: UsageWindow
    last_7_days: UsageWindow
    last_30_days: UsageWindow


class CreditPlanUsage(DomainModel):
    """Credits used this calendar month (UTC) against the plan, and where the pace leads.
    Usage on this machine (``…@local``: the simulator) is not counted."""

    plan: str
    monthly_credits: int
    month_start: date
    month_end: date  # last day of the month
    used: int
    used_share: float  # used / monthly_credits
    daily_pace: float  # credits per day over the pace window
    pace_days: int  # days the pace is measured over (up to 7, not before the first use)
    projected: int  # used + pace × the days left after today
    exceeds_plan: bool  # the projection is above the plan's monthly credits

    def warning(self) -> str | None:
        if self.used > self.monthly_credits:
            return (f"WARNING: {self.used:,} credits used this month, more than the "
                    f"{self.plan} plan's {self.monthly_credits:,}")
        if self.exceeds_plan:
            return (f"WARNING: at this pace {self.projected:,} credits will be used by "
                    f"{self.month_end.isoformat()}, more than the {self.plan} plan's "
                    f"{self.monthly_credits:,}")
        return None


class UsageSummary(DomainModel):
    """What the status command shows: calls and credits per API, and the plan."""

    today: date
    apis: list[ApiUsageSummary]
    credits: CreditPlanUsage | None = None
