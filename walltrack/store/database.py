"""One PostgreSQL database, embedded or hosted, behind a psycopg 3 connection pool."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from walltrack.errors import StoreError
from walltrack.logging import get_logger, register_secrets
from walltrack.settings import Settings
from walltrack.store.embedded import start_embedded

log = get_logger(__name__)


class StoreMode(StrEnum):
    embedded = "embedded"
    hosted = "hosted"


def redact_url(url: str) -> str:
    """The URL with its password replaced, safe to show in errors and logs."""
    return re.sub(r"(://[^:/@]*:)([^@]*)@", r"\1***@", url)


@dataclass
class Database:
    """A pooled connection to the store. Create with :func:`open_database`."""

    url: str
    mode: StoreMode
    pool: ConnectionPool
    start_seconds: float = 0.0

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; committed on success, rolled back on error."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise StoreError(
                f"no database connection available from {self.display_url}",
                hint="the server may be down or overloaded; check it is running, or raise "
                "WALLTRACK_DB_POOL_MAX",
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"lost the database connection to {self.display_url}: {exc}",
                hint="check that the PostgreSQL server is running and reachable",
            ) from None

    @contextmanager
    def cursor(self) -> Iterator[psycopg.Cursor]:
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            yield cur

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check_reachable(url: str, timeout: float) -> None:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"cannot reach the database at {redact_url(url)}: {redact_url(reason)}",
            hint="check that the server is running and the URL, user and password in "
            "WALLTRACK_DATABASE_URL are right (or unset it to use the embedded server)",
        ) from None


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Connect to the configured store (starting the embedded server if needed) and migrate.

    ``migrate=True`` applies pending migrations and seeds the config defaults, so every
    process that opens the store sees the current schema.
    """
    started = time.perf_counter()
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        mode = StoreMode.hosted
    else:
        url = start_embedded(settings.pg_data_dir).url
        mode = StoreMode.embedded
    register_secrets(_password_of(url))
    _check_reachable(url, settings.db_connect_timeout_s)
    pool = ConnectionPool(
        url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        timeout=settings.db_connect_timeout_s,
        kwargs={"autocommit": False},
        open=True,
        name="walltrack",
    )
    db = Database(url=url, mode=mode, pool=pool)
    if migrate:
        from walltrack.store.migrations import apply_migrations, seed_config

        try:
            apply_migrations(db)
            seed_config(db)
        except BaseException:
            db.close()  # a refused store (e.g. newer than this code) leaves no pool behind
            raise
    db.start_seconds = time.perf_counter() - started
    log.info("store_opened", mode=mode.value, url=db.display_url,
             seconds=round(db.start_seconds, 3))
    return db


def _password_of(url: str) -> list[str]:
    match = re.search(r"://[^:/@]*:([^@]*)@", url)
    return [match.group(1)] if match and match.group(1) else []
