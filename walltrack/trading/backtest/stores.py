"""A trading store per replay run: databases beside the research's, on the same server.

Runs must not see each other's positions (one open position per mint is the store's own
rule), so each gets an empty, migrated database cloned from a template made once — a
``CREATE DATABASE … TEMPLATE`` is a file copy, far cheaper than migrating each time.
They are dropped when the replay ends.
"""

from __future__ import annotations

import secrets
import threading
from types import TracebackType

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from walltrack.errors import StoreError
from walltrack.store.database import Database, StoreMode, redact_url
from walltrack.store.migrations import apply_migrations, seed_config


def connect(url: str, *, name: str, max_size: int = 2) -> Database:
    """A small pooled handle on one of the replay's databases."""
    pool = ConnectionPool(url, min_size=1, max_size=max_size, open=True,
                          kwargs={"autocommit": False}, name=name)
    return Database(url=url, mode=StoreMode.hosted, pool=pool)


class ReplayStores:
    def __init__(self, url: str) -> None:
        self._url = url
        self._prefix = f"wt_replay_{secrets.token_hex(4)}"
        self._made: list[str] = []
        self._template: str | None = None
        self._lock = threading.Lock()  # runs ask from threads: one template, unique names

    def _admin(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self._url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot reach the store at {redact_url(self._url)}: {exc}",
                             hint="the replay needs the research store's server") from None

    def _create(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        try:
            with self._admin() as conn:
                conn.execute(query)
        except psycopg.errors.InsufficientPrivilege:
            raise StoreError("the replay cannot create its run databases on this server",
                             hint="grant CREATEDB to the store's user, or replay on the "
                             "embedded store") from None
        self._made.append(name)

    def url_of(self, name: str) -> str:
        return make_conninfo(self._url, dbname=name)

    def new(self) -> str:
        """The URL of a new, empty, migrated trading store."""
        with self._lock:
            return self._new()

    def _new(self) -> str:
        if self._template is None:
            self._template = f"{self._prefix}_template"
            self._create(self._template)
            db = connect(self.url_of(self._template), name="replay-template")
            try:
                apply_migrations(db)
                seed_config(db)
            finally:
                db.close()
        name = f"{self._prefix}_{len(self._made)}"
        self._create(name, self._template)
        return self.url_of(name)

    def close(self) -> None:
        if not self._made:
            return
        with self._admin() as conn:
            for name in reversed(self._made):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
        self._made.clear()

    def __enter__(self) -> ReplayStores:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["ReplayStores", "connect"]
