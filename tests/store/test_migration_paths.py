"""Upgrades: from every earlier schema version to the newest on a populated store, and the
refusal of a store newer than the code (in-process and by a real server process)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import psycopg
import pytest

from tests.harness.processes import REPO_ROOT
from tests.store.migration_seeds import NAMES, SEEDS
from walltrack.errors import StoreError
from walltrack.settings import Settings
from walltrack.store import Database, open_database
from walltrack.store.migrations import (
    apply_migrations,
    available_migrations,
    schema_version,
    seed_config,
)
from walltrack.store.repositories import ENTITY_REPOSITORIES, ConfigRepository

NEWEST = max(m.version for m in available_migrations())


def schema_fingerprint(url: str) -> dict[str, list[tuple]]:
    """Columns, indexes, constraints, triggers and functions of schema public."""
    queries = {
        "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default,
                             ordinal_position
                      FROM information_schema.columns WHERE table_schema = 'public'
                      ORDER BY table_name, column_name""",
        "indexes": """SELECT tablename, indexname, indexdef FROM pg_indexes
                      WHERE schemaname = 'public' ORDER BY tablename, indexname""",
        "constraints": """SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
                          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                          WHERE k.connamespace = 'public'::regnamespace
                          ORDER BY c.relname, k.conname""",
        "triggers": """SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
                       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                       WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
                       ORDER BY c.relname, t.tgname""",
        "functions": """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                        WHERE p.pronamespace = 'public'::regnamespace ORDER BY p.proname""",
    }
    with psycopg.connect(url) as conn:
        return {k: conn.execute(q).fetchall() for k, q in queries.items()}


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in tables if t != "schema_migrations"}


def migrate_step_by_step(db: Database, up_to: int) -> None:
    """The store as it lived: each migration applied, then what that version wrote."""
    for migration in available_migrations():
        if migration.version > up_to:
            break
        assert apply_migrations(db, up_to=migration.version) == [migration.version]
        seed = SEEDS.get(migration.version)
        if seed:
            with db.connection() as conn:
                conn.execute(seed.encode())


@pytest.mark.parametrize("start", range(1, NEWEST))
def test_every_earlier_version_upgrades_a_populated_store_to_the_newest(
        start: int, empty_db: Callable[[], Database], db: Database) -> None:
    old = empty_db()
    migrate_step_by_step(old, start)
    assert schema_version(old) == start
    before = row_counts(old.url)
    assert sum(before.values()) >= 20, "the seeds populate the store"

    assert apply_migrations(old) == list(range(start + 1, NEWEST + 1))
    seed_config(old)
    assert schema_version(old) == NEWEST
    # Schema identical to a straight fresh migration's (the `db` fixture's).
    assert schema_fingerprint(old.url) == schema_fingerprint(db.url)
    # No row lost: every table holds what it held (config gains the missing defaults only).
    after = row_counts(old.url)
    for table, count in before.items():
        if table == "config":
            assert after[table] >= count
        else:
            assert after[table] == count, table
    # The data migrations did their work on the old rows…
    with old.connection() as conn:
        decision = conn.execute(
            "SELECT decision FROM signals WHERE id = 'sig-v1-trade'").fetchone()[0]
        raw, lifecycle = conn.execute(
            "SELECT raw_score, lifecycle FROM wallets WHERE address = %s",
            (NAMES["W1"],)).fetchone()
        notes = conn.execute("SELECT notes FROM wallets WHERE address = %s",
                             (NAMES["W1"],)).fetchone()[0]
    assert decision == "eligible"  # 0006: 'trade' → 'eligible'
    if start < 4:
        assert (raw, lifecycle) == (0.8, "discovered")  # 0004: raw_score from the profile
    else:
        assert (raw, lifecycle) == (0.8, "watchlisted")  # the v4 code wrote both itself
    assert notes == 'line one\nline two\t"quoted" \\ back'
    # …and the code of today reads every old row through its models.
    config = ConfigRepository(old).load()
    assert (config.jobs.discover_tokens, config.jobs.refresh_tokens) == (15, 5)
    for repo in ENTITY_REPOSITORIES:
        rows = repo(old).list()
        assert len(rows) == after[repo.table], repo.table


def test_a_store_newer_than_the_code_is_refused(
        db: Database, db_url: str, make_settings: Callable[..., Settings]) -> None:
    with db.connection() as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, checksum) "
                     "VALUES (%s, 'from_the_future', 'x')", (NEWEST + 1,))
    expected = (f"the store is at schema version {NEWEST + 1}, newer than this WallTrack "
                f"\\(knows up to {NEWEST}\\)")
    with pytest.raises(StoreError, match=expected) as caught:
        apply_migrations(db)
    assert "git pull" in str(caught.value) and "WALLTRACK_DATABASE_URL" in str(caught.value)
    with pytest.raises(StoreError, match=expected):
        open_database(make_settings(database_url=db_url))
    # Nothing was applied or changed by the refusals.
    assert schema_version(db) == NEWEST + 1

    # The server refuses to start on it: a real process, exit non-zero, the message shown.
    env = {"WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_ENV": "test",
           "WALLTRACK_DATA_DIR": str(make_settings().data_dir), "PATH": "/usr/bin:/bin",
           "WALLTRACK_LIVE_TRADING_ALLOWED": "false", "WALLTRACK_TRADING_ENABLED": "false"}
    done = subprocess.run([sys.executable, "server.py", "--port", "0"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    refusal = next((line for line in output.splitlines() if "store_schema_newer" in line), "")
    assert f"the store is at schema version {NEWEST + 1}" in refusal, output
    assert "upgrade WallTrack (git pull / new image)" in refusal
