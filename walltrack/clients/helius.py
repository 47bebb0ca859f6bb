"""Helius: enhanced transactions (history by address, parse by signatures), webhooks, and
webhook deliveries. The swap normalizer (``to_swaps`` / ``parse_swaps``) lives in
``helius_swaps`` and the plain-transfer parser in ``helius_transfers``; both are re-exported
here, and ``EnhancedTransaction`` gives their parsed models (``swaps``, ``parse_swaps``,
``sol_transfers``) so that callers never read the raw payload.

Fallback: when Helius history is unavailable, ``swaps_for_address(..., rpc=...)`` reads the
same history through Solana RPC (signatures + getTransaction) and normalizes it with the
same rules (balance changes), so callers get swaps either way and are told which source.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import ConfigDict, Field, SecretStr, SkipValidation

from walltrack.clients.base import ApiClient, ClientPolicy, decode_json, parse_model
from walltrack.clients.helius_swaps import (
    DropReason,
    SwapParse,
    TraderBasis,
    parse_swaps,
    to_swaps,
)
from walltrack.clients.helius_transfers import sol_transfers
from walltrack.clients.models import ApiModel
from walltrack.clients.usage import UsageMeter, helius_rest_credits
from walltrack.errors import ExternalAPIError, PayloadShapeError
from walltrack.logging import get_logger
from walltrack.models import FundingTransfer, Swap

if TYPE_CHECKING:
    from walltrack.clients.solana_rpc import SolanaRpcClient
    from walltrack.settings import Settings

__all__ = [
    "HELIUS_POLICY",
    "DropReason",
    "EnhancedTransaction",
    "HeliusClient",
    "HistoryResult",
    "SwapParse",
    "TraderBasis",
    "Webhook",
    "WebhookSpec",
    "helius_policy",
    "parse_delivery",
    "parse_swaps",
    "sol_transfers",
    "to_swaps",
]



def helius_policy(rate_per_second: float) -> ClientPolicy:
    """The enhanced-API policy for a plan's rate limit (``Settings.helius_limits``)."""
    return ClientPolicy(rate_per_second=rate_per_second, burst=max(1, math.ceil(rate_per_second)),
                        read_timeout=20.0)


# The free plan's published limit on the enhanced API (DAS & Enhanced APIs group): 2
# requests/s (developer 10, business 50, professional 100 — walltrack.settings.HELIUS_PLANS).
# ``from_settings`` picks the configured plan's; pass ``policy=`` to override.
HELIUS_POLICY = helius_policy(2.0)
PARSE_BATCH = 100  # POST /v0/transactions takes up to 100 signatures
log = get_logger("walltrack.clients.helius")


class EnhancedTransaction(ApiModel):
    """The typed head of an enhanced transaction. Its swaps and plain SOL transfers come as
    parsed models from the methods below; ``raw`` keeps the payload for those parsers only
    (callers outside ``clients/`` never read it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    signature: str
    type: str = "UNKNOWN"
    source: str = "UNKNOWN"
    timestamp: int | None = None
    slot: int | None = None
    fee: int | None = None
    fee_payer: str | None = Field(default=None, alias="feePayer")
    transaction_error: Any = Field(default=None, alias="transactionError")
    description: str | None = None
    # Kept as given (not copied by validation): the parsers read it, nothing mutates it.
    raw: SkipValidation[dict[str, Any]] = Field(default_factory=dict, repr=False, exclude=True)

    @classmethod
    def from_raw(cls, item: Any) -> EnhancedTransaction:
        if not isinstance(item, dict):
            raise PayloadShapeError("an enhanced transaction must be a JSON object")
        signature = item.get("signature")
        if not isinstance(signature, str):
            raise PayloadShapeError(
                "no signature: not an enhanced transaction (a raw webhook payload?)",
                signature=to_signature(item),
            )
        try:
            return cls.model_validate({**item, "raw": item})
        except ValueError as exc:
            raise PayloadShapeError(f"unexpected shape: {exc}", signature=signature) from None

    @property
    def failed(self) -> bool:
        return self.transaction_error is not None

    def swaps(self, wallet: str | None = None) -> list[Swap]:
        """Its swaps (``to_swaps``); raises ``PayloadShapeError`` for a broken payload."""
        return to_swaps(self.raw, wallet=wallet)

    def parse_swaps(self, wallet: str | None = None) -> SwapParse:
        """Its swaps, or the ``DropReason`` it has none (never raises for its payload)."""
        return parse_swaps(self.raw, wallet=wallet)

    def sol_transfers(
        self, *, into: str | None = None, out_of: str | None = None
    ) -> list[FundingTransfer]:
        """Its plain SOL transfers (no token moved), into and/or out of an address."""
        return sol_transfers(self.raw, into=into, out_of=out_of)


def to_signature(item: dict[str, Any]) -> str | None:
    inner = item.get("transaction")
    if isinstance(inner, dict) and isinstance(inner.get("signatures"), list):
        first = inner["signatures"][0] if inner["signatures"] else None
        return first if isinstance(first, str) else None
    return None


def parse_delivery(body: bytes | str) -> list[EnhancedTransaction]:
    """A webhook delivery body (a JSON **array** of enhanced transactions), parsed.

    Raises PayloadShapeError for anything else — the route answers 4xx with it.
    """
    try:
        data = decode_json(body)
    except orjson.JSONDecodeError:
        raise PayloadShapeError("webhook delivery is not valid JSON") from None
    if not isinstance(data, list):
        raise PayloadShapeError(
            f"webhook delivery must be a JSON array, not {type(data).__name__}"
        )
    return [EnhancedTransaction.from_raw(item) for item in data]


class WebhookSpec(ApiModel):
    """What we send to create or edit a webhook."""

    webhook_url: str = Field(alias="webhookURL")
    transaction_types: list[str] = Field(default_factory=lambda: ["ANY"])
    account_addresses: list[str] = Field(default_factory=list, max_length=100_000)
    webhook_type: Literal["enhanced", "raw", "discord", "enhancedDevnet", "rawDevnet"] = (
        "enhanced"
    )
    auth_header: SecretStr | None = None

    def body(self) -> dict[str, Any]:
        out = self.model_dump(by_alias=True, exclude={"auth_header"})
        if self.auth_header is not None:
            out["authHeader"] = self.auth_header.get_secret_value()
        return out


class Webhook(ApiModel):
    webhook_id: str = Field(alias="webhookID")
    wallet: str | None = None
    webhook_url: str = Field(alias="webhookURL")
    transaction_types: list[str] = Field(default_factory=list)
    account_addresses: list[str] = Field(default_factory=list)
    webhook_type: str | None = None
    auth_header: SecretStr | None = None  # never printed


class HistoryResult(ApiModel):
    swaps: list[Swap]
    source: Literal["helius", "rpc"]
    reason: str | None = None  # why the fallback was used


class HeliusClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        policy: ClientPolicy = HELIUS_POLICY,
        **client_options: Any,
    ) -> None:
        client_options.setdefault("pricing", helius_rest_credits)
        self.http = ApiClient(
            "helius",
            base_url,
            policy=policy,
            secret_params={"api-key": api_key} if api_key else None,
            **client_options,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> HeliusClient:
        """A client for the configured Helius; its rate limit is the plan's
        (``WALLTRACK_HELIUS_PLAN``) unless ``policy=`` is given. Pass ``meter=`` to count
        its calls and credits in a job's meter."""
        key = settings.helius_api_key.get_secret_value() if settings.helius_api_key else None
        options.setdefault("policy", helius_policy(settings.helius_limits.enhanced_per_second))
        return cls(str(settings.helius_api_url), key, **options)

    @property
    def meter(self) -> UsageMeter:
        return self.http.meter

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> HeliusClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- enhanced transactions ----------------------------------------------------------

    async def transactions_for_address(
        self,
        address: str,
        *,
        before: str | None = None,
        until: str | None = None,
        limit: int = 100,
        type: str | None = None,  # Helius's own parameter name
    ) -> list[EnhancedTransaction]:
        """One page of an address's history, newest first."""
        params: dict[str, Any] = {"limit": max(1, min(limit, 100))}
        if before:
            params["before"] = before
        if until:
            params["until"] = until
        if type:
            params["type"] = type
        path = f"/v0/addresses/{address}/transactions"
        data = await self.http.request("GET", path, params=params)
        return _transactions(data, "address history")

    async def iter_transactions_for_address(
        self,
        address: str,
        *,
        until: str | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
        type: str | None = None,
    ) -> AsyncIterator[list[EnhancedTransaction]]:
        """Every page, newest first, following ``before`` = the last signature of a page."""
        before: str | None = None
        pages = 0
        while max_pages is None or pages < max_pages:
            page = await self.transactions_for_address(
                address, before=before, until=until, limit=page_size, type=type
            )
            if not page:
                return
            pages += 1
            yield page
            before = page[-1].signature

    async def parse_transactions(self, signatures: Sequence[str]) -> list[EnhancedTransaction]:
        """Enhanced transactions for any number of signatures, 100 per call."""
        found: list[EnhancedTransaction] = []
        for start in range(0, len(signatures), PARSE_BATCH):
            batch = list(signatures[start : start + PARSE_BATCH])
            data = await self.http.request(
                "POST", "/v0/transactions", json={"transactions": batch}
            )
            found.extend(_transactions(data, "parse transactions"))
        return found

    async def swaps_for_address(
        self,
        address: str,
        *,
        limit: int = 100,
        rpc: SolanaRpcClient | None = None,
    ) -> HistoryResult:
        """The address's recent swaps; through RPC when Helius history is unavailable."""
        try:
            page = await self.transactions_for_address(address, limit=limit)
        except ExternalAPIError as exc:
            if rpc is None or (exc.status is not None and 400 <= exc.status < 500
                               and exc.status != 429):
                raise
            log.warning("helius_history_fallback", address=address, reason=exc.message)
            swaps = await rpc.swaps_for_address(address, limit=limit)
            return HistoryResult(swaps=swaps, source="rpc", reason=exc.message)
        swaps = [swap for tx in page for swap in tx.swaps(wallet=address)]
        return HistoryResult(swaps=swaps, source="helius")

    # -- webhooks -----------------------------------------------------------------------

    async def create_webhook(self, spec: WebhookSpec) -> Webhook:
        # Not idempotent: a blind retry could create a second webhook.
        data = await self.http.request("POST", "/v0/webhooks", json=spec.body(), idempotent=False)
        return parse_model("helius", Webhook, data, "create webhook")

    async def list_webhooks(self) -> list[Webhook]:
        data = await self.http.request("GET", "/v0/webhooks")
        return parse_model("helius", list[Webhook], data, "list webhooks")

    async def get_webhook(self, webhook_id: str) -> Webhook:
        data = await self.http.request("GET", f"/v0/webhooks/{webhook_id}")
        return parse_model("helius", Webhook, data, "get webhook")

    async def edit_webhook(self, webhook_id: str, spec: WebhookSpec) -> Webhook:
        # PUT replaces the whole definition: repeating it is harmless.
        data = await self.http.request("PUT", f"/v0/webhooks/{webhook_id}", json=spec.body())
        return parse_model("helius", Webhook, data, "edit webhook")

    async def delete_webhook(self, webhook_id: str) -> None:
        await self.http.request("DELETE", f"/v0/webhooks/{webhook_id}", allow_empty=True)


def _transactions(data: Any, what: str) -> list[EnhancedTransaction]:
    if not isinstance(data, list):
        raise ExternalAPIError(f"{what}: expected a JSON array", api="helius")
    try:
        return [EnhancedTransaction.from_raw(item) for item in data]
    except PayloadShapeError as exc:
        raise ExternalAPIError(f"{what}: {exc.message}", api="helius") from None
