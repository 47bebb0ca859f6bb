"""A small simulated market served over real HTTP (uvicorn in a thread) for acquisition tests.

The clock is frozen at the window's end (``start_at`` = the window length, speed 0) so every
swap of the market is visible and the market's frames are the truth to compare against.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness.app_server import ThreadServer
from walltrack.clients.base import ClientPolicy
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app

FAST = ClientPolicy(rate_per_second=1000.0, burst=100)  # the simulator needs no throttling
API_KEY = "test-key"


def market_end(market: Market) -> datetime:
    return market.params.start.astimezone(UTC) + timedelta(days=market.params.days)


@pytest.fixture(scope="module")
def acq_market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="module")
def acq_sim(acq_market: Market) -> Iterator[ThreadServer]:
    seconds = acq_market.params.days * 86400.0
    app = create_app(acq_market, speed=0.0, start_at=seconds, api_key=API_KEY)
    with ThreadServer(app) as server:
        yield server
