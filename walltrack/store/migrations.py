"""Versioned SQL migrations, applied in order and recorded in ``schema_migrations``.

Files are ``walltrack/store/migrations/NNNN_name.sql``. Each runs in its own transaction
under a PostgreSQL advisory lock, so several processes starting at once apply each
migration exactly once. A recorded migration whose file changed is an error: migrations are
append-only and forward-only (a downgrade is a restore of a backup, docs/operations.md). A
store recorded at a version newer than this code knows is refused: running old code on it
could write rows the newer schema does not expect.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.types.json import Jsonb

from walltrack.errors import StoreError
from walltrack.logging import get_logger
from walltrack.models.config import DynamicConfig
from walltrack.store.database import Database

log = get_logger(__name__)

_LOCK_ID = 0x57A11_7AC  # arbitrary, constant: "walltrack migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("walltrack.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


SCHEMA_MIGRATIONS_DDL = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now())"""


def newest_known_version() -> int:
    return max((m.version for m in available_migrations()), default=0)


def refuse_newer_store(version: int, *, what: str = "the store") -> None:
    """Raise when a store (or a backup) is at a schema version newer than this code."""
    newest = newest_known_version()
    if version > newest:
        error = StoreError(
            f"{what} is at schema version {version}, newer than this WallTrack (knows up "
            f"to {newest})",
            hint="upgrade WallTrack (git pull / new image) or point WALLTRACK_DATABASE_URL "
            "at the right database",
        )
        # Logged as well as raised: a server start that fails shows it as one clear line.
        log.error("store_schema_newer", what=what, version=version, known=newest,
                  error=str(error))
        raise error


def run_migration(conn: psycopg.Connection, migration: Migration) -> None:
    """One migration and its record, in the caller's transaction."""
    conn.execute(migration.sql.encode())
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
        (migration.version, migration.name, migration.checksum),
    )


def apply_migrations(db: Database, *, up_to: int | None = None) -> list[int]:
    """Apply what is pending (up to version ``up_to``, default all); return the versions
    applied by this call. Refuses a store newer than this code (:func:`refuse_newer_store`).
    """
    applied_now: list[int] = []
    # A dedicated autocommit connection: each migration commits in its own transaction
    # *before* the session-level advisory lock is released, so a process waiting on the
    # lock always sees what the previous holder recorded.
    try:
        conn = psycopg.connect(db.url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {db.display_url} to migrate: {exc}",
                         hint="check that the database server is running") from None
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(SCHEMA_MIGRATIONS_DDL)
            done = {
                row[0]: row[1]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            refuse_newer_store(max(done, default=0))
            for migration in available_migrations():
                if up_to is not None and migration.version > up_to:
                    break
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise StoreError(
                            f"migration {migration.version:04d}_{migration.name} changed "
                            "after it was applied",
                            hint="never edit an applied migration; add a new one instead",
                        )
                    continue
                with conn.transaction():
                    run_migration(conn, migration)
                applied_now.append(migration.version)
                log.info("store_migration_applied", version=migration.version,
                         name=migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now


def schema_version(db: Database) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def seed_config(db: Database) -> list[str]:
    """Insert every default section missing from ``config``; never overwrite an edit."""
    defaults = DynamicConfig()
    inserted: list[str] = []
    with db.connection() as conn:
        for name in DynamicConfig.section_names():
            section = getattr(defaults, name)
            cur = conn.execute(
                "INSERT INTO config (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (name, Jsonb(section.model_dump(mode="json"))),
            )
            if cur.rowcount:
                inserted.append(name)
    if inserted:
        log.info("store_config_seeded", sections=inserted)
    return inserted
