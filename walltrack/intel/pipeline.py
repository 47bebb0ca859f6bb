"""The research pipeline, start to finish: tokens → wallets → histories → profile → decay →
watchlist (→ clusters when that module is present).

One function for the README's main command, the evaluation and the scheduler alike; it
builds the clients from ``Settings`` and closes them, and takes ``now`` explicitly (the
simulator's clock when run against it).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.intel.blacklist import blacklisted_wallets
from walltrack.intel.clusters import build_clusters
from walltrack.intel.decay import apply_decay
from walltrack.intel.profiling import load_window, profile_wallets, tracked_wallets
from walltrack.intel.sibling_discovery import discover_siblings
from walltrack.intel.surveillance import refresh_tokens
from walltrack.intel.token_discovery import discover_tokens
from walltrack.intel.token_expansion import register_wallet_tokens
from walltrack.intel.wallet_discovery import (
    collect_funding,
    collect_wallet_histories,
    discover_wallets,
)
from walltrack.intel.watchlist import apply_watchlist
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository

log = get_logger(__name__)


class ResearchReport(DomainModel):
    now: datetime
    stages: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seconds: dict[str, float] = Field(default_factory=dict)


def _dump(report: Any) -> dict[str, Any]:
    if hasattr(report, "model_dump"):
        return report.model_dump(mode="json")
    if hasattr(report, "as_dict"):
        return report.as_dict()
    return {"value": report}


async def run_discovery(
    settings: Settings,
    db: Database,
    *,
    now: datetime,
    progress: Progress | None = None,
    client_options: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Discover tokens, refresh them, discover wallets: what the scheduler repeats all day."""
    progress = progress or no_progress
    config = ConfigRepository(db).load()
    options = client_options or {}
    async with (
        DexScreenerClient.from_settings(settings, **options) as dex,
        HeliusClient.from_settings(settings, **options) as helius,
    ):
        tokens = await discover_tokens(dex, db, config.token_discovery, now=now,
                                       progress=progress)
        refreshed = await refresh_tokens(dex, db, config.token_discovery, now=now,
                                         progress=progress)
        wallets = await discover_wallets(helius, db, config.wallet_discovery, now=now,
                                         progress=progress)
    return {"discover_tokens": _dump(tokens), "refresh_tokens": _dump(refreshed),
            "discover_wallets": _dump(wallets)}


def _wallets_to_collect(db: Database) -> list[str]:
    # Blacklisted wallets are excluded from everything downstream, collection included.
    banned = blacklisted_wallets(db)
    return [w for w in tracked_wallets(db) if w not in banned]


def _timed(report: ResearchReport, key: str, started: float) -> None:
    report.seconds[key] = round(report.seconds.get(key, 0.0) + time.perf_counter() - started, 3)


async def _collect(
    helius: HeliusClient, rpc: SolanaRpcClient, db: Database, config: DynamicConfig,
    report: ResearchReport, *, now: datetime, progress: Progress,
) -> None:
    """Funding → siblings → histories for every tracked wallet not collected yet.

    Funding first: a tracked wallet's private funder names its siblings, which then go
    through the same collection as every other tracked wallet. Cursors make a second call
    fetch only what is new.
    """
    started = time.perf_counter()
    wd = config.wallet_discovery
    funding = await collect_funding(helius, db, _wallets_to_collect(db), rpc=rpc,
                                    progress=progress, config=wd)
    if wd.siblings:
        siblings = await discover_siblings(helius, db, wd, config.clusters, now=now,
                                           progress=progress)
        report.stages.setdefault("discover_siblings", {})
        for key, value in _dump(siblings).items():
            previous = report.stages["discover_siblings"].get(key, 0)
            report.stages["discover_siblings"][key] = (
                previous + value if isinstance(value, int | float) else value)
        funding += await collect_funding(helius, db, _wallets_to_collect(db), rpc=rpc,
                                         progress=progress, config=wd)
    stage = report.stages.setdefault("collect_funding", {"transfers_stored": 0})
    stage["transfers_stored"] += funding
    _timed(report, "collect_funding", started)
    started = time.perf_counter()
    since = now - timedelta(days=config.profiling.window_days)
    histories = await collect_wallet_histories(helius, db, _wallets_to_collect(db),
                                               since=since, progress=progress, config=wd)
    stage = report.stages.setdefault("collect_wallet_histories", {"swaps_stored": 0})
    stage["swaps_stored"] += histories
    _timed(report, "collect_wallet_histories", started)


async def run_research(
    settings: Settings,
    db: Database,
    *,
    now: datetime,
    progress: Progress | None = None,
    include_clusters: bool = True,
    client_options: dict[str, Any] | None = None,
) -> ResearchReport:
    """discover tokens → refresh → discover wallets → funding → siblings (the other wallets
    of their private funders) → wallet histories → profile → [tokens bought by the tracked
    wallets → their early profitable buyers → funding → siblings → histories → profile]
    → decay → watchlist → clusters.

    ``client_options`` go to every client's ``from_settings`` (e.g. a faster ``policy``
    against the local simulator).
    """
    progress = progress or no_progress
    config = ConfigRepository(db).load()
    report = ResearchReport(now=now)
    options = client_options or {}

    started = time.perf_counter()
    report.stages.update(await run_discovery(settings, db, now=now, progress=progress,
                                             client_options=options))
    _timed(report, "discovery", started)
    async with (
        HeliusClient.from_settings(settings, **options) as helius,
        SolanaRpcClient.from_settings(settings, **options) as rpc,
    ):
        await _collect(helius, rpc, db, config, report, now=now, progress=progress)
        if config.wallet_discovery.expand_min_wallets:
            # A first profile marks the bots, whose buys say nothing about a token.
            first = run_analysis(db, config, now=now, progress=progress)
            report.seconds["analysis"] = first["analysis"]["seconds"]
            started = time.perf_counter()
            mints = register_wallet_tokens(
                db, min_wallets=config.wallet_discovery.expand_min_wallets, now=now)
            expanded = await discover_wallets(helius, db, config.wallet_discovery, now=now,
                                              mints=mints, progress=progress)
            report.stages["expand_tokens"] = {"tokens": len(mints), **_dump(expanded)}
            _timed(report, "expand_tokens", started)
            await _collect(helius, rpc, db, config, report, now=now, progress=progress)

    report.stages.update(run_analysis(db, config, now=now, progress=progress))
    report.seconds["analysis"] = round(
        report.seconds.get("analysis", 0.0) + report.stages["analysis"]["seconds"], 3)
    if include_clusters:
        started = time.perf_counter()
        report.stages["build_clusters"] = _dump(build_clusters(db, config.clusters, now=now))
        _timed(report, "build_clusters", started)
    log.info("research_done", seconds=report.seconds)
    return report


def run_analysis(
    db: Database, config: DynamicConfig, *, now: datetime, progress: Progress | None = None
) -> dict[str, dict[str, Any]]:
    """The analysis half: profile → decay → watchlist, on one load of the swaps.

    The profiling job runs exactly this; ``run_research`` runs it after acquisition.
    """
    started = time.perf_counter()
    swaps = load_window(db, config.profiling, now=now)
    profiled = profile_wallets(db, config, now=now, progress=progress, swaps=swaps)
    decayed = apply_decay(db, config, now=now, swaps=swaps)
    watched = apply_watchlist(db, config, now=now)
    return {"profile": profiled.as_dict(), "decay": decayed.as_dict(),
            "watchlist": watched.as_dict(),
            "analysis": {"seconds": round(time.perf_counter() - started, 3)}}
