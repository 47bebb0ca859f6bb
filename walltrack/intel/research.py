"""The research path, named once: stages, the jobs that group them, and their order.

    discover tokens → refresh → discover wallets → funding → siblings → histories
    → profile → expand tokens (→ funding → siblings → histories) → profile → decay
    → watchlist → clusters

Every caller runs these very stage functions in this very order: the job scripts (each a
slice of the chain, ``RESEARCH_JOBS``), the scheduler (the jobs in ``JOB_ORDER``), the
evaluation and the README's main command (the job entry points, one simulated day at a
time). ``run_research`` runs the whole chain once, in-process, without job records.

A stage is ``async (ResearchContext) -> DomainModel``; the context carries the store, the
dynamic config, "now", progress and the clients (opened on first use, closed together).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from pydantic import Field

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import ConfigurationError
from walltrack.intel.blacklist import blacklisted_wallets
from walltrack.intel.clusters import build_clusters
from walltrack.intel.decay import apply_decay
from walltrack.intel.lifecycle import LifecycleReport, apply_lifecycle
from walltrack.intel.profiling import load_window, profile_wallets, tracked_wallets
from walltrack.intel.sibling_discovery import discover_siblings
from walltrack.intel.surveillance import refresh_tokens
from walltrack.intel.token_discovery import discover_tokens
from walltrack.intel.token_expansion import register_wallet_tokens
from walltrack.intel.wallet_discovery import (
    collect_funding,
    collect_wallet_histories,
    discover_wallets,
    wallets_due_for_history,
)
from walltrack.intel.watchlist import apply_watchlist
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig
from walltrack.progress import Progress, no_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.neo4j_mirror import sync_to_neo4j
from walltrack.store.repositories import ConfigRepository

log = get_logger(__name__)


class ClientOptions(DomainModel):
    """Options for each client's ``from_settings`` (e.g. a faster policy against the local
    simulator, a usage meter); ``common`` goes to every client."""

    common: dict[str, Any] = Field(default_factory=dict)
    helius: dict[str, Any] = Field(default_factory=dict)
    dexscreener: dict[str, Any] = Field(default_factory=dict)
    rpc: dict[str, Any] = Field(default_factory=dict)

    def for_(self, api: str) -> dict[str, Any]:
        return {**self.common, **getattr(self, api)}


class ResearchClients:
    """The clients a research run needs, each created on first use and closed together."""

    def __init__(self, settings: Settings | None, options: ClientOptions | None = None) -> None:
        self._settings = settings
        self._options = options or ClientOptions()
        self._helius: HeliusClient | None = None
        self._dex: DexScreenerClient | None = None
        self._rpc: SolanaRpcClient | None = None

    def _settings_for(self, api: str) -> Settings:
        if self._settings is None:  # a programming error: analysis-only runs need no API
            raise ConfigurationError(f"this research run has no settings for the {api} client")
        return self._settings

    @property
    def helius(self) -> HeliusClient:
        if self._helius is None:
            self._helius = HeliusClient.from_settings(self._settings_for("helius"),
                                                      **self._options.for_("helius"))
        return self._helius

    @property
    def dexscreener(self) -> DexScreenerClient:
        if self._dex is None:
            self._dex = DexScreenerClient.from_settings(self._settings_for("dexscreener"),
                                                        **self._options.for_("dexscreener"))
        return self._dex

    @property
    def rpc(self) -> SolanaRpcClient:
        if self._rpc is None:
            self._rpc = SolanaRpcClient.from_settings(self._settings_for("rpc"),
                                                      **self._options.for_("rpc"))
        return self._rpc

    async def aclose(self) -> None:
        for client in (self._helius, self._dex, self._rpc):
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> ResearchClients:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


class ResearchContext:
    """What every stage reads: store, config, clock, progress, clients — and the swap window
    shared by the analysis stages of one run (reloaded after any stage that stores swaps)."""

    def __init__(self, db: Database, config: DynamicConfig, clients: ResearchClients, *,
                 now: datetime, progress: Progress | None = None,
                 settings: Settings | None = None) -> None:
        self.settings = settings
        self.db = db
        self.config = config
        self.clients = clients
        self.now = now
        self.progress = progress or no_progress
        self._window: pl.DataFrame | None = None

    def swap_window(self) -> pl.DataFrame:
        if self._window is None:
            self._window = load_window(self.db, self.config.profiling, now=self.now)
        return self._window

    def swaps_changed(self) -> None:
        self._window = None

    def wallets_to_collect(self) -> list[str]:
        # Blacklisted wallets are excluded from everything downstream, collection included.
        banned = blacklisted_wallets(self.db)
        return [w for w in tracked_wallets(self.db) if w not in banned]


class CountReport(DomainModel):
    """A stage whose outcome is one count (rows newly stored)."""

    stored: int = 0


class ExpansionReport(DomainModel):
    tokens: int = 0
    discovery: dict[str, Any] = Field(default_factory=dict)


class SkippedReport(DomainModel):
    skipped: str


# -- the stages ----------------------------------------------------------------------------


async def stage_discover_tokens(ctx: ResearchContext) -> DomainModel:
    return await discover_tokens(ctx.clients.dexscreener, ctx.db, ctx.config.token_discovery,
                                 now=ctx.now, progress=ctx.progress)


async def stage_refresh_tokens(ctx: ResearchContext) -> DomainModel:
    return await refresh_tokens(ctx.clients.dexscreener, ctx.db, ctx.config.token_discovery,
                                now=ctx.now, progress=ctx.progress)


async def stage_discover_wallets(ctx: ResearchContext) -> DomainModel:
    ctx.swaps_changed()
    return await discover_wallets(ctx.clients.helius, ctx.db, ctx.config.wallet_discovery,
                                  now=ctx.now, progress=ctx.progress)


async def stage_collect_funding(ctx: ResearchContext) -> DomainModel:
    stored = await collect_funding(ctx.clients.helius, ctx.db, ctx.wallets_to_collect(),
                                   rpc=ctx.clients.rpc, progress=ctx.progress,
                                   config=ctx.config.wallet_discovery, now=ctx.now)
    return CountReport(stored=stored)


async def stage_discover_siblings(ctx: ResearchContext) -> DomainModel:
    """A tracked wallet's private funder names its siblings; their funding is collected at
    once (the graph needs it), their histories by the stage that follows."""
    wd = ctx.config.wallet_discovery
    if not wd.siblings:
        return SkippedReport(skipped="wallet_discovery.siblings is off")
    report = await discover_siblings(ctx.clients.helius, ctx.db, wd, ctx.config.clusters,
                                     now=ctx.now, progress=ctx.progress)
    report.funding_stored = await collect_funding(
        ctx.clients.helius, ctx.db, ctx.wallets_to_collect(), rpc=ctx.clients.rpc,
        progress=ctx.progress, config=wd, now=ctx.now)
    return report


async def stage_collect_histories(ctx: ResearchContext) -> DomainModel:
    ctx.swaps_changed()
    wd = ctx.config.wallet_discovery
    since = ctx.now - timedelta(days=ctx.config.profiling.window_days)
    # Only the wallets due for a read (wallet_discovery.wallets_due_for_history).
    due = wallets_due_for_history(ctx.db, wd, now=ctx.now)
    return await collect_wallet_histories(
        ctx.clients.helius, ctx.db, due, since=since, progress=ctx.progress, config=wd,
        now=ctx.now)


class JudgedReport(DomainModel):
    """A stage's own report and the lifecycle moves it caused."""

    report: dict[str, Any]
    text: str
    lifecycle: LifecycleReport

    def summary(self) -> str:
        return f"{self.text}; {self.lifecycle.summary()}"


def _judged(report: Any, ctx: ResearchContext, *, judged: bool) -> JudgedReport:
    moves = apply_lifecycle(ctx.db, ctx.config.watchlist, now=ctx.now, judged=judged)
    return JudgedReport(report=report.model_dump(mode="json"), text=report.summary(),
                        lifecycle=moves)


async def stage_profile(ctx: ResearchContext) -> DomainModel:
    profiled = profile_wallets(ctx.db, ctx.config, now=ctx.now, progress=ctx.progress,
                               swaps=ctx.swap_window())
    return _judged(profiled, ctx, judged=False)


async def stage_expand_tokens(ctx: ResearchContext) -> DomainModel:
    """Tokens bought by ≥ N tracked non-bot wallets (bots known from the profile before
    this stage) → their early profitable buyers, like any discovered token."""
    wd = ctx.config.wallet_discovery
    if not wd.expand_min_wallets:
        return SkippedReport(skipped="wallet_discovery.expand_min_wallets is 0")
    ctx.swaps_changed()
    mints = register_wallet_tokens(ctx.db, min_wallets=wd.expand_min_wallets, now=ctx.now)
    found = await discover_wallets(ctx.clients.helius, ctx.db, wd, now=ctx.now, mints=mints,
                                   progress=ctx.progress)
    return ExpansionReport(tokens=len(mints), discovery=found.model_dump(mode="json"))


async def stage_decay(ctx: ResearchContext) -> DomainModel:
    return apply_decay(ctx.db, ctx.config, now=ctx.now, swaps=ctx.swap_window())


async def stage_watchlist(ctx: ResearchContext) -> DomainModel:
    return _judged(apply_watchlist(ctx.db, ctx.config, now=ctx.now), ctx, judged=True)


async def stage_build_clusters(ctx: ResearchContext) -> DomainModel:
    """The graph and its clusters; mirrored to Neo4j when ``WALLTRACK_NEO4J_URI`` is set."""
    report = build_clusters(ctx.db, ctx.config.clusters, now=ctx.now, progress=ctx.progress)
    if ctx.settings is not None and ctx.settings.neo4j_uri:
        report.neo4j_mirrored = await sync_to_neo4j(ctx.db, ctx.settings)
    return report


Stage = Callable[[ResearchContext], Awaitable[DomainModel]]

STAGES: dict[str, Stage] = {
    "discover_tokens": stage_discover_tokens,
    "refresh_tokens": stage_refresh_tokens,
    "discover_wallets": stage_discover_wallets,
    "collect_funding": stage_collect_funding,
    "discover_siblings": stage_discover_siblings,
    "collect_histories": stage_collect_histories,
    "profile": stage_profile,
    "expand_tokens": stage_expand_tokens,
    "decay": stage_decay,
    "watchlist": stage_watchlist,
    "build_clusters": stage_build_clusters,
}

# The research jobs: each a slice of the chain, run by its own script under jobs/.
RESEARCH_JOBS: dict[str, tuple[str, ...]] = {
    "discover_tokens": ("discover_tokens",),
    "refresh_tokens": ("refresh_tokens",),
    "discover_wallets": ("discover_wallets", "collect_funding", "discover_siblings",
                         "collect_histories"),
    # A first profile marks the bots, whose buys say nothing about a token.
    "expand_tokens": ("profile", "expand_tokens", "collect_funding", "discover_siblings",
                      "collect_histories"),
    "profile_wallets": ("profile", "decay", "watchlist"),
    "build_clusters": ("build_clusters",),
}
JOB_ORDER: tuple[str, ...] = tuple(RESEARCH_JOBS)
CHAIN: tuple[str, ...] = tuple(stage for job in JOB_ORDER for stage in RESEARCH_JOBS[job])


class StageRun(DomainModel):
    stage: str
    seconds: float
    result: dict[str, Any]
    summary: str


def summarize(result: DomainModel) -> str:
    """A report's own one-line summary, else its counts."""
    own = getattr(result, "summary", None)
    if callable(own):
        return str(own())
    counts = {k: v for k, v in result.model_dump().items()
              if isinstance(v, int | str) and not isinstance(v, bool)}
    return ", ".join(f"{k} {v}" for k, v in counts.items())


class ResearchReport(DomainModel):
    now: datetime
    runs: list[StageRun] = Field(default_factory=list)

    @property
    def seconds(self) -> dict[str, float]:
        """Seconds per stage name, summed over repeats."""
        out: dict[str, float] = {}
        for run in self.runs:
            out[run.stage] = round(out.get(run.stage, 0.0) + run.seconds, 3)
        return out

    def last(self, stage: str) -> dict[str, Any]:
        """The result of the stage's last run in this report."""
        for run in reversed(self.runs):
            if run.stage == stage:
                return run.result
        raise KeyError(stage)

    def summary(self) -> str:
        return "\n".join(f"  {r.stage}: {r.summary} ({r.seconds:.1f}s)" for r in self.runs)

    def merge(self, other: ResearchReport) -> None:
        self.runs.extend(other.runs)
        self.now = other.now


async def run_stages(names: Sequence[str], ctx: ResearchContext) -> ResearchReport:
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        raise ConfigurationError(f"unknown research stage(s): {', '.join(unknown)}",
                                 hint=f"the stages are: {', '.join(STAGES)}")
    report = ResearchReport(now=ctx.now)
    for name in names:
        started = time.perf_counter()
        result = await STAGES[name](ctx)
        seconds = round(time.perf_counter() - started, 3)
        report.runs.append(StageRun(stage=name, seconds=seconds, summary=summarize(result),
                                    result=result.model_dump(mode="json")))
        log.info("research_stage_done", stage=name, seconds=seconds)
    return report


async def run_research_job(
    job: str, settings: Settings, db: Database, *, now: datetime,
    progress: Progress | None = None, options: ClientOptions | None = None,
    config: DynamicConfig | None = None,
) -> ResearchReport:
    """One research job's stages (what ``python jobs/<job>.py`` runs)."""
    if job not in RESEARCH_JOBS:
        raise ConfigurationError(f"no research job named {job!r}",
                                 hint=f"the jobs are: {', '.join(RESEARCH_JOBS)}")
    config = config or ConfigRepository(db).load()
    async with ResearchClients(settings, options) as clients:
        ctx = ResearchContext(db, config, clients, now=now, progress=progress,
                              settings=settings)
        return await run_stages(RESEARCH_JOBS[job], ctx)


async def run_research(
    settings: Settings, db: Database, *, now: datetime, progress: Progress | None = None,
    options: ClientOptions | None = None,
) -> ResearchReport:
    """The whole chain once: every research job's stages in ``JOB_ORDER``."""
    report = ResearchReport(now=now)
    for job in JOB_ORDER:
        report.merge(await run_research_job(job, settings, db, now=now, progress=progress,
                                            options=options))
    log.info("research_done", seconds=report.seconds)
    return report


def run_analysis(db: Database, *, now: datetime,
                 progress: Progress | None = None) -> ResearchReport:
    """The ``profile_wallets`` job's stages (profile → decay → watchlist) from a
    synchronous caller (a notebook action); they need no client."""
    config = ConfigRepository(db).load()
    ctx = ResearchContext(db, config, ResearchClients(None), now=now, progress=progress)
    # Its own thread and loop: the caller may already run an event loop (marimo does).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run,
                           run_stages(RESEARCH_JOBS["profile_wallets"], ctx)).result()
