"""Backups and restore: a populated store round-trips table for table, in both formats; an
older backup restores and upgrades; refusals write nothing; retention touches only ours."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import structlog

from tests import factories
from tests.harness.postgres import PgCluster, unique_name
from tests.harness.processes import REPO_ROOT
from tests.store.test_migration_paths import (
    NEWEST,
    migrate_step_by_step,
    schema_fingerprint,
)
from walltrack.errors import StoreError
from walltrack.logging import configure_logging
from walltrack.settings import Settings
from walltrack.store import Database, open_database
from walltrack.store.backup import (
    BACKUP_NAME,
    BackupMethod,
    list_backups,
    read_backup_info,
    restore_backup,
    write_backup,
)
from walltrack.store.migrations import seed_config
from walltrack.store.repositories import ENTITY_REPOSITORIES

METHODS = [BackupMethod.pg_dump, BackupMethod.copy]


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Every public table's row count and the md5 of its rows' text, sorted."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()]
        out = {}
        for t in tables:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), "
                f"'')) FROM public.\"{t}\" x").fetchone()
            out[t] = (row[0], row[1])
        return out


def sequences(url: str) -> dict[str, tuple[int, bool]]:
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").fetchall()]
        return {n: tuple(conn.execute(f'SELECT last_value, is_called FROM public."{n}"')
                         .fetchone()) for n in names}


def public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]


def populate(db: Database, version: int = NEWEST) -> None:
    """A store that lived through every version up to ``version``, then what today's
    repositories write (one of every entity) and the config defaults."""
    migrate_step_by_step(db, version)
    if version == NEWEST:
        for item in factories.every_entity():
            next(r for r in ENTITY_REPOSITORIES if isinstance(item, r.model))(db).upsert(item)
        seed_config(db)
        with db.connection() as conn:  # a second inbox row moves the sequence on
            conn.execute("INSERT INTO inbox (signature, source, payload) VALUES "
                         "('late', 'polling', '\\x7b7d'::bytea)")


@pytest.mark.parametrize("method", METHODS)
def test_a_populated_store_round_trips_table_for_table(
        method: BackupMethod, empty_db: Callable[[], Database], tmp_path: Path) -> None:
    source = empty_db()
    populate(source)
    digests = table_digests(source.url)
    # Every table has rows: a new table nobody fills here makes this test fail.
    assert {t for t, (n, _) in digests.items() if n == 0} == set()
    assert set(digests) == set(public_tables(source.url)) and len(digests) >= 31

    result = write_backup(source, tmp_path / "backups", keep=3, method=method)
    assert result.method is method and result.schema_version == NEWEST
    assert BACKUP_NAME.match(result.path.name) and f"-v{NEWEST:04d}." in result.path.name
    assert result.path.stat().st_size == result.size_bytes > 0
    assert result.rows == {t: n for t, (n, _) in digests.items()}
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [result.path.name]
    info = read_backup_info(result.path)
    assert (info.method, info.schema_version) == (method, NEWEST)

    target = empty_db()
    restored = restore_backup(target, result.path)
    assert (restored.backup_version, restored.schema_version, restored.upgraded) == (
        NEWEST, NEWEST, [])
    assert table_digests(target.url) == digests
    assert sequences(target.url) == sequences(source.url)
    assert schema_fingerprint(target.url) == schema_fingerprint(source.url)
    with target.connection() as conn:  # the restored sequence continues, no seq reused
        conn.execute("INSERT INTO inbox (signature, source, payload) "
                     "VALUES ('after', 'webhook', '\\x00'::bytea)")
        assert conn.execute("SELECT count(DISTINCT seq) FROM inbox").fetchone()[0] == 4


@pytest.mark.parametrize("method", METHODS)
def test_a_backup_from_an_older_version_restores_then_upgrades(
        method: BackupMethod, empty_db: Callable[[], Database], db: Database,
        tmp_path: Path) -> None:
    old = empty_db()
    populate(old, 4)
    digests = table_digests(old.url)
    result = write_backup(old, tmp_path, keep=3, method=method)
    assert result.schema_version == 4 and "-v0004." in result.path.name

    target = empty_db()
    restored = restore_backup(target, result.path)
    assert restored.backup_version == 4
    assert restored.upgraded == list(range(5, NEWEST + 1))
    assert restored.schema_version == NEWEST
    assert schema_fingerprint(target.url) == schema_fingerprint(db.url)
    after = table_digests(target.url)
    for table in ("swaps", "tokens", "history_cursors", "lifecycle_events", "clusters"):
        assert after[table] == digests[table], table  # untouched by later migrations
    with target.connection() as conn:
        assert conn.execute("SELECT decision FROM signals WHERE id = 'sig-v1-trade'"
                            ).fetchone()[0] == "eligible"


@pytest.mark.parametrize("method", METHODS)
def test_restore_into_a_non_empty_store_is_refused_and_writes_nothing(
        method: BackupMethod, empty_db: Callable[[], Database], db: Database,
        tmp_path: Path) -> None:
    source = empty_db()
    populate(source, 2)
    path = write_backup(source, tmp_path, keep=3, method=method).path
    before = table_digests(db.url)
    with pytest.raises(StoreError, match=r"is not empty \(\d+ tables, schema version "
                       rf"{NEWEST}, rows in config") as caught:
        restore_backup(db, path)
    assert "point WALLTRACK_DATABASE_URL at a new, empty database" in str(caught.value)
    assert table_digests(db.url) == before
    # A schema without a single row is no empty store either.
    bare = empty_db()
    with bare.connection() as conn:
        conn.execute("CREATE TABLE leftover (x int)")
    with pytest.raises(StoreError, match=r"not empty \(1 tables, no rows\)"):
        restore_backup(bare, path)
    assert public_tables(bare.url) == ["leftover"]


@pytest.mark.parametrize("method", METHODS)
def test_a_backup_from_a_newer_schema_is_refused(
        method: BackupMethod, empty_db: Callable[[], Database], tmp_path: Path) -> None:
    future = empty_db()
    populate(future, 3)
    with future.connection() as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, checksum) "
                     "VALUES (%s, 'from_the_future', 'x')", (NEWEST + 1,))
    path = write_backup(future, tmp_path, keep=3, method=method).path
    assert f"-v{NEWEST + 1:04d}." in path.name
    target = empty_db()
    with pytest.raises(StoreError, match=rf"the backup {re.escape(path.name)} is at schema "
                       rf"version {NEWEST + 1}, newer than this WallTrack"):
        restore_backup(target, path)
    assert public_tables(target.url) == []


def test_retention_keeps_the_newest_and_deletes_only_ours(db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "backups"
    directory.mkdir()
    foreign = ["notes.txt", "walltrack-manual.pgdump", "walltrack-20200101T000000Z-v0001.pgdump"]
    for name in foreign:
        (directory / name).write_text("not ours")
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    written = [write_backup(db, directory, keep=2, method=BackupMethod.copy,
                            now=t0 + timedelta(hours=i)) for i in range(4)]
    assert [p.name for p in written[3].deleted] == [written[1].path.name]
    assert list_backups(directory) == [written[3].path, written[2].path]
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [*foreign, written[2].path.name, written[3].path.name])  # no temporary file left
    with pytest.raises(StoreError, match="keep at least 1"):
        write_backup(db, directory, keep=0)
    assert len(list_backups(directory)) == 2


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_lines=True, stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def _with_password(url: str) -> tuple[str, str]:
    """``url`` with a password (its own if it has one; the test cluster trusts any)."""
    match = re.search(r"://[^:/@]*:([^@]*)@", url)
    if match and match.group(1):
        return url, match.group(1)
    secret = "pw-Backup-Secret-9271"
    return re.sub(r"(://[^:/@]*):?@", rf"\g<1>:{secret}@", url, count=1), secret


def test_the_password_is_never_on_a_command_line_nor_in_the_logs(
        db_url: str, pg_cluster: PgCluster, make_settings: Callable[..., Settings],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    url, secret = _with_password(db_url)
    assert secret in url
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(args, *a, **kw):  # the real call, recorded
        if isinstance(args, list) and kw.get("env"):
            calls.append((list(args), kw["env"]))
        return real_run(args, *a, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    with open_database(make_settings(database_url=url)) as db:
        path = write_backup(db, tmp_path, keep=1, method=BackupMethod.pg_dump).path
        with pytest.raises(StoreError, match="not empty") as refused:
            restore_backup(db, path)
    name = unique_name("pw")
    target, _ = _with_password(pg_cluster.create_database(name))
    try:
        with open_database(make_settings(database_url=target), migrate=False) as empty:
            restore_backup(empty, path)
    finally:
        pg_cluster.drop_database(name)
    # pg_dump, pg_restore reading the backup (twice: refused, then restored), pg_restore.
    assert [Path(args[0]).name for args, _ in calls] == [
        "pg_dump", "pg_restore", "pg_restore", "pg_restore"]
    assert not any(secret in arg for args, _ in calls for arg in args)
    assert calls[0][1]["PGPASSWORD"] == calls[-1][1]["PGPASSWORD"] == secret
    logs = log_stream.getvalue()
    assert "store_backup_written" in logs and "store_backup_restored" in logs
    assert secret not in logs + str(refused.value)


def test_the_commands_back_up_and_restore(db_url: str, pg_cluster: PgCluster,
                                          tmp_path: Path) -> None:
    """`python -m walltrack backup` / `restore` as an operator runs them."""
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_ENV": "test",
           "WALLTRACK_DATA_DIR": str(tmp_path / "data"), "WALLTRACK_BACKUP_RETENTION": "1"}

    def walltrack(*args: str, url: str = db_url) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "walltrack", *args], cwd=REPO_ROOT,
                              env={**env, "WALLTRACK_DATABASE_URL": url}, text=True,
                              capture_output=True, timeout=120, check=False)

    first = walltrack("backup", "--dir", str(tmp_path / "bk"))
    second = walltrack("backup", "--dir", str(tmp_path / "bk"))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    written = re.search(r"backup written: (\S+)", second.stdout)
    assert written, second.stdout
    assert re.search(r"MB in \d+\.\d\d s, schema version \d+", second.stdout)
    assert "deleted (retention 1)" in second.stdout  # the first one
    assert [p.name for p in (tmp_path / "bk").iterdir()] == [Path(written.group(1)).name]

    refused = walltrack("restore", written.group(1))
    assert refused.returncode == 2 and "is not empty" in refused.stderr, refused.stderr
    name = unique_name("cli")
    target = pg_cluster.create_database(name)
    try:
        done = walltrack("restore", written.group(1), url=target)
        assert done.returncode == 0, done.stderr
        assert "restored" in done.stdout and "schema version now" in done.stdout
        assert table_digests(target) == table_digests(db_url)
    finally:
        pg_cluster.drop_database(name)
