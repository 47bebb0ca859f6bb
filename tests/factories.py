"""Hand-made, fully populated instances of every entity, for round-trip tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import base58

from walltrack import models as m

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def address(seed: str) -> str:
    return base58.b58encode(hashlib.sha256(seed.encode()).digest()).decode()


def signature(seed: str) -> str:
    return base58.b58encode(hashlib.sha512(seed.encode()).digest()).decode()


WALLET = address("wallet-1")
OTHER = address("wallet-2")
MINT = address("mint-1")


def swap(i: int = 0, *, wallet: str = WALLET, side: m.SwapSide = m.SwapSide.buy) -> m.Swap:
    return m.Swap(
        signature=signature(f"swap-{i}-{wallet}"),
        slot=300_000_000 + i,
        timestamp=T0 + timedelta(seconds=i),
        wallet=wallet,
        mint=MINT,
        side=side,
        sol_amount=0.5 + i / 1000,
        token_amount=1_234_567.891 + i,
        source="PUMP_AMM",
        fee_sol=0.000005,
    )


def every_entity() -> list[object]:
    """One instance of every stored entity, parents before children."""
    token = m.Token(
        mint=MINT, symbol="WOOF", name="Woof", decimals=6, pair_address=address("pair"),
        dex_id="raydium", quote_symbol="SOL", source=m.TokenSource.boost_latest,
        first_seen_at=T0, pair_created_at=T0 - timedelta(hours=2), status=m.TokenStatus.active,
        mint_authority_active=False, freeze_authority_active=False, top10_holder_share=0.31,
    )
    position = m.Position(
        id="pos-1", signal_id="sig-1", mint=MINT, size_sol=0.2, entry_price_sol=0.0000012,
        token_amount=166_666.0, remaining_tokens=166_666.0, peak_price_sol=0.0000015,
        exit_plan=[m.ExitRule(kind="stop_loss", params={"pct": 0.3})],
        status=m.PositionStatus.open,
    )
    order = m.Order(
        id="ord-1", position_id="pos-1", idempotency_key="sig-1:entry", kind=m.OrderKind.entry,
        side=m.SwapSide.buy, mint=MINT, amount_in=0.2, quoted_out=166_666.0, attempts=1,
        status=m.OrderStatus.confirmed, tx_signature=signature("tx-1"),
    )
    return [
        token,
        m.TokenSnapshot(mint=MINT, taken_at=T0, price_usd=0.0012, price_sol=0.0000081,
                        liquidity_usd=42_000.5, market_cap_usd=1_200_000, fdv_usd=1_200_000,
                        volume_24h_usd=350_000, buys_24h=1200, sells_24h=900,
                        price_change_24h_pct=-12.5, stale=True),
        swap(1),
        m.FundingTransfer(signature=signature("fund-1"), slot=299_999_000, timestamp=T0,
                          source=OTHER, destination=WALLET, sol_amount=2.5),
        m.Wallet(address=WALLET, first_seen_at=T0, label="early", status=m.DecayStatus.flagged,
                 is_bot=False, on_watchlist=True, watchlist_override=m.WatchlistOverride.add,
                 cluster_id="c-1", score=0.77, last_activity_at=T0, notes="manual add"),
        m.WalletOrigin(wallet=WALLET, mint=MINT, method=m.DiscoveryMethod.early_profitable_buyer,
                       rank=3, found_at=T0, detail={"profit_sol": 1.5}),
        m.WalletMetrics(wallet=WALLET, computed_at=T0, swaps=40, tokens_traded=12,
                        closed_trades=11, wins=7, losses=4, win_rate=0.6, raw_win_rate=0.636,
                        realized_pnl_sol=4.2, invested_sol=10.0, roi=0.42, profit_ratio=1.8,
                        avg_hold_seconds=3600.0, timing_percentile=0.05,
                        activity_hours=[1] * 24, size_style=m.SizeStyle.small, avg_buy_sol=0.4,
                        consistency=0.7, is_bot=False, score=0.81, last_trade_at=T0),
        m.DecayEvent(wallet=WALLET, at=T0, before=m.DecayStatus.ok, after=m.DecayStatus.flagged,
                     reason="rolling win rate 35% < 40%", detail={"window": 20}),
        m.LifecycleEvent(wallet=WALLET, at=T0, before=m.Lifecycle.profiled,
                         after=m.Lifecycle.ignored, reason="watchlist criteria not met: bot"),
        m.WalletEdge(src=WALLET, dst=OTHER, kind=m.EdgeKind.synced_buy, weight=3.0, src_first=2,
                     dst_first=1, tokens=[MINT], first_at=T0, computed_at=T0),
        m.Cluster(id="c-1", size=4, leader=WALLET, funder=OTHER, mean_score=0.7,
                  shared_tokens=[MINT], computed_at=T0),
        m.ClusterMember(cluster_id="c-1", wallet=WALLET, role=m.ClusterRole.leader, leads=5),
        m.Signal(id="sig-1", signature=signature("sig"), wallet=WALLET, mint=MINT,
                 side=m.SwapSide.buy, sol_amount=1.0, observed_at=T0, swap_at=T0,
                 factors=m.SignalFactors(wallet=0.8, cluster=0.6, token=0.7, context=0.5,
                                         detail={"members": 2}),
                 weights={"wallet": 0.3, "cluster": 0.25, "token": 0.25, "context": 0.2},
                 score=0.68, decision=m.SignalDecision.log_only,
                 reason=m.DecisionReason.below_threshold, message="0.68 < 0.70"),
        position,
        order,
        m.Trade(id="tr-1", order_id="ord-1", position_id="pos-1", mint=MINT, side=m.SwapSide.buy,
                mode=m.TradingMode.paper, sol_amount=0.2, token_amount=166_666.0,
                price_sol=0.0000012, fee_sol=0.000005, price_impact_pct=0.8, executed_at=T0),
        m.TradeDecision(signal_id="sig-1", decided_at=T0, action=m.TradeAction.refused,
                        gate="cooldown", reason="cooldown", message="exited 5 min ago",
                        mode=m.TradingMode.paper, detail={"seconds": 300}),
        m.WalletCopyMode(wallet=WALLET, mode=m.TradingMode.live, changed_at=T0,
                         note="30 paper trades, 62 % win rate"),
        m.RiskState(paused=True, pause_reason="drawdown 21%", equity_sol=7.9,
                    peak_equity_sol=10.0, consecutive_max_losses=1),
        m.RiskEvent(at=T0, kind=m.RiskEventKind.drawdown_pause, message="drawdown 21% ≥ 20%",
                    detail={"drawdown": 0.21}),
        m.Alert(at=T0, level=m.AlertLevel.critical, source="risk", message="trading paused"),
        m.JobRun(job="discover_tokens", started_at=T0, finished_at=T0 + timedelta(seconds=3),
                 outcome=m.JobOutcome.succeeded, stats={"tokens": 12}),
    ]
