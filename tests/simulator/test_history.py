"""Helius address history: newest first, before/until pagination, type filter, visibility."""

from __future__ import annotations

import httpx
import polars as pl

from walltrack.simulator import Market

KEY = {"api-key": "k"}


def _busiest(market: Market, seen: int) -> str:
    s = market.swaps.filter(pl.col("seq") < seen)
    return s.group_by("wallet").len().sort("len", descending=True)["wallet"][0]


def test_pages_walk_the_whole_history_newest_first(
    client: httpx.Client, small_market: Market
) -> None:
    seen = client.get("/sim/state").json()["visible_transactions"]
    wallet = _busiest(small_market, seen)
    expected = (
        pl.concat(
            [
                small_market.swaps.filter(pl.col("wallet") == wallet).select("signature", "seq"),
                small_market.failed.filter(pl.col("wallet") == wallet).select("signature", "seq"),
                small_market.transfers.filter(
                    (pl.col("source") == wallet) | (pl.col("destination") == wallet)
                ).select("signature", "seq"),
            ]
        )
        .filter(pl.col("seq") < seen)
        .sort("seq", descending=True)["signature"]
        .to_list()
    )
    got: list[str] = []
    before = None
    while True:
        params = KEY | {"limit": 7} | ({"before": before} if before else {})
        page = client.get(f"/v0/addresses/{wallet}/transactions", params=params).json()
        if not page:
            break
        assert len(page) <= 7
        got += [t["signature"] for t in page]
        before = page[-1]["signature"]
    assert got == expected
    timestamps = [
        t["timestamp"]
        for t in client.get(f"/v0/addresses/{wallet}/transactions", params=KEY).json()
    ]
    assert timestamps == sorted(timestamps, reverse=True)
    # until stops before the given signature.
    until = expected[5]
    page = client.get(f"/v0/addresses/{wallet}/transactions", params=KEY | {"until": until}).json()
    assert [t["signature"] for t in page] == expected[:5]


def test_type_filter_limit_and_errors(client: httpx.Client, small_market: Market) -> None:
    seen = client.get("/sim/state").json()["visible_transactions"]
    wallet = _busiest(small_market, seen)
    swaps_only = client.get(
        f"/v0/addresses/{wallet}/transactions", params=KEY | {"type": "SWAP"}
    ).json()
    assert swaps_only and all(t["type"] == "SWAP" for t in swaps_only)
    transfers = client.get(
        f"/v0/addresses/{wallet}/transactions", params=KEY | {"type": "TRANSFER"}
    ).json()
    assert all(t["type"] == "TRANSFER" for t in transfers)
    assert (
        client.get(f"/v0/addresses/{wallet}/transactions", params=KEY | {"limit": 101}).status_code
        == 400
    )
    assert client.get(f"/v0/addresses/{wallet}/transactions").status_code == 401
    # A token's history (by mint) holds every trader's swaps, and nothing from the future.
    mint = small_market.swaps.filter(pl.col("seq") < seen)["mint"][-1]
    page = client.get(f"/v0/addresses/{mint}/transactions", params=KEY).json()
    assert len(page) > 1 and len({t["feePayer"] for t in page}) > 1
    future = small_market.swaps.filter(pl.col("seq") >= seen)["signature"].head(3).to_list()
    assert client.post("/v0/transactions", params=KEY, json={"transactions": future}).json() == []

