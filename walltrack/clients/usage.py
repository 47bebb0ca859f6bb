"""The API usage meter and the one table of what each call costs.

A :class:`UsageMeter` is an object, not a module global: whoever does a unit of work (a job,
a notebook session, the server) makes one and hands it to every client it builds
(``HeliusClient.from_settings(settings, meter=meter)`` — ``meter`` is an ``ApiClient``
option, so it travels in ``client_options`` too). A client given none makes its own. The
meter counts, per API, operations, sent calls (retries included), failures, errors, retries,
429s, credits and the seconds spent waiting (rate limiter, retry backoff); the store adds
its counts per UTC day with ``UsageRepository.flush(meter)``.

Credits (Helius's billing unit) are computed here, from :data:`HELIUS_CREDITS`, per sent
request. DexScreener, Jupiter and non-Helius RPC providers cost no credits (calls only).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from walltrack.models.usage import (
    ADDITIVE_FIELDS,
    LOCAL_SUFFIX,
    ApiUsage,
    BreakerState,
    UsageCounts,
)

__all__ = [
    "HELIUS_CREDITS",
    "HELIUS_RPC_USAGE_NAME",
    "ApiCounters",
    "Pricing",
    "UsageMeter",
    "helius_rest_credits",
    "helius_rpc_credits",
    "is_helius_host",
    "is_local_host",
    "no_credits",
    "usage_name_for",
]

# -- what a call costs -------------------------------------------------------------------

# Helius credits per request. Sources (read December 2026):
#   https://www.helius.dev/docs/billing/credits       (credits per method and per plan)
#   https://www.helius.dev/docs/faqs/webhooks         (webhook management and events)
# Standard RPC calls cost 1, except the methods listed; archival (historical) methods 10;
# getTransactionsForAddress 100; DAS 10; the Enhanced Transactions API (history by address,
# parse by signatures) 100 per call, whatever the page size or batch size; every webhook
# management request (create, get, list, edit, delete) 100; every webhook event delivered
# 1 (charged even when our endpoint fails). sendTransaction: the current page lists no
# separate price (standard, 1); older versions said 10 (staked, the default) — watch the
# dashboard when trading live.
HELIUS_CREDITS: Final[Mapping[str, int]] = {
    "rpc_standard": 1,
    "enhanced_transactions": 100,
    "webhook_management": 100,
    "webhook_event": 1,
    "getProgramAccounts": 10,
    "getTransactionsForAddress": 100,
    # archival calls
    "getBlock": 10,
    "getBlocks": 10,
    "getBlocksWithLimit": 10,
    "getBlockTime": 10,
    "getSignaturesForAddress": 10,
    "getTransaction": 10,
    "getInflationReward": 10,
    "getSignatureStatuses:history": 10,  # with searchTransactionHistory = true (else 1)
    # Digital Asset Standard API
    "getAsset": 10,
    "getAssetBatch": 10,
    "getAssetProof": 10,
    "getAssetProofBatch": 10,
    "getAssetsByOwner": 10,
    "getAssetsByAuthority": 10,
    "getAssetsByCreator": 10,
    "getAssetsByGroup": 10,
    "searchAssets": 10,
    "getSignaturesForAsset": 10,
    "getTokenAccounts": 10,
    "getNftEditions": 10,
}

Pricing = Callable[[str, str, Any], int]
"""``(http_method, path, json_body) -> credits`` for one sent request."""

# The usage name of an RPC provider that Helius bills (its credits come from the same plan).
HELIUS_RPC_USAGE_NAME: Final = "helius_rpc"


def no_credits(_method: str, _path: str, _body: Any) -> int:
    return 0


def helius_rest_credits(_method: str, path: str, _body: Any) -> int:
    """A Helius REST request (``/v0/...``): enhanced transactions or webhook management."""
    if path.startswith("/v0/webhooks"):
        return HELIUS_CREDITS["webhook_management"]
    if path.startswith(("/v0/transactions", "/v0/addresses/")):
        return HELIUS_CREDITS["enhanced_transactions"]
    return HELIUS_CREDITS["rpc_standard"]


def _rpc_method_credits(call: Any) -> int:
    if not isinstance(call, dict):
        return HELIUS_CREDITS["rpc_standard"]
    method = call.get("method")
    if method == "getSignatureStatuses":
        params = call.get("params") or []
        options = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if options.get("searchTransactionHistory"):
            return HELIUS_CREDITS["getSignatureStatuses:history"]
        return HELIUS_CREDITS["rpc_standard"]
    if isinstance(method, str) and method in HELIUS_CREDITS:
        return HELIUS_CREDITS[method]
    return HELIUS_CREDITS["rpc_standard"]


def helius_rpc_credits(_method: str, _path: str, body: Any) -> int:
    """A JSON-RPC request to a Helius RPC node, priced by its method (batches add up)."""
    if isinstance(body, list):
        return sum(_rpc_method_credits(call) for call in body)
    return _rpc_method_credits(body)


def is_helius_host(host: str) -> bool:
    """True for Helius's own RPC and API hosts (``*.helius-rpc.com``, ``*.helius.xyz``)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in ("helius-rpc.com", "helius.xyz"))


def is_local_host(host: str) -> bool:
    """A loopback address or ``localhost``: a simulator or test server, not a provider."""
    host = host.lower().rstrip(".").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def usage_name_for(name: str, base_url: str) -> str:
    """``name``, marked ``@local`` when ``base_url`` is on this machine: the simulator's
    calls are counted apart and never against a provider's plan."""
    return name + LOCAL_SUFFIX if is_local_host(httpx.URL(base_url).host) else name


# -- the meter ----------------------------------------------------------------------------


@dataclass
class ApiCounters:
    """The live counters of one API inside a meter: the additive counts of
    :class:`UsageCounts` (changed only through :meth:`UsageMeter.add`, thread-safe) and the
    live state fields (plain assignments)."""

    api: str
    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ADDITIVE_FIELDS, 0))
    breaker_state: BreakerState = BreakerState.closed
    breaker_opened: int = 0
    last_latency_ms: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None

    def counts(self) -> UsageCounts:
        return UsageCounts(**self.totals)

    def usage(self) -> ApiUsage:
        return ApiUsage(api=self.api, breaker_state=self.breaker_state,
                        breaker_opened=self.breaker_opened,
                        last_latency_ms=self.last_latency_ms, last_outcome=self.last_outcome,
                        last_error=self.last_error, **self.totals)


class UsageMeter:
    """Counts what one unit of work asked of each external API (see the module docstring).

    Share one meter between all the clients of a job: counts are per API name, so two
    clients of the same API add up. Safe to use from several threads.
    """

    def __init__(self) -> None:
        self._counters: dict[str, ApiCounters] = {}
        self._flushed: dict[str, UsageCounts] = {}  # counts at the last flush, per API
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UsageMeter(apis={sorted(self._counters)})"

    # -- counting ---------------------------------------------------------------------------

    def counters(self, api: str) -> ApiCounters:
        """The live counters of ``api`` (created at first use)."""
        found = self._counters.get(api)
        if found is None:
            with self._lock:
                found = self._counters.setdefault(api, ApiCounters(api=api))
        return found

    def add(self, api: str, **counts: float) -> None:
        """Add to ``api``'s counters, e.g. ``add("helius", calls=1, credits=100)``."""
        target = self.counters(api)
        with self._lock:
            for name, value in counts.items():
                if name not in ADDITIVE_FIELDS:
                    raise ValueError(f"not a usage counter: {name}")
                target.totals[name] += value

    def record_webhook_events(self, count: int, *, api: str = "helius") -> None:
        """Helius webhook deliveries received: each event costs a credit."""
        if count > 0:
            self.add(api, webhook_events=count,
                     credits=count * HELIUS_CREDITS["webhook_event"])

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, ApiUsage]:
        """Every API's counters since the meter was made, keyed by API name."""
        with self._lock:
            return {api: c.usage() for api, c in sorted(self._counters.items())}

    def usage(self, api: str) -> ApiUsage:
        """One API's counters (all zero when the meter never saw it)."""
        with self._lock:
            found = self._counters.get(api)
            return found.usage() if found is not None else ApiUsage(api=api)

    def totals(self) -> UsageCounts:
        """All APIs added together."""
        total = UsageCounts()
        for usage in self.snapshot().values():
            total = total.plus(usage.counts())
        return total

    def pending(self) -> dict[str, UsageCounts]:
        """The counts not flushed yet, per API (APIs with nothing new left out)."""
        with self._lock:
            current = {api: c.counts() for api, c in self._counters.items()}
        return self._since_flush(current)

    def _since_flush(self, current: dict[str, UsageCounts]) -> dict[str, UsageCounts]:
        out: dict[str, UsageCounts] = {}
        for api, counts in sorted(current.items()):
            delta = counts.minus(self._flushed.get(api, UsageCounts()))
            if not delta.is_empty():
                out[api] = delta
        return out

    @contextmanager
    def flushing(self) -> Iterator[dict[str, UsageCounts]]:
        """Yield the counts not flushed yet; when the block ends without an error they
        count as flushed. One flush at a time per meter, so two never add the same counts.
        """
        with self._flush_lock:
            with self._lock:
                current = {api: c.counts() for api, c in self._counters.items()}
            delta = self._since_flush(current)
            yield delta
            # Reached only when the caller's block succeeded (an error skips this line).
            for api, counts in current.items():
                self._flushed[api] = counts
