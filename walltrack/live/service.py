"""The live side of one server process: inbox writer, workers, reloads, sources.

:class:`LiveService` is created by the app's lifespan (``walltrack/app/factory.py``) and
holds every long-lived object; nothing lives in module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from walltrack.intel.amplification import load_index
from walltrack.live.inbox import InboxWriter
from walltrack.live.listener import ChangeListener
from walltrack.live.recent_buys import RecentBuys
from walltrack.live.state import LiveState, TokenLookup
from walltrack.live.watchset import load_watchset
from walltrack.live.workers import InboxWorker
from walltrack.logging import get_logger
from walltrack.models import Signal
from walltrack.settings import Settings, SignalSourceMode
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository

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


class LiveService:
    def __init__(self, db: Database, settings: Settings, tokens: TokenLookup) -> None:
        self.db = db
        self.settings = settings
        self.tokens = tokens
        self.state: LiveState | None = None
        self.wake = asyncio.Event()
        self.stop_event = asyncio.Event()
        self.writer = InboxWriter(db.url, on_commit=lambda _n: self.wake.set())
        self.workers: list[InboxWorker] = []
        self.listener: ChangeListener | None = None
        self.counters = LiveCounters()
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

    async def start(self) -> None:
        self.state = await asyncio.to_thread(load_state, self.db)
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
        self.wake.set()  # whatever a previous run left pending
        log.info("live_started", watched=len(self.state.watch), workers=len(self.workers),
                 source=self.source_mode.value)

    async def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        await self.writer.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10.0)
        for worker in self.workers:
            await worker.close()
        log.info("live_stopped", signals=self.counters.signals)
