"""Live phase: deliveries to a real receiver, with auth, batching, retries and duplicates."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import orjson
import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.harness.app_server import ThreadServer
from walltrack.simulator import Market
from walltrack.simulator.server import create_app

KEY = {"api-key": "k"}


class Receiver:
    """A webhook endpoint that fails its first ``fail_first`` deliveries with a 500."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.calls: list[tuple[str | None, list[dict[str, Any]], bytes]] = []
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.calls.append((request.headers.get("authorization"), orjson.loads(body), body))
            failing = len(self.calls) <= self.fail_first
        return Response(status_code=500 if failing else 200)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.handle, methods=["POST"])])


def test_webhook_crud_and_auth(client: httpx.Client) -> None:
    assert client.get("/v0/webhooks").status_code == 401
    spec = {
        "webhookURL": "http://127.0.0.1:9/x",
        "transactionTypes": ["SWAP"],
        "accountAddresses": ["a"],
        "webhookType": "enhanced",
        "authHeader": "Bearer s3cret",
    }
    created = client.post("/v0/webhooks", params=KEY, json=spec).json()
    hook_id = created["webhookID"]
    assert created["authHeader"] == "Bearer s3cret"
    assert [h["webhookID"] for h in client.get("/v0/webhooks", params=KEY).json()] == [hook_id]
    edited = client.put(
        f"/v0/webhooks/{hook_id}", params=KEY, json={"accountAddresses": ["a", "b"]}
    ).json()
    assert edited["accountAddresses"] == ["a", "b"] and edited["webhookURL"] == spec["webhookURL"]
    assert client.get(f"/v0/webhooks/{hook_id}", params=KEY).json()["accountAddresses"] == [
        "a",
        "b",
    ]
    assert client.delete(f"/v0/webhooks/{hook_id}", params=KEY).status_code == 200
    assert client.get(f"/v0/webhooks/{hook_id}", params=KEY).status_code == 404
    assert client.post("/v0/webhooks", params=KEY, json={"webhookURL": "nope"}).status_code == 400


def test_live_delivery_auth_batching_retry_duplicates(small_market: Market) -> None:
    swaps = small_market.swaps
    busy = swaps.group_by("wallet").len().sort("len", descending=True)["wallet"].head(40).to_list()
    watched_swaps = swaps.filter(pl.col("wallet").is_in(pl.Series(busy).implode()))
    start = float(watched_swaps["t"].median())
    receiver = Receiver(fail_first=1)
    speed = 600.0  # retries a simulated minute apart → 0.1 s of wall time
    with (
        ThreadServer(receiver.app()) as rx,
        ThreadServer(create_app(small_market, speed=speed, start_at=start)) as sim,
        httpx.Client(base_url=sim.url, timeout=10) as c,
    ):
        spec = {
            "webhookURL": f"{rx.url}/hook",
            "transactionTypes": ["ANY"],
            "accountAddresses": busy,
            "webhookType": "enhanced",
            "authHeader": "Bearer hook-secret",
        }
        assert c.post("/v0/webhooks", params=KEY, json=spec).status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with receiver.lock:
                ok = len(receiver.calls) >= 4
            if ok:
                break
            time.sleep(0.1)
        state = c.get("/sim/state").json()
    calls = list(receiver.calls)
    assert len(calls) >= 4, state
    assert all(auth == "Bearer hook-secret" for auth, _, _ in calls)
    assert all(isinstance(body, list) and body for _, body, _ in calls)
    assert max(len(body) for _, body, _ in calls) > 1, "transactions of a tick arrive batched"
    # Keys arrive sorted, like Helius deliveries.
    first_tx = calls[0][1][0]
    assert list(first_tx) == sorted(first_tx)
    # The batch answered with 500 was retried: the same transactions arrived twice.
    assert calls[1][2] == calls[0][2]
    delivered = Counter(tx["signature"] for _, body, _ in calls for tx in body)
    assert max(delivered.values()) == 2
    failed = set(small_market.failed["signature"].to_list())
    watched = set(busy)
    for _, body, _ in calls:
        for tx in body:
            assert tx["transactionError"] is None and tx["signature"] not in failed
            parties = {tx["feePayer"]} | {n["toUserAccount"] for n in tx["nativeTransfers"]}
            assert parties & watched
    # Everything delivered happened in the simulated window, in chain order per batch.
    rows = swaps.filter(pl.col("signature").is_in(pl.Series(list(delivered)).implode()))
    assert rows["t"].min() >= start
    assert state["delivery_failures"] >= 1
