"""Helius: enhanced transactions (history, parse) and webhook management."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route

from walltrack.simulator import render
from walltrack.simulator.http import JSON, error
from walltrack.simulator.rendered import RenderedHistory
from walltrack.simulator.state import MarketState

MAX_WEBHOOK_ADDRESSES = 100_000
WEBHOOK_TYPES = {"enhanced", "enhancedDevnet", "raw", "rawDevnet", "discord", "discordDevnet"}


def render_refs(
    state: MarketState, history: RenderedHistory, refs: list[int | dict[str, Any]]
) -> bytes:
    """A JSON array of transactions: generated ones (chain positions) from the bulk-rendered
    history, live ones (rows: their state can still change) rendered now."""
    seqs = [r for r in refs if isinstance(r, int)]
    stored = history.bodies(seqs)
    if None in stored:  # still rendering in the background: render these rows here
        missing = [s for s, body in zip(seqs, stored, strict=True) if body is None]
        fresh = iter([orjson.dumps(render.enhanced(row)) for row in state.rows_at(missing)])
        stored = [body if body is not None else next(fresh) for body in stored]
    generated = iter(stored)
    parts = [
        next(generated) if isinstance(r, int) else orjson.dumps(render.enhanced(r)) for r in refs
    ]
    if not parts:
        return b"[]"
    # Brackets on the end parts: one join, never a copy of the whole page (a page is
    # ≈ 440 kB; each extra copy of it costs more than decompressing it).
    parts[0] = b"[" + parts[0]
    parts[-1] += b"]"
    return b",".join(parts)


def _authorized(request: Request, api_key: str | None) -> bool:
    given = request.query_params.get("api-key", "")
    if not given:
        return False
    return api_key is None or hmac.compare_digest(given, api_key)


def _unauthorized() -> JSON:
    return JSON(
        {"jsonrpc": "2.0", "error": {"code": -32401, "message": "invalid api key provided"}},
        status_code=401,
    )


def routes(
    state: MarketState,
    rendered: RenderedHistory,
    api_key: str | None,
    webhooks: dict[str, dict[str, Any]],
) -> list[Route]:

    async def history(request: Request) -> JSON:
        if not _authorized(request, api_key):
            return _unauthorized()
        q = request.query_params
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            return error(400, "limit must be an integer")
        if not 1 <= limit <= 100:
            return error(400, "limit must be between 1 and 100")
        address = request.path_params["address"]
        before = q.get("before") or q.get("before-signature")
        until = q.get("until") or q.get("until-signature")
        type_filter = q.get("type")
        refs = state.history_refs(
            address, limit=limit, before=before, until=until, type_filter=type_filter
        )
        return JSON(render_refs(state, rendered, refs))

    async def parse(request: Request) -> JSON:
        if not _authorized(request, api_key):
            return _unauthorized()
        try:
            body = orjson.loads(await request.body())
            sigs = body["transactions"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return error(400, 'body must be {"transactions": [signatures]}')
        if not isinstance(sigs, list) or len(sigs) > 100:
            return error(400, "transactions must be a list of at most 100 signatures")
        refs = [state.find_ref(str(s)) for s in sigs]
        return JSON(render_refs(state, rendered, [r for r in refs if r is not None]))

    def _webhook_from(body: dict[str, Any], webhook_id: str) -> dict[str, Any] | str:
        url = body.get("webhookURL")
        types = body.get("transactionTypes")
        addresses = body.get("accountAddresses")
        kind = body.get("webhookType", "enhanced")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return "webhookURL must be an http(s) URL"
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return "transactionTypes must be a list of strings"
        if not isinstance(addresses, list) or len(addresses) > MAX_WEBHOOK_ADDRESSES:
            return f"accountAddresses must be a list of at most {MAX_WEBHOOK_ADDRESSES}"
        if kind not in WEBHOOK_TYPES:
            return f"webhookType must be one of {sorted(WEBHOOK_TYPES)}"
        hook = {
            "webhookID": webhook_id,
            "wallet": "SimWebhookOwner11111111111111111111111111111",
            "webhookURL": url,
            "transactionTypes": [t.upper() for t in types],
            "accountAddresses": [str(a) for a in addresses],
            "webhookType": kind,
            "authHeader": body.get("authHeader") or "",
        }
        if body.get("txnStatus"):
            hook["txnStatus"] = body["txnStatus"]
        return hook

    async def create_webhook(request: Request) -> JSON:
        if not _authorized(request, api_key):
            return _unauthorized()
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return error(400, "invalid JSON")
        hook = _webhook_from(body if isinstance(body, dict) else {}, str(uuid.uuid4()))
        if isinstance(hook, str):
            return error(400, hook)
        webhooks[hook["webhookID"]] = hook
        return JSON(hook)

    async def list_webhooks(request: Request) -> JSON:
        if not _authorized(request, api_key):
            return _unauthorized()
        return JSON(list(webhooks.values()))

    async def one_webhook(request: Request) -> JSON:
        if not _authorized(request, api_key):
            return _unauthorized()
        webhook_id = request.path_params["webhook_id"]
        hook = webhooks.get(webhook_id)
        if hook is None:
            return error(404, "webhook not found")
        if request.method == "GET":
            return JSON(hook)
        if request.method == "DELETE":
            del webhooks[webhook_id]
            return JSON(b"{}")
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return error(400, "invalid JSON")
        merged = {**hook, **(body if isinstance(body, dict) else {})}
        new = _webhook_from(merged, webhook_id)
        if isinstance(new, str):
            return error(400, new)
        webhooks[webhook_id] = new
        return JSON(new)

    return [
        Route("/v0/addresses/{address}/transactions", history, methods=["GET"]),
        Route("/v0/transactions", parse, methods=["POST"]),
        Route("/v0/webhooks", create_webhook, methods=["POST"]),
        Route("/v0/webhooks", list_webhooks, methods=["GET"]),
        Route("/v0/webhooks/{webhook_id}", one_webhook, methods=["GET", "PUT", "DELETE"]),
    ]
