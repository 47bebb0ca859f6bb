"""The durable inbox: every delivered transaction is on disk before it is acknowledged.

* :class:`InboxWriter` — group commit. Concurrent deliveries (webhook requests, polling
  rounds) hand their transactions to one writer task; everything that arrived while the
  previous commit ran goes into the next single ``INSERT … ON CONFLICT`` and one commit, and
  each caller gets its own ``InboxAck`` only once that commit returned. A signature already
  stored (or twice in the same batch) is a duplicate: acknowledged, counted in the row's
  ``duplicates`` column, never stored twice.
* :func:`claim` / :func:`finish` / :func:`fail` — what the workers (``live/workers.py``) use:
  pending rows are claimed with ``FOR UPDATE SKIP LOCKED`` inside the worker's transaction,
  so two workers never take the same row and a worker killed mid-way releases its claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from walltrack.errors import StoreError
from walltrack.logging import get_logger
from walltrack.models import InboxAck, InboxItem, SignalSource
from walltrack.models.base import utcnow
from walltrack.store.database import redact_url

log = get_logger(__name__)

_INSERT = """
INSERT INTO inbox (signature, source, payload, duplicates)
SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::int[])
ON CONFLICT (signature) DO UPDATE SET duplicates = inbox.duplicates + EXCLUDED.duplicates + 1
RETURNING signature, (xmax = 0) AS inserted
"""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One transaction of a delivery: its signature and its JSON object as bytes."""

    signature: str
    payload: bytes


@dataclass(slots=True)
class _Submission:
    entries: Sequence[InboxEntry]
    source: SignalSource
    done: asyncio.Future[InboxAck]


@dataclass
class WriterStats:
    commits: int = 0
    accepted: int = 0
    duplicates: int = 0
    last_delivery: dict[str, datetime] = field(default_factory=dict)
    largest_batch: int = 0


class InboxWriter:
    """One writer task per process; ``submit`` returns after the commit that holds it."""

    def __init__(self, url: str, *, on_commit: Callable[[int], None] | None = None,
                 max_rows: int = 5000, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._on_commit = on_commit
        self._max_rows = max_rows
        self._connect_timeout = connect_timeout
        self._pending: list[_Submission] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._committing = False
        self.stats = WriterStats()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Commit what is already submitted (and the commit in flight), then stop."""
        if self._task is None:
            return
        while self._pending or self._committing:
            self._wake.set()
            await asyncio.sleep(0.005)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def submit(self, entries: Sequence[InboxEntry], source: SignalSource) -> InboxAck:
        if not entries:
            return InboxAck(accepted=0, duplicates=0)
        if self._task is None or self._task.done():
            raise StoreError("the inbox writer is not running",
                             hint="the server is starting or stopping; retry")
        done: asyncio.Future[InboxAck] = asyncio.get_running_loop().create_future()
        self._pending.append(_Submission(entries, source, done))
        self._wake.set()
        return await done

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await psycopg.AsyncConnection.connect(
                    self._url, connect_timeout=max(1, int(self._connect_timeout)))
            except psycopg.OperationalError as exc:
                raise StoreError(f"inbox: cannot connect to {redact_url(self._url)}: {exc}",
                                 hint="check that the PostgreSQL server is running") from None
        return self._conn

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, rows = [], 0
                while self._pending and (not batch or rows < self._max_rows):
                    sub = self._pending.pop(0)
                    batch.append(sub)
                    rows += len(sub.entries)
                self._committing = True
                try:
                    await self._commit(batch)
                finally:
                    self._committing = False

    async def _commit(self, batch: list[_Submission]) -> None:
        # First occurrence of each signature in the batch goes to the store; the others
        # are duplicates before they reach it.
        first: dict[str, int] = {}
        extra: dict[str, int] = {}
        sigs, sources, payloads = [], [], []
        for i, sub in enumerate(batch):
            for entry in sub.entries:
                if entry.signature in first:
                    extra[entry.signature] = extra.get(entry.signature, 0) + 1
                    continue
                first[entry.signature] = i
                sigs.append(entry.signature)
                sources.append(sub.source.value)
                payloads.append(entry.payload)
        started = time.perf_counter()
        try:
            conn = await self._connection()
            async with conn.transaction():
                # Binary parameters and a prepared statement: dumping the arrays as text
                # was the writer's largest cost (py-spy, benchmarks/bench_live.py).
                cur = await conn.execute(
                    _INSERT, (sigs, sources, payloads, [extra.get(s, 0) for s in sigs]),
                    prepare=True)
                inserted = {row[0] for row in await cur.fetchall() if row[1]}
        except (psycopg.Error, StoreError, OSError) as exc:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await self._conn.close()
            self._conn = None
            error = exc if isinstance(exc, StoreError) else StoreError(
                f"inbox: could not store the delivery: {type(exc).__name__}: {exc}",
                hint="the store is down or unreachable; the sender will retry")
            log.error("inbox_commit_failed", rows=len(sigs), error=str(error))
            for sub in batch:
                if not sub.done.done():
                    sub.done.set_exception(error)
            return
        now = utcnow()
        accepted_total = 0
        for i, sub in enumerate(batch):
            accepted = 0
            seen: set[str] = set()
            for entry in sub.entries:
                if (first.get(entry.signature) == i and entry.signature in inserted
                        and entry.signature not in seen):
                    accepted += 1
                    seen.add(entry.signature)
            self.stats.last_delivery[sub.source.value] = now
            accepted_total += accepted
            if not sub.done.done():
                sub.done.set_result(InboxAck(accepted=accepted,
                                             duplicates=len(sub.entries) - accepted))
        self.stats.commits += 1
        self.stats.accepted += accepted_total
        self.stats.duplicates += sum(len(s.entries) for s in batch) - accepted_total
        self.stats.largest_batch = max(self.stats.largest_batch, len(sigs))
        log.debug("inbox_committed", rows=len(sigs), accepted=accepted_total,
                  submissions=len(batch), ms=round((time.perf_counter() - started) * 1e3, 2))
        if accepted_total and self._on_commit is not None:
            self._on_commit(accepted_total)


# --- the workers' side -------------------------------------------------------------------

_CLAIM = """
SELECT seq, signature, source, received_at, payload, status, attempts, last_error, duplicates
FROM inbox
WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())
ORDER BY seq
LIMIT %s
FOR UPDATE SKIP LOCKED
"""


async def claim(conn: psycopg.AsyncConnection, limit: int) -> list[InboxItem]:
    """Lock up to ``limit`` pending rows for the caller's open transaction."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CLAIM, (limit,), prepare=True)
        return [InboxItem.model_validate(row) for row in await cur.fetchall()]


async def finish(conn: psycopg.AsyncConnection, signatures: Sequence[str]) -> None:
    if signatures:
        await conn.execute(
            "UPDATE inbox SET status = 'done', processed_at = now(), last_error = NULL "
            "WHERE signature = ANY(%b)", (list(signatures),), prepare=True)


async def fail(conn: psycopg.AsyncConnection, item: InboxItem, error: str, *,
               max_attempts: int, retry_seconds: float) -> bool:
    """Record a failed attempt; park the item after ``max_attempts``. True when parked."""
    attempts = item.attempts + 1
    parked = attempts >= max_attempts
    await conn.execute(
        "UPDATE inbox SET attempts = %s, last_error = %s, status = %s, "
        "not_before = now() + make_interval(secs => %s), processed_at = "
        "CASE WHEN %s THEN now() END WHERE signature = %s",
        (attempts, error[:2000], "parked" if parked else "pending",
         retry_seconds * attempts, parked, item.signature))
    return parked


async def backlog(conn: psycopg.AsyncConnection) -> tuple[int, float | None]:
    """Pending items and the age in seconds of the oldest one."""
    cur = await conn.execute(
        "SELECT count(*), extract(epoch FROM now() - min(received_at)) FROM inbox "
        "WHERE status = 'pending'")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), (float(row[1]) if row[1] is not None else None)
