"""A small book for the dashboard's tests, with its figures computed by hand.

Relative to ``now`` so the browser test (which runs on the wall clock) sees the same
"today" and "7 d" windows as the view tests:

=========  ======  =============================  ==========================
position   status  fills                          realized (closed at)
=========  ======  =============================  ==========================
win-today  closed  buy 1.0 SOL, sell pnl +0.5     now − 1 h
loss-3d    closed  buy 1.0 SOL, sell pnl −0.2     now − 3 d
win-10d    closed  buy 1.0 SOL, sell pnl +0.3     now − 10 d
open-half  open    buy 1.0 SOL, half sold +0.1    (partial exit now − 2 h)
=========  ======  =============================  ==========================

open-half: 1 000 tokens bought for 1.0 SOL, 500 left, last price 0.0015 SOL → worth 0.75
against a remaining cost of 0.5 → unrealized +0.25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tests import factories
from walltrack import models as m
from walltrack.store import Database
from walltrack.store.repositories import (
    AlertRepository,
    OrderRepository,
    PositionRepository,
    RiskStateRepository,
    SignalRepository,
    TradeDecisionRepository,
    TradeRepository,
)
from walltrack.trading.exits import NAMED_STRATEGIES, plan_of

SOURCE = factories.address("dashboard-source")
WEIGHTS = {"wallet": 0.30, "cluster": 0.25, "token": 0.25, "context": 0.20}
PEAK = 11.5


@dataclass(frozen=True)
class Expected:
    realized_today: float = 0.5 + 0.1
    realized_7d: float = 0.5 + 0.1 - 0.2
    realized_all: float = 0.5 + 0.1 - 0.2 + 0.3
    unrealized: float = 0.25
    equity: float = 10.0 + 0.7 + 0.25
    win_rate: float = 2 / 3
    profit_ratio: float = (0.5 + 0.3) / 0.2
    open_positions: int = 1
    trades: int = 8
    trades_today: int = 4  # now ≥ 06:00 UTC: every fill of win-today and open-half
    drawdown: float = 1 - (10.0 + 0.7 + 0.25) / PEAK


def signal(sid: str, at: datetime, *, mint: str, decision: m.SignalDecision,
           reason: m.DecisionReason, factors: tuple[float, float, float, float] = (
               0.9, 0.5, 0.8, 0.6)) -> m.Signal:
    f = dict(zip(("wallet", "cluster", "token", "context"), factors, strict=True))
    return m.Signal(
        id=sid, signature=factories.signature(sid), wallet=SOURCE, mint=mint,
        side=m.SwapSide.buy, sol_amount=1.0, token_amount=1000.0, observed_at=at,
        swap_at=at - timedelta(seconds=2), delay_seconds=2.0,
        factors=m.SignalFactors(**f), weights=WEIGHTS,
        score=round(sum(WEIGHTS[k] * v for k, v in f.items()), 6), decision=decision,
        reason=reason)


def _position(name: str, now: datetime, *, opened: timedelta, closed: timedelta | None,
              pnl: float, remaining: float, last_price: float,
              exit_state: dict[str, object] | None = None) -> m.Position:
    strategy = NAMED_STRATEGIES["balanced"]
    return m.Position(
        id=name, signal_id=f"sig-{name}", wallet=SOURCE, mint=factories.address(name),
        status=m.PositionStatus.closed if closed is not None else m.PositionStatus.open,
        strategy=strategy.name, exit_plan=plan_of(strategy), size_sol=1.0, cost_sol=1.0,
        token_amount=1000.0, remaining_tokens=remaining, entry_price_sol=0.001,
        peak_price_sol=max(0.001, last_price), last_price_sol=last_price,
        last_price_at=now - timedelta(seconds=30), entry_delay_seconds=3.5,
        realized_pnl_sol=pnl, opened_at=now - opened,
        closed_at=None if closed is None else now - closed,
        exit_state=exit_state or {})


def _fills(p: m.Position, sell_at: datetime, pnl: float, tokens: float) -> tuple[
        list[m.Order], list[m.Trade]]:
    buy = m.Order(id=f"{p.id}-entry", position_id=p.id, signal_id=p.signal_id,
                  idempotency_key=f"entry:{p.signal_id}", kind=m.OrderKind.entry,
                  side=m.SwapSide.buy, mint=p.mint, status=m.OrderStatus.confirmed,
                  amount_in=1.0, created_at=p.opened_at)
    sell = m.Order(id=f"{p.id}-exit", position_id=p.id, idempotency_key=f"exit:{p.id}",
                   kind=m.OrderKind.exit, side=m.SwapSide.sell, mint=p.mint,
                   status=m.OrderStatus.confirmed, amount_in=tokens, trigger="take_profit_ladder",
                   created_at=sell_at)
    trades = [
        m.Trade(id=f"fill-{buy.id}", order_id=buy.id, position_id=p.id, signal_id=p.signal_id,
                wallet=SOURCE, mint=p.mint, side=m.SwapSide.buy, mode=m.TradingMode.paper,
                sol_amount=0.99, token_amount=1000.0, price_sol=0.00099, fee_sol=0.01,
                network_fee_sol=0.000005, priority_fee_sol=0.0001, delay_seconds=3.5,
                tx_signature=factories.signature(buy.id), executed_at=p.opened_at),
        m.Trade(id=f"fill-{sell.id}", order_id=sell.id, position_id=p.id, wallet=SOURCE,
                mint=p.mint, side=m.SwapSide.sell, mode=m.TradingMode.paper,
                sol_amount=1.0 + pnl, token_amount=tokens, price_sol=0.002, fee_sol=0.0,
                pnl_sol=pnl, trigger="take_profit_ladder",
                tx_signature=factories.signature(sell.id), executed_at=sell_at),
    ]
    return [buy, sell], trades


def seed_book(db: Database, now: datetime) -> Expected:
    """The four positions above, their fills, a paused-free risk row with peak 11.5,
    signals (today and yesterday) and three alerts."""
    armed = {"trailing_armed": True, "ladder_done": 1, "ratchet_level": 0.05,
             "_exits": ["take_profit_ladder"]}
    book = [
        (_position("win-today", now, opened=timedelta(hours=5), closed=timedelta(hours=1),
                   pnl=0.5, remaining=0.0, last_price=0.0015), timedelta(hours=1), 0.5, 1000.0),
        (_position("loss-3d", now, opened=timedelta(days=3, hours=2),
                   closed=timedelta(days=3), pnl=-0.2, remaining=0.0, last_price=0.0008),
         timedelta(days=3), -0.2, 1000.0),
        (_position("win-10d", now, opened=timedelta(days=10, hours=2),
                   closed=timedelta(days=10), pnl=0.3, remaining=0.0, last_price=0.0013),
         timedelta(days=10), 0.3, 1000.0),
        (_position("open-half", now, opened=timedelta(hours=6), closed=None, pnl=0.1,
                   remaining=500.0, last_price=0.0015, exit_state=armed),
         timedelta(hours=2), 0.1, 500.0),
    ]
    positions, orders, trades = PositionRepository(db), OrderRepository(db), TradeRepository(db)
    for p, ago, pnl, tokens in book:
        positions.upsert(p)
        o, t = _fills(p, now - ago, pnl, tokens)
        orders.upsert_many(o)
        trades.upsert_many(t)
    RiskStateRepository(db).upsert(m.RiskState(equity_sol=10.9, peak_equity_sol=PEAK,
                                               updated_at=now - timedelta(minutes=1)))
    signals = [
        signal("sig-open-half", now - timedelta(hours=6), mint=factories.address("open-half"),
               decision=m.SignalDecision.eligible, reason=m.DecisionReason.above_threshold),
        signal("sig-refused", now - timedelta(hours=3), mint=factories.address("refused"),
               decision=m.SignalDecision.eligible, reason=m.DecisionReason.above_threshold),
        signal("sig-low", now - timedelta(minutes=20), mint=factories.address("low"),
               decision=m.SignalDecision.log_only, reason=m.DecisionReason.below_threshold,
               factors=(0.2, 0.0, 0.4, 0.1)),
        signal("sig-old", now - timedelta(days=1, hours=1), mint=factories.address("old"),
               decision=m.SignalDecision.log_only, reason=m.DecisionReason.below_threshold),
    ]
    SignalRepository(db).upsert_many(signals)
    TradeDecisionRepository(db).upsert_many([
        m.TradeDecision(signal_id="sig-open-half", decided_at=now - timedelta(hours=6),
                        action=m.TradeAction.opened, position_id="open-half",
                        mode=m.TradingMode.paper, message="1.0000 SOL, balanced exits"),
        m.TradeDecision(signal_id="sig-refused", decided_at=now - timedelta(hours=3),
                        action=m.TradeAction.refused, gate="max_positions",
                        reason="position_limit", message="5 positions open (max 5)"),
    ])
    AlertRepository(db).upsert_many([
        m.Alert(id="al-old", at=now - timedelta(days=2), level=m.AlertLevel.info,
                source="trading", message="closed a position", acknowledged=True),
        m.Alert(id="al-warn", at=now - timedelta(hours=2), level=m.AlertLevel.warning,
                source="price_watch", message="no usable price for a mint"),
        m.Alert(id="al-crit", at=now - timedelta(minutes=5), level=m.AlertLevel.critical,
                source="risk", message="drawdown pause engaged"),
    ])
    return Expected()
