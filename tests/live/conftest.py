"""The live sources against a simulator of their own (its webhooks and clock are theirs)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.simulator.conftest import ThreadServer
from walltrack.models import Wallet
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database
from walltrack.store.repositories import WalletRepository

SIM_KEY = "live-key"


@pytest.fixture(scope="session")
def live_market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="module")
def live_sim(live_market: Market) -> Iterator[ThreadServer]:
    """A frozen clock (speed 0) that only ``POST /sim/advance`` moves."""
    with ThreadServer(create_app(live_market, speed=0.0, api_key=SIM_KEY)) as server:
        yield server


@pytest.fixture
def sim_http(live_sim: ThreadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_sim.url, timeout=30) as client:
        yield client


def watch(db: Database, addresses: list[str], *, on: bool = True) -> None:
    WalletRepository(db).upsert_many(
        Wallet(address=a, on_watchlist=on) for a in addresses)
