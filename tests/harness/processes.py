"""Start a real server process (uvicorn, ``marimo run``, the simulator) on a free port.

Usage::

    with run_server([sys.executable, "-m", "walltrack.simulator", "serve",
                     "--seed", "1", "--port", "{port}"], ready_path="/health") as srv:
        httpx.get(srv.url + "/health")

``{port}`` in any argument is replaced by a free port. The process runs in its own process
group and is stopped (SIGTERM, then SIGKILL) on exit; its output is kept in a log file whose
tail is shown when it fails to become ready, so a broken server explains itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ServerStartError(RuntimeError):
    pass


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@contextlib.contextmanager
def run_server(
    args: Sequence[str],
    *,
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    cwd: Path | None = None,
    port: int | None = None,
) -> Iterator[ServerProcess]:
    """Run ``args`` until the block ends; ready when GET ``ready_path`` answers below 500."""
    port = port or free_port()
    argv = [a.replace("{port}", str(port)) for a in args]
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    log_file = tempfile.NamedTemporaryFile(
        prefix="walltrack-proc-", suffix=".log", delete=False
    )
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        argv,
        cwd=str(cwd or REPO_ROOT),
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = ServerProcess(process=process, port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise ServerStartError(
                    f"{argv[0:4]} exited with {process.returncode} before it was ready:\n"
                    + server.log_tail()
                )
            try:
                response = httpx.get(server.url + ready_path, timeout=2.0)
                if response.status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"{argv[0:4]} not ready on port {port} after {timeout:.0f}s:\n"
                    + server.log_tail()
                )
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)
        log_file.close()
        with contextlib.suppress(OSError):
            log_path.unlink()
