"""``POST /webhooks/helius``: authenticate, bound, validate, store, then acknowledge.

Order of the checks (each answers before the next runs, none reaches the pipeline):
``401`` Authorization absent or wrong (constant-time compare) → ``415`` not JSON →
``413`` body over ``WALLTRACK_WEBHOOK_MAX_BODY_BYTES`` (refused from Content-Length, or
while streaming, without reading it whole) → ``400`` not a JSON array of objects with a
signature. Then every transaction is committed to the inbox (group commit) and only then
the ``200 {"accepted", "duplicates"}`` leaves; a store failure answers ``503`` so Helius
retries.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from walltrack.app.errors import error_body
from walltrack.clients.usage import UsageMeter
from walltrack.errors import StoreError
from walltrack.live.inbox import InboxEntry, InboxWriter
from walltrack.logging import get_logger
from walltrack.models import SignalSource

log = get_logger(__name__)

MAX_TRANSACTIONS = 10_000  # a Helius delivery holds at most 100; anything bigger is abuse


def authorized(presented: str | None, expected: bytes) -> bool:
    """Constant-time comparison of the Authorization header with the configured secret."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected)


async def read_bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class DeliveryError(ValueError):
    pass


def entries_of(body: bytes) -> list[InboxEntry]:
    """A delivery's transactions as inbox entries; DeliveryError names what is wrong."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DeliveryError("the body is not valid JSON") from None
    if not isinstance(data, list):
        raise DeliveryError(f"a delivery must be a JSON array, not {type(data).__name__}")
    if len(data) > MAX_TRANSACTIONS:
        raise DeliveryError(f"a delivery holds at most {MAX_TRANSACTIONS} transactions")
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise DeliveryError(f"item {i} is a {type(item).__name__}, not an object")
        signature = item.get("signature")
        if not isinstance(signature, str) or not 32 <= len(signature) <= 100:
            raise DeliveryError(f"item {i} has no transaction signature (an enhanced "
                                "webhook sends one per transaction)")
        entries.append(InboxEntry(signature, orjson.dumps(item)))
    return entries


def make_webhook_route(secret: bytes, writer_of: Callable[[Request], InboxWriter],
                       meter_of: Callable[[Request], UsageMeter],
                       max_body: int) -> Callable[[Request], Awaitable[Response]]:
    async def helius_webhook(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), secret):
            log.warning("webhook_refused", client=request.client.host if request.client
                        else None, header_present="authorization" in request.headers)
            return error_body("unauthorized", "missing or wrong Authorization header", 401)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return error_body("unsupported_media_type",
                              "send the delivery as application/json", 415)
        body = await read_bounded(request, max_body)
        if body is None:
            return error_body("payload_too_large",
                              f"the body exceeds {max_body} bytes "
                              "(WALLTRACK_WEBHOOK_MAX_BODY_BYTES)", 413)
        try:
            entries = entries_of(body)
        except DeliveryError as exc:
            return error_body("bad_delivery", str(exc), 400)
        writer: InboxWriter = writer_of(request)
        meter_of(request).record_webhook_events(len(entries))  # Helius bills each event
        try:
            ack = await writer.submit(entries, SignalSource.webhook)
        except StoreError as exc:
            log.error("webhook_store_failed", transactions=len(entries), error=str(exc))
            return error_body("store_unavailable", "the inbox could not store the delivery; "
                              "retry later", 503)
        return JSONResponse(ack.model_dump())

    return helius_webhook
