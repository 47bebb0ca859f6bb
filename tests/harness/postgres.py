"""A throwaway PostgreSQL server for the test session.

Started with pgserver in a temporary directory (or, when ``WALLTRACK_TEST_DATABASE_URL``
points at a server, that one is used). Each test gets a fresh database cloned from a
migrated template, so tests never see each other's rows and migrations run once.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from walltrack.store.embedded import start_embedded, stop_embedded


@dataclass
class PgCluster:
    admin_url: str  # a URL to the maintenance database

    def url_for(self, dbname: str) -> str:
        # Replace the path (database name) of the admin URL, keep host/query.
        return re.sub(r"(postgresql://[^/]*/)([^?]*)", rf"\g<1>{dbname}", self.admin_url, count=1)

    def create_database(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_cluster(admin_url: str | None = None) -> Iterator[PgCluster]:
    if admin_url:
        yield PgCluster(admin_url)
        return
    with tempfile.TemporaryDirectory(prefix="walltrack-pg-") as tmp:
        pgdata = Path(tmp) / "pg"
        server = start_embedded(pgdata)
        try:
            yield PgCluster(server.url)
        finally:
            stop_embedded(pgdata)


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
