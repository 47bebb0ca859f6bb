"""The live side of one server process: inbox writer, workers, reloads, sources.

:class:`LiveService` is created by the app's lifespan (``walltrack/app/factory.py``) and
holds every long-lived object; nothing lives in module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.clients.usage import UsageMeter
from walltrack.errors import WallTrackError
from walltrack.intel.amplification import load_index
from walltrack.live.clients import dexscreener_client, jupiter_client, rpc_client
from walltrack.live.deadman import Deadman
from walltrack.live.inbox import InboxWriter
from walltrack.live.listener import ChangeListener
from walltrack.live.live_store import LiveStore
from walltrack.live.polling import Poller
from walltrack.live.recent_buys import RecentBuys
from walltrack.live.state import LiveState, TokenLookup
from walltrack.live.watchset import load_watchset
from walltrack.live.workers import InboxWorker
from walltrack.logging import get_logger
from walltrack.models import DynamicConfig, Signal
from walltrack.models.config import SafetyConfig
from walltrack.settings import Settings, SignalSourceMode
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.store.usage import UsageRepository

log = get_logger(__name__)


def load_state(db: Database) -> LiveState:
    config = ConfigRepository(db).load()
    window = config.signals.amplification_window_seconds
    keep = max(window, config.signals.duplicate_window_seconds) * 2
    recent = RecentBuys(keep_seconds=keep)
    with db.connection() as conn:
        rows = conn.execute(
            """SELECT mint, wallet, swap_at, signature FROM signals
               WHERE side = 'buy' AND swap_at >= (SELECT max(swap_at) FROM signals)
                                                  - make_interval(secs => %s)""",
            (keep,)).fetchall()
    for mint, wallet, at, signature in rows:
        recent.record(mint, wallet, at, signature)
    return LiveState(config=config, watch=load_watchset(db),
                     index=load_index(db, window_s=window), recent=recent)


@dataclass
class LiveCounters:
    signals: int = 0
    eligible: int = 0
    last_signal: dict[str, Any] = field(default_factory=dict)


# (settings, store, usage meter, the live safety config) → the token lookup.
TokensFactory = Callable[[Settings, Database, UsageMeter, Callable[[], SafetyConfig]],
                         TokenLookup]


class LiveService:
    def __init__(self, db: Database, settings: Settings, tokens: TokensFactory, *,
                 meter: UsageMeter | None = None) -> None:
        self.db = db
        self.meter = meter or UsageMeter()
        self._make_tokens = tokens
        self.settings = settings
        self.tokens: TokenLookup | None = None
        self.state: LiveState | None = None
        self.wake = asyncio.Event()
        self.stop_event = asyncio.Event()
        self.writer = InboxWriter(db.url, on_commit=lambda _n: self.wake.set())
        self.workers: list[InboxWorker] = []
        self.listener: ChangeListener | None = None
        self.counters = LiveCounters()
        self.store = LiveStore(db.url)
        self.rpc: SolanaRpcClient | None = None
        self.poller: Poller | None = None
        self.deadman: Deadman | None = None
        self.polling_active = False
        self.trading: Any = None  # walltrack.trading.service.TradingService when enabled
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def source_mode(self) -> SignalSourceMode:
        return self.settings.signal_source

    def _reload_watchlist(self) -> None:
        assert self.state is not None
        self.state.watch = load_watchset(self.db)

    def _reload_clusters(self) -> None:
        assert self.state is not None
        self.state.index = load_index(
            self.db, window_s=self.state.config.signals.amplification_window_seconds)

    def _reload_config(self) -> None:
        assert self.state is not None
        self.state.config = ConfigRepository(self.db).load()

    def _count(self, signals: list[Signal]) -> None:
        self.counters.signals += len(signals)
        self.counters.eligible += sum(s.decision.value == "eligible" for s in signals)
        if self.trading is not None:
            self.trading.notify(signals)

    async def start(self) -> None:
        self.state = await asyncio.to_thread(load_state, self.db)
        self.tokens = self._make_tokens(self.settings, self.db, self.meter,
                                        lambda: self._config().safety)
        await self.writer.start()
        self.listener = ChangeListener(self.db.url, {
            "walltrack_watchlist": self._reload_watchlist,
            "walltrack_clusters": self._reload_clusters,
            "walltrack_config": self._reload_config,
        })
        self._tasks.append(asyncio.create_task(self.listener.run(self.stop_event)))
        for i in range(self.settings.inbox_workers):
            worker = InboxWorker(f"w{i}", self.db.url, self.state, self.tokens, self.wake,
                                 on_signals=self._count)
            self.workers.append(worker)
            self._tasks.append(asyncio.create_task(worker.run(self.stop_event)))
        self.rpc = rpc_client(self.settings, self.meter)
        if self.settings.trading_enabled:
            await self._start_trading()
        self._start_sources()
        self._tasks.append(asyncio.create_task(self._flush_usage_every(60.0)))
        self.wake.set()  # whatever a previous run left pending
        log.info("live_started", watched=len(self.state.watch), workers=len(self.workers),
                 source=self.source_mode.value)

    def _config(self) -> DynamicConfig:
        assert self.state is not None
        return self.state.config

    def _watched(self) -> frozenset[str]:
        assert self.state is not None
        return self.state.watch.watched

    async def _start_trading(self) -> None:
        """The trading engine; its reconciliation runs before any source is heard."""
        from walltrack.trading.alerts import notifiers_from_settings
        from walltrack.trading.service import TradingService

        assert self.rpc is not None
        jupiter = jupiter_client(self.settings, self.meter)
        jupiter.dexscreener = dexscreener_client(self.settings, self.meter)
        self._trading_clients = [jupiter, jupiter.dexscreener]
        trading = TradingService(self.db.url, self.settings, self._config, self.rpc, jupiter,
                                 notifiers=notifiers_from_settings(self.settings))
        await trading.start()
        self.trading = trading

    def _start_sources(self) -> None:
        """Polling runs in ``polling``/``both`` mode; in ``webhook`` mode the deadman probes
        with the same poller and switches polling on when the webhook went silent."""
        assert self.rpc is not None
        self.poller = Poller(self.rpc, self.writer, self.store, self._watched, self._config)
        if self.source_mode is SignalSourceMode.webhook:
            self.deadman = Deadman(self.poller, self.store, self._config, mode=self.source_mode)
            self._tasks.append(asyncio.create_task(self.deadman.run(self.stop_event)))
            self._tasks.append(asyncio.create_task(self._poll_when_forced()))
        else:
            self._tasks.append(asyncio.create_task(self._poll()))

    async def _poll(self) -> None:
        assert self.poller is not None
        self.polling_active = True
        await self.poller.run(self.stop_event)

    async def _poll_when_forced(self) -> None:
        assert self.deadman is not None
        while not self.stop_event.is_set():
            if self.deadman.polling_forced:
                log.warning("live_polling_forced_by_deadman")
                await self._poll()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=1.0)

    async def _flush_usage_every(self, seconds: float) -> None:
        while not self.stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)
            await self.flush_usage()

    async def flush_usage(self) -> None:
        """API calls, credits and webhook events of this process → ``api_usage``."""
        try:
            await asyncio.to_thread(UsageRepository(self.db).flush, self.meter)
        except WallTrackError as exc:  # the counts stay in the meter for the next flush
            log.warning("usage_flush_failed", error=str(exc))

    def sources_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"mode": self.source_mode.value,
                                  "polling_active": self.polling_active}
        if self.poller is not None and self.poller.last_report is not None:
            status["last_poll"] = self.poller.last_report.model_dump(mode="json")
        if self.deadman is not None:
            status["deadman"] = {
                "polling_forced": self.deadman.polling_forced,
                "tripped_at": self.deadman.tripped_at.isoformat()
                if self.deadman.tripped_at else None,
                "verdict": self.deadman.last_verdict.model_dump(mode="json")
                if self.deadman.last_verdict else None}
        return status

    async def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10.0)
        await self.writer.stop()  # after the sources: what they submitted is committed
        if self.trading is not None:
            await self.trading.stop()
            for client in self._trading_clients:
                await client.aclose()
        for worker in self.workers:
            await worker.close()
        if self.rpc is not None:
            await self.rpc.aclose()
        close_tokens = getattr(self.tokens, "aclose", None)
        if close_tokens is not None:
            await close_tokens()
        await self.store.close()
        log.info("live_stopped", signals=self.counters.signals)
