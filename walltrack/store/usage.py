"""API usage per UTC day and API (migration 0005): flushed from meters, read by the status.

``UsageRepository(db).flush(meter)`` adds what the meter counted since its previous flush to
today's rows, in one transaction, with an additive upsert: any number of processes can
flush at once and every count lands exactly once. The counts since a flush are attributed
to the UTC day of the flush (a job that crosses midnight counts on the later day).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import sql

from walltrack.logging import get_logger
from walltrack.models.usage import (
    ADDITIVE_FIELDS,
    ApiUsageDay,
    ApiUsageSummary,
    CreditPlanUsage,
    UsageCounts,
    UsageSource,
    UsageSummary,
    UsageWindow,
    is_local_usage,
)
from walltrack.store.database import Database

log = get_logger(__name__)

PACE_DAYS = 7  # the projection's pace: credits per day over (up to) the last 7 days

_UPSERT = sql.SQL(
    "INSERT INTO api_usage (day, api, {cols}) VALUES (%s, %s, {values}) "
    "ON CONFLICT (day, api) DO UPDATE SET {adds}"
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, ADDITIVE_FIELDS)),
    values=sql.SQL(", ").join(sql.Placeholder() * len(ADDITIVE_FIELDS)),
    adds=sql.SQL(", ").join(
        sql.SQL("{c} = api_usage.{c} + EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in ADDITIVE_FIELDS
    ),
)


def utc_today() -> date:
    return datetime.now(UTC).date()


class UsageRepository:
    """The ``api_usage`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing ----------------------------------------------------------------------------

    def flush(self, meter: UsageSource, *, day: date | None = None) -> dict[str, UsageCounts]:
        """Add the meter's counts since its last flush to ``day`` (default: today, UTC).

        Atomic: all APIs in one transaction; the meter marks them flushed only after the
        commit, so a failed flush is retried whole by the next one and a second flush of
        the same counts adds nothing. Returns what was added.
        """
        day = day or utc_today()
        with meter.flushing() as pending:
            if pending:
                self.add(day, pending)
        if pending:
            log.info("usage_flushed", day=day.isoformat(), apis=sorted(pending),
                     calls=sum(c.calls for c in pending.values()),
                     credits=sum(c.credits for c in pending.values()))
        return pending

    record = flush  # the same thing, by the name the issue uses

    def add(self, day: date, counts: dict[str, UsageCounts]) -> None:
        """Add ``counts`` per API to ``day``'s rows (created when missing), atomically."""
        rows = [
            (day, api, *(getattr(c, f) for f in ADDITIVE_FIELDS))
            # A fixed order: two concurrent flushes lock the rows in the same order.
            for api, c in sorted(counts.items())
        ]
        if not rows:
            return
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.executemany(_UPSERT, rows)

    # -- reading ----------------------------------------------------------------------------

    def days(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        api: str | None = None,
    ) -> list[ApiUsageDay]:
        """Stored rows, oldest day first (then by API); bounds are inclusive."""
        where: list[sql.Composable] = []
        args: list[Any] = []
        for column, op, value in (("day", ">=", since), ("day", "<=", until), ("api", "=", api)):
            if value is not None:
                where.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
                args.append(value)
        query = sql.SQL("SELECT * FROM api_usage")
        if where:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where)
        query += sql.SQL(" ORDER BY day, api")
        with self.db.cursor() as cur:
            cur.execute(query, args)
            return [ApiUsageDay.model_validate(row) for row in cur.fetchall()]

    def last_days(self, n: int, *, today: date | None = None) -> list[ApiUsageDay]:
        """The rows of the last ``n`` days, today included."""
        today = today or utc_today()
        return self.days(since=today - timedelta(days=n - 1), until=today)

    def summary(
        self,
        *,
        today: date | None = None,
        plan: str | None = None,
        monthly_credits: int | None = None,
    ) -> UsageSummary:
        """Calls and credits per API for today and the last 7 and 30 days, and — given a
        plan's monthly credits — this month's credits against it with a projection."""
        today = today or utc_today()
        month_start = today.replace(day=1)
        rows = self.days(since=min(today - timedelta(days=29), month_start), until=today)
        windows: dict[str, dict[str, UsageWindow]] = defaultdict(dict)
        for api in sorted({r.api for r in rows if r.day >= today - timedelta(days=29)}):
            for name, first in (("today", today), ("last_7_days", today - timedelta(days=6)),
                                ("last_30_days", today - timedelta(days=29))):
                picked = [r for r in rows if r.api == api and r.day >= first]
                windows[api][name] = UsageWindow(
                    calls=sum(r.calls for r in picked),
                    failures=sum(r.failures for r in picked),
                    rate_limited=sum(r.rate_limited for r in picked),
                    credits=sum(r.credits for r in picked),
                )
        apis = [ApiUsageSummary(api=api, **w) for api, w in windows.items()]
        credits = None
        if monthly_credits is not None:
            credits = _plan_usage(rows, today, plan or "?", monthly_credits)
        return UsageSummary(today=today, apis=apis, credits=credits)


def _plan_usage(rows: list[ApiUsageDay], today: date, plan: str,
                monthly_credits: int) -> CreditPlanUsage:
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    rows = [r for r in rows if not is_local_usage(r.api)]  # the simulator costs nothing
    used = sum(r.credits for r in rows if r.day >= month_start)
    # The pace: credits per day over the last 7 days, today counted as a whole day, but not
    # before the first recorded usage (a new install is not diluted by days before it ran).
    first_use = min((r.day for r in rows), default=today)
    pace_start = max(today - timedelta(days=PACE_DAYS - 1), first_use)
    pace_days = (today - pace_start).days + 1
    pace = sum(r.credits for r in rows if r.day >= pace_start) / pace_days
    projected = used + round(pace * (month_end - today).days)
    return CreditPlanUsage(
        plan=plan, monthly_credits=monthly_credits, month_start=month_start,
        month_end=month_end, used=used,
        used_share=used / monthly_credits if monthly_credits else 0.0,
        daily_pace=pace, pace_days=pace_days, projected=projected,
        exceeds_plan=projected > monthly_credits,
    )
