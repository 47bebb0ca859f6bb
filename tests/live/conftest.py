"""Live tests: the real app under uvicorn over a fresh store, and a simulator of their own
(its webhooks and clock are theirs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.harness.app_server import ThreadServer, serve_app
from tests.live.helpers import AUTH, FixedTokens
from walltrack.app.factory import create_app
from walltrack.models import Wallet
from walltrack.settings import Settings
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app as create_sim_app
from walltrack.store import Database, open_database
from walltrack.store.repositories import WalletRepository

SIM_KEY = "live-key"


@pytest.fixture
def live_settings(make_settings: Callable[..., Settings], db_url: str) -> Settings:
    return make_settings(database_url=db_url, webhook_auth_header=AUTH,
                         signal_source="webhook", inbox_workers=2)


@pytest.fixture
def tokens() -> FixedTokens:
    return FixedTokens()


@pytest.fixture
def live_url(live_settings: Settings, tokens: FixedTokens, db: Database) -> Iterator[str]:
    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: tokens)
    with serve_app(app) as url:
        yield url


def watch(db: Database, *wallets: str, score: float = 0.8, cluster: str | None = None,
          status: str = "ok", **extra: Any) -> None:
    """Put wallets on the watchlist the way research does (rows in ``wallets``)."""
    with db.connection() as conn:
        for wallet in wallets:
            conn.execute(
                """INSERT INTO wallets (address, first_seen_at, status, on_watchlist, score,
                                        cluster_id, lifecycle)
                   VALUES (%s, now(), %s, %s, %s, %s, 'watchlisted')
                   ON CONFLICT (address) DO UPDATE SET on_watchlist = EXCLUDED.on_watchlist,
                       score = EXCLUDED.score, status = EXCLUDED.status""",
                (wallet, status, status != "blacklisted", score, cluster))


@pytest.fixture(scope="session")
def live_market() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="module")
def live_sim(live_market: Market) -> Iterator[ThreadServer]:
    """A frozen clock (speed 0) that only ``POST /sim/advance`` moves."""
    with ThreadServer(create_sim_app(live_market, speed=0.0, api_key=SIM_KEY)) as server:
        yield server


@pytest.fixture
def sim_http(live_sim: ThreadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_sim.url, timeout=30) as client:
        yield client


def put_on_watchlist(db: Database, addresses: list[str], *, on: bool = True) -> None:
    WalletRepository(db).upsert_many(
        Wallet(address=a, on_watchlist=on) for a in addresses)
