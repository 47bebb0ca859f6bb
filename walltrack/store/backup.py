"""Backups of the store and their restore into an empty store.

Two formats, both one consistent snapshot of the whole store:

* ``pg_dump`` (preferred): ``pg_dump --format=custom`` from the same binaries as the embedded
  server (pgserver's), else the system's — the first whose major version is at least the
  server's. It dumps inside a snapshot exported by our own REPEATABLE READ transaction, so
  the schema version and row counts we record are those of the dumped data.
* ``copy`` (fallback, no client binaries needed): a zip with ``manifest.json`` (schema
  version, migrations, columns, row counts, sequences) and one ``COPY … TO STDOUT`` text per
  table, all read inside one REPEATABLE READ READ ONLY transaction.

File names are ``walltrack-<UTC timestamp>-v<schema version>.<pgdump|copy.zip>``; each is
written to a hidden temporary name, fsync'd and renamed, so a crash never leaves a partial
file under a backup's name. Retention deletes the oldest files of *ours* (that pattern) only.

A restore goes into an empty store only (no table in schema ``public``), then applies the
migrations this code has beyond the backup's version: a backup from an older WallTrack
restores and upgrades. A backup from a newer schema than this code knows is refused.
The database password is never put on a command line: the tools get it through PGPASSWORD.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import BaseModel

from walltrack.errors import StoreError
from walltrack.logging import get_logger, redact_text
from walltrack.store.database import Database, redact_url
from walltrack.store.migrations import (
    _LOCK_ID,  # the migrations' advisory lock: a restore and a migration never interleave
    SCHEMA_MIGRATIONS_DDL,
    apply_migrations,
    available_migrations,
    refuse_newer_store,
    run_migration,
    seed_config,
)

log = get_logger(__name__)

BACKUP_NAME = re.compile(r"^walltrack-(\d{8}T\d{6}\.\d{3}Z)-v(\d{4,})\.(pgdump|copy\.zip)$")
_COPY_FORMAT = "walltrack-copy"
_CHUNK = 1 << 20


class BackupMethod(StrEnum):
    auto = "auto"  # pg_dump when a recent enough one is found, else copy
    pg_dump = "pg_dump"
    copy = "copy"


class MigrationRecord(BaseModel):
    version: int
    name: str
    checksum: str


class BackupResult(BaseModel):
    path: Path
    method: BackupMethod
    size_bytes: int
    seconds: float
    schema_version: int
    rows: dict[str, int]
    tool: str | None = None  # "pg_dump 16.2 (/…/pg_dump)"
    deleted: list[Path] = []


class BackupInfo(BaseModel):
    path: Path
    method: BackupMethod
    schema_version: int
    migrations: list[MigrationRecord]


class RestoreResult(BaseModel):
    path: Path
    method: BackupMethod
    backup_version: int
    schema_version: int
    upgraded: list[int]  # migrations applied after the restore
    rows: dict[str, int]
    seconds: float


# --- the PostgreSQL client binaries -------------------------------------------------------


class PgTool(BaseModel):
    path: Path
    major: int
    version: str

    def describe(self) -> str:
        return f"{self.path.name} {self.version} ({self.path})"


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    # pgserver's own binaries first: the embedded server is one of them. Located without
    # importing pgserver (its import has side effects on the runtime directory).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    # Debian keeps versioned binaries under /usr/lib/postgresql/<major>/bin, newest first.
    dirs.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                       key=lambda p: _int_or_zero(p.parent.name), reverse=True))
    return dirs


def _int_or_zero(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _tool_version(path: Path) -> PgTool | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,  # noqa: S603
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)(?:\.(\d+))?", out)
    if not match:
        return None
    return PgTool(path=path, major=int(match.group(1)),
                  version=match.group(0)[2:])


def pg_tools(name: str) -> list[PgTool]:
    """Every ``name`` binary found (pgserver's, /usr/lib/postgresql/*, PATH), in that order."""
    seen: set[Path] = set()
    found: list[PgTool] = []
    paths = [d / name for d in _candidate_dirs()]
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    for path in paths:
        if not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        tool = _tool_version(path)
        if tool is not None:
            found.append(tool)
    return found


def find_pg_tool(name: str, min_major: int) -> PgTool | None:
    """The first ``name`` whose major version is at least ``min_major`` (the server's)."""
    return next((t for t in pg_tools(name) if t.major >= min_major), None)


def _no_tool_error(name: str, server_major: int, fallback: str) -> StoreError:
    found = ", ".join(t.describe() for t in pg_tools(name)) or "none"
    return StoreError(
        f"no {name} of major version ≥ {server_major} (the server's) was found; found: {found}",
        hint=f"install the PostgreSQL {server_major} client (Debian: postgresql-client-"
        f"{server_major}) or reinstall pgserver (pip install -r requirements.lock), {fallback}",
    )


def _tool_env(url: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and an environment that carries it."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    password = params.pop("password", None)
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def _run_tool(args: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise StoreError(f"{what} could not run {args[0]}: {exc}",
                         hint="check the PostgreSQL client installation") from None
    if done.returncode != 0:
        detail = redact_url(redact_text(done.stderr.strip()))[-1500:]
        raise StoreError(f"{what} failed (exit {done.returncode}): {detail}",
                         hint="read the message above; the store was not changed")
    return done.stdout


# --- the store's tables -------------------------------------------------------------------


def _public_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    # Generated columns cannot be written by COPY FROM: they are recomputed on restore.
    rows = conn.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        (f'public."{table}"',),
    ).fetchall()
    return [r[0] for r in rows]


def _sequences(conn: psycopg.Connection) -> dict[str, tuple[int, bool]]:
    names = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY c.relname").fetchall()]
    out: dict[str, tuple[int, bool]] = {}
    for name in names:
        row = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
            sql.Identifier("public", name))).fetchone()
        assert row is not None
        out[name] = (int(row[0]), bool(row[1]))
    return out


def _row_counts(conn: psycopg.Connection, tables: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier("public", table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _load_order(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """Tables with every table a foreign key points at before it (so COPY FROM checks pass)."""
    deps: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in conn.execute(
        "SELECT c.relname, p.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
        "WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace"
    ).fetchall():
        if child in deps and parent in deps and child != parent:
            deps[child].add(parent)
    order: list[str] = []
    while deps:
        ready = sorted(t for t, d in deps.items() if not d)
        if not ready:
            raise StoreError(f"foreign keys form a cycle among {sorted(deps)}",
                             hint="restore a pg_dump backup instead of a copy one")
        order.extend(ready)
        for t in ready:
            del deps[t]
        for d in deps.values():
            d.difference_update(ready)
    return order


def _migrations_in(conn: psycopg.Connection) -> list[MigrationRecord]:
    if "schema_migrations" not in _public_tables(conn):
        return []
    return [MigrationRecord(version=v, name=n, checksum=c) for v, n, c in conn.execute(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()]


# --- backup -------------------------------------------------------------------------------


def backup_name(at: datetime, version: int, method: BackupMethod) -> str:
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.") + f"{at.microsecond // 1000:03d}Z"
    suffix = "pgdump" if method is BackupMethod.pg_dump else "copy.zip"
    return f"walltrack-{stamp}-v{version:04d}.{suffix}"


def list_backups(directory: Path) -> list[Path]:
    """Our backup files in ``directory``, newest first (by the timestamp in the name)."""
    if not directory.is_dir():
        return []
    ours = [p for p in directory.iterdir() if p.is_file() and BACKUP_NAME.match(p.name)]
    return sorted(ours, key=lambda p: BACKUP_NAME.match(p.name).group(1),  # type: ignore[union-attr]
                  reverse=True)


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete our backups beyond the newest ``keep``; other files are never touched."""
    if keep < 1:
        raise StoreError(f"backup retention {keep} would delete every backup",
                         hint="keep at least 1 (WALLTRACK_BACKUP_RETENTION / --keep)")
    deleted = list_backups(directory)[keep:]
    for path in deleted:
        path.unlink(missing_ok=True)
    if deleted:
        log.info("store_backup_pruned", directory=str(directory), deleted=len(deleted),
                 kept=keep)
    return deleted


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse to fsync a directory
        _fsync_file(path)


@contextlib.contextmanager
def _atomic_target(final: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``final``, renamed onto it once written and synced."""
    tmp = final.with_name(f".{final.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _snapshot_connection(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=False)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _write_copy_archive(conn: psycopg.Connection, target: Path, version: int,
                        tables: list[str], rows: dict[str, int]) -> None:
    manifest = {
        "format": _COPY_FORMAT,
        "format_version": 1,
        "created_at": datetime.now(UTC).isoformat(),
        "server_version": conn.execute("SHOW server_version").fetchone()[0],  # type: ignore[index]
        "schema_version": version,
        "migrations": [m.model_dump() for m in _migrations_in(conn)],
        "tables": {t: {"columns": _columns(conn, t), "rows": rows[t]} for t in tables},
        "sequences": _sequences(conn),
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=6) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for table in tables:
            cols = manifest["tables"][table]["columns"]  # type: ignore[index]
            statement = sql.SQL("COPY {} ({}) TO STDOUT").format(
                sql.Identifier("public", table), sql.SQL(", ").join(map(sql.Identifier, cols)))
            with conn.cursor() as cur, cur.copy(statement) as copy, \
                    archive.open(f"tables/{table}.copy", "w", force_zip64=True) as member:
                for chunk in copy:
                    member.write(chunk)


def write_backup(db: Database, directory: Path, *, keep: int,
                 method: BackupMethod = BackupMethod.auto,
                 now: datetime | None = None) -> BackupResult:
    """Write one consistent backup of ``db`` into ``directory``, then apply the retention."""
    started = time.perf_counter()
    if keep < 1:
        prune_backups(directory, keep)  # raises with the fix
    directory.mkdir(parents=True, exist_ok=True)
    try:
        conn = _snapshot_connection(db.url)
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {db.display_url} to back it up: "
                         f"{redact_url(str(exc))}",
                         hint="check that the database server is running") from None
    with conn:
        tables = _public_tables(conn)
        if "schema_migrations" not in tables:
            raise StoreError(f"the store at {db.display_url} holds no WallTrack schema",
                             hint="check WALLTRACK_DATABASE_URL: there is nothing to back up")
        version = int(conn.execute(  # type: ignore[index]
            "SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
        rows = _row_counts(conn, tables)
        server_major = int(conn.execute(  # type: ignore[index]
            "SHOW server_version_num").fetchone()[0]) // 10000
        tool = None
        if method is not BackupMethod.copy:
            tool = find_pg_tool("pg_dump", server_major)
            if tool is None and method is BackupMethod.pg_dump:
                raise _no_tool_error("pg_dump", server_major,
                                     "or run `python -m walltrack backup --method copy`")
            if tool is None:
                log.warning("store_backup_pg_dump_unavailable", server_major=server_major,
                            fallback="copy")
        chosen = BackupMethod.pg_dump if tool is not None else BackupMethod.copy
        final = directory / backup_name(now or datetime.now(UTC), version, chosen)
        with _atomic_target(final) as tmp:
            if tool is not None:
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
                conninfo, env = _tool_env(db.url)
                # The snapshot keeps pg_dump on exactly the data counted above.
                _run_tool([str(tool.path), "--format=custom", f"--snapshot={snapshot}",
                           "--no-owner", "--no-privileges", f"--file={tmp}",
                           f"--dbname={conninfo}"], env, "pg_dump")
            else:
                _write_copy_archive(conn, tmp, version, tables, rows)
        conn.rollback()
    deleted = prune_backups(directory, keep)
    result = BackupResult(path=final, method=chosen, size_bytes=final.stat().st_size,
                          seconds=time.perf_counter() - started, schema_version=version,
                          rows=rows, tool=tool.describe() if tool else None, deleted=deleted)
    log.info("store_backup_written", path=str(final), method=chosen.value,
             size_bytes=result.size_bytes, seconds=round(result.seconds, 3),
             schema_version=version, rows=sum(rows.values()), deleted=len(deleted))
    return result


# --- restore ------------------------------------------------------------------------------


def _parse_migrations_copy(text: str) -> list[MigrationRecord]:
    """The rows of schema_migrations from ``pg_restore --data-only -t schema_migrations``."""
    records: list[MigrationRecord] = []
    inside = False
    columns: list[str] = []
    for line in text.splitlines():
        if line.startswith("COPY ") and "schema_migrations" in line:
            inside = True
            columns = [c.strip() for c in line[line.index("(") + 1:line.index(")")].split(",")]
            continue
        if inside:
            if line == "\\.":
                break
            values = dict(zip(columns, line.split("\t"), strict=False))
            records.append(MigrationRecord(version=int(values["version"]), name=values["name"],
                                           checksum=values["checksum"]))
    return records


def read_backup_info(path: Path) -> BackupInfo:
    """What a backup file holds (format, schema version, migrations), without a database."""
    if not path.is_file():
        raise StoreError(f"no backup file at {path}",
                         hint="give the path of a file written by `python -m walltrack backup`")
    with path.open("rb") as handle:
        magic = handle.read(5)
    if magic == b"PGDMP":
        tools = pg_tools("pg_restore")
        if not tools:
            raise _no_tool_error("pg_restore", 0, "to restore a pg_dump backup")
        newest = max(tools, key=lambda t: t.major)
        out = _run_tool([str(newest.path), "--data-only", "--table=schema_migrations",
                         "--file=-", str(path)], dict(os.environ), "reading the backup")
        migrations = _parse_migrations_copy(out)
        method = BackupMethod.pg_dump
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            try:
                manifest = json.loads(archive.read("manifest.json"))
            except KeyError:
                raise StoreError(f"{path} is a zip file but not a WallTrack backup",
                                 hint="give a file written by `python -m walltrack backup`") \
                    from None
        if manifest.get("format") != _COPY_FORMAT:
            raise StoreError(f"{path} is not a WallTrack backup",
                             hint="give a file written by `python -m walltrack backup`")
        migrations = [MigrationRecord.model_validate(m) for m in manifest["migrations"]]
        method = BackupMethod.copy
    else:
        raise StoreError(f"{path} is not a WallTrack backup (neither a pg_dump archive nor a "
                         "copy archive)", hint="give a file written by `python -m walltrack "
                         "backup`")
    if not migrations:
        raise StoreError(f"{path} holds no schema_migrations rows",
                         hint="it is not a backup of a WallTrack store")
    return BackupInfo(path=path, method=method, migrations=migrations,
                      schema_version=max(m.version for m in migrations))


def _check_compatible(info: BackupInfo) -> None:
    refuse_newer_store(info.schema_version, what=f"the backup {info.path.name}")
    known = {m.version: m for m in available_migrations()}
    for record in info.migrations:
        mine = known.get(record.version)
        if mine is None or mine.checksum != record.checksum:
            raise StoreError(
                f"the backup's migration {record.version:04d}_{record.name} is not the one "
                "this WallTrack has",
                hint="restore it with the WallTrack version that wrote it, then upgrade",
            )


def ensure_empty(conn: psycopg.Connection, display_url: str) -> None:
    """Refuse unless schema ``public`` holds no table (a restore never mixes two stores)."""
    tables = _public_tables(conn)
    if not tables:
        return
    counts = _row_counts(conn, tables)
    with_rows = [t for t, n in counts.items() if n]
    version = max((m.version for m in _migrations_in(conn)), default=0)
    what = (f"schema version {version}, " if version else "") + (
        f"rows in {', '.join(with_rows[:6])}{' …' if len(with_rows) > 6 else ''}"
        if with_rows else "no rows")
    log.warning("store_restore_refused", url=display_url, tables=len(tables),
                tables_with_rows=len(with_rows), schema_version=version)
    raise StoreError(
        f"the store at {display_url} is not empty ({len(tables)} tables, {what}); a restore "
        "only goes into an empty store",
        hint="point WALLTRACK_DATABASE_URL at a new, empty database (createdb …), or for the "
        "embedded store set WALLTRACK_DATA_DIR to a new directory; nothing was written",
    )


def _restore_copy(db: Database, info: BackupInfo) -> None:
    with zipfile.ZipFile(info.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        with psycopg.connect(db.url, autocommit=False) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            ensure_empty(conn, db.display_url)
            # Rebuild the backup's schema from our migrations (checksums checked before),
            # then load its rows over it: one transaction, all or nothing.
            conn.execute(SCHEMA_MIGRATIONS_DDL)
            for migration in available_migrations():
                if migration.version <= info.schema_version:
                    run_migration(conn, migration)
            tables = _public_tables(conn)
            missing = sorted(set(manifest["tables"]) - set(tables))
            if missing:
                raise StoreError(f"the backup has tables the schema does not: {missing}",
                                 hint="restore it with the WallTrack version that wrote it")
            conn.execute(sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(sql.Identifier("public", t) for t in tables)))
            for table in _load_order(conn, list(manifest["tables"])):
                cols = manifest["tables"][table]["columns"]
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier("public", table),
                    sql.SQL(", ").join(map(sql.Identifier, cols)))
                with conn.cursor() as cur, cur.copy(statement) as copy, \
                        archive.open(f"tables/{table}.copy") as member:
                    while chunk := member.read(_CHUNK):
                        copy.write(chunk)
            for name, (value, called) in manifest["sequences"].items():
                conn.execute("SELECT setval(%s::regclass, %s, %s)",
                             (f'public."{name}"', value, called))


def _restore_pg_dump(db: Database, info: BackupInfo) -> None:
    with psycopg.connect(db.url, autocommit=True) as conn:
        server_major = int(conn.execute(  # type: ignore[index]
            "SHOW server_version_num").fetchone()[0]) // 10000
    tool = find_pg_tool("pg_restore", server_major)
    if tool is None:
        raise _no_tool_error("pg_restore", server_major, "to restore this pg_dump backup")
    conninfo, env = _tool_env(db.url)
    # One transaction: a failure leaves the store as empty as it was.
    _run_tool([str(tool.path), "--single-transaction", "--exit-on-error", "--no-owner",
               "--no-privileges", f"--dbname={conninfo}", str(info.path)], env, "pg_restore")


def restore_backup(db: Database, path: Path) -> RestoreResult:
    """Restore ``path`` into the empty store ``db``, then upgrade it to this code's schema."""
    started = time.perf_counter()
    info = read_backup_info(path)
    _check_compatible(info)
    with psycopg.connect(db.url, autocommit=True) as conn:
        ensure_empty(conn, db.display_url)
    if info.method is BackupMethod.copy:
        _restore_copy(db, info)
    else:
        _restore_pg_dump(db, info)
    upgraded = apply_migrations(db)
    seed_config(db)
    with psycopg.connect(db.url, autocommit=True) as conn:
        rows = _row_counts(conn, _public_tables(conn))
        version = int(conn.execute(  # type: ignore[index]
            "SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
    result = RestoreResult(path=path, method=info.method, backup_version=info.schema_version,
                           schema_version=version, upgraded=upgraded, rows=rows,
                           seconds=time.perf_counter() - started)
    log.info("store_backup_restored", path=str(path), method=info.method.value,
             backup_version=info.schema_version, schema_version=version, upgraded=upgraded,
             rows=sum(rows.values()), seconds=round(result.seconds, 3))
    return result
