"""Token discovery: DexScreener candidates → filters → ``tokens`` rows + one snapshot each.

Candidates come from the latest boosts, the top boosts, the latest profiles and a search per
configured term (Solana only; the first source that names a token is kept as its source).
Each candidate is judged on its canonical pair (most liquid SOL pair, else USD pair):

    rejected "no_pair"        no canonical pair
    rejected "liquidity"      liquidity_usd < min_liquidity_usd
    rejected "market_cap"     market cap (fdv when absent) < min_market_cap_usd
    rejected "too_young"      pair age < min_age_hours       (age = now − pairCreatedAt)
    rejected "too_old"        pair age > max_age_hours
    rejected "volume"         24 h volume < min_volume_24h_usd
    rejected "stale"          DexScreener was down: a stale value is never judged as fresh

The first failing rule is the reason. A kept token is upserted (its ``source`` and
``first_seen_at`` stay those of the first sighting, its status stays what surveillance said)
and gets one snapshot taken at ``now``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from pydantic import Field

from walltrack.clients.dexscreener import TOKENS_BATCH, DexScreenerClient, to_snapshot
from walltrack.clients.models import DexPair, Stale
from walltrack.errors import ExternalAPIError
from walltrack.intel.fanout import fan_out
from walltrack.logging import get_logger
from walltrack.models import Token, TokenSnapshot, TokenSource
from walltrack.models.base import DomainModel
from walltrack.models.config import TokenDiscoveryConfig
from walltrack.progress import Progress, no_progress
from walltrack.store import Database
from walltrack.store.repositories import TokenRepository, TokenSnapshotRepository

log = get_logger("walltrack.intel.token_discovery")
CHAIN = "solana"


class TokenDiscoveryReport(DomainModel):
    candidates: int = 0
    kept: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)  # reason → count
    new_tokens: int = 0
    snapshots: int = 0
    source_errors: dict[str, str] = Field(default_factory=dict)  # listing → error (skipped)
    seconds: float = 0.0

    def summary(self) -> str:
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "none"
        text = (f"{self.candidates} candidates, {self.kept} kept ({self.new_tokens} new), "
                f"rejected: {rejected}")
        if self.source_errors:
            text += f"; listings failed: {', '.join(self.source_errors)}"
        return text


class Candidate(DomainModel):
    mint: str
    source: TokenSource


def rejection_reason(
    pair: DexPair | None, config: TokenDiscoveryConfig, now: datetime, *, stale: bool = False
) -> str | None:
    """Why a candidate is rejected (the first failing filter), or None when it is kept."""
    if pair is None:
        return "no_pair"
    if stale:
        return "stale"
    return market_rejection(
        liquidity_usd=pair.liquidity_usd,
        market_cap_usd=pair.market_cap if pair.market_cap is not None else pair.fdv,
        volume_24h_usd=pair.volume.get("h24"),
        pair_created_at=pair.created_at, config=config, now=now)


def snapshot_rejection(snapshot: TokenSnapshot, pair_created_at: datetime | None,
                       config: TokenDiscoveryConfig, now: datetime) -> str | None:
    """The same filters on a stored snapshot (the notebook's table uses them)."""
    return market_rejection(
        liquidity_usd=snapshot.liquidity_usd or 0.0,
        market_cap_usd=snapshot.market_cap_usd if snapshot.market_cap_usd is not None
        else snapshot.fdv_usd,
        volume_24h_usd=snapshot.volume_24h_usd,
        pair_created_at=pair_created_at, config=config, now=now)


def market_rejection(
    *, liquidity_usd: float, market_cap_usd: float | None, volume_24h_usd: float | None,
    pair_created_at: datetime | None, config: TokenDiscoveryConfig, now: datetime,
) -> str | None:
    if liquidity_usd < config.min_liquidity_usd:
        return "liquidity"
    if (market_cap_usd or 0.0) < config.min_market_cap_usd:
        return "market_cap"
    if pair_created_at is not None:
        age_hours = (now - pair_created_at).total_seconds() / 3600
        if age_hours < config.min_age_hours:
            return "too_young"
        if age_hours > config.max_age_hours:
            return "too_old"
    elif config.min_age_hours > 0:
        return "too_young"  # unknown age cannot prove the minimum
    if (volume_24h_usd or 0.0) < config.min_volume_24h_usd:
        return "volume"
    return None


async def gather_candidates(
    dex: DexScreenerClient, config: TokenDiscoveryConfig, errors: dict[str, str]
) -> list[Candidate]:
    """Every Solana mint the listings name, in source order, first source wins."""
    listings = {
        TokenSource.boost_latest: dex.boosts_latest(),
        TokenSource.boost_top: dex.boosts_top(),
        TokenSource.profile: dex.profiles_latest(),
    }
    results = await asyncio.gather(*listings.values(), return_exceptions=True)
    seen: dict[str, TokenSource] = {}
    for source, result in zip(listings, results, strict=True):
        if isinstance(result, ExternalAPIError):
            errors[source.value] = result.message  # one listing down: use the others
            continue
        if isinstance(result, BaseException):
            raise result
        for item in result:
            if item.chain_id == CHAIN:
                seen.setdefault(item.token_address, source)
    searches = await asyncio.gather(*(dex.search(t) for t in config.search_terms),
                                    return_exceptions=True)
    for term, result in zip(config.search_terms, searches, strict=True):
        if isinstance(result, ExternalAPIError):
            errors[f"search:{term}"] = result.message
            continue
        if isinstance(result, BaseException):
            raise result
        for pair in result:
            if pair.chain_id == CHAIN:
                seen.setdefault(pair.base_token.address, TokenSource.search)
    return [Candidate(mint=m, source=s) for m, s in seen.items()]


async def canonical_pairs(
    dex: DexScreenerClient, mints: Sequence[str], *, concurrency: int,
    progress: Progress = no_progress, stage: str = "pairs",
) -> tuple[dict[str, Stale[DexPair]], dict[str, str]]:
    """Canonical pairs in batches of 30, ``concurrency`` batches in flight.

    Returns the pairs found, and mint → error message for the mints of every batch that
    failed with nothing known about them."""
    batches = [tuple(mints[i:i + TOKENS_BATCH]) for i in range(0, len(mints), TOKENS_BATCH)]
    found: dict[str, Stale[DexPair]] = {}

    async def fetch(batch: tuple[str, ...]) -> dict[str, Stale[DexPair]]:
        return await dex.canonical_pairs(list(batch), CHAIN)

    fanned = await fan_out(batches, fetch, lambda _batch, pairs: found.update(pairs),
                           concurrency=concurrency, stage=stage, event="dexscreener_pairs",
                           progress=progress)
    errors = {mint: message for batch, message in fanned.failed.items() for mint in batch}
    return found, errors


def token_from_pair(mint: str, pair: DexPair, source: TokenSource, now: datetime,
                    known: Token | None) -> Token:
    """The token row: market facts from the pair, identity history from the known row."""
    fields = {
        "symbol": pair.base_token.symbol,
        "name": pair.base_token.name,
        "pair_address": pair.pair_address,
        "dex_id": pair.dex_id,
        "quote_symbol": pair.quote_token.symbol,
        "pair_created_at": pair.created_at,
        "updated_at": now,
    }
    if known is not None:
        return known.model_copy(update=fields)
    return Token(mint=mint, source=source, first_seen_at=now, **fields)


def snapshot_at(pair: Stale[DexPair], mint: str, now: datetime) -> TokenSnapshot:
    # Taken "at now": under the simulator the wall clock is not the market's clock.
    return to_snapshot(pair, mint).model_copy(update={"taken_at": now})


async def discover_tokens(
    dex: DexScreenerClient,
    db: Database,
    config: TokenDiscoveryConfig,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> TokenDiscoveryReport:
    progress = progress or no_progress
    started = time.perf_counter()
    report = TokenDiscoveryReport()
    progress("candidates", 0, 0)
    candidates = await gather_candidates(dex, config, report.source_errors)
    report.candidates = len(candidates)
    progress("candidates", len(candidates), len(candidates))
    if not candidates and report.source_errors:
        raise ExternalAPIError(
            "every DexScreener listing failed: " + "; ".join(report.source_errors.values()),
            api="dexscreener", hint="nothing was stored; retry when DexScreener answers",
        )

    pairs, batch_errors = await canonical_pairs(
        dex, [c.mint for c in candidates], concurrency=config.concurrency, progress=progress)
    for message in set(batch_errors.values()):
        report.source_errors["pairs"] = message

    rejected: Counter[str] = Counter()
    kept: list[tuple[Candidate, Stale[DexPair]]] = []
    for cand in candidates:
        got = pairs.get(cand.mint)
        reason = rejection_reason(got.value if got else None, config, now,
                                  stale=bool(got and got.stale) or cand.mint in batch_errors)
        if reason is None and got is not None:
            kept.append((cand, got))
        else:
            rejected[reason or "no_pair"] += 1

    tokens_repo = TokenRepository(db)
    known = {t.mint: t for t in tokens_repo.list()}
    tokens = [token_from_pair(c.mint, p.value, c.source, now, known.get(c.mint)) for c, p in kept]
    snapshots = [snapshot_at(p, c.mint, now) for c, p in kept]
    progress("store", 0, len(tokens))
    tokens_repo.upsert_many(tokens)
    TokenSnapshotRepository(db).upsert_many(snapshots)
    progress("store", len(tokens), len(tokens))

    report.kept = len(kept)
    report.rejected = dict(rejected)
    report.new_tokens = sum(1 for t in tokens if t.mint not in known)
    report.snapshots = len(snapshots)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("tokens_discovered", **report.model_dump(exclude={"source_errors"}),
             source_errors=len(report.source_errors))
    return report
