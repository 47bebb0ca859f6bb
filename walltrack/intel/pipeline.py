"""The research pipeline, start to finish: tokens → wallets → histories → profile → decay →
watchlist (→ clusters when that module is present).

One function for the README's main command, the evaluation and the scheduler alike; it
builds the clients from ``Settings`` and closes them, and takes ``now`` explicitly (the
simulator's clock when run against it).
"""

from __future__ import annotations

import importlib
import time
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.intel.blacklist import blacklisted_wallets
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


def _cluster_builder() -> Any | None:
    """``walltrack.intel.clusters.build_clusters`` when that module exists (issue 6)."""
    try:
        module = importlib.import_module("walltrack.intel.clusters")
    except ModuleNotFoundError as exc:
        if exc.name != "walltrack.intel.clusters":
            raise
        return None
    return getattr(module, "build_clusters", None)


async def run_research(
    settings: Settings,
    db: Database,
    *,
    now: datetime,
    progress: Progress | None = None,
    include_clusters: bool = True,
) -> ResearchReport:
    progress = progress or no_progress
    config = ConfigRepository(db).load()
    report = ResearchReport(now=now)

    def done(stage: str, started: float, result: Any) -> None:
        report.stages[stage] = _dump(result)
        report.seconds[stage] = round(time.perf_counter() - started, 3)
        log.info("research_stage_done", stage=stage, seconds=report.seconds[stage])

    async with (
        DexScreenerClient.from_settings(settings) as dex,
        HeliusClient.from_settings(settings) as helius,
        SolanaRpcClient.from_settings(settings) as rpc,
    ):
        t = time.perf_counter()
        done("discover_tokens", t, await discover_tokens(
            dex, db, config.token_discovery, now=now, progress=progress))
        t = time.perf_counter()
        done("refresh_tokens", t, await refresh_tokens(
            dex, db, config.token_discovery, now=now, progress=progress))
        t = time.perf_counter()
        done("discover_wallets", t, await discover_wallets(
            helius, db, config.wallet_discovery, now=now, progress=progress))
        # Blacklisted wallets are excluded from everything downstream, collection included.
        banned = blacklisted_wallets(db)
        wallets = [w for w in tracked_wallets(db) if w not in banned]
        since = now - timedelta(days=config.profiling.window_days)
        t = time.perf_counter()
        done("collect_wallet_histories", t, await collect_wallet_histories(
            helius, db, wallets, since=since, progress=progress,
            config=config.wallet_discovery))
        t = time.perf_counter()
        done("collect_funding", t, await collect_funding(
            helius, db, wallets, rpc=rpc, progress=progress,
            config=config.wallet_discovery))

    for stage, result in run_analysis(db, config, now=now, progress=progress).items():
        report.stages[stage] = result
    report.seconds["analysis"] = report.stages["analysis"]["seconds"]
    if include_clusters and (build := _cluster_builder()) is not None:
        t = time.perf_counter()
        done("build_clusters", t, build(db, config.clusters, now=now))
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
