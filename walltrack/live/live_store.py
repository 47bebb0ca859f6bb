"""The live sources' small store: polling cursors, ``live_status`` rows, alerts.

Two faces over the same tables (migration 0006):

* plain functions on a :class:`~walltrack.store.Database` for jobs (the webhook sync);
* :class:`LiveStore`, one lazily opened async connection for the server's tasks (the
  poller, the deadman). Every call is its own short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from walltrack.errors import StoreError
from walltrack.models import Alert, DomainModel, SignalSource
from walltrack.store import Database
from walltrack.store.database import redact_url

_PUT_STATUS = """
INSERT INTO live_status (key, value, updated_at) VALUES (%s, %s, now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
"""
_GET_STATUS = "SELECT value FROM live_status WHERE key = %s"
_LAST_DELIVERY = "SELECT max(received_at) FROM inbox WHERE source = %s"
_INSERT_ALERT = """
INSERT INTO alerts (id, at, level, source, message, acknowledged, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
_GET_CURSORS = "SELECT wallet, last_signature, last_slot FROM poll_cursors WHERE wallet = ANY(%s)"
_PUT_CURSOR = """
INSERT INTO poll_cursors (wallet, last_signature, last_slot, polled_at)
VALUES (%s, %s, %s, now())
ON CONFLICT (wallet) DO UPDATE SET last_signature = EXCLUDED.last_signature,
    last_slot = EXCLUDED.last_slot, polled_at = EXCLUDED.polled_at
"""


class PollCursor(DomainModel):
    """The newest signature already handed to the inbox for one wallet.

    ``last_signature`` is ``None`` for a wallet that had no transaction at all when its
    polling started: everything it does later is new.
    """

    wallet: str
    last_signature: str | None = None
    last_slot: int | None = None


def _json(value: dict[str, Any]) -> Jsonb:
    # Round-trip through orjson so datetimes and enums become JSON the same way everywhere.
    return Jsonb(orjson.loads(orjson.dumps(value)))


def _alert_row(alert: Alert) -> tuple[Any, ...]:
    return (alert.id, alert.at, alert.level.value, alert.source, alert.message,
            alert.acknowledged, _json(alert.detail))


# --- jobs (sync) ----------------------------------------------------------------------------


def put_status(db: Database, key: str, value: dict[str, Any]) -> None:
    with db.connection() as conn:
        conn.execute(_PUT_STATUS, (key, _json(value)))


def get_status(db: Database, key: str) -> dict[str, Any] | None:
    with db.connection() as conn:
        row = conn.execute(_GET_STATUS, (key,)).fetchone()
    return dict(row[0]) if row else None


def last_delivery_at(db: Database, source: SignalSource) -> datetime | None:
    """When the inbox last received a transaction from ``source`` (``None``: never)."""
    with db.connection() as conn:
        row = conn.execute(_LAST_DELIVERY, (source.value,)).fetchone()
    return row[0] if row else None


# --- the server's tasks (async) -------------------------------------------------------------


class LiveStore:
    """One async connection, opened on first use; calls are serialized on it."""

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self._url, connect_timeout=max(1, int(self._connect_timeout)))
                async with self._conn.transaction():
                    yield self._conn
            except psycopg.Error as exc:
                if self._conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await self._conn.close()
                self._conn = None
                raise StoreError(
                    f"live store ({redact_url(self._url)}): {type(exc).__name__}: {exc}",
                    hint="check that the PostgreSQL server is running and reachable",
                ) from None

    async def cursors(self, wallets: Iterable[str]) -> dict[str, PollCursor]:
        async with self._transaction() as conn:
            cur = await conn.execute(_GET_CURSORS, (list(wallets),))
            rows = await cur.fetchall()
        return {r[0]: PollCursor(wallet=r[0], last_signature=r[1], last_slot=r[2])
                for r in rows}

    async def save_cursor(self, cursor: PollCursor) -> None:
        async with self._transaction() as conn:
            await conn.execute(_PUT_CURSOR, (cursor.wallet, cursor.last_signature,
                                             cursor.last_slot))

    async def put_status(self, key: str, value: dict[str, Any]) -> None:
        async with self._transaction() as conn:
            await conn.execute(_PUT_STATUS, (key, _json(value)))

    async def last_delivery_at(self, source: SignalSource) -> datetime | None:
        async with self._transaction() as conn:
            cur = await conn.execute(_LAST_DELIVERY, (source.value,))
            row = await cur.fetchone()
        return row[0] if row else None

    async def add_alert(self, alert: Alert) -> None:
        async with self._transaction() as conn:
            await conn.execute(_INSERT_ALERT, _alert_row(alert))
