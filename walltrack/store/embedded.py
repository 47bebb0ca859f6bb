"""The embedded PostgreSQL server under ``data/pg``.

Started on demand through the ``pgserver`` package (binaries shipped by pip). pgserver keeps
a list of the processes using a data directory behind an inter-process lock, so the server,
a job and a notebook can all "start" it: the first one starts it, the others attach, and the
last one to exit stops it. When pgserver cannot serve (e.g. an unsupported platform), the
system PostgreSQL binaries (``initdb``/``pg_ctl`` on PATH) are used instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from walltrack.errors import StoreError
from walltrack.logging import get_logger

log = get_logger(__name__)

# Keep every handle alive for the life of the process: dropping it would stop the server.
_handles: dict[Path, Any] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    url: str
    data_dir: Path
    backend: str  # "pgserver" or "system"
    start_seconds: float


@contextmanager
def _start_lock(pgdata: Path) -> Iterator[None]:
    # pgserver creates the data directory before taking its own lock, so two processes
    # starting a fresh store at once race (one fails, or initdb runs twice): serialize the
    # whole start with a lock file of our own beside the data directory.
    with open(pgdata.parent / f".{pgdata.name}.start.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start_pgserver(pgdata: Path) -> str:
    import pgserver  # local import: heavy, and only needed in embedded mode

    with _start_lock(pgdata):
        pgdata.mkdir(exist_ok=True)
        handle = pgserver.get_server(pgdata, cleanup_mode="stop")
    _handles[pgdata] = handle
    return str(handle.get_uri())


def _system_binary(name: str) -> str | None:
    # Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin.
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return shutil.which(name) or (str(candidates[0]) if candidates else None)


def _start_system(pgdata: Path) -> str:
    initdb, pg_ctl = _system_binary("initdb"), _system_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise StoreError(
            "neither pgserver nor system PostgreSQL binaries (initdb, pg_ctl) are available",
            hint="reinstall dependencies (pip install -r requirements.lock) or install the "
            "Debian package postgresql, or set WALLTRACK_DATABASE_URL to a running server",
        )
    pgdata.mkdir(parents=True, exist_ok=True)
    socket_dir = pgdata / "socket"
    socket_dir.mkdir(exist_ok=True)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            [initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
        )
    status = subprocess.run([pg_ctl, "-D", str(pgdata), "status"], capture_output=True)  # noqa: S603
    if status.returncode != 0:
        subprocess.run(  # noqa: S603
            [pg_ctl, "-D", str(pgdata), "-w", "-l", str(pgdata / "server.log"),
             "-o", f"-k {socket_dir} -c listen_addresses=''", "start"],
            check=True,
            capture_output=True,
        )
    return f"postgresql://postgres:@/postgres?host={socket_dir}"


def start_embedded(pgdata: Path) -> EmbeddedServer:
    """Start (or attach to) the embedded server and return how to reach it."""
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    backend = "pgserver"
    try:
        # pgserver wants a runtime dir for its lock; many containers have no XDG_RUNTIME_DIR.
        if "XDG_RUNTIME_DIR" not in os.environ:
            runtime = pgdata.parent / ".runtime"
            runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
            runtime.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        url = _start_pgserver(pgdata)
    except (ImportError, OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        log.warning("store_pgserver_unavailable", error=str(exc), fallback="system")
        backend = "system"
        try:
            url = _start_system(pgdata / "system") if (pgdata / "PG_VERSION").exists() \
                else _start_system(pgdata)
        except subprocess.CalledProcessError as sys_exc:
            raise StoreError(
                f"could not start the embedded PostgreSQL server in {pgdata}: "
                f"{(sys_exc.stderr or b'').decode(errors='replace')[-400:]}",
                hint="check disk space and permissions of the data directory, or set "
                "WALLTRACK_DATABASE_URL to a running PostgreSQL server",
            ) from None
    seconds = time.perf_counter() - started
    log.info("store_embedded_started", backend=backend, data_dir=str(pgdata),
             seconds=round(seconds, 3))
    return EmbeddedServer(url=url, data_dir=pgdata, backend=backend, start_seconds=seconds)


def stop_embedded(pgdata: Path) -> None:
    """Release this process's handle (the server stops when no process uses it)."""
    handle = _handles.pop(pgdata.resolve(), None)
    if handle is not None:
        with contextlib.suppress(Exception):  # best effort at shutdown
            handle.cleanup()
