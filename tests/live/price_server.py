"""A tiny /price/v3 server on 127.0.0.1 in Jupiter's shape (the edge of the world), whose
prices a test sets between runs; every request's ids are recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.harness.app_server import ThreadServer


@dataclass
class PriceBook:
    prices: dict[str, float] = field(default_factory=dict)  # mint → USD; absent: not priced
    failing: bool = False  # answer 500 to every request
    requests: list[list[str]] = field(default_factory=list)  # the ids of each request

    def app(self) -> Starlette:
        async def price_v3(request: Request) -> JSONResponse:
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            self.requests.append(ids)
            if self.failing:
                return JSONResponse({"error": "internal"}, status_code=500)
            # Jupiter's shape (fixtures/real/jupiter/price_v3_sol_jup.json); unknown mints
            # are simply left out.
            return JSONResponse({
                mint: {"createdAt": "2026-02-28T10:00:00.000Z", "liquidity": 50_000.0,
                       "usdPrice": self.prices[mint], "blockId": 400_000_000,
                       "decimals": 6, "priceChange24h": 1.5}
                for mint in ids[:50] if mint in self.prices})

        return Starlette(routes=[Route("/price/v3", price_v3)])


class PriceServer(ThreadServer):
    """Real uvicorn in a thread serving a :class:`PriceBook`."""

    def __init__(self, book: PriceBook) -> None:
        super().__init__(book.app(), lifespan="auto")
        self.book = book


@pytest.fixture(name="price_server")
def price_server_fixture() -> Iterator[PriceServer]:
    """A fresh price server per test (imported by the test modules that use it)."""
    with PriceServer(PriceBook()) as server:
        yield server
