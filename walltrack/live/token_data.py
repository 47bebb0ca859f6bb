"""Token market data and safety for live scoring, cached so a lookup is never made twice.

Each part has its own cache entry and TTL (``safety.*_ttl_seconds`` in the config table):
market (DexScreener pair), holders (largest accounts + supply + owners), round trip
(Jupiter buy then sell quote), mint facts (``getAccountInfo``). Concurrent ``view`` calls for
the same mint share one in-flight lookup per part (single flight); a semaphore bounds the
calls in flight (``safety.concurrency``). A failed source gives ``None`` for its part —
scored as ``unknown``, never as safe — and is retried after a short pause, not at once.

Authorities are one-way doors: a mint whose mint *and* freeze authority are revoked is
stored in ``token_safety`` and never read again (also after a restart); a live authority is
read again after ``authority_ttl_seconds``. Market data is never kept for good.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from psycopg.types.json import Jsonb

from walltrack.clients.dexscreener import DexScreenerClient, canonical_pair
from walltrack.clients.jupiter import JupiterClient, NoRouteError
from walltrack.clients.mint_accounts import MintExtension, MintInfo
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ExternalAPIError, StoreError
from walltrack.live.clients import dexscreener_client, jupiter_client, rpc_client
from walltrack.live.safety import Holders, RoundTrip, assess, holders_share
from walltrack.logging import get_logger
from walltrack.models import SOL_MINT, TokenMarket, TokenView
from walltrack.models.base import utcnow
from walltrack.models.config import SafetyConfig
from walltrack.settings import Settings
from walltrack.store import Database

log = get_logger(__name__)

T = TypeVar("T")
FAILURE_TTL_SECONDS = 15.0  # a failed source is asked again after this, not at every signal
LAMPORTS = 1_000_000_000


class TtlCache(Generic[T]):
    """Values with an expiry, and one in-flight load per key (single flight)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[float, T]] = {}
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self.loads = 0

    def put(self, key: str, value: T, ttl: float) -> None:
        self._values[key] = (self._clock() + ttl, value)

    async def get(self, key: str, load: Callable[[], Awaitable[T]],
                  ttl: Callable[[T], float]) -> T:
        hit = self._values.get(key)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.loads += 1
            value = await load()
            self.put(key, value, ttl(value))
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._inflight[key]


class TokenData:
    def __init__(self, rpc: SolanaRpcClient, dex: DexScreenerClient, jupiter: JupiterClient,
                 db: Database, config: Callable[[], SafetyConfig]) -> None:
        self.rpc, self.dex, self.jupiter, self.db = rpc, dex, jupiter, db
        self._config = config
        self._sem = asyncio.Semaphore(config().concurrency)
        self.market: TtlCache[TokenMarket | None] = TtlCache()
        self.mints: TtlCache[MintInfo | None] = TtlCache()
        self.holders: TtlCache[Holders | None] = TtlCache()
        self.round_trips: TtlCache[RoundTrip | None] = TtlCache()
        self._revoked = self._load_revoked()

    async def aclose(self) -> None:
        for client in (self.rpc, self.dex, self.jupiter):
            await client.aclose()

    # -- the view ----------------------------------------------------------------------
    async def view(self, mint: str) -> TokenView:
        cfg = self._config()
        market = await self.market.get(mint, lambda: self._load_market(mint),
                                       self._ttl(cfg.market_ttl_seconds))
        pools = {market.pair_address} if market and market.pair_address else set()
        info, holders, trip = await asyncio.gather(
            self._mint(mint, cfg),
            self.holders.get(mint, lambda: self._load_holders(mint, pools),
                             self._ttl(cfg.holders_ttl_seconds)),
            self.round_trips.get(mint, lambda: self._load_round_trip(mint, cfg),
                                 self._ttl(cfg.round_trip_ttl_seconds)))
        return TokenView(mint=mint, market=market,
                         safety=assess(info, holders, market, trip, cfg))

    # -- facts a replay takes as they are now (they do not move with the market) ---------
    async def mint_facts(self, mint: str) -> MintInfo | None:
        return await self._mint(mint, self._config())

    async def holders_now(self, mint: str, pools: set[str]) -> Holders | None:
        return await self.holders.get(mint, lambda: self._load_holders(mint, pools),
                                      self._ttl(self._config().holders_ttl_seconds))

    async def sell_route(self, mint: str) -> bool | None:
        """Whether the token can be sold back to SOL at all (None: could not be told)."""
        cfg = self._config()
        trip = await self.round_trips.get(mint, lambda: self._load_round_trip(mint, cfg),
                                          self._ttl(cfg.round_trip_ttl_seconds))
        return None if trip is None else trip.lamports_back is not None

    @staticmethod
    def _ttl(seconds: float) -> Callable[[Any], float]:
        return lambda value: seconds if value is not None else FAILURE_TTL_SECONDS

    async def _call(self, what: str, mint: str, call: Callable[[], Awaitable[T]]) -> T | None:
        async with self._sem:
            try:
                return await call()
            except ExternalAPIError as exc:
                log.warning("token_data_failed", mint=mint, part=what, error=str(exc))
                return None

    # -- market --------------------------------------------------------------------------
    async def _load_market(self, mint: str) -> TokenMarket | None:
        pairs = await self._call("market", mint, lambda: self.dex.token_pairs(mint))
        if pairs is None:
            return None
        pair = canonical_pair(pairs, mint)
        if pair is None:
            return TokenMarket(fetched_at=utcnow())  # known, but no pair: no liquidity
        return TokenMarket(
            pair_address=pair.pair_address, dex_id=pair.dex_id, price_usd=pair.price_usd,
            price_sol=pair.price_native, liquidity_usd=pair.liquidity_usd,
            market_cap_usd=pair.market_cap or pair.fdv,
            volume_24h_usd=pair.volume.get("h24"), pair_created_at=pair.created_at,
            fetched_at=utcnow())

    # -- mint facts (one-way doors kept for good) ----------------------------------------
    async def _mint(self, mint: str, cfg: SafetyConfig) -> MintInfo | None:
        known = self._revoked.get(mint)
        if known is not None:
            return known
        return await self.mints.get(mint, lambda: self._load_mint(mint),
                                    self._ttl(cfg.authority_ttl_seconds))

    async def _load_mint(self, mint: str) -> MintInfo | None:
        info = await self._call("mint", mint, lambda: self.rpc.get_mint_info(mint))
        if info is not None:
            await asyncio.to_thread(self._store_mint, info)
            if info.mint_authority is None and info.freeze_authority is None:
                self._revoked[mint] = info
        return info

    def _store_mint(self, info: MintInfo) -> None:
        try:
            with self.db.connection() as conn:
                conn.execute(
                    """INSERT INTO token_safety (mint, checked_at, token_program, decimals,
                           supply, mint_authority, freeze_authority, extensions)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (mint) DO UPDATE SET checked_at = EXCLUDED.checked_at,
                           token_program = EXCLUDED.token_program, supply = EXCLUDED.supply,
                           mint_authority = EXCLUDED.mint_authority,
                           freeze_authority = EXCLUDED.freeze_authority,
                           extensions = EXCLUDED.extensions""",
                    (info.mint, datetime.now(UTC), info.program, info.decimals, info.supply,
                     info.mint_authority, info.freeze_authority,
                     Jsonb([e.model_dump() for e in info.extensions])))
        except StoreError as exc:  # the cache in memory still holds it
            log.warning("token_safety_store_failed", mint=info.mint, error=str(exc))

    def _load_revoked(self) -> dict[str, MintInfo]:
        with self.db.connection() as conn:
            rows = conn.execute(
                """SELECT mint, token_program, decimals, supply, extensions FROM token_safety
                   WHERE mint_authority IS NULL AND freeze_authority IS NULL""").fetchall()
        return {m: MintInfo(mint=m, program=p or "", decimals=d or 0, supply=int(s or 0),
                            extensions=[MintExtension(**e) for e in ext or []])
                for m, p, d, s, ext in rows}

    # -- holders ---------------------------------------------------------------------------
    async def _load_holders(self, mint: str, pools: set[str]) -> Holders | None:
        largest, supply = await asyncio.gather(
            self._call("holders", mint, lambda: self.rpc.get_token_largest_accounts(mint)),
            self._call("supply", mint, lambda: self.rpc.get_token_supply(mint)))
        if largest is None or supply is None:
            return None
        addresses = [a.address for a in largest]
        owners = await self._call("owners", mint,
                                  lambda: self.rpc.get_token_account_infos(addresses))
        if owners is None:
            return None
        return holders_share(largest, owners, supply, pools)

    # -- round trip (honeypot) ---------------------------------------------------------------
    async def _load_round_trip(self, mint: str, cfg: SafetyConfig) -> RoundTrip | None:
        probe = int(cfg.honeypot_probe_sol * LAMPORTS)
        buy = await self._call("buy_quote", mint, lambda: self.jupiter.quote(
            SOL_MINT, mint, probe, fresh=True))
        if buy is None or buy.out_amount <= 0:
            return None
        async with self._sem:
            try:
                sell = await self.jupiter.quote(mint, SOL_MINT, buy.out_amount, fresh=True)
            except NoRouteError:
                return RoundTrip(probe, buy.out_amount, None)
            except ExternalAPIError as exc:
                log.warning("token_data_failed", mint=mint, part="sell_quote", error=str(exc))
                return None
        return RoundTrip(probe, buy.out_amount, sell.out_amount)


def build_token_data(settings: Settings, db: Database, meter: UsageMeter,
                     config: Callable[[], SafetyConfig]) -> TokenData:
    """The server's token lookup: the configured APIs; ``config`` is the live service's
    ``safety`` section (reloaded on the config table's change notification)."""
    return TokenData(rpc_client(settings, meter), dexscreener_client(settings, meter),
                     jupiter_client(settings, meter), db, config)
