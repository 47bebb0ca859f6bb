"""DexScreener: boosts, profiles, pairs by token, search — from live pool state."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.routing import Route

from walltrack.simulator.http import JSON, error
from walltrack.simulator.render import SOL_MINT
from walltrack.simulator.state import MarketState

DEX_IDS = {
    "pump_amm": "pumpswap",
    "raydium": "raydium",
    "meteora_dbc": "meteora",
    "orca": "orca",
    "meteora": "meteora",
}
LABELS = {
    "pump_amm": [],
    "raydium": ["v4"],
    "meteora_dbc": ["DBC"],
    "orca": ["wp"],
    "meteora": ["DLMM"],
}
WINDOWS = (("m5", 300.0), ("h1", 3600.0), ("h6", 6 * 3600.0), ("h24", 86400.0))


def _num(x: float) -> float:
    return float(f"{x:.6g}")


def pair(state: MarketState, mint: str, now: float) -> dict[str, Any]:
    tok = state.tokens[mint]
    sol, token = state.pool(mint, now)
    dec = tok["decimals"]
    price = (sol / 1e9) / (token / 10**dec) if token else 0.0
    usd = price * state.sol_usd
    supply = tok["supply_raw"] / 10**dec
    s = state.pool_series.get(mint)
    txns: dict[str, dict[str, int]] = {}
    volume: dict[str, float] = {}
    change: dict[str, float] = {}
    for name, span in WINDOWS:
        if s is None:
            txns[name] = {"buys": 0, "sells": 0}
            volume[name] = 0.0
            continue
        hi = int(np.searchsorted(s["t"], now, side="right"))
        lo = int(np.searchsorted(s["t"], now - span, side="right"))
        buys = int(s["buy_cum"][hi - 1] - (s["buy_cum"][lo - 1] if lo else 0)) if hi else 0
        vol = int(s["vol_cum"][hi - 1] - (s["vol_cum"][lo - 1] if lo else 0)) if hi else 0
        txns[name] = {"buys": buys, "sells": (hi - lo) - buys}
        volume[name] = round(vol / 1e9 * state.sol_usd, 2)
        # Against the price a window ago (or at launch for younger pairs).
        before = state.price_sol(mint, max(now - span, float(tok["launch_t"])))
        if before > 0:
            change[name] = round((price / before - 1) * 100, 2)
    out: dict[str, Any] = {
        "chainId": "solana",
        "dexId": DEX_IDS[tok["venue"]],
        "url": f"https://dexscreener.com/solana/{tok['pool'].lower()}",
        "pairAddress": tok["pool"],
        "labels": LABELS[tok["venue"]],
        "baseToken": {"address": mint, "name": tok["name"], "symbol": tok["symbol"]},
        "quoteToken": {"address": SOL_MINT, "name": "Wrapped SOL", "symbol": "SOL"},
        "priceNative": f"{price:.10g}",
        "priceUsd": f"{usd:.10g}",
        "txns": txns,
        "volume": {k: volume[k] for k in ("h24", "h6", "h1", "m5")},
        "priceChange": {k: change[k] for k in ("h1", "h6", "h24", "m5") if k in change},
        "liquidity": {
            "usd": round(2 * sol / 1e9 * state.sol_usd, 2),
            "base": _num(token / 10**dec),
            "quote": _num(sol / 1e9),
        },
        "fdv": round(usd * supply),
        "marketCap": round(usd * supply),
        "pairCreatedAt": int((state.market.params.start.timestamp() + tok["launch_t"]) * 1000),
    }
    i = state.token_order.index(mint)
    if state.profile_t[i] <= now:
        out["info"] = {
            "imageUrl": f"https://cdn.dexscreener.com/cms/images/{mint[:16]}?width=64&height=64&quality=90",
            "header": f"https://cdn.dexscreener.com/cms/images/{mint[-16:]}?width=128&height=128&quality=90",
            "openGraph": f"https://cdn.dexscreener.com/token-images/og/solana/{mint}",
            "websites": [{"url": f"https://{tok['name'].lower()}.fun/", "label": "Website"}],
            "socials": [{"url": f"https://x.com/{tok['symbol'].lower()}", "type": "twitter"}],
        }
    if state.boost_t[i] <= now:
        out["boosts"] = {"active": int(state.boost_amount[i])}
    return out


def _listing(state: MarketState, i: int, boosted: bool) -> dict[str, Any]:
    mint = state.token_order[i]
    tok = state.tokens[mint]
    item: dict[str, Any] = {
        "url": f"https://dexscreener.com/solana/{mint.lower()}",
        "chainId": "solana",
        "tokenAddress": mint,
        "icon": hashlib.sha256(mint.encode()).hexdigest()
        if boosted
        else f"https://cdn.dexscreener.com/cms/images/{mint[:16]}",
        "header": f"https://cdn.dexscreener.com/cms/images/{mint[-16:]}?width=900&height=300",
        "openGraph": f"https://cdn.dexscreener.com/token-images/og/solana/{mint}",
        "description": f"{tok['name']} ({tok['symbol']}) — community token on Solana",
        "links": [
            {"url": f"https://{tok['name'].lower()}.fun/"},
            {"type": "twitter", "url": f"https://x.com/{tok['symbol'].lower()}"},
        ],
    }
    if boosted:
        item["totalAmount"] = int(state.boost_total[i])
        item["amount"] = int(state.boost_amount[i])
    else:
        item["cto"] = False
    return item


def routes(state: MarketState) -> list[Route]:
    def _mints(raw: str) -> list[str]:
        return [m for m in raw.split(",") if m][:30]

    async def boosts_latest(request: Request) -> JSON:
        now = state.clock.now()
        idx = np.flatnonzero(state.boost_t <= now)
        idx = idx[np.argsort(-state.boost_t[idx], kind="stable")][:30]
        return JSON([_listing(state, int(i), True) for i in idx])

    async def boosts_top(request: Request) -> JSON:
        now = state.clock.now()
        # Active boosts only: a boost lasts 24 h here.
        idx = np.flatnonzero((state.boost_t <= now) & (state.boost_t > now - 86400))
        idx = idx[np.argsort(-state.boost_total[idx], kind="stable")][:30]
        return JSON([_listing(state, int(i), True) for i in idx])

    async def profiles_latest(request: Request) -> JSON:
        now = state.clock.now()
        idx = np.flatnonzero(state.profile_t <= now)
        idx = idx[np.argsort(-state.profile_t[idx], kind="stable")][:30]
        return JSON([_listing(state, int(i), False) for i in idx])

    def _pairs(mints: list[str]) -> list[dict[str, Any]]:
        now = state.clock.now()
        return [
            pair(state, m, now)
            for m in mints
            if m in state.tokens and state.tokens[m]["launch_t"] <= now
        ]

    async def tokens_v1(request: Request) -> JSON:
        if request.path_params["chain"] != "solana":
            return JSON([])
        mints = request.path_params["mints"].split(",")
        if len(mints) > 30:
            return error(400, "at most 30 token addresses")
        return JSON(_pairs(mints))

    async def token_pairs(request: Request) -> JSON:
        if request.path_params["chain"] != "solana":
            return JSON([])
        return JSON(_pairs([request.path_params["mint"]]))

    async def latest_tokens(request: Request) -> JSON:
        return JSON(
            {"schemaVersion": "1.0.0", "pairs": _pairs(_mints(request.path_params["mints"]))}
        )

    async def search(request: Request) -> JSON:
        q = request.query_params.get("q", "").strip().lower()
        if not q:
            return error(400, "q is required")
        now = state.clock.now()
        hits = [
            m
            for m in state.launched(now)
            if q in m.lower()
            or q in state.tokens[m]["symbol"].lower()
            or q in state.tokens[m]["name"].lower()
        ][:30]
        return JSON({"schemaVersion": "1.0.0", "pairs": [pair(state, m, now) for m in hits]})

    return [
        Route("/token-boosts/latest/v1", boosts_latest),
        Route("/token-boosts/top/v1", boosts_top),
        Route("/token-profiles/latest/v1", profiles_latest),
        Route("/tokens/v1/{chain}/{mints}", tokens_v1),
        Route("/token-pairs/v1/{chain}/{mint}", token_pairs),
        Route("/latest/dex/tokens/{mints}", latest_tokens),
        Route("/latest/dex/search", search),
    ]
