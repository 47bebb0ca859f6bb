"""Session-wide fixtures: a throwaway PostgreSQL, a fresh database per test, settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never trade for real and never read a developer's secrets.
os.environ["WALLTRACK_LIVE_TRADING_ALLOWED"] = "false"
os.environ["WALLTRACK_ENV"] = "test"
# The trading engine runs where a test asks for it (WALLTRACK_TRADING_ENABLED=true).
os.environ["WALLTRACK_TRADING_ENABLED"] = "false"
for _name in ("WALLTRACK_TRADING_PRIVATE_KEY", "WALLTRACK_DATABASE_URL"):
    os.environ.pop(_name, None)

from tests.harness.postgres import PgCluster, throwaway_cluster, unique_name  # noqa: E402
from walltrack.settings import Settings, load_settings  # noqa: E402
from walltrack.store import Database, open_database  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "real"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    with throwaway_cluster(os.environ.get("WALLTRACK_TEST_DATABASE_URL")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def template_db(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with every migration applied, cloned by each test."""
    name = unique_name("tmpl")
    url = pg_cluster.create_database(name)
    settings = load_settings(
        _env_file=None, database_url=url, data_dir=tmp_path_factory.mktemp("data")
    )
    db = open_database(settings)
    db.close()
    yield name
    pg_cluster.drop_database(name)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated from the developer's .env, with a private data dir."""

    def factory(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return load_settings(_env_file=None, **overrides)

    return factory


@pytest.fixture
def db_url(pg_cluster: PgCluster, template_db: str) -> Iterator[str]:
    """URL of a fresh, migrated database for this test only."""
    name = unique_name()
    url = pg_cluster.create_database(name, template=template_db)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def db(db_url: str, make_settings: Callable[..., Settings]) -> Iterator[Database]:
    database = open_database(make_settings(database_url=db_url))
    yield database
    database.close()
