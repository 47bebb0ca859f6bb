"""Inbox workers: claim pending rows, turn them into signals, commit both together.

Each worker holds its own connection. One batch = one transaction: rows claimed with
``FOR UPDATE SKIP LOCKED``, their signals inserted (``ON CONFLICT DO NOTHING`` on the
deterministic id and on (signature, wallet, mint)), the rows marked done — so a worker
killed at any point leaves its rows pending and a replay gives the same signals, never a
second one. An item that raises is retried after a growing pause and parked after
``sources.inbox_max_attempts`` with its error kept in ``inbox.last_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from walltrack.errors import WallTrackError
from walltrack.live import inbox
from walltrack.live.pipeline import signals_for
from walltrack.live.state import LiveState, TokenLookup
from walltrack.logging import get_logger
from walltrack.models import Signal
from walltrack.store.repositories import SignalRepository
from walltrack.store.repository import to_db_value

log = get_logger(__name__)

_COLUMNS = [c for c in SignalRepository.columns() if c != "stored_at"]  # the store's clock
_INSERT_SIGNAL = sql.SQL("INSERT INTO signals ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
    sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder() * len(_COLUMNS)))


async def insert_signals(conn: psycopg.AsyncConnection, signals: Sequence[Signal]) -> int:
    if not signals:
        return 0
    async with conn.cursor() as cur:
        await cur.executemany(
            _INSERT_SIGNAL, [[to_db_value(getattr(s, c)) for c in _COLUMNS] for s in signals])
        return cur.rowcount if cur.rowcount >= 0 else len(signals)


class InboxWorker:
    def __init__(self, name: str, url: str, state: LiveState, tokens: TokenLookup,
                 wake: asyncio.Event, *, batch: int = 50,
                 on_signals: Callable[[list[Signal]], None] | None = None) -> None:
        self.name = name
        self._url = url
        self._state = state
        self._tokens = tokens
        self._wake = wake
        self._batch = batch
        self._on_signals = on_signals
        self._conn: psycopg.AsyncConnection | None = None
        self.processed = 0
        self.signals = 0
        self.parked = 0

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url)
        return self._conn

    async def run_once(self) -> int:
        """Process one batch; the number of rows it took (0: nothing pending)."""
        cfg = self._state.config.sources
        conn = await self._connection()
        async with conn.transaction():
            items = await inbox.claim(conn, self._batch)
            if not items:
                return 0
            results = await asyncio.gather(
                *(signals_for(item, self._state, self._tokens) for item in items),
                return_exceptions=True)
            done, made = [], []
            for item, result in zip(items, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):  # cancellation, exit: not the item's
                        raise result
                    # Any error of one item is that item's: retried, then parked — a bug
                    # in scoring must not stop the inbox.
                    parked = await inbox.fail(conn, item, f"{type(result).__name__}: {result}",
                                              max_attempts=cfg.inbox_max_attempts,
                                              retry_seconds=cfg.inbox_retry_seconds)
                    self.parked += parked
                    log.warning("inbox_item_failed", worker=self.name, signature=item.signature,
                                attempts=item.attempts + 1, parked=parked, error=str(result))
                else:
                    done.append(item.signature)
                    made.extend(result)
            await insert_signals(conn, made)
            await inbox.finish(conn, done)
        self.processed += len(done)
        self.signals += len(made)
        if made and self._on_signals is not None:
            self._on_signals(made)
        return len(items)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the claim: a commit after it wakes us again
            try:
                took = await self.run_once()
            except (psycopg.Error, OSError, WallTrackError) as exc:
                log.error("inbox_worker_store_error", worker=self.name, error=str(exc))
                if self._conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await self._conn.close()
                self._conn = None
                took = 0
                await asyncio.sleep(1.0)
            if took:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
