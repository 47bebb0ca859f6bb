"""Serve a simulated market in-process (uvicorn in a background thread) for evaluation.

The research pipeline then reaches it over real HTTP on 127.0.0.1, exactly as it would
reach Helius, DexScreener, Jupiter and an RPC node.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from walltrack.errors import WallTrackError
from walltrack.simulator import Market
from walltrack.simulator.server import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(market: Market, *, start_at: float | None = None, speed: float = 0.0,
            timeout: float = 60.0) -> Iterator[str]:
    """Yield the base URL of ``market`` served on a free loopback port."""
    if start_at is None:  # the window's end: the whole history is visible
        start_at = market.params.days * 86_400.0
    app = create_app(market, speed=speed, start_at=start_at)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise WallTrackError("the simulator server did not start",
                                 hint="see the log lines above for the cause")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
