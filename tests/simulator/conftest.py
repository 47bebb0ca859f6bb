"""Shared fixtures: one small market per session, served by a real uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.app_server import ThreadServer
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"


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
