"""Shared fixtures: one small market per session, served by a real uvicorn on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.harness.processes import free_port
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"


class ThreadServer:
    """A real uvicorn server in a thread (the app under test is never mocked)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def small_market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="session")
def sim(small_market: Market) -> Iterator[ThreadServer]:
    """Frozen clock (speed 0): what is visible does not change during the session."""
    with ThreadServer(create_app(small_market, speed=0.0)) as server:
        yield server


@pytest.fixture(scope="session")
def client(sim: ThreadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=30) as c:
        yield c
