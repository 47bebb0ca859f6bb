"""create_app: every simulated API (Helius, DexScreener, Jupiter, Solana RPC) on one app."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from walltrack.logging import get_logger
from walltrack.simulator import api_dex, api_helius, api_jupiter, api_rpc, execution
from walltrack.simulator.http import JSON, error
from walltrack.simulator.live import Deliverer
from walltrack.simulator.market import Market
from walltrack.simulator.rendered import RenderedHistory
from walltrack.simulator.state import MarketState

log = get_logger(__name__)


def create_app(
    market: Market,
    speed: float = 1.0,
    *,
    start_at: float | None = None,
    api_key: str | None = None,
) -> Starlette:
    """The simulator app.

    ``speed``: simulated seconds per wall second. ``start_at``: simulated seconds after the
    market start where the clock begins (default: 80 % into the window — the past is
    history, the rest arrives live). ``api_key``: when set, Helius calls must carry it;
    otherwise any non-empty key is accepted.
    """
    started = time.perf_counter()
    state = MarketState(market, speed, start_at)
    log.info("simulator_state_built", seconds=round(time.perf_counter() - started, 2))
    history = RenderedHistory.start(state, visible=state.visible_seq())
    webhooks: dict[str, dict[str, Any]] = {}
    deliverer = Deliverer(state, webhooks)

    async def health(request: Request) -> JSON:
        return JSON({"status": "ok"})

    async def sim_state(request: Request) -> JSON:
        now = state.clock.now()
        start = market.params.start.timestamp()
        return JSON(
            {
                "params": orjson.loads(market.params.model_dump_json()),
                "sim_seconds": now,
                "sim_time": int(start + now),
                "slot": state.clock.slot(),
                "speed": state.clock.speed,
                "visible_transactions": state.visible_seq(now),
                "total_transactions": int(state.chain_t.size),
                "launched_tokens": len(state.launched(now)),
                "webhooks": len(webhooks),
                "deliveries_sent": deliverer.sent,
                "delivery_failures": deliverer.failed_attempts,
                "live_transactions": len(state.ledger.txs),
                "rendered_transactions": history.rendered,
            }
        )

    async def sim_advance(request: Request) -> JSON:
        body = orjson.loads(await request.body() or b"{}")
        seconds = float(body.get("seconds", 0))
        if seconds < 0:
            return error(400, "time only moves forward")
        state.clock.advance(seconds)
        return JSON({"sim_seconds": state.clock.now()})

    async def sim_airdrop(request: Request) -> JSON:
        body = orjson.loads(await request.body() or b"{}")
        try:
            sig = execution.airdrop(state, str(body["address"]), int(float(body["sol"]) * 1e9))
        except (KeyError, ValueError) as exc:
            return error(400, f"need address and sol: {exc}")
        return JSON({"signature": sig})

    async def sim_paper_fill(request: Request) -> JSON:
        body = orjson.loads(await request.body() or b"{}")
        try:
            q = api_jupiter.quote(state, {k: str(v) for k, v in body.items()})
        except (AttributeError, TypeError) as exc:
            return error(400, f"invalid body: {exc}")
        if isinstance(q, str):
            return error(400, q)
        out, impact = execution.paper_fill(state, api_jupiter.intent_of(q))
        return JSON(
            {"inAmount": q["inAmount"], "outAmount": str(out), "priceImpactPct": str(impact)}
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await deliverer.start()
        try:
            yield
        finally:
            history.close()
            await deliverer.stop()

    routes = [
        Route("/health", health),
        Route("/sim/state", sim_state),
        Route("/sim/advance", sim_advance, methods=["POST"]),
        Route("/sim/airdrop", sim_airdrop, methods=["POST"]),
        Route("/sim/paper-fill", sim_paper_fill, methods=["POST"]),
        *api_helius.routes(state, history, api_key, webhooks),
        *api_dex.routes(state),
        *api_jupiter.routes(state),
        *api_rpc.routes(state),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sim = state
    app.state.history = history
    app.state.deliverer = deliverer
    return app
