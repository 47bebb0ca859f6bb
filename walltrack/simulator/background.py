"""Serve a simulated market for an evaluation run: in a thread of this process, or in a
process of its own.

The research pipeline then reaches it over real HTTP on 127.0.0.1, exactly as it would
reach Helius, DexScreener, Jupiter and an RPC node.

* ``serving(market)`` — uvicorn in a background thread; the caller keeps the ``Market``
  object (tests that look inside the market use this). The server shares this process's
  GIL with the caller.
* ``serving_process(params)`` — ``python -m walltrack.simulator serve`` in a child process
  that generates the market itself: the research and the server each get their own
  interpreter. The caller's truth (``truth_wallets``…) comes from ``generate_market(params)``
  in the caller: generation is deterministic (same params → byte-identical frames), ≈ 2.6 s
  on the default market, and can overlap the child's start (see ``SimulatorProcess``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import httpx
import orjson
import uvicorn

import walltrack
from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.simulator.market import Market
from walltrack.simulator.params import SimParams
from walltrack.simulator.server import create_app

log = get_logger(__name__)

STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _window_end(params: SimParams) -> float:
    return params.days * 86_400.0


@contextmanager
def serving(
    market: Market, *, start_at: float | None = None, speed: float = 0.0, timeout: float = 60.0
) -> Iterator[str]:
    """Yield the base URL of ``market`` served on a free loopback port (in a thread)."""
    if start_at is None:  # the window's end: the whole history is visible
        start_at = _window_end(market.params)
    app = create_app(market, speed=speed, start_at=start_at)
    port = free_port()
    server = uvicorn.Server(
        # log_config=None: uvicorn keeps out of the process's logging (JSON, redaction).
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                       log_config=None)
    )
    thread = threading.Thread(target=server.run, name="simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise WallTrackError(
                "the simulator server did not start", hint="see the log lines above for the cause"
            )
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving_process(
    params: SimParams,
    *,
    start_at: float | None = None,
    speed: float = 0.0,
    api_key: str | None = None,
    timeout: float = 600.0,
) -> Iterator[str]:
    """Yield the base URL of the market of ``params`` served by a child process.

    Same meaning as ``serving``: ``start_at`` defaults to the window's end (the whole
    history visible), ``speed`` 0 freezes the clock (move it with ``POST /sim/advance``).
    The child is stopped (SIGTERM, then SIGKILL after 10 s) when the block ends, and stops
    by itself if this process dies.
    """
    with SimulatorProcess(params, start_at=start_at, speed=speed, api_key=api_key) as sim:
        yield sim.wait_ready(timeout)


class SimulatorProcess:
    """``python -m walltrack.simulator serve`` in a child process, on a loopback port.

    The port is bound here and the listening socket handed to the child, so the URL is
    known at once (no port race) and requests made before the child is ready wait in the
    socket's backlog. Starting returns immediately, so the caller can work meanwhile::

        with SimulatorProcess(params, start_at=86_400.0) as sim:
            market = generate_market(params)  # the truth, while the child starts
            url = sim.wait_ready()
    """

    def __init__(
        self,
        params: SimParams,
        *,
        start_at: float | None = None,
        speed: float = 0.0,
        api_key: str | None = None,
        log_level: str = "WARNING",
    ) -> None:
        self.params = params
        self.start_at = _window_end(params) if start_at is None else start_at
        self.speed = speed
        self.api_key = api_key
        self.log_level = log_level
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._ready = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self.process is not None:
            raise WallTrackError("this simulator process was already started")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen(2048)
            self.port = int(sock.getsockname()[1])
            argv = [
                sys.executable,
                "-P",  # not the working directory first on sys.path: this package's code
                "-m",
                "walltrack.simulator",
                "serve",
                "--params",
                self.params.model_dump_json(),
                "--fd",
                str(sock.fileno()),
                "--speed",
                repr(float(self.speed)),
                "--start-at",
                repr(float(self.start_at)),
                "--exit-with-parent",
                "--log-level",
                self.log_level,
            ]
            if self.api_key is not None:
                argv += ["--api-key", self.api_key]
            with tempfile.NamedTemporaryFile(
                prefix="walltrack-simulator-", suffix=".log", delete=False
            ) as log_file:
                self._log_path = Path(log_file.name)
                self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
                    argv,
                    pass_fds=(sock.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=_child_env(),
                    start_new_session=True,  # a Ctrl-C reaches us; we stop the child
                )
        log.info("simulator_process_started", pid=self.process.pid, port=self.port)

    def wait_ready(self, timeout: float = 600.0) -> str:
        """Block until the child answers (it generates and renders the market first), check
        it serves the market asked for, and return its base URL."""
        if self.process is None:
            raise WallTrackError("start the simulator process first")
        started = time.monotonic()
        deadline = started + timeout
        with httpx.Client(base_url=self.url) as client:
            while True:
                if self.process.poll() is not None:
                    raise WallTrackError(
                        f"the simulator process exited with {self.process.returncode}",
                        hint="its output:\n" + self.log_tail(),
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WallTrackError(
                        f"the simulator process did not answer within {timeout:.0f} s",
                        hint="its output:\n" + self.log_tail(),
                    )
                try:
                    state = client.get("/sim/state", timeout=min(remaining, 5.0))
                    state.raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
        served = state.json()["params"]
        if served != orjson.loads(self.params.model_dump_json()):
            raise WallTrackError(
                "the simulator process serves another market", hint=f"it serves {served}"
            )
        self._ready = True
        log.info(
            "simulator_process_ready",
            pid=self.process.pid,
            port=self.port,
            seconds=round(time.monotonic() - started, 2),
        )
        return self.url

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM (uvicorn shuts down cleanly), SIGKILL if still running after ``grace``."""
        process = self.process
        if process is not None and process.poll() is not None and self._ready:
            # It went away during the run: say why before its output is deleted.
            log.warning(
                "simulator_process_died",
                pid=process.pid,
                returncode=process.returncode,
                output=self.log_tail(),
            )
        elif process is not None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("simulator_process_killed", pid=process.pid)
                process.kill()
                process.wait(timeout=grace)
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def log_tail(self, lines: int = 40) -> str:
        return file_tail(self._log_path, lines)


def file_tail(path: Path | None, lines: int = 40) -> str:
    """The last ``lines`` of a child's log file ("" when there is none)."""
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _child_env() -> dict[str, str]:
    """This process's environment, with this ``walltrack`` package first on the path: the
    child runs the same code as the caller (a worktree, an editable install…)."""
    root = str(Path(walltrack.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
