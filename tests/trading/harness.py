"""The real trading engine over a real store and the simulator on loopback (its Jupiter and
RPC), as the server builds it — only the signal's arrival is the test's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from psycopg.types.json import Jsonb

from walltrack.clients.base import ClientPolicy
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.live.scoring.scorer import signal_id
from walltrack.models import (
    DecisionReason,
    Signal,
    SignalDecision,
    SignalFactors,
    SwapSide,
)
from walltrack.models.base import utcnow
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository
from walltrack.trading.engine import FaultHook
from walltrack.trading.service import TradingService

SOL = "So11111111111111111111111111111111111111112"
FAST = ClientPolicy(rate_per_second=1000.0, burst=1000, read_timeout=10.0)


def rpc_call(sim_url: str, method: str, params: list[Any]) -> Any:
    body = httpx.post(sim_url + "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method,
                                              "params": params}, timeout=30).json()
    assert "error" not in body, body
    return body["result"]


def liquid_mints(sim_url: str, mints: list[str], n: int = 3) -> list[str]:
    """The most liquid simulated tokens that trade now (pairs from the simulator)."""
    pairs = httpx.get(f"{sim_url}/tokens/v1/solana/{','.join(mints[:30])}", timeout=30).json()
    ranked = sorted(pairs, key=lambda p: -(p.get("liquidity") or {}).get("usd", 0))
    return [p["baseToken"]["address"] for p in ranked[:n]]


def market_price(sim_url: str, mint: str) -> tuple[float, float]:
    """(SOL per token, pool liquidity USD) from the simulator's price API."""
    data = httpx.get(f"{sim_url}/price/v3", params={"ids": f"{mint},{SOL}"}, timeout=30).json()
    return data[mint]["usdPrice"] / data[SOL]["usdPrice"], data[mint]["liquidity"]


def eligible_signal(sim_url: str, wallet: str, mint: str, *, signature: str,
                    swap_at: datetime | None = None, score: float = 0.8,
                    side: SwapSide = SwapSide.buy, tokens: float = 1e5) -> Signal:
    price_sol, liquidity = market_price(sim_url, mint)
    at = swap_at or utcnow() - timedelta(seconds=2)
    return Signal(
        id=signal_id(signature, wallet, mint), signature=signature, wallet=wallet, mint=mint,
        side=side, sol_amount=tokens * price_sol, token_amount=tokens, price_sol=price_sol,
        price_usd=price_sol * 150.0, swap_at=at, observed_at=at + timedelta(seconds=1),
        delay_seconds=1.0,
        factors=SignalFactors(wallet=0.8, cluster=0.8, token=0.8, context=0.8,
                              detail={"token": {"liquidity_usd": liquidity}}),
        weights={"wallet": 0.3, "cluster": 0.25, "token": 0.25, "context": 0.2},
        score=score,
        decision=SignalDecision.eligible if side is SwapSide.buy else SignalDecision.log_only,
        reason=DecisionReason.above_threshold if side is SwapSide.buy
        else DecisionReason.source_sold)


async def astore_signal(db: Database, signal: Signal) -> None:
    """What the inbox worker writes (walltrack.live.workers.insert_signals)."""
    import psycopg

    from walltrack.live.workers import insert_signals

    async with await psycopg.AsyncConnection.connect(db.url) as conn:
        await insert_signals(conn, [signal])


def store_signal(db: Database, signal: Signal) -> None:
    asyncio.run(astore_signal(db, signal))


def set_config(db: Database, section: str, **values: Any) -> None:
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                     (Jsonb(values), section))


@dataclass
class Engine:
    service: TradingService
    rpc: SolanaRpcClient
    jupiter: JupiterClient

    @property
    def engine(self) -> Any:
        return self.service.engine


@asynccontextmanager
async def trading(settings: Settings, db: Database, sim_url: str, *,
                  faults: FaultHook | None = None, start: bool = False,
                  clock: Any = None, config: Any = None) -> AsyncIterator[Engine]:
    """The service as the server builds it. The config is read from the store on every call
    unless ``config`` (a callable, as the server's in-memory state) is given."""
    rpc = SolanaRpcClient([sim_url + "/rpc"], policy=FAST, helius_policy=FAST)
    jupiter = JupiterClient(sim_url, "sim", policy=FAST, quote_ttl=0.0)
    repo = ConfigRepository(db)
    options: dict[str, Any] = {"faults": faults}
    if clock is not None:
        options["clock"] = clock
    service = TradingService(db.url, settings, config or repo.load, rpc, jupiter, **options)
    try:
        if start:
            await service.start()
        else:
            await service.engine.reconcile()
        yield Engine(service, rpc, jupiter)
    finally:
        await service.stop()
        await rpc.aclose()
        await jupiter.aclose()


def rows(db: Database, query: str, *params: Any) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def now_utc() -> datetime:
    return datetime.now(UTC)
