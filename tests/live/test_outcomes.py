"""Shadow outcomes on a real store, with prices over real HTTP from a /price/v3 server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from tests.factories import WALLET, address, signature
from tests.live.price_server import (  # the fixture, by its name price_server
    PriceServer,
    price_server_fixture,  # noqa: F401
)
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.jupiter import JupiterClient
from walltrack.errors import ExternalAPIError, ValidationError
from walltrack.live.outcomes import (
    OutcomePolicy,
    measure_due,
    record_outcomes,
    schedule_outcomes,
    score_buckets,
)
from walltrack.models import (
    DecisionReason,
    Signal,
    SignalDecision,
    SignalFactors,
    SignalOutcome,
    SwapSide,
)
from walltrack.models.config import SourceConfig
from walltrack.store import Database
from walltrack.store.repositories import SignalRepository

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
M1, M2, M3 = address("out-mint-1"), address("out-mint-2"), address("out-mint-3")
FAST = ClientPolicy(retry=RetryPolicy(retries=0, waits=()), rate_per_second=500, burst=100)
HOURLY = SourceConfig(outcome_horizons_seconds=[300, 3600])


def make_signal(key: str, mint: str, *, price_usd: float | None = 1.0, score: float = 0.5,
                eligible: bool = False, swap_at: datetime = T0,
                side: SwapSide = SwapSide.buy) -> Signal:
    return Signal(
        id=f"sig-{key}", signature=signature(f"outcome-{key}"), wallet=WALLET, mint=mint,
        side=side, sol_amount=1.0, price_usd=price_usd, swap_at=swap_at,
        observed_at=swap_at + timedelta(seconds=4),
        factors=SignalFactors(wallet=score, cluster=score, token=score, context=score),
        weights={"wallet": 0.3, "cluster": 0.25, "token": 0.25, "context": 0.2}, score=score,
        decision=SignalDecision.eligible if eligible else SignalDecision.log_only,
        reason=DecisionReason.above_threshold if eligible else DecisionReason.below_threshold)


def outcomes(db: Database) -> dict[tuple[str, int], SignalOutcome]:
    with db.cursor() as cur:
        cur.execute("SELECT * FROM signal_outcomes")
        rows = cur.fetchall()
    return {(r["signal_id"], r["horizon_s"]): SignalOutcome.model_validate(r) for r in rows}


def jupiter(server: PriceServer) -> JupiterClient:
    return JupiterClient(server.url, policy=FAST)


def test_scheduling_adds_each_missing_row_once(db: Database) -> None:
    repo = SignalRepository(db)
    repo.upsert_many([make_signal("a", M1, eligible=True),
                      make_signal("b", M2, swap_at=T0 + timedelta(minutes=7))])
    assert schedule_outcomes(db, HOURLY) == 4
    assert schedule_outcomes(db, HOURLY) == 0  # idempotent
    rows = outcomes(db)
    assert rows[("sig-b", 3600)].due_at == T0 + timedelta(minutes=7, hours=1)
    assert rows[("sig-a", 300)].due_at == T0 + timedelta(minutes=5)
    assert all(r.measured_at is None and r.note is None for r in rows.values())
    # A new signal, then a new horizon: only what is missing is added.
    repo.upsert(make_signal("c", M3))
    assert schedule_outcomes(db, HOURLY) == 2
    assert schedule_outcomes(db, SourceConfig()) == 3  # 21 600 s for a, b and c
    assert schedule_outcomes(db, SourceConfig()) == 0
    assert len(outcomes(db)) == 9
    with pytest.raises(ValidationError, match="positive"):
        schedule_outcomes(db, SourceConfig(outcome_horizons_seconds=[0, 300]))


async def test_measurement_follows_the_price_path(db: Database,
                                                  price_server: PriceServer) -> None:
    book = price_server.book
    SignalRepository(db).upsert_many([make_signal("up", M1, price_usd=2.0),
                                      make_signal("down", M2, price_usd=0.5, eligible=True)])
    schedule_outcomes(db, HOURLY)
    async with jupiter(price_server) as jup:
        assert (await measure_due(db, jup, T0 + timedelta(seconds=299))).due == 0
        assert book.requests == []  # nothing due: no call at all
        book.prices.update({M1: 2.5, M2: 0.4})
        five = T0 + timedelta(seconds=310)
        report = await measure_due(db, jup, five)
        assert (report.due, report.measured, report.late, report.price_calls) == (2, 2, 0, 1)
        book.prices.update({M1: 3.0, M2: 0.125})
        hour = T0 + timedelta(seconds=3600 + 330)  # within the tolerance of 360 s
        report = await measure_due(db, jup, hour)
        assert (report.due, report.measured, report.late) == (2, 2, 0)
        assert (await measure_due(db, jup, hour + timedelta(hours=5))).due == 0
    assert sorted(map(sorted, book.requests)) == [sorted([M1, M2])] * 2
    rows = outcomes(db)
    expected = {("sig-up", 300): (2.5, 0.25, five), ("sig-down", 300): (0.4, -0.2, five),
                ("sig-up", 3600): (3.0, 0.5, hour), ("sig-down", 3600): (0.125, -0.75, hour)}
    for key, (price, ret, at) in expected.items():
        row = rows[key]
        assert row.price_usd == pytest.approx(price)
        assert row.return_pct == pytest.approx(ret)
        assert (row.measured_at, row.source, row.note) == (at, "jupiter", None)


async def test_late_no_baseline_no_price_and_missed(db: Database,
                                                    price_server: PriceServer) -> None:
    book = price_server.book
    book.prices.update({M1: 1.5, M2: 9.0})
    SignalRepository(db).upsert_many([
        make_signal("late", M1, price_usd=1.0),
        make_signal("bare", M2, price_usd=None),  # no market price at scoring
        make_signal("unpriced", M3, price_usd=4.0),
    ])
    schedule_outcomes(db, SourceConfig(outcome_horizons_seconds=[300]))
    due = T0 + timedelta(seconds=300)
    async with jupiter(price_server) as jup:
        first = await measure_due(db, jup, due + timedelta(seconds=120))  # tolerance: 60 s
        assert (first.measured, first.late, first.no_baseline, first.no_price,
                first.missed) == (1, 1, 1, 1, 0)
        assert book.requests == [[M1, M3]]  # the baseline-less signal's mint is not asked for
        rows = outcomes(db)
        late = rows[("sig-late", 300)]
        assert (late.note, late.return_pct) == ("late_by_120s", pytest.approx(0.5))
        assert late.measured_at == due + timedelta(seconds=120)
        bare = rows[("sig-bare", 300)]
        assert (bare.note, bare.return_pct, bare.price_usd) == ("no_baseline", None, None)
        assert bare.measured_at is not None
        unpriced = rows[("sig-unpriced", 300)]
        assert (unpriced.note, unpriced.measured_at, unpriced.return_pct) == ("no_price",
                                                                            None, None)
        # Still open just before 2 × horizon after the swap; closed as missed from there.
        again = await measure_due(db, jup, due + timedelta(seconds=299))
        assert (again.due, again.no_price, again.missed) == (1, 1, 0)
        closed = await measure_due(db, jup, due + timedelta(seconds=300))
        assert (closed.due, closed.missed) == (1, 1)
        assert (await measure_due(db, jup, due + timedelta(days=1))).due == 0
    missed = outcomes(db)[("sig-unpriced", 300)]
    assert (missed.note, missed.return_pct, missed.price_usd) == ("missed", None, None)
    assert missed.measured_at == due + timedelta(seconds=300)


async def test_a_mint_priced_late_is_measured_when_it_appears(
        db: Database, price_server: PriceServer) -> None:
    SignalRepository(db).upsert(make_signal("slow", M3, price_usd=2.0))
    schedule_outcomes(db, SourceConfig(outcome_horizons_seconds=[3600]))
    due = T0 + timedelta(hours=1)
    async with jupiter(price_server) as jup:
        assert (await measure_due(db, jup, due + timedelta(seconds=10))).no_price == 1
        price_server.book.prices[M3] = 1.0
        report = await measure_due(db, jup, due + timedelta(seconds=400))
    assert (report.measured, report.late) == (1, 1)
    row = outcomes(db)[("sig-slow", 3600)]
    assert (row.note, row.return_pct) == ("late_by_400s", pytest.approx(-0.5))


async def test_prices_are_asked_in_batches_of_fifty(db: Database,
                                                    price_server: PriceServer) -> None:
    mints = [address(f"batch-mint-{i}") for i in range(120)]
    price_server.book.prices.update(dict.fromkeys(mints, 2.0))
    SignalRepository(db).upsert_many(
        [make_signal(f"b{i}", mint) for i, mint in enumerate(mints)]
        + [make_signal("twin", mints[0])])  # a mint twice: asked once
    schedule_outcomes(db, SourceConfig(outcome_horizons_seconds=[300]))
    async with jupiter(price_server) as jup:
        report = await measure_due(db, jup, T0 + timedelta(seconds=301))
    assert (report.due, report.measured, report.mints, report.price_calls) == (121, 121, 120, 3)
    assert [len(r) for r in price_server.book.requests] == [50, 50, 20]
    assert sorted(m for r in price_server.book.requests for m in r) == sorted(mints)
    assert [o.return_pct for o in outcomes(db).values()] == [pytest.approx(1.0)] * 121


async def test_a_price_outage_fails_the_run_and_keeps_the_rows_open(
        db: Database, price_server: PriceServer) -> None:
    price_server.book.failing = True
    SignalRepository(db).upsert(make_signal("x", M1, price_usd=1.0))
    async with jupiter(price_server) as jup:
        with pytest.raises(ExternalAPIError, match="every price call failed"):
            await record_outcomes(db, jup, T0 + timedelta(seconds=301),
                                  SourceConfig(outcome_horizons_seconds=[300]))
        row = outcomes(db)[("sig-x", 300)]
        assert (row.note, row.measured_at) == ("no_price", None)
        price_server.book.failing = False
        price_server.book.prices[M1] = 1.1
        run = await record_outcomes(db, jup, T0 + timedelta(seconds=330),
                                    SourceConfig(outcome_horizons_seconds=[300]))
    assert (run.scheduled, run.measure.measured) == (0, 1)
    assert outcomes(db)[("sig-x", 300)].return_pct == pytest.approx(0.1)


def _insert_outcome(db: Database, signal_id: str, horizon_s: int,
                    return_pct: float | None) -> None:
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO signal_outcomes (signal_id, horizon_s, due_at, measured_at, "
            "return_pct) VALUES (%s, %s, %s, %s, %s)",
            [signal_id, horizon_s, T0, T0 if return_pct is not None else None, return_pct])


def test_score_buckets_give_hit_rates_and_returns(db: Database) -> None:
    # (key, score, eligible, return at 3600 s or None = unmeasured, "-" = no row at all)
    rows: list[tuple[str, float, bool, Any]] = [
        ("a", 0.05, False, -0.5),
        ("b", 0.10, False, 0.2),   # exactly on a bucket's lower bound
        ("c", 0.70, True, 0.4),    # 0.7 / 0.1 is 6.999…: still the 0.7 bucket
        ("d", 0.72, True, -0.1),
        ("e", 0.79, False, 0.1),
        ("f", 0.75, True, None),   # due, not measured yet
        ("g", 0.95, True, 1.0),
        ("h", 1.00, True, "-"),    # no outcome row: counted in signals only
    ]
    repo = SignalRepository(db)
    for key, score, eligible, ret in rows:
        repo.upsert(make_signal(key, M1, score=score, eligible=eligible))
        if ret != "-":
            _insert_outcome(db, f"sig-{key}", 3600, ret)
    _insert_outcome(db, "sig-a", 300, 0.9)  # another horizon: not in the table
    repo.upsert(make_signal("sell", M1, score=0.72, side=SwapSide.sell))  # buys only
    _insert_outcome(db, "sig-sell", 3600, 5.0)

    table = score_buckets(db, 3600)
    assert table.columns == ["bucket", "signals", "measured", "hit_rate", "mean_return",
                             "median_return", "eligible_share"]
    got = {r["bucket"]: r for r in table.iter_rows(named=True)}
    assert list(got) == [0.0, 0.1, 0.7, 0.9]
    assert (got[0.0]["signals"], got[0.0]["measured"], got[0.0]["hit_rate"]) == (1, 1, 0.0)
    assert got[0.0]["mean_return"] == pytest.approx(-0.5)
    assert got[0.0]["eligible_share"] == 0.0
    assert (got[0.1]["signals"], got[0.1]["hit_rate"]) == (1, 1.0)
    # 0.7 bucket: c, d, e, f; measured 0.4, −0.1, 0.1 → 2 of 3 up, mean 0.4/3, median 0.1;
    # eligible: c, d, f of 4.
    seven = got[0.7]
    assert (seven["signals"], seven["measured"]) == (4, 3)
    assert seven["hit_rate"] == pytest.approx(2 / 3)
    assert seven["mean_return"] == pytest.approx(0.4 / 3)
    assert seven["median_return"] == pytest.approx(0.1)
    assert seven["eligible_share"] == pytest.approx(0.75)
    # 0.9 bucket takes 1.0 too: g measured (+100 %), h without a row.
    nine = got[0.9]
    assert (nine["signals"], nine["measured"], nine["hit_rate"]) == (2, 1, 1.0)
    assert nine["mean_return"] == pytest.approx(1.0) and nine["eligible_share"] == 1.0

    every = score_buckets(db, 3600, side=None)
    seven_all = every.filter(pl.col("bucket") == 0.7).row(0, named=True)
    assert (seven_all["signals"], seven_all["measured"]) == (5, 4)
    assert seven_all["mean_return"] == pytest.approx((0.4 - 0.1 + 0.1 + 5.0) / 4)

    halves = score_buckets(db, 3600, bucket=0.5)
    assert halves["bucket"].to_list() == [0.0, 0.5]
    assert halves["signals"].to_list() == [2, 6]
    unmeasured = score_buckets(db, 21600)
    assert unmeasured["measured"].sum() == 0
    assert unmeasured["hit_rate"].null_count() == unmeasured.height
    assert unmeasured["signals"].sum() == len(rows)
    assert score_buckets(db, 3600).equals(table)


async def test_the_policy_sets_tolerance_give_up_and_batch(db: Database,
                                                           price_server: PriceServer) -> None:
    price_server.book.prices.update({M1: 3.0, M2: 1.0})
    SignalRepository(db).upsert_many([make_signal("p1", M1), make_signal("p2", M2),
                                      make_signal("p3", M3)])
    schedule_outcomes(db, SourceConfig(outcome_horizons_seconds=[300]))
    policy = OutcomePolicy(late_tolerance_share=0.5, give_up_factor=1.5, batch=2)
    async with jupiter(price_server) as jup:
        report = await measure_due(db, jup, T0 + timedelta(seconds=300 + 150), policy)
    assert (report.measured, report.late, report.missed, report.price_calls) == (2, 0, 1, 2)
    assert [len(r) for r in price_server.book.requests] == [2, 1]
    rows = outcomes(db)
    assert rows[("sig-p1", 300)].note is None  # 150 s late: within half of 300 s
    assert rows[("sig-p3", 300)].note == "missed"  # 1.5 × 300 s after the swap
