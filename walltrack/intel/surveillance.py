"""Surveillance: a fresh snapshot for every active token, and the dead / rugged marks.

Rules (``status_for``), judged on fresh values only:

* **rugged** — liquidity fell by at least ``rug_liquidity_drop`` (default 80 %) since the
  previous snapshot: ``(prev − cur) / prev ≥ rug_liquidity_drop``. Checked first: a rug
  also leaves the liquidity below the dead line, and "rugged" is the stronger fact.
* **dead** — liquidity below ``dead_liquidity_usd``, or no volume (and no trade) over 24 h
  once the pair is at least ``dead_no_volume_after_hours`` old.

A DexScreener outage stores **nothing new**: a value the client serves from its last known
pair (``stale``) is never written as a snapshot and never judged; the report says how many
tokens are stale and why, and logs ``surveillance_stale``.
"""

from __future__ import annotations

import time
from datetime import datetime

from pydantic import Field

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.intel.token_discovery import canonical_pairs, snapshot_at
from walltrack.logging import get_logger
from walltrack.models import Token, TokenSnapshot, TokenStatus
from walltrack.models.base import DomainModel
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.progress import Progress, no_progress
from walltrack.store import Database
from walltrack.store.repositories import TokenRepository, TokenSnapshotRepository
from walltrack.store.repository import dict_rows

log = get_logger("walltrack.intel.surveillance")


class SurveillanceReport(DomainModel):
    tokens: int = 0  # active tokens checked
    snapshots: int = 0  # fresh snapshots stored
    dead: int = 0
    rugged: int = 0
    missing: int = 0  # DexScreener answered but knows no pair for them
    stale: int = 0  # served from the last known value: nothing stored for them
    stale_reason: str | None = None
    marked: dict[str, str] = Field(default_factory=dict)  # mint → status_reason
    seconds: float = 0.0

    @property
    def values_are_stale(self) -> bool:
        return self.stale > 0 or self.stale_reason is not None

    def summary(self) -> str:
        text = (f"{self.tokens} active, {self.snapshots} snapshots, {self.dead} dead, "
                f"{self.rugged} rugged, {self.missing} missing")
        if self.values_are_stale:
            text += (f"\nWARNING: {self.stale} token(s) stale, nothing stored for them: "
                     f"{self.stale_reason}")
        return text


def status_for(
    prev: TokenSnapshot | None,
    cur: TokenSnapshot,
    config: TokenDiscoveryConfig,
    *,
    pair_created_at: datetime | None,
    now: datetime,
) -> tuple[TokenStatus, str] | None:
    """The new status and its reason, or None while the token stays active."""
    liq = cur.liquidity_usd
    prev_liq = prev.liquidity_usd if prev is not None else None
    if liq is not None and prev_liq:
        drop = (prev_liq - liq) / prev_liq
        if drop >= config.rug_liquidity_drop:
            return TokenStatus.rugged, (
                f"liquidity fell {drop:.0%} between snapshots "
                f"(${prev_liq:,.0f} → ${liq:,.0f})")
    if liq is not None and liq < config.dead_liquidity_usd:
        return TokenStatus.dead, (
            f"liquidity ${liq:,.0f} below ${config.dead_liquidity_usd:,.0f}")
    age_h = ((now - pair_created_at).total_seconds() / 3600
             if pair_created_at is not None else None)
    no_volume = not cur.volume_24h_usd and not (cur.buys_24h or 0) + (cur.sells_24h or 0)
    if no_volume and age_h is not None and age_h >= config.dead_no_volume_after_hours:
        return TokenStatus.dead, "no volume in 24 h"
    return None


def latest_snapshots(db: Database, mints: list[str], before: datetime) -> dict[str, TokenSnapshot]:
    """The latest snapshot strictly before ``before`` of each mint (one query)."""
    rows = dict_rows(
        db,
        "SELECT DISTINCT ON (mint) * FROM token_snapshots "
        "WHERE mint = ANY(%s) AND taken_at < %s AND NOT stale ORDER BY mint, taken_at DESC",
        [mints, before],
    )
    return {r["mint"]: TokenSnapshot.model_validate(r) for r in rows}


async def refresh_tokens(
    dex: DexScreenerClient,
    db: Database,
    config: TokenDiscoveryConfig,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> SurveillanceReport:
    progress = progress or no_progress
    started = time.perf_counter()
    tokens_repo = TokenRepository(db)
    active: dict[str, Token] = {
        t.mint: t for t in tokens_repo.list(where={"status": TokenStatus.active})}
    report = SurveillanceReport(tokens=len(active))
    pairs, errors = await canonical_pairs(dex, list(active), concurrency=config.concurrency,
                                          progress=progress, stage="refresh")
    previous = latest_snapshots(db, list(active), now)
    fresh: list[TokenSnapshot] = []
    changed: list[Token] = []
    stale_reasons: set[str] = set(errors.values())
    for mint, token in active.items():
        got = pairs.get(mint)
        if mint in errors:
            report.stale += 1  # the call failed and nothing was known: nothing to store
            continue
        if got is None:
            report.missing += 1
            continue
        if got.stale:
            report.stale += 1
            stale_reasons.add(got.reason or "DexScreener unavailable")
            continue
        snap = snapshot_at(got, mint, now)
        fresh.append(snap)
        verdict = status_for(previous.get(mint), snap, config,
                             pair_created_at=got.value.created_at or token.pair_created_at,
                             now=now)
        if verdict is not None:
            status, reason = verdict
            changed.append(token.model_copy(update={
                "status": status, "status_reason": reason, "updated_at": now}))
            report.marked[mint] = reason
    TokenSnapshotRepository(db).upsert_many(fresh)
    tokens_repo.upsert_many(changed)
    report.snapshots = len(fresh)
    report.dead = sum(1 for t in changed if t.status is TokenStatus.dead)
    report.rugged = sum(1 for t in changed if t.status is TokenStatus.rugged)
    report.stale_reason = "; ".join(sorted(stale_reasons)) or None
    report.seconds = round(time.perf_counter() - started, 3)
    if report.values_are_stale:
        log.warning("surveillance_stale", stale=report.stale, reason=report.stale_reason)
    log.info("tokens_refreshed", **report.model_dump(exclude={"marked", "stale_reason"}))
    return report
