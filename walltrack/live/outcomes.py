"""Shadow outcomes: what each signal's token did after it, eligible or not (DESIGN.md §5).

For every signal and every horizon of ``sources.outcome_horizons_seconds`` (5 min, 1 h,
6 h by default) one ``signal_outcomes`` row records the token's USD price once the horizon
has passed and its return against the market price when the signal was scored
(``signals.price_usd``). The prices come from price data — Jupiter ``/price/v3``, DexScreener
as its fallback, through :class:`~walltrack.clients.jupiter.JupiterClient` — never from a
simulator's truth, so the same rows calibrate the threshold in the lab and in production:
:func:`score_buckets` puts hit rate and returns beside each score bucket.

* :func:`schedule_outcomes` — one ``INSERT … SELECT`` adds the missing rows
  (``due_at = swap_at + horizon``); running it again adds nothing.
* :func:`measure_due` — prices the due, unmeasured rows (see its docstring for the notes:
  ``no_baseline``, ``late_by_<s>s``, ``no_price``, ``missed``).
* :func:`score_buckets` — per score bucket: signals, measured, hit rate, mean and median
  return, eligible share (``python -m walltrack calibration``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import polars as pl
from pydantic import Field

from walltrack.clients.models import JupiterPrice
from walltrack.errors import ExternalAPIError, ValidationError
from walltrack.logging import get_logger
from walltrack.models import DomainModel, UtcDatetime
from walltrack.models.config import SourceConfig
from walltrack.models.market import SwapSide
from walltrack.store.database import Database
from walltrack.store.frames import UTC_US, query_frame

__all__ = [
    "BUCKET_SCHEMA",
    "MeasureReport",
    "OutcomePolicy",
    "OutcomesRun",
    "PriceSource",
    "measure_due",
    "record_outcomes",
    "schedule_outcomes",
    "score_buckets",
]

log = get_logger(__name__)

PRICE_BATCH = 50  # /price/v3 takes 50 mints a call


class PriceSource(Protocol):
    """What :func:`measure_due` reads prices from (``JupiterClient`` in production)."""

    async def prices(self, mints: Sequence[str]) -> Mapping[str, JupiterPrice]: ...


class OutcomePolicy(DomainModel):
    """How :func:`measure_due` judges time and batches its price calls."""

    # A row measured more than max(share × horizon, min seconds) after its due time is
    # still measured, with the note ``late_by_<s>s``.
    late_tolerance_share: float = Field(default=0.1, ge=0)
    late_tolerance_min_seconds: float = Field(default=60.0, ge=0)
    # A row that finds no price is retried on later runs until ``swap_at + give_up_factor ×
    # horizon`` (i.e. ``due_at + (factor − 1) × horizon``); then it is closed as ``missed``.
    give_up_factor: float = Field(default=2.0, ge=1)
    batch: int = Field(default=PRICE_BATCH, ge=1, le=PRICE_BATCH)  # mints per price call
    limit: int = Field(default=20_000, ge=1)  # due rows taken per run (oldest first)


class MeasureReport(DomainModel):
    due: int = 0  # due, unmeasured rows taken this run
    measured: int = 0  # closed with a price and a return
    late: int = 0  # of ``measured``: later than the tolerance
    no_baseline: int = 0  # closed: the signal has no market price to compare with
    no_price: int = 0  # no price this run: left open for the next run
    missed: int = 0  # closed: still no price when it was too late
    mints: int = 0  # distinct mints asked for
    price_calls: int = 0  # batches sent to the price source
    failed_calls: int = 0  # batches the price source failed on (their mints: no price)

    def summary(self) -> str:
        return (f"{self.due} due: {self.measured} measured ({self.late} late), "
                f"{self.no_baseline} without baseline, {self.no_price} without a price yet, "
                f"{self.missed} missed; {self.mints} mints in {self.price_calls} price calls"
                + (f" ({self.failed_calls} failed)" if self.failed_calls else ""))


# -- scheduling --------------------------------------------------------------------------

_SCHEDULE = """
INSERT INTO signal_outcomes (signal_id, horizon_s, due_at)
SELECT s.id, h.horizon_s, s.swap_at + make_interval(secs => h.horizon_s)
FROM signals s CROSS JOIN unnest(%s::int[]) AS h(horizon_s)
WHERE NOT EXISTS (SELECT 1 FROM signal_outcomes o
                  WHERE o.signal_id = s.id AND o.horizon_s = h.horizon_s)
ON CONFLICT (signal_id, horizon_s) DO NOTHING
"""


def schedule_outcomes(db: Database, cfg: SourceConfig) -> int:
    """Add the missing (signal, horizon) rows, due at ``swap_at + horizon``, for every
    signal — eligible or not, buys and sells. Idempotent (one statement; a concurrent run
    only meets ``ON CONFLICT DO NOTHING``). Returns the number of rows added."""
    horizons = sorted({int(h) for h in cfg.outcome_horizons_seconds})
    if any(h <= 0 for h in horizons):
        raise ValidationError(f"outcome horizons must be positive seconds, got {horizons}",
                              hint="fix sources.outcome_horizons_seconds in the config")
    if not horizons:
        return 0
    with db.connection() as conn:
        added = conn.execute(_SCHEDULE, [horizons]).rowcount
    log.info("outcomes_scheduled", added=added, horizons=horizons)
    return added


# -- measurement -------------------------------------------------------------------------

_DUE = """
SELECT o.signal_id, o.horizon_s, o.due_at, s.mint, s.price_usd AS baseline
FROM signal_outcomes o JOIN signals s ON s.id = o.signal_id
WHERE o.measured_at IS NULL AND o.due_at <= %s
ORDER BY o.due_at, o.signal_id, o.horizon_s
LIMIT %s
"""
_DUE_SCHEMA = {"signal_id": pl.String, "horizon_s": pl.Int64, "due_at": UTC_US,
               "mint": pl.String, "baseline": pl.Float64}
_PRICE_SCHEMA = {"mint": pl.String, "price": pl.Float64, "price_source": pl.String}

# Closed rows get measured_at; open rows (no price yet) only get their note refreshed.
_WRITE = """
UPDATE signal_outcomes o
SET measured_at = u.measured_at, price_usd = u.price_usd, return_pct = u.return_pct,
    source = u.source, note = u.note
FROM unnest(%s::text[], %s::int[], %s::timestamptz[], %s::float8[], %s::float8[],
            %s::text[], %s::text[])
     AS u(signal_id, horizon_s, measured_at, price_usd, return_pct, source, note)
WHERE o.signal_id = u.signal_id AND o.horizon_s = u.horizon_s AND o.measured_at IS NULL
"""


async def _fetch_prices(prices: PriceSource, mints: list[str], policy: OutcomePolicy,
                        report: MeasureReport) -> pl.DataFrame:
    """One call per batch of ≤ ``policy.batch`` mints; a failed batch prices nothing."""
    found: dict[str, JupiterPrice] = {}
    for start in range(0, len(mints), policy.batch):
        batch = mints[start : start + policy.batch]
        report.price_calls += 1
        try:
            answer = await prices.prices(batch)
        except ExternalAPIError as exc:
            report.failed_calls += 1
            log.warning("outcomes_price_failed", mints=len(batch), error=exc.message)
            continue
        asked = set(batch)
        found.update({m: p for m, p in answer.items() if m in asked})
    return pl.DataFrame(
        {"mint": list(found), "price": [p.usd_price for p in found.values()],
         "price_source": [p.source for p in found.values()]},
        schema=_PRICE_SCHEMA)


def _judge(due: pl.DataFrame, priced: pl.DataFrame, now: datetime,
           policy: OutcomePolicy) -> pl.DataFrame:
    """Each due row's verdict: its price, return, note and whether it is closed."""
    late_s = (pl.lit(now, dtype=UTC_US) - pl.col("due_at")).dt.total_seconds()
    tolerance = pl.max_horizontal(pl.col("horizon_s") * policy.late_tolerance_share,
                                  pl.lit(policy.late_tolerance_min_seconds))
    has_baseline = pl.col("baseline").is_not_null() & (pl.col("baseline") > 0)
    has_price = pl.col("price").is_not_null()
    too_late = late_s >= pl.col("horizon_s") * (policy.give_up_factor - 1)
    return (
        due.join(priced, on="mint", how="left")
        .with_columns(
            pl.when(~has_baseline).then(pl.lit("no_baseline"))
            .when(has_price & (late_s > tolerance))
            .then(pl.format("late_by_{}s", late_s))
            .when(has_price).then(pl.lit(None, dtype=pl.String))
            .when(too_late).then(pl.lit("missed"))
            .otherwise(pl.lit("no_price")).alias("note"),
            pl.when(has_baseline & has_price)
            .then(pl.col("price") / pl.col("baseline") - 1).alias("return_pct"),
            (~has_baseline | has_price | too_late).alias("closed"),
        )
        .with_columns(
            pl.when(has_baseline).then(pl.col("price")).alias("price_usd"),
            pl.when(has_baseline).then(pl.col("price_source")).alias("source"),
            pl.when(pl.col("closed")).then(pl.lit(now, dtype=UTC_US)).alias("measured_at"),
        )
    )


async def measure_due(db: Database, prices_client: PriceSource, now: datetime,
                      cfg: OutcomePolicy | None = None) -> MeasureReport:
    """Measure the rows due at ``now`` and not yet measured (oldest first, at most
    ``cfg.limit``), with the current USD prices of their mints.

    * A signal with a market price at scoring (``signals.price_usd > 0``, the baseline) is
      measured when its mint has a price: ``price_usd`` = the price now, ``return_pct`` =
      price now / baseline − 1 (a fraction: 0.25 is +25 %), ``source`` = ``jupiter`` or
      ``dexscreener`` (the fallback), ``measured_at`` = ``now``.
    * **Late.** A row measured more than ``max(10 % of its horizon, 60 s)`` (the policy's
      tolerance) after its ``due_at`` is *still measured* at today's price, and its note
      says how late: ``late_by_<s>s`` (whole seconds after ``due_at``). Such a return
      describes a longer horizon than its ``horizon_s``; the note keeps that visible.
    * **No baseline.** A signal without ``price_usd`` is closed at once with the note
      ``no_baseline`` and NULL price and return: nothing is asked of the price source for it.
    * **No price.** A mint the source does not price (or a batch whose call failed) leaves
      the row open with the note ``no_price``; a later run tries again. Once ``now`` is past
      ``swap_at + give_up_factor × horizon`` (2× by default) without a price, the row is
      closed with the note ``missed`` and NULL price and return.

    Prices are asked once per distinct mint, in batches of at most 50 mints — one
    ``prices_client.prices(batch)`` call each; no call at all when nothing is due. All rows
    are written back in one statement, each only if it is still unmeasured (two runs never
    measure a row twice).
    """
    policy = cfg or OutcomePolicy()
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    report = MeasureReport()
    due = query_frame(db, _DUE, [now, policy.limit], schema=_DUE_SCHEMA)
    report.due = due.height
    if due.is_empty():
        return report
    wanted = (due.filter(pl.col("baseline").is_not_null() & (pl.col("baseline") > 0))
              ["mint"].unique(maintain_order=True).to_list())
    report.mints = len(wanted)
    priced = await _fetch_prices(prices_client, wanted, policy, report)
    judged = _judge(due, priced, now, policy)
    note = pl.col("note")
    counts = judged.select(
        measured=pl.col("return_pct").is_not_null().sum(),
        late=note.str.starts_with("late_by_").sum(),
        no_baseline=(note == "no_baseline").sum(),
        no_price=(note == "no_price").sum(),
        missed=(note == "missed").sum(),
    ).row(0, named=True)
    for key, value in counts.items():
        setattr(report, key, int(value or 0))
    columns = ("signal_id", "horizon_s", "measured_at", "price_usd", "return_pct", "source",
               "note")
    with db.connection() as conn:
        conn.execute(_WRITE, [judged[c].to_list() for c in columns])
    log.info("outcomes_measured", **report.model_dump())
    return report


# -- calibration -------------------------------------------------------------------------

_SIGNALS_AT_HORIZON = """
SELECT s.score, s.decision, o.return_pct
FROM signals s LEFT JOIN signal_outcomes o ON o.signal_id = s.id AND o.horizon_s = %s
WHERE %s::text IS NULL OR s.side = %s::text
"""
_CALIBRATION_SCHEMA = {"score": pl.Float64, "decision": pl.String, "return_pct": pl.Float64}
BUCKET_SCHEMA = {"bucket": pl.Float64, "signals": pl.UInt32, "measured": pl.UInt32,
                 "hit_rate": pl.Float64, "mean_return": pl.Float64,
                 "median_return": pl.Float64, "eligible_share": pl.Float64}


def score_buckets(db: Database, horizon_s: int, bucket: float = 0.1, *,
                  side: SwapSide | None = SwapSide.buy) -> pl.DataFrame:
    """Signals grouped by score bucket with what their tokens did ``horizon_s`` later.

    One row per bucket that holds signals, ascending: ``bucket`` (its lower bound; scores
    in [b, b + bucket), the top bucket also takes a score of exactly 1), ``signals`` (all
    of them, measured or not), ``measured`` (with a return), ``hit_rate`` (share of the
    measured with ``return_pct > 0``; null when none is measured), ``mean_return`` and
    ``median_return`` (of the measured), ``eligible_share`` (share of the bucket's signals
    decided ``eligible``). Late measurements count as measured (their note says how late).
    Buys only by default (the threshold decides buys); ``side=None`` takes every signal.
    """
    if not 0 < bucket <= 1:
        raise ValidationError(f"a score bucket must be in (0, 1], got {bucket}")
    side_value = side.value if side is not None else None
    frame = query_frame(db, _SIGNALS_AT_HORIZON, [horizon_s, side_value, side_value],
                        schema=_CALIBRATION_SCHEMA)
    top = math.ceil(1 / bucket - 1e-9) - 1  # the last bucket's index (it takes 1.0 too)
    index = (pl.col("score") / bucket + 1e-9).floor().cast(pl.Int64).clip(0, top)
    returns = pl.col("return_pct")
    measured = returns.count()
    return (
        frame.with_columns((index * bucket).round(10).alias("bucket"))
        .group_by("bucket")
        .agg(
            pl.len().alias("signals"),
            measured.alias("measured"),
            pl.when(measured > 0).then((returns > 0).sum() / measured).alias("hit_rate"),
            returns.mean().alias("mean_return"),
            returns.median().alias("median_return"),
            (pl.col("decision") == "eligible").mean().alias("eligible_share"),
        )
        .sort("bucket")
        .cast(BUCKET_SCHEMA)  # type: ignore[arg-type]
        .select(list(BUCKET_SCHEMA))
    )


# -- one run of the job ------------------------------------------------------------------


class OutcomesRun(DomainModel):
    now: UtcDatetime
    scheduled: int  # rows added by this run's scheduling
    measure: MeasureReport

    def summary(self) -> str:
        return (f"shadow_outcomes at {self.now.isoformat()}: {self.scheduled} rows scheduled; "
                f"{self.measure.summary()}")


async def record_outcomes(db: Database, prices_client: PriceSource, now: datetime,
                          sources: SourceConfig, policy: OutcomePolicy | None = None
                          ) -> OutcomesRun:
    """What the ``shadow_outcomes`` job does: schedule, then measure what is due.

    What was measured is written either way; when *every* price call of the run failed the
    run raises ``ExternalAPIError`` afterwards, so the job is recorded as failed (an outage
    must not pass for tokens without a price)."""
    scheduled = schedule_outcomes(db, sources)
    report = await measure_due(db, prices_client, now, policy)
    if report.price_calls and report.failed_calls == report.price_calls:
        raise ExternalAPIError(
            f"every price call failed ({report.failed_calls}); {report.no_price} outcomes "
            "wait for the next run", api="jupiter",
            hint="check WALLTRACK_JUPITER_URL and WALLTRACK_DEXSCREENER_URL (the fallback)")
    return OutcomesRun(now=now, scheduled=scheduled, measure=report)
