"""API usage in the store (migration 0005): additive, idempotent, concurrent flushes."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from walltrack.clients.usage import UsageMeter
from walltrack.models.usage import UsageCounts
from walltrack.store import Database
from walltrack.store.usage import UsageRepository

DAY = date(2026, 11, 20)


def _row(repo: UsageRepository, api: str, day: date = DAY):
    rows = repo.days(since=day, until=day, api=api)
    return rows[0] if rows else None


def test_flush_adds_and_a_second_flush_adds_nothing(db: Database) -> None:
    repo = UsageRepository(db)
    meter = UsageMeter()
    meter.add("helius", operations=3, calls=4, retries=1, failures=1, credits=400,
              rate_wait_seconds=1.5)
    meter.add("dexscreener", operations=2, calls=2)
    added = repo.flush(meter, day=DAY)
    assert added["helius"].credits == 400
    assert repo.flush(meter, day=DAY) == {}  # nothing new: nothing added twice
    helius = _row(repo, "helius")
    assert helius is not None
    assert (helius.calls, helius.failures, helius.retries, helius.credits) == (4, 1, 1, 400)
    assert helius.rate_wait_seconds == 1.5 and helius.updated_at is not None
    meter.add("helius", calls=1, credits=100)
    repo.record(meter, day=DAY)  # the same method, by its other name
    helius = _row(repo, "helius")
    assert helius is not None and (helius.calls, helius.credits) == (5, 500)
    dex = _row(repo, "dexscreener")
    assert dex is not None and (dex.calls, dex.credits) == (2, 0)
    # Another meter (another process) adds to the same row.
    other = UsageMeter()
    other.add("helius", calls=10, credits=1000)
    repo.flush(other, day=DAY)
    helius = _row(repo, "helius")
    assert helius is not None and (helius.calls, helius.credits) == (15, 1500)


def test_a_failed_flush_keeps_the_counts_for_the_next(db: Database) -> None:
    repo = UsageRepository(db)
    meter = UsageMeter()
    meter.add("helius", calls=2, credits=200)
    db.close()  # the store is gone: the flush fails, the meter keeps its counts
    with pytest.raises(Exception):  # noqa: B017 - whichever error the closed pool raises
        repo.flush(meter, day=DAY)
    assert meter.pending() == {"helius": UsageCounts(calls=2, credits=200)}


def test_concurrent_flushes_lose_nothing(db: Database) -> None:
    """Many threads (each its own connection and transaction) flush at once into the same
    rows, some sharing one meter: every count lands exactly once."""
    repo = UsageRepository(db)
    shared = UsageMeter()
    threads, rounds = 6, 15
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        own = UsageMeter()
        try:
            barrier.wait()
            for _ in range(rounds):
                own.add("helius", calls=1, credits=100)
                own.add("dexscreener", calls=2)
                shared.add("helius", calls=1, credits=10)
                repo.flush(own, day=DAY)
                repo.flush(shared, day=DAY)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors, errors
    repo.flush(shared, day=DAY)
    total = threads * rounds
    helius, dex = _row(repo, "helius"), _row(repo, "dexscreener")
    assert helius is not None and dex is not None
    assert helius.calls == 2 * total
    assert helius.credits == 100 * total + 10 * total
    assert dex.calls == 2 * total


def test_days_and_the_summary_against_the_plan(db: Database) -> None:
    repo = UsageRepository(db)
    today = date(2026, 12, 10)  # 21 days left in December after today
    for back in range(12):  # 12 days of use, 1,000 credits a day, 10 calls
        repo.add(today - timedelta(days=back),
                 {"helius": UsageCounts(calls=10, credits=1000),
                  "dexscreener": UsageCounts(calls=5)})
    repo.add(today - timedelta(days=40), {"helius": UsageCounts(calls=99, credits=99_000)})
    assert len(repo.days(since=today - timedelta(days=6), until=today, api="helius")) == 7
    assert len(repo.last_days(30, today=today)) == 24

    summary = repo.summary(today=today, plan="free", monthly_credits=1_000_000)
    by_api = {a.api: a for a in summary.apis}
    assert sorted(by_api) == ["dexscreener", "helius"]
    helius = by_api["helius"]
    assert (helius.today.calls, helius.today.credits) == (10, 1000)
    assert (helius.last_7_days.calls, helius.last_7_days.credits) == (70, 7000)
    assert (helius.last_30_days.calls, helius.last_30_days.credits) == (120, 12_000)
    assert by_api["dexscreener"].last_7_days.credits == 0
    plan = summary.credits
    assert plan is not None
    assert plan.used == 10_000  # December 1–10 only; November is another month
    assert plan.used_share == pytest.approx(0.01)
    assert (plan.daily_pace, plan.pace_days) == (1000.0, 7)
    assert plan.projected == 10_000 + 21 * 1000
    assert not plan.exceeds_plan and plan.warning() is None

    tight = repo.summary(today=today, plan="tiny", monthly_credits=20_000)
    assert tight.credits is not None and tight.credits.exceeds_plan
    assert "31,000" in (tight.credits.warning() or "")


def test_the_pace_starts_at_the_first_use(db: Database) -> None:
    repo = UsageRepository(db)
    today = date(2026, 12, 10)
    repo.add(today - timedelta(days=1), {"helius": UsageCounts(credits=50_000)})
    repo.add(today, {"helius": UsageCounts(credits=50_000)})
    plan = repo.summary(today=today, plan="free", monthly_credits=1_000_000).credits
    assert plan is not None
    assert (plan.pace_days, plan.daily_pace) == (2, 50_000.0)  # not diluted over 7 days
    assert plan.projected == 100_000 + 21 * 50_000 and plan.exceeds_plan
    empty = UsageRepository(db).summary(today=date(2027, 2, 5), plan="free",
                                        monthly_credits=1_000_000)
    assert empty.apis == [] and empty.credits is not None and empty.credits.used == 0
