"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness.postgres import PgCluster, unique_name
from walltrack.settings import Settings
from walltrack.store import Database, open_database


@pytest.fixture
def empty_db(pg_cluster: PgCluster, make_settings: Callable[..., Settings]
             ) -> Iterator[Callable[[], Database]]:
    """A factory of fresh databases without any schema (no template)."""
    made: list[tuple[str, Database]] = []

    def make() -> Database:
        name = unique_name("empty")
        url = pg_cluster.create_database(name)
        db = open_database(make_settings(database_url=url), migrate=False)
        made.append((name, db))
        return db

    yield make
    for name, db in made:
        db.close()
        pg_cluster.drop_database(name)
