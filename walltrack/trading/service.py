"""The trading side of the server process: the engine, its executors, the price watch and
the loop that hands it every stored signal (docs/trading.md).

Signals reach the engine from the store, not only from memory: the loop decides every
undecided eligible signal (and every sell of a held mint) stored in the recent past, woken
at once by the inbox workers' commits — so a crash between a signal's commit and its
decision loses nothing, and a duplicate delivery decides nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import ExternalAPIError, WallTrackError
from walltrack.logging import get_logger
from walltrack.models import SOL_MINT, DynamicConfig, Signal, TradingMode
from walltrack.models.base import utcnow
from walltrack.settings import Settings
from walltrack.store.trading_store import TradingStore
from walltrack.trading.alerts import AlertService, Notifier
from walltrack.trading.engine import Clock, FaultHook, TradingEngine
from walltrack.trading.execution import Executor, PaperExecutor
from walltrack.trading.execution.live import LiveExecutor
from walltrack.trading.execution.quotes import JupiterQuoter
from walltrack.trading.live_guard import live_permission
from walltrack.trading.wallet import TradingWallet, WalletValidation, validate_wallet

log = get_logger(__name__)

WALLET_REVALIDATE_SECONDS = 300.0


class MintDecimals:
    """Decimals of a mint: the token-safety cache of the store, else the mint account."""

    def __init__(self, rpc: SolanaRpcClient, store: TradingStore) -> None:
        self._rpc = rpc
        self._store = store
        self._known: dict[str, int] = {}

    async def __call__(self, mint: str) -> int:
        if mint in self._known:
            return self._known[mint]
        async with self._store.transaction() as conn:
            cur = await conn.execute("SELECT decimals FROM token_safety WHERE mint = %s",
                                     (mint,))
            row = await cur.fetchone()
        decimals = row["decimals"] if row and row["decimals"] is not None else None
        if decimals is None:
            info = await self._rpc.get_mint_info(mint)
            if info is None:
                raise WallTrackError(f"mint {mint} has no account: its decimals are unknown")
            decimals = info.decimals
        self._known[mint] = int(decimals)
        return int(decimals)


class PriceWatch:
    """Prices for the mints of open positions every ``exits.price_interval_seconds``
    (Jupiter /price/v3, DexScreener as its fallback); every update evaluates the exits."""

    def __init__(self, engine: TradingEngine, jupiter: JupiterClient,
                 config: Callable[[], DynamicConfig]) -> None:
        self.engine = engine
        self.jupiter = jupiter
        self._config = config
        self.rounds = 0
        self.last_round_at: datetime | None = None
        self.last_error: str | None = None

    async def run_once(self) -> int:
        positions = await self.engine.store.open_positions()
        mints = sorted({p.mint for p in positions})
        if not mints:
            return 0
        now = self.engine.clock()
        try:
            prices = await self.jupiter.prices([*mints, SOL_MINT])
            self.last_error = None
        except ExternalAPIError as exc:
            prices = {}
            self.last_error = exc.message
            log.warning("price_watch_failed", mints=len(mints), error=exc.message)
        sol = prices.get(SOL_MINT)
        for mint in mints:
            quote = prices.get(mint)
            if quote is None or sol is None or sol.usd_price <= 0 or quote.stale:
                await self.engine.on_price(mint, None, None, "missing")
                continue
            await self.engine.on_price(mint, quote.usd_price / sol.usd_price, now, quote.source)
        self.rounds += 1
        self.last_round_at = now
        return len(mints)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
                await self.engine.risk_tick()
            except Exception as exc:  # noqa: BLE001 - a round's error must not end the watch
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("price_watch_round_failed", error=self.last_error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(),
                                       timeout=self._config().exits.price_interval_seconds)


class TradingService:
    def __init__(self, url: str, settings: Settings, config: Callable[[], DynamicConfig],
                 rpc: SolanaRpcClient, jupiter: JupiterClient, *, clock: Clock = utcnow,
                 faults: FaultHook | None = None, notifiers: Sequence[Notifier] = ()) -> None:
        self.settings = settings
        self._config = config
        self.rpc = rpc
        self.jupiter = jupiter
        self.store = TradingStore(url)
        self.alerts = AlertService(self.store, notifiers)
        self.wallet = TradingWallet.from_settings(settings)
        self.validation: WalletValidation | None = None
        self._validated_at = 0.0
        executors: dict[TradingMode, Executor] = {
            TradingMode.paper: PaperExecutor(JupiterQuoter(jupiter), lambda: config().execution)}
        if self.wallet is not None:
            executors[TradingMode.live] = LiveExecutor(
                jupiter, rpc, self.wallet, lambda: config().execution, self.live_refusals)
        self.engine = TradingEngine(
            self.store, executors, config, self.alerts, MintDecimals(rpc, self.store),
            clock=clock, faults=faults, live_balance=self._live_balance,
            live_refusals=self.live_refusals)
        self.prices = PriceWatch(self.engine, jupiter, config)
        self.wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at: datetime | None = None

    async def validate(self, *, force: bool = False) -> WalletValidation:
        loop = asyncio.get_running_loop()
        if (force or self.validation is None
                or loop.time() - self._validated_at > WALLET_REVALIDATE_SECONDS):
            cfg = self._config()
            self.validation = await validate_wallet(
                self.settings, self.rpc, cfg.sizing, cfg.risk.starting_capital_sol,
                priority_fee_lamports=cfg.execution.priority_fee_lamports)
            self._validated_at = loop.time()
        return self.validation

    async def live_refusals(self) -> list[str]:
        """Every reason a live order may not be sent now (empty: it may)."""
        validation = await self.validate() if self.wallet is not None else None
        permission = live_permission(self.settings, self._config().execution.mode, validation)
        return [] if permission.allowed else list(permission.reasons)

    async def _live_balance(self) -> float:
        if self.wallet is None:
            return 0.0
        return (await self.rpc.get_balance(self.wallet.public_key)) / 1e9

    def notify(self, signals: Sequence[Signal]) -> None:
        """The inbox committed signals: wake the loop (prices of held mints at once)."""
        for s in signals:
            if s.price_sol:
                self.engine.observe_price(s.mint, s.price_sol, s.swap_at, "inbox")
        self.wake.set()

    def _since(self) -> datetime:
        window = self._config().signals.stale_after_seconds
        return utcnow() - timedelta(seconds=max(window * 2, 600.0))

    async def start(self) -> None:
        """Reconcile first (orders a crash left ``submitted``), then start the loops."""
        self.started_at = utcnow()
        await self.engine.reconcile()
        await self.engine.risk_tick()
        self._stop = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._signal_loop()))
        self._tasks.append(asyncio.create_task(self.prices.run(self._stop)))
        self.wake.set()
        log.info("trading_started", mode=self._config().execution.mode.value,
                 wallet=self.wallet.public_key if self.wallet else None)

    async def _signal_loop(self) -> None:
        while not self._stop.is_set():
            self.wake.clear()
            try:
                await self.engine.process_pending(self._since(), stop=self._stop)
            except Exception as exc:  # noqa: BLE001 - one signal's error must not end the loop
                self.engine.counters.last_error = f"{type(exc).__name__}: {exc}"
                log.error("trading_signal_loop_failed", error=self.engine.counters.last_error)
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=2.0)

    async def stop(self) -> None:
        if hasattr(self, "_stop"):
            self._stop.set()
        self.wake.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=15.0)
        for executor in self.engine.executors.values():
            await executor.aclose()
        await self.alerts.aclose()
        await self.store.close()
        log.info("trading_stopped", opened=self.engine.counters.opened,
                 fills=self.engine.counters.fills)

    def status(self) -> dict[str, object]:
        c = self.engine.counters
        return {"mode": self._config().execution.mode.value, "reconciled": self.engine.reconciled,
                "opened": c.opened, "confirmations": c.confirmations, "refused": c.refused,
                "fills": c.fills, "failed_orders": c.failed_orders, "exits": c.exits,
                "stale_marks": c.stale_marks, "last_error": c.last_error,
                "price_rounds": self.prices.rounds,
                "last_price_round": self.prices.last_round_at.isoformat()
                if self.prices.last_round_at else None,
                "alerts_delivered": self.alerts.delivered, "alerts_failed": self.alerts.failed,
                "wallet": self.wallet.public_key if self.wallet else None}


def jupiter_with_fallback(settings: Settings, jupiter: JupiterClient,
                          dexscreener: DexScreenerClient) -> JupiterClient:
    """The price API falls back to DexScreener for mints Jupiter cannot price."""
    jupiter.dexscreener = dexscreener
    return jupiter
