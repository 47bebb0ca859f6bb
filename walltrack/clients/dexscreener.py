"""DexScreener: pairs by token (batched by 30), boosts, profiles, search, and one canonical
pair per token. Keyless; two published limits: ~60 req/min on profiles and boosts, ~300/min
on pairs, tokens and search — two token buckets.

Fallback: when DexScreener is unavailable, ``canonical_pairs`` serves the last known pair of
each token, marked ``stale=True`` with its age and the reason — never silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from walltrack.clients.base import ApiClient, ClientPolicy, TokenBucket, parse_model
from walltrack.clients.models import (
    DexPair,
    DexPairsEnvelope,
    Stale,
    TokenBoost,
    TokenProfile,
)
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ExternalAPIError
from walltrack.logging import get_logger
from walltrack.models import SOL_MINT, TokenSnapshot

if TYPE_CHECKING:
    from walltrack.settings import Settings

__all__ = ["DEXSCREENER_POLICY", "DexScreenerClient", "canonical_pair", "to_snapshot"]

DEXSCREENER_POLICY = ClientPolicy(rate_per_second=5.0, burst=10, read_timeout=10.0)
SLOW_PER_MINUTE = 60  # profiles, boosts
FAST_PER_MINUTE = 300  # pairs, tokens, search
TOKENS_BATCH = 30
USD_QUOTES = frozenset({
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",  # USDC
    "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB",  # USDT
    "USD1ttGY1N17NEEHLmELoaybftRBUSErhqYiQzvEmuB",  # USD1
})
log = get_logger("walltrack.clients.dexscreener")


def canonical_pair(pairs: Iterable[DexPair], mint: str, chain: str = "solana") -> DexPair | None:
    """The token's most liquid pair quoted in SOL, else its most liquid pair quoted in USD."""
    own = [p for p in pairs if p.chain_id == chain and p.base_token.address == mint]
    for quotes in ({SOL_MINT}, USD_QUOTES):
        candidates = [p for p in own if p.quote_token.address in quotes]
        if candidates:
            return max(candidates, key=lambda p: p.liquidity_usd)
    return None


def to_snapshot(pair: Stale[DexPair], mint: str | None = None) -> TokenSnapshot:
    value = pair.value
    quoted_in_sol = value.quote_token.address == SOL_MINT
    return TokenSnapshot(
        mint=mint or value.base_token.address,
        taken_at=pair.fetched_at,
        price_usd=value.price_usd,
        price_sol=value.price_native if quoted_in_sol else None,
        liquidity_usd=value.liquidity.usd if value.liquidity else None,
        market_cap_usd=value.market_cap,
        fdv_usd=value.fdv,
        volume_24h_usd=value.volume.get("h24"),
        buys_24h=value.txns["h24"].buys if "h24" in value.txns else None,
        sells_24h=value.txns["h24"].sells if "h24" in value.txns else None,
        price_change_24h_pct=value.price_change.get("h24"),
        stale=pair.stale,
    )


class DexScreenerClient:
    def __init__(
        self,
        base_url: str,
        *,
        policy: ClientPolicy = DEXSCREENER_POLICY,
        now: Callable[[], float] = time.time,
        **client_options: Any,
    ) -> None:
        clock = client_options.get("clock", time.monotonic)
        sleep = client_options.get("sleep")
        extra = {"sleep": sleep} if sleep else {}
        buckets = {
            "slow": TokenBucket(SLOW_PER_MINUTE / 60, 5, clock=clock, **extra),
            "fast": TokenBucket(FAST_PER_MINUTE / 60, 10, clock=clock, **extra),
        }
        self.http = ApiClient("dexscreener", base_url, policy=policy, buckets=buckets,
                              **client_options)
        self.now = now  # wall clock for staleness ages
        self._last: dict[str, tuple[DexPair, float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> DexScreenerClient:
        return cls(str(settings.dexscreener_url), **options)

    @property
    def meter(self) -> UsageMeter:
        """Where this client's calls are counted (``meter=`` option, else its own)."""
        return self.http.meter

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> DexScreenerClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- endpoints ------------------------------------------------------------------------

    async def pairs_for_tokens(self, mints: Sequence[str], chain: str = "solana") -> list[DexPair]:
        """``/tokens/v1/{chain}/{mints}``, 30 mints per call."""
        pairs: list[DexPair] = []
        unique = list(dict.fromkeys(mints))
        for start in range(0, len(unique), TOKENS_BATCH):
            batch = ",".join(unique[start : start + TOKENS_BATCH])
            data = await self.http.request("GET", f"/tokens/v1/{chain}/{batch}", bucket="fast")
            pairs.extend(parse_model("dexscreener", list[DexPair], data or [], "tokens"))
        return pairs

    async def token_pairs(self, mint: str, chain: str = "solana") -> list[DexPair]:
        data = await self.http.request("GET", f"/token-pairs/v1/{chain}/{mint}", bucket="fast")
        return parse_model("dexscreener", list[DexPair], data or [], "token pairs")

    async def latest_pairs_for_tokens(self, mints: Sequence[str]) -> list[DexPair]:
        """The older ``/latest/dex/tokens/{mints}`` (all chains, enveloped)."""
        pairs: list[DexPair] = []
        for start in range(0, len(mints), TOKENS_BATCH):
            batch = ",".join(mints[start : start + TOKENS_BATCH])
            data = await self.http.request("GET", f"/latest/dex/tokens/{batch}", bucket="fast")
            pairs.extend(parse_model("dexscreener", DexPairsEnvelope, data,
                                     "latest tokens").pairs or [])
        return pairs

    async def search(self, query: str) -> list[DexPair]:
        data = await self.http.request("GET", "/latest/dex/search", params={"q": query},
                                       bucket="fast")
        return parse_model("dexscreener", DexPairsEnvelope, data, "search").pairs or []

    async def boosts_latest(self) -> list[TokenBoost]:
        return await self._list("/token-boosts/latest/v1", TokenBoost, "latest boosts")

    async def boosts_top(self) -> list[TokenBoost]:
        return await self._list("/token-boosts/top/v1", TokenBoost, "top boosts")

    async def profiles_latest(self) -> list[TokenProfile]:
        return await self._list("/token-profiles/latest/v1", TokenProfile, "latest profiles")

    async def _list(self, path: str, model: Any, what: str) -> Any:
        data = await self.http.request("GET", path, bucket="slow")
        if isinstance(data, dict):
            data = [data]  # some of these answer one object instead of a list
        return parse_model("dexscreener", list[model], data or [], what)

    # -- canonical pairs with the stale fallback -----------------------------------------

    async def canonical_pairs(
        self, mints: Sequence[str], chain: str = "solana"
    ) -> dict[str, Stale[DexPair]]:
        """The canonical pair of each mint; the last known one, marked stale, on failure.

        Mints with no canonical pair (and none known) are absent from the result. Raises the
        API's error only when the call failed and nothing is known about any of the mints.
        """
        try:
            pairs = await self.pairs_for_tokens(mints, chain)
        except ExternalAPIError as exc:
            return self._stale(mints, exc)
        now = self.now()
        fetched_at = datetime.fromtimestamp(now, UTC)
        out: dict[str, Stale[DexPair]] = {}
        for mint in dict.fromkeys(mints):
            pair = canonical_pair(pairs, mint, chain)
            if pair is not None:
                self._last[mint] = (pair, now)
                out[mint] = Stale[DexPair](value=pair, fetched_at=fetched_at)
        return out

    def _stale(self, mints: Sequence[str], exc: ExternalAPIError) -> dict[str, Stale[DexPair]]:
        now = self.now()
        out: dict[str, Stale[DexPair]] = {}
        for mint in dict.fromkeys(mints):
            if mint in self._last:
                pair, at = self._last[mint]
                out[mint] = Stale[DexPair](
                    value=pair, fetched_at=datetime.fromtimestamp(at, UTC), stale=True,
                    age_seconds=max(0.0, now - at), reason=exc.message,
                )
        if not out:
            raise exc
        log.warning("dexscreener_stale_served", mints=len(out), reason=exc.message,
                    oldest_age_s=round(max(s.age_seconds for s in out.values()), 1))
        return out
