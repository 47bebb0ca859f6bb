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
from walltrack.intel.surveillance import refresh_tokens
from walltrack.intel.token_discovery import discover_tokens
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


async def run_research(
    settings: Settings,
    db: Database,
    *,
    now: datetime,
    progress: Progress | None = None,
    include_clusters: bool = True,
    client_options: dict[str, Any] | None = None,
) -> ResearchReport:
    """discover tokens → refresh → discover wallets → wallet histories → funding → profile →
    decay → watchlist → clusters.

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
    report.seconds["discovery"] = round(time.perf_counter() - started, 3)
    # Blacklisted wallets are excluded from everything downstream, collection included.
    banned = blacklisted_wallets(db)
    wallets = [w for w in tracked_wallets(db) if w not in banned]
    since = now - timedelta(days=config.profiling.window_days)
    async with (
        HeliusClient.from_settings(settings, **options) as helius,
        SolanaRpcClient.from_settings(settings, **options) as rpc,
    ):
        started = time.perf_counter()
        histories = await collect_wallet_histories(
            helius, db, wallets, since=since, progress=progress, config=config.wallet_discovery)
        report.stages["collect_wallet_histories"] = {"swaps_stored": histories}
        report.seconds["collect_wallet_histories"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        funding = await collect_funding(helius, db, wallets, rpc=rpc, progress=progress,
                                        config=config.wallet_discovery)
        report.stages["collect_funding"] = {"transfers_stored": funding}
        report.seconds["collect_funding"] = round(time.perf_counter() - started, 3)

    report.stages.update(run_analysis(db, config, now=now, progress=progress))
    report.seconds["analysis"] = report.stages["analysis"]["seconds"]
    if include_clusters:
        started = time.perf_counter()
        report.stages["build_clusters"] = _dump(build_clusters(db, config.clusters, now=now))
        report.seconds["build_clusters"] = round(time.perf_counter() - started, 3)
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
