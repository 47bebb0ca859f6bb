"""Helpers for the discovery notebook: the token table, the snapshot chart, running discovery.

Filters are the rules of ``walltrack.intel.token_discovery`` (``snapshot_rejection``) applied
to each token's latest snapshot: the table shows what the configured filters would keep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import altair as alt
import polars as pl

from walltrack.errors import ExternalAPIError
from walltrack.intel.market_clock import simulator_now
from walltrack.intel.research import run_research_job
from walltrack.intel.token_discovery import (
    TokenDiscoveryReport,
    snapshot_rejection,
)
from walltrack.models import TokenSnapshot, utcnow
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.progress import Progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import (
    ConfigRepository,
    TokenRepository,
    TokenSnapshotRepository,
)
from walltrack.store.repository import dict_rows

FILTER_FIELDS = ("min_liquidity_usd", "min_market_cap_usd", "min_volume_24h_usd",
                 "min_age_hours", "max_age_hours")


async def market_now(settings: Settings) -> tuple[datetime, str]:
    """The simulator's clock when DexScreener is the simulator, else the wall clock."""
    try:
        return await simulator_now(str(settings.dexscreener_url)), "simulator clock"
    except ExternalAPIError:
        return utcnow(), "wall clock"


def latest_snapshots(db: Database) -> dict[str, TokenSnapshot]:
    rows = dict_rows(db, "SELECT DISTINCT ON (mint) * FROM token_snapshots "
                         "ORDER BY mint, taken_at DESC")
    return {r["mint"]: TokenSnapshot.model_validate(r) for r in rows}


def token_rows(db: Database, config: TokenDiscoveryConfig, now: datetime,
               *, only_kept: bool = True) -> list[dict[str, Any]]:
    """One row per token with its latest snapshot and the filter verdict."""
    snaps = latest_snapshots(db)
    rows = []
    for token in TokenRepository(db).list(order_by="first_seen_at", descending=True):
        snap = snaps.get(token.mint)
        reason = (snapshot_rejection(snap, token.pair_created_at, config, now)
                  if snap else "no snapshot")
        if only_kept and reason is not None:
            continue
        rows.append({
            "symbol": token.symbol, "mint": token.mint, "status": token.status.value,
            "source": token.source.value,
            "liquidity_usd": round(snap.liquidity_usd or 0) if snap else None,
            "market_cap_usd": round(snap.market_cap_usd or 0) if snap else None,
            "volume_24h_usd": round(snap.volume_24h_usd or 0) if snap else None,
            "price_usd": snap.price_usd if snap else None,
            "age_hours": round((now - token.pair_created_at).total_seconds() / 3600, 1)
            if token.pair_created_at else None,
            "filtered_out": reason or "",
            "status_reason": token.status_reason or "",
        })
    return rows


def snapshot_chart(db: Database, mint: str) -> alt.VConcatChart | None:
    history = TokenSnapshotRepository(db).history(mint)
    if not history:
        return None
    frame = pl.DataFrame([{"taken_at": s.taken_at, "price_usd": s.price_usd,
                           "liquidity_usd": s.liquidity_usd} for s in history])
    base = alt.Chart(frame).encode(
        x=alt.X("taken_at:T", title="snapshot"))
    price = base.mark_line(point=True).encode(y=alt.Y("price_usd:Q", title="price (USD)"))
    liquidity = base.mark_area(opacity=0.4).encode(
        y=alt.Y("liquidity_usd:Q", title="liquidity (USD)"))
    return alt.vconcat(price.properties(height=180, width=600),
                       liquidity.properties(height=120, width=600))


async def run_discovery(settings: Settings, db: Database, config: TokenDiscoveryConfig,
                        now: datetime, progress: Progress) -> TokenDiscoveryReport:
    """The ``discover_tokens`` job's stage with the notebook's filters (not saved)."""
    dynamic = ConfigRepository(db).load().model_copy(update={"token_discovery": config})
    report = await run_research_job("discover_tokens", settings, db, now=now,
                                    progress=progress, config=dynamic)
    return TokenDiscoveryReport.model_validate(report.last("discover_tokens"))
