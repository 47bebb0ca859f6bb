"""A live server (the real app under uvicorn) over a fresh store, with a chosen watchlist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness.app_server import serve_app
from tests.live.helpers import AUTH, FixedTokens
from walltrack.app.factory import create_app
from walltrack.settings import Settings
from walltrack.store import Database, open_database


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
                     tokens=lambda _s, _d: tokens)
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
