"""The trading engine: one orchestrator for entries, exits, orders and risk (docs/trading.md).

    signal ─▶ gates ─▶ sizing ─▶ position + entry order ─▶ drive the order ─▶ fill
    price  ─▶ exit rules ─▶ exit order ─▶ drive the order ─▶ fill ─▶ risk protections

Everything it decides is stored before it acts: the decision, the position and its order in
one transaction (the store refuses a second position for a signal or a mint), the attempt's
signature before the send, the fill with the order's end. After a crash ``reconcile`` drives
every unfinished order from what the chain says before anything else runs. The executors
(paper, live) are the only difference between the modes; the clock is passed in, so a
replay runs this very code.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from walltrack.errors import ExternalAPIError, WallTrackError
from walltrack.logging import get_logger
from walltrack.models import (
    AlertLevel,
    DynamicConfig,
    Order,
    OrderKind,
    OrderStatus,
    Position,
    PositionStatus,
    RiskState,
    Signal,
    SwapSide,
    Trade,
    TradeAction,
    TradeDecision,
    TradingMode,
)
from walltrack.models.base import utcnow
from walltrack.store.trading_store import MintHeld, TradingStore
from walltrack.trading.execution.base import LAMPORTS, Executor, Fill, SendRejected, SwapRequest
from walltrack.trading.exits import (
    ExitState,
    ExitStrategy,
    OutcomeStatus,
    PositionView,
    evaluate,
    named_strategy,
    plan_of,
    resolve_strategy,
    strategy_from_plan,
)
from walltrack.trading.gates import EntryContext, HeldPosition, check_entry
from walltrack.trading.live_guard import effective_mode
from walltrack.trading.orders import Action, Observation, next_step
from walltrack.trading.risk import ClosedTrade, ProtectionState, RiskManager, RiskObservation
from walltrack.trading.sizing import SizingInputs, size_position

log = get_logger(__name__)

DUST = 1e-9  # share of the initial tokens below which a position counts as sold out
Clock = Callable[[], datetime]
FaultHook = Callable[[str], Awaitable[None]]
"""Called at each step of an order (``submitted``, ``sent``, ``landed``): crash tests kill
the process there; production passes nothing."""


class Alerts(Protocol):
    async def raise_alert(self, level: AlertLevel, source: str, message: str,
                          **detail: Any) -> Any: ...


class Decimals(Protocol):
    async def __call__(self, mint: str) -> int: ...


async def _no_fault(_point: str) -> None:
    return None


@dataclass
class EngineCounters:
    opened: int = 0
    confirmations: int = 0
    refused: int = 0
    fills: int = 0
    failed_orders: int = 0
    exits: int = 0
    stale_marks: int = 0
    last_error: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def pool_liquidity_sol(signal: Signal) -> float:
    """The pool's SOL side, from the market the signal was scored on (0 when unknown)."""
    token = signal.factors.detail.get("token", {}) if signal.factors.detail else {}
    liquidity_usd = token.get("liquidity_usd")
    if not liquidity_usd or not signal.price_usd or not signal.price_sol:
        return 0.0
    sol_usd = signal.price_usd / signal.price_sol
    return float(liquidity_usd) / 2.0 / sol_usd if sol_usd > 0 else 0.0


class TradingEngine:
    def __init__(self, store: TradingStore, executors: Mapping[TradingMode, Executor],
                 config: Callable[[], DynamicConfig], alerts: Alerts, decimals: Decimals, *,
                 clock: Clock = utcnow, faults: FaultHook | None = None,
                 live_balance: Callable[[], Awaitable[float]] | None = None,
                 live_refusals: Callable[[], Awaitable[list[str]]] | None = None) -> None:
        self.store = store
        self.executors = executors
        self._config = config
        self.alerts = alerts
        self._decimals = decimals
        self.clock = clock
        self._faults = faults or _no_fault
        self._live_balance = live_balance
        self._live_refusals = live_refusals
        self.counters = EngineCounters()
        self._lock = asyncio.Lock()  # decisions one at a time in a process; the store across
        self._position_locks: dict[str, asyncio.Lock] = {}
        self._prices: dict[str, tuple[float, datetime, str]] = {}  # mint → (SOL, at, source)
        self.reconciled = False
        # The source swap's time of the entries in flight (the store answers after a restart).
        self._swap_times: dict[str, datetime] = {}
        self._opening: dict[str, Position] = {}  # the position an entry order was made with

    # -- configuration -------------------------------------------------------------------

    @property
    def config(self) -> DynamicConfig:
        return self._config()

    def _strategies(self) -> dict[str, ExitStrategy]:
        return {name: strategy_from_plan(name, plan)
                for name, plan in self.config.exits.strategies.items()}

    def strategy_for(self, wallet: str | None) -> ExitStrategy:
        cfg = self.config
        custom = self._strategies()
        default = named_strategy(cfg.execution.default_strategy, custom)
        per_wallet = {w: named_strategy(n, custom)
                      for w, n in cfg.exits.wallet_strategies.items()}
        return resolve_strategy(default, per_wallet, wallet)

    def _risk(self) -> RiskManager:
        cfg = self.config
        return RiskManager(risk=cfg.risk, sizing=cfg.sizing, protection=cfg.protections)

    # -- start-up ------------------------------------------------------------------------

    async def reconcile(self) -> int:
        """Resolve every order a crash left unfinished, from the chain, before anything
        else runs; positions whose entry never happened are marked failed."""
        orders = await self.store.unfinished_orders()
        for order in orders:
            await self.drive(order)
        for position in await self.store.open_positions():
            if position.status is PositionStatus.opening:
                status = await self.store.entry_order_status(position.id)
                if status in (None, OrderStatus.failed):
                    await self.store.save_position(position.model_copy(update={
                        "status": PositionStatus.failed, "closed_at": self.clock(),
                        "close_reason": "entry failed", "updated_at": self.clock()}))
        self.reconciled = True
        log.info("trading_reconciled", orders=len(orders))
        return len(orders)

    # -- signals -------------------------------------------------------------------------

    async def process_pending(self, since: datetime, *,
                              stop: asyncio.Event | None = None) -> int:
        """Decide every undecided signal stored since ``since`` (oldest first).

        Once ``stop`` is set no new signal is taken: the one in hand (and its order) is
        finished, the rest stay undecided for the next start.
        """
        done = 0
        while True:
            batch = await self.store.undecided_signals(since)
            if not batch:
                return done
            for signal in batch:
                if stop is not None and stop.is_set():
                    return done
                await self.handle(signal)
                done += 1

    async def handle(self, signal: Signal) -> TradeDecision | None:
        # A price seen in the inbox for a held mint is the freshest there is.
        if signal.price_sol:
            self.observe_price(signal.mint, signal.price_sol, signal.swap_at, "inbox")
        if signal.side is SwapSide.sell:
            return await self.mirror(signal)
        return await self.enter(signal)

    async def enter(self, signal: Signal) -> TradeDecision | None:
        async with self._lock:
            decision, order = await self._decide_entry(signal)
        if order is not None:
            await self.drive(order)
        return decision

    async def _decide_entry(self, signal: Signal) -> tuple[TradeDecision | None, Order | None]:
        cfg = self.config
        now = self.clock()
        snap = await self.store.entry_snapshot(
            now - timedelta(seconds=cfg.gates.cooldown_seconds + 1))
        held = {p.mint: HeldPosition(position_id=p.id, opened_at=p.opened_at,
                                     size_sol=p.cost_sol or p.size_sol) for p in snap.positions}
        risk = self._state_of(snap.risk)
        mode = effective_mode(cfg.execution.mode, snap.copy_modes.get(signal.wallet))
        last_exits = snap.last_exits
        if mode is TradingMode.live:
            refusals = (await self._live_refusals() if self._live_refusals is not None
                        else ["no live executor is configured"])
            if refusals or TradingMode.live not in self.executors:
                message = "; ".join(refusals or ["no live executor is configured"])
                decision = TradeDecision(signal_id=signal.id, decided_at=now,
                                         action=TradeAction.refused, gate="live_guard",
                                         reason="live_not_allowed", mode=mode, message=message)
                if not await self._record(decision):
                    return None, None
                await self.alerts.raise_alert(AlertLevel.critical, "live_guard",
                                              f"a live copy of {signal.wallet} was refused: "
                                              f"{message}", signal_id=signal.id)
                return decision, None
            assert self._live_balance is not None
            balance = await self._live_balance()
        else:
            balance = cfg.risk.starting_capital_sol + snap.cash_flow.get("paper", 0.0)
        ctx = EntryContext(
            now=now, signal_id=signal.id, mint=signal.mint, score=signal.score,
            high_conviction=signal.high_conviction, open_positions=held,
            last_exit_at=last_exits, balance_sol=max(0.0, balance), paused=risk.paused,
            halted=risk.halted, locks=risk.locks,
            max_concurrent_positions=cfg.risk.max_concurrent_positions,
            fee_reserve_sol=cfg.sizing.fee_reserve_sol, gates=cfg.gates)
        verdict = check_entry(ctx)
        if not verdict.allowed:
            assert verdict.verdict is not None
            v = verdict.verdict
            action = TradeAction.confirmation if v.confirmation else TradeAction.refused
            decision = TradeDecision(signal_id=signal.id, decided_at=now, action=action,
                                     gate=v.gate, reason=v.reason.value, message=v.message,
                                     position_id=v.position_id, mode=mode, detail=v.detail)
            recorded = await self._record(decision,
                                          confirm=v.position_id if v.confirmation else None)
            return (decision if recorded else None), None
        size = size_position(SizingInputs(
            capital_sol=risk.capital_sol, high_conviction=signal.high_conviction,
            reduced=risk.size_reduced, pool_liquidity_sol=pool_liquidity_sol(signal),
            balance_sol=max(0.0, balance), exposure_headroom_sol=ctx.exposure_headroom_sol),
            cfg.sizing)
        if size.size_sol < cfg.gates.min_trade_sol:
            reason = size.zero_reason.value if size.zero_reason else "below_min_trade"
            decision = TradeDecision(
                signal_id=signal.id, decided_at=now, action=TradeAction.refused, gate="sizing",
                reason=reason, mode=mode,
                message=f"size {size.size_sol:.4f} SOL < {cfg.gates.min_trade_sol} SOL "
                        f"(caps: {', '.join(c.value for c in size.binding_caps) or 'none'})",
                detail=size.model_dump(mode="json"))
            return (decision if await self._record(decision) else None), None
        strategy = self.strategy_for(signal.wallet)
        position = Position(
            signal_id=signal.id, wallet=signal.wallet, mint=signal.mint, mode=mode,
            status=PositionStatus.opening, strategy=strategy.name,
            exit_plan=plan_of(strategy), sizing=size.model_dump(mode="json"),
            size_sol=size.size_sol, opened_at=now, updated_at=now)
        order = Order(position_id=position.id, signal_id=signal.id,
                      idempotency_key=f"entry:{signal.id}", kind=OrderKind.entry,
                      side=SwapSide.buy, mint=signal.mint, mode=mode, amount_in=size.size_sol,
                      slippage_bps=cfg.sizing.slippage_bps, created_at=now, updated_at=now)
        decision = TradeDecision(signal_id=signal.id, decided_at=now, action=TradeAction.opened,
                                 position_id=position.id, mode=mode,
                                 message=f"{size.size_sol:.4f} SOL, {strategy.name} exits")
        try:
            fresh = await self.store.open_position(decision, position, order)
        except MintHeld:
            # Another worker or process opened the mint between our read and our insert.
            other = await self.store.held_position(signal.mint)
            decision = TradeDecision(
                signal_id=signal.id, decided_at=now, action=TradeAction.confirmation,
                gate="holding", reason="confirmation", mode=mode,
                position_id=other.id if other else None,
                message="the mint was opened concurrently: recorded as a confirmation")
            recorded = await self._record(decision, confirm=other.id if other else None)
            return (decision if recorded else None), None
        if not fresh:
            return None, None  # decided already (a duplicate delivery): nothing done twice
        self.counters.opened += 1
        self._swap_times[signal.id] = signal.swap_at
        self._opening[order.id] = position
        log.info("trading_position_opening", position=position.id, mint=signal.mint,
                 wallet=signal.wallet, size_sol=round(size.size_sol, 6), mode=mode.value)
        return decision, order

    async def _record(self, decision: TradeDecision, *, confirm: str | None = None) -> bool:
        """Store the decision; False when the signal was decided already (nothing counted)."""
        if not await self.store.decide(decision, confirm_position=confirm):
            return False
        if decision.action is TradeAction.confirmation:
            self.counters.confirmations += 1
        elif decision.action is TradeAction.refused:
            self.counters.refused += 1
            key = decision.reason or "?"
            self.counters.reasons[key] = self.counters.reasons.get(key, 0) + 1
        return True

    async def mirror(self, signal: Signal) -> TradeDecision | None:
        """The source wallet sold: its share of the holding is the mirror exit's input."""
        position = await self.store.held_position(signal.mint)
        now = self.clock()
        if position is None or position.wallet != signal.wallet:
            decision = TradeDecision(signal_id=signal.id, decided_at=now,
                                     action=TradeAction.ignored,
                                     position_id=position.id if position else None,
                                     message="a sell by another wallet than the source")
            return decision if await self._record(decision) else None
        held = await self.store.source_holding_before(signal.wallet, signal.mint, signal)
        fraction = 1.0 if held <= 0 else min(1.0, signal.token_amount / held)
        decision = TradeDecision(signal_id=signal.id, decided_at=now,
                                 action=TradeAction.mirror_exit, position_id=position.id,
                                 message=f"the source sold {fraction:.0%} of its holding",
                                 detail={"fraction": fraction, "held_before": held})
        if not await self._record(decision):
            return None  # this sell was mirrored already
        await self.evaluate_position(position.id, source_sold_fraction=fraction,
                                     signal_id=signal.id)
        return decision

    # -- balance, equity, risk -----------------------------------------------------------

    async def balance_sol(self, mode: TradingMode) -> float:
        if mode is TradingMode.live and self._live_balance is not None:
            return await self._live_balance()
        figures = await self.store.book_figures()
        return self.config.risk.starting_capital_sol + figures.get("paper_cash_flow", 0.0)

    async def equity_sol(self) -> float:
        """Capital + realized PnL + open positions at their last price (paper and live alike:
        the same formula for the same book)."""
        figures = await self.store.book_figures()
        realized = figures.get("paper_realized", 0.0) + figures.get("live_realized", 0.0)
        unrealized = 0.0
        for p in await self.store.open_positions():
            if p.token_amount > 0 and p.last_price_sol is not None:
                basis = p.cost_sol * p.remaining_tokens / p.token_amount
                unrealized += p.remaining_tokens * p.last_price_sol - basis
        return max(0.0, self.config.risk.starting_capital_sol + realized + unrealized)

    async def _protection_state(self) -> ProtectionState:
        return self._state_of(await self.store.risk_state())

    def _state_of(self, row: RiskState | None) -> ProtectionState:
        if row is None:
            return self._risk().initial_state()
        return ProtectionState.from_risk_state(row, last_reset_at=row.last_reset_at)

    async def _save_risk(self, state: ProtectionState, events: tuple[Any, ...]) -> RiskState:
        row = state.to_risk_state(self.config.execution.mode)
        row = row.model_copy(update={"last_reset_at": state.last_reset_at})
        await self.store.save_risk(row, events)
        for e in events:
            level = (AlertLevel.critical if e.kind.value in (
                "drawdown_pause", "win_rate_halt", "daily_loss_pause") else AlertLevel.warning)
            await self.alerts.raise_alert(level, "risk", e.message, kind=e.kind.value,
                                          **e.detail)
        return row

    async def risk_tick(self) -> RiskState:
        """Run every protection over the book now; store the state, alert every event."""
        cfg = self.config
        state = await self._protection_state()
        window = max(cfg.risk.halt_window_trades, cfg.sizing.max_loss_streak, 200)
        closed = [ClosedTrade(position_id=p.id, size_sol=p.cost_sol, pnl_sol=p.realized_pnl_sol,
                              closed_at=p.closed_at or p.updated_at, exit_reason=p.close_reason)
                  for p in await self.store.closed_positions(window)]
        obs = RiskObservation(now=self.clock(), equity_sol=await self.equity_sol(),
                              capital_sol=cfg.risk.starting_capital_sol,
                              open_positions=len(await self.store.open_positions()),
                              closed_trades=tuple(closed))
        outcome = self._risk().evaluate(state, obs)
        return await self._save_risk(outcome.state, outcome.events)

    async def operator(self, action: str, note: str) -> RiskState:
        """``pause`` / ``resume`` / ``reset`` with the operator's note (required)."""
        manager = self._risk()
        state = await self._protection_state()
        act = {"pause": manager.pause, "resume": manager.resume, "reset": manager.reset}[action]
        outcome = act(state, note, self.clock())
        row = await self._save_risk(outcome.state, outcome.events)
        return row if action != "reset" else await self.risk_tick()

    async def override_strategy(self, position_id: str, strategy: str) -> Position:
        """The operator's per-position override while it is open: from the next price update
        its exits follow ``strategy`` (a named one: built-in or the config's own)."""
        chosen = named_strategy(strategy, self._strategies())
        lock = self._position_locks.setdefault(position_id, asyncio.Lock())
        async with lock:
            position = await self.store.position(position_id)
            if position is None or position.status not in (PositionStatus.open,
                                                           PositionStatus.closing):
                raise WallTrackError(f"position {position_id} is not open",
                                     hint="an override applies to an open position only")
            after = position.model_copy(update={
                "override_strategy": chosen.name, "override_plan": plan_of(chosen),
                "updated_at": self.clock()})
            await self.store.save_position(after)
        log.info("trading_strategy_overridden", position=position_id, strategy=chosen.name)
        return after

    # -- prices and exits ----------------------------------------------------------------

    def observe_price(self, mint: str, price_sol: float, at: datetime, source: str) -> None:
        known = self._prices.get(mint)
        if known is None or at >= known[1]:
            self._prices[mint] = (price_sol, at, source)

    async def on_price(self, mint: str, price_sol: float | None, at: datetime | None,
                       source: str) -> None:
        """A price update for a mint (None: none could be had): every open position of it
        is evaluated; a missing or stale price marks it stale and alerts, never sells."""
        if price_sol is not None and price_sol > 0 and at is not None:
            self.observe_price(mint, price_sol, at, source)
        position = await self.store.held_position(mint)
        if position is not None and position.status is not PositionStatus.opening:
            await self.evaluate_position(position.id)

    def held_mints_hint(self) -> list[str]:
        return list(self._prices)

    async def evaluate_position(self, position_id: str, *,
                                source_sold_fraction: float | None = None,
                                signal_id: str | None = None) -> Order | None:
        lock = self._position_locks.setdefault(position_id, asyncio.Lock())
        async with lock:
            order = await self._evaluate(position_id, source_sold_fraction, signal_id)
        if order is not None:
            await self.drive(order)
        return order

    async def _evaluate(self, position_id: str, sold: float | None,
                        signal_id: str | None) -> Order | None:
        position = await self.store.position(position_id)
        if position is None or position.status is not PositionStatus.open:
            return None
        cfg = self.config
        now = self.clock()
        known = self._prices.get(position.mint)
        price, price_at, source = known if known else (None, None, None)
        strategy = strategy_from_plan(position.plan_name, position.plan)
        # "_exits" (the triggers of the exits done) is the engine's, not the rules'.
        exits_done = list((position.exit_state or {}).get("_exits", []))
        state = ExitState.model_validate({k: v for k, v in (position.exit_state or {}).items()
                                          if not k.startswith("_")})
        assert position.entry_price_sol is not None
        view = PositionView(
            entry_price=position.entry_price_sol, price=price, price_at=price_at, now=now,
            peak_price=position.peak_price_sol or position.entry_price_sol,
            opened_at=position.opened_at, initial_tokens=position.token_amount,
            remaining_tokens=position.remaining_tokens, state=state,
            source_sold_fraction=sold)
        outcome = evaluate(strategy, view, max_price_age_seconds=cfg.exits.max_price_age_seconds)
        update: dict[str, Any] = {"updated_at": now}
        if outcome.status is OutcomeStatus.stale:
            if not position.price_stale:
                self.counters.stale_marks += 1
                await self.alerts.raise_alert(
                    AlertLevel.warning, "price_watch",
                    f"no usable price for {position.mint}: position {position.id} is marked "
                    f"stale (nothing is sold at an unknown price) — {outcome.reason}",
                    position_id=position.id, mint=position.mint)
            update["price_stale"] = True
            await self.store.save_position(position.model_copy(update=update))
            return None
        update |= {"price_stale": False, "last_price_sol": price, "last_price_at": price_at,
                   "price_source": source, "peak_price_sol": view.peak,
                   "exit_state": {**outcome.state.model_dump(mode="json"),
                                  "_exits": exits_done}}
        if outcome.status is not OutcomeStatus.sell:
            await self.store.save_position(position.model_copy(update=update))
            return None
        tokens = min(position.remaining_tokens, outcome.tokens)
        if outcome.full_exit:
            tokens = position.remaining_tokens
        assert outcome.kind is not None
        closing = position.model_copy(update=update | {"status": PositionStatus.closing})
        n = len(exits_done)
        order = Order(position_id=position.id, signal_id=signal_id,
                      idempotency_key=f"exit:{position.id}:{now.isoformat()}:{n}",
                      kind=OrderKind.exit, side=SwapSide.sell, mint=position.mint,
                      mode=position.mode, amount_in=tokens, slippage_bps=cfg.sizing.slippage_bps,
                      trigger=outcome.kind.value, created_at=now, updated_at=now)
        if not await self.store.create_exit(order, closing):
            return None  # another exit of this position is in flight
        self.counters.exits += 1
        log.info("trading_exit_planned", position=position.id, mint=position.mint,
                 rule=outcome.kind.value, fraction=round(outcome.fraction, 4),
                 reason=outcome.reason)
        return order

    # -- orders --------------------------------------------------------------------------

    async def _request(self, order: Order, position: Position) -> SwapRequest:
        decimals = position.decimals
        if decimals is None:
            decimals = await self._decimals(order.mint)
        if order.side is SwapSide.buy:
            amount = round(order.amount_in * LAMPORTS)
        else:
            amount = math.floor(order.amount_in * 10**decimals + 1e-6)
        return SwapRequest(key=f"{order.idempotency_key}:{order.attempts + 1}", mint=order.mint,
                           side=order.side, amount_in=amount, slippage_bps=order.slippage_bps,
                           decimals=decimals)

    async def drive(self, order: Order) -> Order:
        """Take an order through the state machine until it is confirmed, failed, or the
        chain stops answering (left ``submitted`` for the next reconcile)."""
        position = self._opening.pop(order.id, None) or await self.store.position(
            order.position_id)
        if position is None:
            return order
        executor = self.executors[order.mode]
        cfg = self.config.execution
        deadline = asyncio.get_running_loop().time() + cfg.confirm_timeout_seconds
        request: SwapRequest | None = None
        while True:
            seen = Observation()
            if order.status is OrderStatus.submitted and order.tx_signature:
                seen = await executor.observe(order.tx_signature, order.last_valid_block_height)
            step = next_step(order, seen, max_attempts=cfg.max_order_attempts)
            if step.action is Action.none:
                return order
            if step.action is Action.send:
                order, request = await self._send(order, position, executor)
                continue
            if step.action is Action.wait:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("trading_order_unconfirmed", order=order.id,
                                signature=order.tx_signature)
                    return order
                await asyncio.sleep(cfg.confirm_poll_seconds)
                continue
            if step.action is Action.retry:
                order = await self._attempt_over(order, step.reason)
                continue
            if step.action is Action.confirm:
                assert order.tx_signature is not None
                await self._faults("landed")
                request = request or await self._request(
                    order.model_copy(update={"attempts": order.attempts - 1}), position)
                fill = await executor.fill(order.tx_signature, request)
                if fill is None:  # landed with meta.err: that attempt failed
                    order = await self._attempt_over(order, "landed with meta.err")
                    continue
                return await self._confirm(order, position, fill)
            # fail
            return await self._fail(order, position, step.reason)

    async def _send(self, order: Order, position: Position,
                    executor: Executor) -> tuple[Order, SwapRequest | None]:
        now = self.clock()
        request = await self._request(order, position)
        try:
            prepared = await executor.prepare(request)
        except (ExternalAPIError, WallTrackError) as exc:
            # Nothing was signed for the chain: the attempt is over, the next re-quotes.
            failed = order.model_copy(update={"attempts": order.attempts + 1,
                                              "error": f"quote: {exc}", "updated_at": now,
                                              "history": [*order.history, {
                                                  "attempt": order.attempts + 1,
                                                  "at": now.isoformat(),
                                                  "outcome": "quote_failed",
                                                  "error": str(exc)}]})
            await self.store.save_order(failed)
            await asyncio.sleep(min(1.0, self.config.execution.confirm_poll_seconds))
            return failed, None
        submitted = order.model_copy(update={
            "status": OrderStatus.submitted, "attempts": order.attempts + 1,
            "tx_signature": prepared.signature, "quoted_out": float(prepared.quoted_out),
            "price_impact_pct": prepared.price_impact_pct,
            "last_valid_block_height": prepared.last_valid_block_height,
            "submitted_at": now, "updated_at": now, "error": None})
        await self.store.save_order(submitted)  # the signature is stored before the send
        await self._faults("submitted")
        try:
            await executor.send(prepared)
        except SendRejected as exc:
            rejected = await self._attempt_over(submitted, exc.message, sent=False)
            return rejected, None
        except ExternalAPIError as exc:
            # It may have left: stay submitted, the chain will tell.
            log.warning("trading_send_uncertain", order=order.id, error=str(exc))
        await self._faults("sent")
        return submitted, request

    async def _attempt_over(self, order: Order, reason: str, *, sent: bool = True) -> Order:
        now = self.clock()
        back = order.model_copy(update={
            "status": OrderStatus.created, "error": reason, "updated_at": now,
            "history": [*order.history, {"attempt": order.attempts, "at": now.isoformat(),
                                         "signature": order.tx_signature,
                                         "outcome": "rejected" if not sent else "failed",
                                         "error": reason}]})
        await self.store.save_order(back)
        log.info("trading_attempt_over", order=order.id, attempt=order.attempts, reason=reason)
        return back

    async def _fail(self, order: Order, position: Position, reason: str) -> Order:
        now = self.clock()
        failed = order.model_copy(update={"status": OrderStatus.failed, "error": reason,
                                          "updated_at": now})
        if order.kind is OrderKind.entry:
            after = position.model_copy(update={"status": PositionStatus.failed,
                                                "closed_at": now, "updated_at": now,
                                                "close_reason": f"entry failed: {reason}"})
        else:
            after = position.model_copy(update={"status": PositionStatus.open,
                                                "updated_at": now})
        await self.store.settle(failed, after, None)
        self.counters.failed_orders += 1
        self.counters.last_error = reason
        await self.alerts.raise_alert(
            AlertLevel.warning if order.kind is OrderKind.exit else AlertLevel.info,
            "execution", f"{order.kind.value} order for {order.mint} failed: {reason}",
            order_id=order.id, position_id=position.id)
        return failed

    async def _confirm(self, order: Order, position: Position, fill: Fill) -> Order:
        now = self.clock()
        decimals = position.decimals
        if decimals is None:
            decimals = await self._decimals(order.mint)
        scale = 10**decimals
        tokens = fill.token_raw / scale
        sol = fill.sol_lamports / LAMPORTS
        network = fill.network_fee_lamports / LAMPORTS
        priority = fill.priority_fee_lamports / LAMPORTS
        fees = network + priority + fill.rent_lamports / LAMPORTS
        confirmed = order.model_copy(update={"status": OrderStatus.confirmed,
                                             "confirmed_at": now, "updated_at": now})
        signal_at = await self._signal_time(order, position)
        delay = (now - signal_at).total_seconds() if signal_at else None
        trade = Trade(
            id=f"fill-{order.id}", order_id=order.id, position_id=position.id,
            signal_id=order.signal_id, wallet=position.wallet, mint=order.mint, side=order.side,
            mode=order.mode, sol_amount=sol, token_amount=tokens,
            price_sol=sol / tokens if tokens > 0 else 0.0, fee_sol=fees,
            network_fee_sol=network, priority_fee_sol=priority,
            platform_fee_sol=fill.platform_fee_lamports / LAMPORTS,
            price_impact_pct=fill.price_impact_pct,
            quoted_out=fill.quoted_out / (scale if order.side is SwapSide.buy else LAMPORTS)
            if fill.quoted_out is not None else None,
            delay_seconds=delay, trigger=order.trigger, tx_signature=fill.signature,
            executed_at=now)
        if order.side is SwapSide.buy:
            price = trade.price_sol
            after = position.model_copy(update={
                "status": PositionStatus.open, "decimals": decimals, "token_amount": tokens,
                "remaining_tokens": tokens, "cost_sol": sol + fees, "entry_price_sol": price,
                "peak_price_sol": price, "last_price_sol": price, "last_price_at": now,
                "price_source": "fill", "entry_delay_seconds": delay, "updated_at": now})
        else:
            sold = min(position.remaining_tokens, tokens)
            basis = position.cost_sol * sold / position.token_amount if position.token_amount else 0
            proceeds = sol - fees
            pnl = proceeds - basis
            trade = trade.model_copy(update={"pnl_sol": pnl})
            remaining = max(0.0, position.remaining_tokens - sold)
            done = remaining <= position.token_amount * DUST or math.floor(
                remaining * scale + 1e-6) < 1
            state = dict(position.exit_state)
            state["_exits"] = [*state.get("_exits", []), order.trigger]
            after = position.model_copy(update={
                "status": PositionStatus.closed if done else PositionStatus.open,
                "remaining_tokens": 0.0 if done else remaining,
                "proceeds_sol": position.proceeds_sol + proceeds,
                "realized_pnl_sol": position.realized_pnl_sol + pnl, "exit_state": state,
                "closed_at": now if done else None,
                "close_reason": order.trigger if done else None, "updated_at": now})
        if not await self.store.settle(confirmed, after, trade):
            return confirmed  # this order's fill was recorded already
        self.counters.fills += 1
        log.info("trading_fill_recorded", order=order.id, position=position.id,
                 side=order.side.value, sol=round(sol, 6), tokens=tokens, mode=order.mode.value,
                 delay_seconds=delay, pnl_sol=trade.pnl_sol)
        if after.status is PositionStatus.closed:
            await self.alerts.raise_alert(
                AlertLevel.info, "trading",
                f"closed {after.mint} by {after.close_reason}: "
                f"{after.realized_pnl_sol:+.4f} SOL", position_id=after.id)
            await self.risk_tick()
        return confirmed

    async def _signal_time(self, order: Order, position: Position) -> datetime | None:
        if order.kind is not OrderKind.entry:
            return None
        known = self._swap_times.pop(position.signal_id, None)
        return known or await self.store.signal_swap_at(position.signal_id)
