"""Jupiter: the current /swap/v2 flow (order → sign → execute, or build → send through our
RPC), the older /swap/v1 quote + swap, and /price/v3 (50 mints a call).

Keyless access allows about one call every two seconds (60 s sliding window, 429 with
``x-ratelimit-*`` headers), so the limiter is strict (0.5 req/s, no burst) and quotes are
cached briefly (2 s by default, the ``execution.quote_cache_seconds`` default). With an
API key (``x-api-key``) pass a policy matching the plan.

``execute`` is never blindly retried: a repeated execute could land a second trade. The
client only signs what it is given with the keypair it is given; it never reads a key.
Prices fall back to DexScreener (the canonical pair's USD price, marked ``source``) for
mints Jupiter does not price or when Jupiter is unavailable.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.transaction import VersionedTransaction

from walltrack.clients.base import ApiClient, ClientPolicy, parse_model
from walltrack.clients.models import (
    JupiterBuild,
    JupiterExecution,
    JupiterOrder,
    JupiterPrice,
    JupiterQuote,
    JupiterSwapTransaction,
)
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ExecutionError, ExternalAPIError
from walltrack.logging import get_logger

if TYPE_CHECKING:
    from walltrack.clients.dexscreener import DexScreenerClient
    from walltrack.settings import Settings

__all__ = ["JUPITER_KEYLESS_POLICY", "JupiterClient", "sign_transaction"]

JUPITER_KEYLESS_POLICY = ClientPolicy(rate_per_second=0.5, burst=1, read_timeout=10.0)
PRICE_BATCH = 50
log = get_logger("walltrack.clients.jupiter")


def sign_transaction(transaction_b64: str, keypair: Keypair) -> str:
    """Sign a base64 versioned transaction with ``keypair`` (other signatures kept)."""
    try:
        tx = VersionedTransaction.from_bytes(base64.b64decode(transaction_b64, validate=True))
    except (ValueError, TypeError) as exc:
        raise ExecutionError(f"cannot decode the transaction to sign ({exc})") from None
    message = tx.message
    keys = list(message.account_keys)
    signers = message.header.num_required_signatures
    try:
        index = keys.index(keypair.pubkey())
    except ValueError:
        raise ExecutionError("the keypair is not a signer of this transaction") from None
    if index >= signers:
        raise ExecutionError("the keypair's account is not a required signer")
    signatures = list(tx.signatures)
    signatures[index] = keypair.sign_message(to_bytes_versioned(message))
    signed = VersionedTransaction.populate(message, signatures)
    return base64.b64encode(bytes(signed)).decode()


# How Jupiter says a pair cannot be swapped (400 with errorCode COULD_NOT_FIND_ANY_ROUTE,
# "Could not find any route" in the message; older answers "No routes found").
NO_ROUTE_MARKERS = ("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route", "No routes found")


class NoRouteError(ExternalAPIError):
    """Jupiter found no route for the pair (a token that cannot be sold is a trap)."""

    code = "no_route"


class JupiterClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        policy: ClientPolicy = JUPITER_KEYLESS_POLICY,
        quote_ttl: float = 2.0,
        dexscreener: DexScreenerClient | None = None,
        **client_options: Any,
    ) -> None:
        self.http = ApiClient(
            "jupiter", base_url, policy=policy,
            secret_headers={"x-api-key": api_key} if api_key else None,
            **client_options,
        )
        self.quote_ttl = quote_ttl
        self.clock: Callable[[], float] = client_options.get("clock", time.monotonic)
        self.dexscreener = dexscreener
        self._quotes: dict[tuple[Any, ...], tuple[float, JupiterQuote]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> JupiterClient:
        key = settings.jupiter_api_key.get_secret_value() if settings.jupiter_api_key else None
        return cls(str(settings.jupiter_url), key, **options)

    @property
    def meter(self) -> UsageMeter:
        """Where this client's calls are counted (``meter=`` option, else its own)."""
        return self.http.meter

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> JupiterClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- /swap/v1 -----------------------------------------------------------------------

    async def quote(
        self, input_mint: str, output_mint: str, amount: int, *, slippage_bps: int = 300,
        swap_mode: str = "ExactIn", fresh: bool = False,
    ) -> JupiterQuote:
        """A quote, served from the cache when one this young exists (``fresh`` skips it)."""
        key = (input_mint, output_mint, int(amount), slippage_bps, swap_mode)
        now = self.clock()
        cached = self._quotes.get(key)
        if cached and not fresh and now - cached[0] < self.quote_ttl:
            return cached[1]
        try:
            data = await self.http.request("GET", "/swap/v1/quote", params={
                "inputMint": input_mint, "outputMint": output_mint, "amount": str(int(amount)),
                "slippageBps": slippage_bps, "swapMode": swap_mode,
            })
        except ExternalAPIError as exc:
            if exc.status == 400 and any(m in str(exc) for m in NO_ROUTE_MARKERS):
                raise NoRouteError(f"no route from {input_mint} to {output_mint}",
                                   api="jupiter", status=400) from None
            raise
        quote = parse_model("jupiter", JupiterQuote, data, "quote")
        self._quotes = {k: v for k, v in self._quotes.items() if now - v[0] < self.quote_ttl}
        self._quotes[key] = (self.clock(), quote)
        return quote

    async def swap_transaction(
        self, quote: JupiterQuote, user_public_key: str, *,
        priority_fee_lamports: int | None = None,
    ) -> JupiterSwapTransaction:
        """An unsigned transaction for the quote (nothing is sent: safe to repeat)."""
        body: dict[str, Any] = {
            "quoteResponse": quote.model_dump(by_alias=True, mode="json"),
            "userPublicKey": user_public_key,
            "dynamicComputeUnitLimit": True,
        }
        if priority_fee_lamports is not None:
            body["prioritizationFeeLamports"] = priority_fee_lamports
        data = await self.http.request("POST", "/swap/v1/swap", json=body)
        return parse_model("jupiter", JupiterSwapTransaction, data, "swap")

    # -- /swap/v2 -----------------------------------------------------------------------

    async def order(
        self, input_mint: str, output_mint: str, amount: int, *, taker: str | None = None,
        slippage_bps: int | None = None,
    ) -> JupiterOrder:
        """Quote + unsigned transaction (no transaction without a taker). Not cached: each
        order carries its own requestId."""
        params: dict[str, Any] = {"inputMint": input_mint, "outputMint": output_mint,
                                  "amount": str(int(amount))}
        if taker:
            params["taker"] = taker
        if slippage_bps is not None:
            params["slippageBps"] = slippage_bps
        data = await self.http.request("GET", "/swap/v2/order", params=params)
        return parse_model("jupiter", JupiterOrder, data, "order")

    async def execute(self, signed_transaction_b64: str, request_id: str) -> JupiterExecution:
        """Hand a signed order to Jupiter for landing. Never blindly retried."""
        data = await self.http.request(
            "POST", "/swap/v2/execute",
            json={"signedTransaction": signed_transaction_b64, "requestId": request_id},
            idempotent=False,
        )
        return parse_model("jupiter", JupiterExecution, data, "execute")

    async def build(
        self, input_mint: str, output_mint: str, amount: int, *, taker: str,
        slippage_bps: int | None = None,
    ) -> JupiterBuild:
        """A transaction to sign and send through our own RPC (``SolanaRpcClient``)."""
        params: dict[str, Any] = {"inputMint": input_mint, "outputMint": output_mint,
                                  "amount": str(int(amount)), "taker": taker}
        if slippage_bps is not None:
            params["slippageBps"] = slippage_bps
        data = await self.http.request("GET", "/swap/v2/build", params=params)
        return parse_model("jupiter", JupiterBuild, data, "build")

    # -- /price/v3 ----------------------------------------------------------------------

    async def prices(self, mints: Sequence[str]) -> dict[str, JupiterPrice]:
        """USD prices, 50 mints a call; DexScreener fills what Jupiter cannot price."""
        unique = list(dict.fromkeys(mints))
        found: dict[str, JupiterPrice] = {}
        failure: ExternalAPIError | None = None
        try:
            for start in range(0, len(unique), PRICE_BATCH):
                batch = unique[start : start + PRICE_BATCH]
                data = await self.http.request("GET", "/price/v3",
                                               params={"ids": ",".join(batch)})
                if not isinstance(data, dict):
                    raise ExternalAPIError("price: expected an object", api="jupiter")
                for mint, item in data.items():
                    if item is not None:
                        found[mint] = parse_model("jupiter", JupiterPrice, item, "price")
        except ExternalAPIError as exc:
            failure = exc
        missing = [m for m in unique if m not in found]
        if missing and self.dexscreener is not None:
            found.update(await self._dexscreener_prices(missing, failure))
        elif failure is not None and not found:
            raise failure
        return found

    async def _dexscreener_prices(
        self, mints: list[str], failure: ExternalAPIError | None
    ) -> dict[str, JupiterPrice]:
        assert self.dexscreener is not None
        try:
            pairs = await self.dexscreener.canonical_pairs(mints)
        except ExternalAPIError:
            if failure is not None:
                raise failure from None
            return {}
        log.info("jupiter_price_fallback", mints=len(mints), priced=len(pairs),
                 reason=failure.message if failure else "not priced by jupiter")
        return {
            mint: JupiterPrice(
                usd_price=pair.value.price_usd, liquidity=pair.value.liquidity_usd,
                source="dexscreener", stale=pair.stale,
            )
            for mint, pair in pairs.items()
            if pair.value.price_usd is not None
        }
