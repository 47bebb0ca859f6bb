"""Reload what the live pipeline holds in memory when the store says it changed.

Triggers (migration 0006) ``pg_notify`` on ``walltrack_watchlist`` (wallets),
``walltrack_clusters`` (cluster members) and ``walltrack_config`` (config). One LISTEN
connection; reloads are debounced (a research run updates wallets in several statements)
and run in a thread so the event loop keeps answering webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import psycopg

from walltrack.logging import get_logger

log = get_logger(__name__)

CHANNELS = ("walltrack_watchlist", "walltrack_clusters", "walltrack_config")


class ChangeListener:
    def __init__(self, url: str, reloaders: dict[str, Callable[[], None]], *,
                 debounce_s: float = 0.3) -> None:
        self._url = url
        self._reloaders = reloaders
        self._debounce = debounce_s
        self._dirty: set[str] = set()
        self._kick = asyncio.Event()
        self.reloads: dict[str, int] = dict.fromkeys(reloaders, 0)
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        reloader = asyncio.create_task(self._reload_loop(stop))
        try:
            while not stop.is_set():
                try:
                    await self._listen(stop)
                except (psycopg.Error, OSError) as exc:
                    log.warning("live_listener_lost", error=str(exc))
                    # Whatever changed while we were away: reload everything once.
                    self._dirty.update(self._reloaders)
                    self._kick.set()
                    await asyncio.sleep(1.0)
        finally:
            reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reloader

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            for channel in self._reloaders:
                await conn.execute(f"LISTEN {channel}")  # names are our constants
            self.ready.set()
            while not stop.is_set():
                async for note in conn.notifies(timeout=1.0):
                    if note.channel in self._reloaders:
                        self._dirty.add(note.channel)
                        self._kick.set()

    async def _reload_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._kick.wait()
            await asyncio.sleep(self._debounce)
            self._kick.clear()
            dirty, self._dirty = self._dirty, set()
            for channel in sorted(dirty):
                try:
                    await asyncio.to_thread(self._reloaders[channel])
                    self.reloads[channel] += 1
                    log.info("live_reloaded", channel=channel)
                except Exception as exc:  # noqa: BLE001 - a failed reload keeps the old state
                    log.error("live_reload_failed", channel=channel, error=repr(exc))
