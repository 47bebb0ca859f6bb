"""Solana JSON-RPC over several providers in rotation, with health tracking.

Each provider is its own ``ApiClient`` (own breaker, own limiter, own counters, named
``solana_rpc:<host:port>``). A call goes to the next healthy provider; when it fails for
reasons of the provider (timeouts, 5xx, 429, refused, breaker open) the next provider is
tried. A JSON-RPC ``error`` object is an answer, not a provider fault: it is raised at once
as ``RpcError``. ``sendTransaction`` is special: it moves to another provider only when the
failed attempt provably never reached the first one (refused, breaker open) — otherwise a
retry could land the same trade twice (same signature, but a re-signed retry would not be).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from solders.pubkey import Pubkey

from walltrack.clients.base import ApiClient, ClientPolicy, parse_model, request_was_sent
from walltrack.clients.helius_swaps import to_swaps
from walltrack.clients.mint_accounts import (
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    LargestAccount,
    MintInfo,
    TokenAccountInfo,
    parse_largest,
    parse_mint,
    parse_supply,
    parse_token_accounts,
)
from walltrack.clients.models import (
    RpcBlockhash,
    RpcSignatureInfo,
    RpcSignatureStatus,
    RpcSimulation,
    TokenBalance,
    WalletBalances,
)
from walltrack.clients.usage import (
    HELIUS_RPC_USAGE_NAME,
    UsageMeter,
    helius_rpc_credits,
    is_helius_host,
)
from walltrack.errors import ExternalAPIError, PayloadShapeError, ValidationError
from walltrack.logging import get_logger
from walltrack.models import LAMPORTS_PER_SOL, FundingTransfer, Swap

if TYPE_CHECKING:
    from walltrack.settings import Settings

__all__ = [
    "HELIUS_RPC_POLICY",
    "RPC_POLICY",
    "ProviderHealth",
    "RpcError",
    "SolanaRpcClient",
    "helius_rpc_policy",
    "rpc_to_enhanced",
]

# Public mainnet RPC allows ~100 requests / 10 s per IP (40/10 s for one method): stay below.
RPC_POLICY = ClientPolicy(rate_per_second=8.0, burst=8, read_timeout=20.0)


def helius_rpc_policy(rate_per_second: float) -> ClientPolicy:
    """A Helius RPC provider's policy for a plan's RPC limit (``Settings.helius_limits``)."""
    return ClientPolicy(rate_per_second=rate_per_second, burst=max(1, math.ceil(rate_per_second)),
                        read_timeout=20.0)


# The free plan's published RPC limit: 10 requests/s (developer 50, business 200,
# professional 500 — walltrack.settings.HELIUS_PLANS). Used for providers that Helius bills.
HELIUS_RPC_POLICY = helius_rpc_policy(10.0)
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
SYSTEM_PROGRAM = "11111111111111111111111111111111"
log = get_logger("walltrack.clients.solana_rpc")


class RpcError(ExternalAPIError):
    """The node answered with a JSON-RPC error object."""

    code = "rpc_error"

    def __init__(self, message: str, *, api: str, rpc_code: int | None, data: Any = None):
        super().__init__(message, api=api)
        self.rpc_code = rpc_code
        self.data = data


@dataclass
class ProviderHealth:
    url: str
    healthy: bool
    consecutive_failures: int
    calls: int
    failures: int
    last_latency_ms: float | None
    breaker_state: str


def check_address(address: str) -> str:
    """A base58 public key, validated with solders (typed error otherwise)."""
    try:
        Pubkey.from_string(address)
    except (ValueError, TypeError):
        raise ValidationError(f"not a Solana address: {address[:60]!r}") from None
    return address


class _Provider:
    def __init__(self, url: str, policy: ClientPolicy, options: dict[str, Any], *,
                 billed_by_helius: bool) -> None:
        parsed = httpx.URL(url)
        self.url = url
        self.path = parsed.raw_path.decode() or "/"
        base = str(parsed.copy_with(raw_path=b"/", query=None)).rstrip("/")
        # The provider URL may carry a key (…?api-key=…): it travels as a secret param.
        secret = dict(parsed.params) if parsed.params else None
        self.name = f"solana_rpc:{parsed.host}:{parsed.port or ''}".rstrip(":")
        self.billed_by_helius = billed_by_helius
        if billed_by_helius:  # Helius credits from the same plan, under one usage name
            options = {"pricing": helius_rpc_credits, "usage_name": HELIUS_RPC_USAGE_NAME,
                       **options}
        self.http = ApiClient(self.name, base, policy=policy, secret_params=secret, **options)
        self.consecutive_failures = 0
        self.calls = 0
        self.failures = 0


def _netloc(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port or ''}".rstrip(":")


class SolanaRpcClient:
    """JSON-RPC over ``urls`` in rotation.

    Rate limits: ``policy`` applies to every provider when given. Otherwise a provider that
    Helius bills (a ``*.helius-rpc.com`` host, or one of ``helius_hosts``) gets
    ``helius_policy`` (default: the free plan's 10 requests/s) and counts Helius credits
    under the usage name ``helius_rpc``; any other provider gets ``RPC_POLICY`` and is its
    own API with no credits. All providers count in one meter (``meter=``, else its own).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        policy: ClientPolicy | None = None,
        helius_policy: ClientPolicy | None = None,
        helius_hosts: Sequence[str] = (),
        **client_options: Any,
    ) -> None:
        if not urls:
            raise ValidationError("at least one Solana RPC URL is needed")
        client_options["meter"] = client_options.get("meter") or UsageMeter()
        self.meter: UsageMeter = client_options["meter"]
        self.providers: list[_Provider] = []
        for url in urls:
            helius = is_helius_host(httpx.URL(url).host) or _netloc(url) in helius_hosts
            default = (helius_policy or HELIUS_RPC_POLICY) if helius else RPC_POLICY
            chosen = policy or default
            self.providers.append(_Provider(url, chosen, dict(client_options),
                                            billed_by_helius=helius))
        self._next = itertools.count()
        self._ids = itertools.count(1)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SolanaRpcClient:
        """The configured providers. A provider on the Helius API's host (the simulator
        serves both) or on ``*.helius-rpc.com`` is billed by Helius: the plan's RPC limit
        (``WALLTRACK_HELIUS_PLAN``) and credits. ``policy=`` overrides every limit."""
        options.setdefault("helius_policy",
                           helius_rpc_policy(settings.helius_limits.rpc_per_second))
        options.setdefault("helius_hosts", (_netloc(str(settings.helius_api_url)),))
        return cls([str(url) for url in settings.solana_rpc_urls], **options)

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.http.aclose()

    async def __aenter__(self) -> SolanaRpcClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def health(self) -> list[ProviderHealth]:
        return [
            ProviderHealth(
                url=p.http.base_url,
                healthy=p.http.breaker.state.value == "closed" and p.consecutive_failures == 0,
                consecutive_failures=p.consecutive_failures,
                calls=p.calls,
                failures=p.failures,
                last_latency_ms=p.http.last_latency_ms,
                breaker_state=p.http.breaker.state.value,
            )
            for p in self.providers
        ]

    def _order(self) -> list[_Provider]:
        """Round robin, healthiest first (fewest consecutive failures)."""
        start = next(self._next) % len(self.providers)
        rotated = self.providers[start:] + self.providers[:start]
        return sorted(rotated, key=lambda p: (p.http.breaker.state.value == "open",
                                              p.consecutive_failures))

    async def call(self, method: str, params: list[Any] | None = None, *,
                   idempotent: bool = True) -> Any:
        """One JSON-RPC call; returns ``result``."""
        last: ExternalAPIError | None = None
        for provider in self._order():
            body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                    "params": params or []}
            provider.calls += 1
            try:
                data = await provider.http.request(
                    "POST", provider.path, json=body, idempotent=idempotent
                )
            except ExternalAPIError as exc:
                provider.failures += 1
                provider.consecutive_failures += 1
                last = exc
                if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (
                    408, 429
                ):
                    raise
                if not idempotent and request_was_sent(exc):
                    raise  # it may have landed: never send it again elsewhere
                log.info("solana_rpc_failover", method=method, provider=provider.name,
                         reason=exc.message)
                continue
            provider.consecutive_failures = 0
            if not isinstance(data, dict):
                raise ExternalAPIError(f"{method}: answer is not a JSON-RPC object",
                                       api=provider.name)
            if data.get("error") is not None:
                error = data["error"] if isinstance(data["error"], dict) else {}
                raise RpcError(
                    f"{method}: {error.get('message', data['error'])}",
                    api=provider.name,
                    rpc_code=error.get("code"),
                    data=error.get("data"),
                )
            if "result" not in data:
                raise ExternalAPIError(f"{method}: answer has no result", api=provider.name)
            return data["result"]
        assert last is not None
        raise last

    # -- methods of DESIGN.md section 4 -------------------------------------------------

    async def get_balance(self, address: str) -> int:
        result = await self.call("getBalance", [check_address(address)])
        return int(_value(result, "getBalance"))

    async def get_token_accounts(self, owner: str) -> list[TokenBalance]:
        balances: list[TokenBalance] = []
        for program in TOKEN_PROGRAMS:
            result = await self.call(
                "getTokenAccountsByOwner",
                [check_address(owner), {"programId": program}, {"encoding": "jsonParsed"}],
            )
            for item in _value(result, "getTokenAccountsByOwner") or []:
                balances.append(_token_balance(item))
        return balances

    async def get_signatures_for_address(
        self, address: str, *, before: str | None = None, until: str | None = None,
        limit: int = 1000,
    ) -> list[RpcSignatureInfo]:
        options: dict[str, Any] = {"limit": max(1, min(limit, 1000))}
        if before:
            options["before"] = before
        if until:
            options["until"] = until
        result = await self.call("getSignaturesForAddress", [check_address(address), options])
        return parse_model("solana_rpc", list[RpcSignatureInfo], result, "getSignaturesForAddress")

    async def get_transaction(self, signature: str) -> dict[str, Any] | None:
        """The jsonParsed transaction (``None`` when the node does not know it)."""
        result = await self.call(
            "getTransaction",
            [signature, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0,
                         "commitment": "confirmed"}],
        )
        if result is not None and not isinstance(result, dict):
            raise ExternalAPIError("getTransaction: result is not an object", api="solana_rpc")
        return result

    async def get_mint_info(self, mint: str) -> MintInfo | None:
        """The mint's authorities, supply and Token-2022 extensions (None: no account)."""
        result = await self.call("getAccountInfo",
                                 [check_address(mint), {"encoding": "jsonParsed"}])
        return parse_mint(mint, _value(result, "getAccountInfo"))

    async def get_token_largest_accounts(self, mint: str) -> list[LargestAccount]:
        result = await self.call("getTokenLargestAccounts", [check_address(mint)])
        return parse_largest(_value(result, "getTokenLargestAccounts"))

    async def get_token_supply(self, mint: str) -> int:
        result = await self.call("getTokenSupply", [check_address(mint)])
        return parse_supply(_value(result, "getTokenSupply"))

    async def get_token_account_infos(self, addresses: list[str]) -> dict[str, TokenAccountInfo]:
        """Parsed token accounts (owner, mint, amount) of up to 100 addresses."""
        result = await self.call("getMultipleAccounts",
                                 [[check_address(a) for a in addresses[:100]],
                                  {"encoding": "jsonParsed"}])
        return parse_token_accounts(addresses[:100], _value(result, "getMultipleAccounts"))

    async def get_latest_blockhash(self) -> RpcBlockhash:
        result = await self.call("getLatestBlockhash", [{"commitment": "confirmed"}])
        return parse_model("solana_rpc", RpcBlockhash, _value(result, "getLatestBlockhash"),
                           "getLatestBlockhash")

    async def get_block_height(self) -> int:
        """The current block height: a transaction whose lastValidBlockHeight is below it
        can no longer land."""
        result = await self.call("getBlockHeight", [{"commitment": "confirmed"}])
        return int(result)

    async def simulate_transaction(self, transaction_b64: str) -> RpcSimulation:
        result = await self.call(
            "simulateTransaction",
            [transaction_b64, {"encoding": "base64", "sigVerify": False,
                               "replaceRecentBlockhash": False, "commitment": "confirmed"}],
        )
        return parse_model("solana_rpc", RpcSimulation, _value(result, "simulateTransaction"),
                           "simulateTransaction")

    async def send_transaction(self, transaction_b64: str, *, skip_preflight: bool = False) -> str:
        """Send a signed transaction; never blindly retried (see the module docstring)."""
        result = await self.call(
            "sendTransaction",
            [transaction_b64, {"encoding": "base64", "skipPreflight": skip_preflight,
                               "maxRetries": 0, "preflightCommitment": "confirmed"}],
            idempotent=False,
        )
        if not isinstance(result, str):
            raise ExternalAPIError("sendTransaction: result is not a signature",
                                   api="solana_rpc")
        return result

    async def get_signature_statuses(
        self, signatures: Sequence[str]
    ) -> list[RpcSignatureStatus | None]:
        result = await self.call(
            "getSignatureStatuses", [list(signatures), {"searchTransactionHistory": True}]
        )
        return parse_model("solana_rpc", list[RpcSignatureStatus | None],
                           _value(result, "getSignatureStatuses"), "getSignatureStatuses")

    # -- composites -----------------------------------------------------------------------

    async def wallet_balances(self, address: str) -> WalletBalances:
        lamports = await self.get_balance(address)
        tokens = await self.get_token_accounts(address)
        return WalletBalances(address=address, sol=lamports / LAMPORTS_PER_SOL,
                              lamports=lamports, tokens=tokens)

    async def funding_transfers(
        self, address: str, *, first: int = 5, max_pages: int = 10
    ) -> list[FundingTransfer]:
        """The first ``first`` incoming SOL transfers of an address, oldest first.

        Walks the signature history back to its start (at most ``max_pages`` × 1000
        signatures: very old, busy wallets are cut there), then reads the oldest ones.
        """
        check_address(address)
        oldest: list[RpcSignatureInfo] = []
        before: str | None = None
        for _ in range(max_pages):
            page = await self.get_signatures_for_address(address, before=before, limit=1000)
            if not page:
                break
            oldest = page
            before = page[-1].signature
            if len(page) < 1000:
                break
        found: list[FundingTransfer] = []
        for info in reversed(oldest):
            if info.err is not None:
                continue
            tx = await self.get_transaction(info.signature)
            if tx is None:
                continue
            found.extend(transfers_into(tx, address, info.signature))
            if len(found) >= first:
                break
        return found[:first]

    async def swaps_for_address(self, address: str, *, limit: int = 100) -> list[Swap]:
        """The Helius-history fallback: signatures + getTransaction, same swap rules."""
        swaps: list[Swap] = []
        for info in await self.get_signatures_for_address(address, limit=limit):
            if info.err is not None:
                continue
            tx = await self.get_transaction(info.signature)
            if tx is None:
                continue
            swaps.extend(to_swaps(rpc_to_enhanced(tx), wallet=address))
        return swaps


def _value(result: Any, method: str) -> Any:
    if isinstance(result, dict) and "value" in result:
        return result["value"]
    raise ExternalAPIError(f"{method}: result has no value", api="solana_rpc")


def _token_balance(item: Any) -> TokenBalance:
    try:
        info = item["account"]["data"]["parsed"]["info"]
        amount = info["tokenAmount"]
        return TokenBalance(
            token_account=item["pubkey"],
            mint=info["mint"],
            owner=info["owner"],
            amount=int(amount["amount"]),
            decimals=int(amount["decimals"]),
            ui_amount=int(amount["amount"]) / 10 ** int(amount["decimals"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ExternalAPIError(f"getTokenAccountsByOwner: unexpected item ({exc})",
                               api="solana_rpc") from None


def _keys(tx: dict[str, Any]) -> list[str]:
    message = tx["transaction"]["message"]
    keys = [k["pubkey"] if isinstance(k, dict) else k for k in message["accountKeys"]]
    parsed_form = any(isinstance(k, dict) and "source" in k for k in message["accountKeys"])
    loaded = (tx.get("meta") or {}).get("loadedAddresses") or {}
    if not parsed_form:
        # json encoding: token-balance indexes run past accountKeys into the lookup tables.
        keys += list(loaded.get("writable") or []) + list(loaded.get("readonly") or [])
    return keys


def rpc_to_enhanced(tx: dict[str, Any], signature: str | None = None) -> dict[str, Any]:
    """A getTransaction result in the enhanced shape ``to_swaps`` reads (balances only)."""
    try:
        meta = tx["meta"] or {}
        keys = _keys(tx)
        sig = signature or tx["transaction"]["signatures"][0]
        pre, post = meta.get("preBalances") or [], meta.get("postBalances") or []
        account_data: dict[str, dict[str, Any]] = {}
        for index, key in enumerate(keys):
            change = (post[index] if index < len(post) else 0) - (
                pre[index] if index < len(pre) else 0)
            account_data[key] = {"account": key, "nativeBalanceChange": change,
                                 "tokenBalanceChanges": []}
        amounts: dict[tuple[int, str], dict[str, Any]] = {}
        for sign, group in ((-1, meta.get("preTokenBalances") or []),
                            (1, meta.get("postTokenBalances") or [])):
            for bal in group:
                slot = amounts.setdefault((bal["accountIndex"], bal["mint"]), {
                    "owner": bal.get("owner") or "", "decimals": bal["uiTokenAmount"]["decimals"],
                    "raw": 0})
                slot["raw"] += sign * int(bal["uiTokenAmount"]["amount"])
                slot["owner"] = slot["owner"] or bal.get("owner") or ""
        for (index, mint), slot in amounts.items():
            if slot["raw"] == 0:
                continue
            key = keys[index]
            account_data.setdefault(key, {"account": key, "nativeBalanceChange": 0,
                                          "tokenBalanceChanges": []})
            account_data[key]["tokenBalanceChanges"].append({
                "mint": mint, "userAccount": slot["owner"], "tokenAccount": key,
                "rawTokenAmount": {"tokenAmount": str(slot["raw"]),
                                   "decimals": slot["decimals"]},
            })
        return {
            "signature": sig,
            "slot": tx["slot"],
            "timestamp": tx.get("blockTime"),
            "fee": meta.get("fee", 0),
            "feePayer": keys[0],
            "transactionError": meta.get("err"),
            "type": "UNKNOWN",
            "source": "UNKNOWN",
            "tokenTransfers": [],
            "nativeTransfers": [],
            "accountData": list(account_data.values()),
            "instructions": [{"programId": _program_of(ix, keys)}
                             for ix in tx["transaction"]["message"].get("instructions", [])],
        }
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PayloadShapeError(f"unreadable RPC transaction ({exc})",
                                signature=signature) from None


def _program_of(ix: dict[str, Any], keys: list[str]) -> str:
    if "programId" in ix:
        return str(ix["programId"])
    index = ix.get("programIdIndex")
    return keys[index] if isinstance(index, int) and index < len(keys) else ""


def transfers_into(tx: dict[str, Any], address: str, signature: str) -> list[FundingTransfer]:
    """System-program SOL transfers into ``address`` (outer and inner instructions)."""
    meta = tx.get("meta") or {}
    if meta.get("err") is not None or tx.get("blockTime") is None:
        return []
    from datetime import UTC, datetime

    instructions = list(tx["transaction"]["message"].get("instructions") or [])
    for inner in meta.get("innerInstructions") or []:
        instructions.extend(inner.get("instructions") or [])
    found = []
    for ix in instructions:
        parsed = ix.get("parsed") if isinstance(ix, dict) else None
        if (
            not isinstance(parsed, dict)
            or ix.get("programId") != SYSTEM_PROGRAM
            or parsed.get("type") not in ("transfer", "transferWithSeed")
        ):
            continue
        info = parsed.get("info") or {}
        if info.get("destination") != address or not info.get("lamports"):
            continue
        found.append(FundingTransfer(
            signature=signature,
            slot=tx["slot"],
            timestamp=datetime.fromtimestamp(tx["blockTime"], UTC),
            source=info["source"],
            destination=address,
            sol_amount=int(info["lamports"]) / LAMPORTS_PER_SOL,
        ))
    return found
