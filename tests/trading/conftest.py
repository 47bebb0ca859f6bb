"""Shared fixtures of the trading tests: one small simulated market per session, served by a
real uvicorn on loopback (its Jupiter and Solana RPC are what the trading code talks to)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.app_server import ThreadServer
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app


@pytest.fixture(scope="session")
def small_market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="session")
def sim_server(small_market: Market) -> Iterator[ThreadServer]:
    """Frozen clock (speed 0). Shared by the session: tests that move pools (send swaps)
    should start their own server instead."""
    with ThreadServer(create_app(small_market, speed=0.0)) as server:
        yield server
