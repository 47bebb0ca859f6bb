"""The explorer's chain (walltrack/ui/explorer_view.py) on a real store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests import factories
from walltrack import models as m
from walltrack.errors import ValidationError
from walltrack.store import Database
from walltrack.store.repositories import (
    ClusterMemberRepository,
    ClusterRepository,
    OrderRepository,
    PositionRepository,
    SignalRepository,
    TradeDecisionRepository,
    TradeRepository,
    WalletCopyModeRepository,
    WalletEdgeRepository,
    WalletOriginRepository,
    WalletRepository,
)
from walltrack.ui import explorer_view as ev

T0 = factories.T0
LEADER = factories.address("explorer-leader")
MEMBER = factories.address("explorer-member")
FUNDER = factories.address("explorer-funder")
MINT = factories.address("explorer-mint")
MINT2 = factories.address("explorer-mint-2")
MINT3 = factories.address("explorer-mint-3")
WEIGHTS = {"wallet": 0.30, "cluster": 0.25, "token": 0.25, "context": 0.20}


@dataclass(frozen=True)
class Chain:
    signal: str = "sig-taken"
    skipped: str = "sig-skipped"
    refused: str = "sig-refused"
    position: str = "pos-1"
    entry_order: str = "ord-entry"
    exit_order: str = "ord-exit"
    buy_trade: str = "tr-buy"
    sell_trade: str = "tr-sell"
    cluster: str = "c-explore"


def _signal(sid: str, wallet: str, mint: str, factors: tuple[float, float, float, float],
            *, at_min: int, decision: m.SignalDecision, reason: m.DecisionReason,
            side: m.SwapSide = m.SwapSide.buy) -> m.Signal:
    f = dict(zip(("wallet", "cluster", "token", "context"), factors, strict=True))
    score = round(sum(WEIGHTS[k] * v for k, v in f.items()), 6)
    return m.Signal(
        id=sid, signature=factories.signature(sid), wallet=wallet, mint=mint, side=side,
        sol_amount=1.0, token_amount=1000.0, price_usd=0.001,
        observed_at=T0 + timedelta(minutes=at_min, seconds=2),
        swap_at=T0 + timedelta(minutes=at_min),
        factors=m.SignalFactors(**f, detail={"wallet": {"score": f["wallet"]},
                                             "cluster": {"members": 2, "cluster_id": "c-old"}}),
        weights=WEIGHTS, score=score, decision=decision, reason=reason,
        message=f"{score:.2f} vs 0.70")


def seed_chain(db: Database) -> Chain:
    """wallet + origin + cluster members + a taken signal with its decision, position,
    orders and trades + outcomes; a skipped signal and a refused one with outcomes."""
    c = Chain()
    WalletRepository(db).upsert_many([
        m.Wallet(address=LEADER, first_seen_at=T0, score=0.82, raw_score=0.82,
                 on_watchlist=True, lifecycle=m.Lifecycle.watchlisted, cluster_id=c.cluster),
        m.Wallet(address=MEMBER, first_seen_at=T0, score=0.6, cluster_id=c.cluster),
        m.Wallet(address=FUNDER, first_seen_at=T0, cluster_id=c.cluster),
    ])
    WalletOriginRepository(db).upsert(m.WalletOrigin(
        wallet=LEADER, mint=MINT, method=m.DiscoveryMethod.early_profitable_buyer, rank=2,
        found_at=T0, detail={"profit_sol": 3.1}))
    WalletCopyModeRepository(db).upsert(m.WalletCopyMode(
        wallet=LEADER, mode=m.TradingMode.paper, changed_at=T0, note="still on paper"))
    ClusterRepository(db).upsert(m.Cluster(id=c.cluster, size=3, leader=LEADER, funder=FUNDER,
                                           mean_score=0.7, shared_tokens=[MINT],
                                           computed_at=T0))
    ClusterMemberRepository(db).upsert_many([
        m.ClusterMember(cluster_id=c.cluster, wallet=LEADER, role=m.ClusterRole.leader,
                        leads=4),
        m.ClusterMember(cluster_id=c.cluster, wallet=MEMBER, role=m.ClusterRole.member,
                        leads=1),
        m.ClusterMember(cluster_id=c.cluster, wallet=FUNDER, role=m.ClusterRole.funder),
    ])
    WalletEdgeRepository(db).upsert_many([
        m.WalletEdge(src=LEADER, dst=MEMBER, kind=m.EdgeKind.synced_buy, weight=3.0,
                     tokens=[MINT], first_at=T0, computed_at=T0),
        m.WalletEdge(src=LEADER, dst=FUNDER, kind=m.EdgeKind.funded_by, weight=1.0,
                     first_at=T0, computed_at=T0),
    ])
    SignalRepository(db).upsert_many([
        _signal(c.signal, LEADER, MINT, (0.9, 0.8, 0.7, 0.6), at_min=0,
                decision=m.SignalDecision.eligible, reason=m.DecisionReason.above_threshold),
        _signal(c.skipped, LEADER, MINT2, (0.5, 0.1, 0.6, 0.4), at_min=30,
                decision=m.SignalDecision.log_only, reason=m.DecisionReason.below_threshold),
        _signal(c.refused, MEMBER, MINT3, (0.8, 0.9, 0.7, 0.6), at_min=40,
                decision=m.SignalDecision.eligible, reason=m.DecisionReason.above_threshold),
        # a sell is no copy candidate: it never counts in the shadow figures
        _signal("sig-sell", LEADER, MINT, (0.9, 0.8, 0.7, 0.6), at_min=50,
                decision=m.SignalDecision.log_only, reason=m.DecisionReason.source_sold,
                side=m.SwapSide.sell),
    ])
    PositionRepository(db).upsert(m.Position(
        id=c.position, signal_id=c.signal, wallet=LEADER, mint=MINT,
        status=m.PositionStatus.closed, strategy="default",
        exit_plan=[m.ExitRule(kind="stop_loss", params={"pct": 0.3})],
        exit_state={"engine": {"tp_done": 1}},
        sizing={"inputs": {"capital_sol": 10.0, "pool_liquidity_sol": 50.0,
                           "balance_sol": 3.0},
                "base_sol": 0.2, "uncapped_sol": 0.3, "size_sol": 0.25,
                "caps": {"max_position": 0.25, "liquidity": 1.0, "balance": 2.9},
                "binding_caps": ["max_position"]},
        size_sol=0.25, cost_sol=0.2, proceeds_sol=0.25, entry_price_sol=0.0002,
        token_amount=1000.0, remaining_tokens=0.0, realized_pnl_sol=0.05,
        entry_delay_seconds=3.5, confirmations=1, opened_at=T0 + timedelta(seconds=5),
        closed_at=T0 + timedelta(hours=2), close_reason="take_profit"))
    OrderRepository(db).upsert_many([
        m.Order(id=c.entry_order, position_id=c.position, signal_id=c.signal,
                idempotency_key=f"entry:{c.signal}", kind=m.OrderKind.entry,
                side=m.SwapSide.buy, mint=MINT, status=m.OrderStatus.confirmed,
                amount_in=0.2, attempts=1, history=[{"status": "submitted", "attempt": 1},
                                                    {"status": "confirmed"}],
                created_at=T0 + timedelta(seconds=4)),
        m.Order(id=c.exit_order, position_id=c.position, idempotency_key="exit:1",
                kind=m.OrderKind.exit, side=m.SwapSide.sell, mint=MINT,
                status=m.OrderStatus.confirmed, amount_in=1000.0, attempts=1,
                trigger="take_profit", created_at=T0 + timedelta(hours=2)),
    ])
    TradeRepository(db).upsert_many([
        m.Trade(id=c.buy_trade, order_id=c.entry_order, position_id=c.position,
                signal_id=c.signal, wallet=LEADER, mint=MINT, side=m.SwapSide.buy,
                mode=m.TradingMode.paper, sol_amount=0.2, token_amount=1000.0,
                price_sol=0.0002, delay_seconds=3.5, executed_at=T0 + timedelta(seconds=5)),
        m.Trade(id=c.sell_trade, order_id=c.exit_order, position_id=c.position,
                wallet=LEADER, mint=MINT, side=m.SwapSide.sell, mode=m.TradingMode.paper,
                sol_amount=0.25, token_amount=1000.0, price_sol=0.00025, pnl_sol=0.05,
                trigger="take_profit", executed_at=T0 + timedelta(hours=2)),
    ])
    TradeDecisionRepository(db).upsert_many([
        m.TradeDecision(signal_id=c.signal, decided_at=T0 + timedelta(seconds=3),
                        action=m.TradeAction.opened, position_id=c.position,
                        mode=m.TradingMode.paper, message="0.2500 SOL, default exits"),
        m.TradeDecision(signal_id=c.refused, decided_at=T0 + timedelta(minutes=40),
                        action=m.TradeAction.refused, gate="max_positions",
                        reason="position_limit", message="5 positions open"),
    ])
    outcomes = [(c.signal, 300, 0.05), (c.signal, 3600, 0.15), (c.skipped, 300, 0.10),
                (c.skipped, 3600, -0.20), (c.skipped, 21600, 0.30), (c.refused, 3600, 0.40),
                (c.refused, 21600, None)]  # a 6 h row not measured yet
    with db.connection() as conn:
        for sid, horizon, ret in outcomes:
            conn.execute(
                "INSERT INTO signal_outcomes (signal_id, horizon_s, due_at, measured_at, "
                "price_usd, return_pct, source) VALUES (%s, %s, %s, %s, %s, %s, "
                "'jupiter')",
                (sid, horizon, T0 + timedelta(seconds=horizon),
                 None if ret is None else T0 + timedelta(seconds=horizon),
                 None if ret is None else 0.001 * (1 + ret), ret))
    return c


def test_trade_signal_and_position_lead_to_the_same_chain(db: Database) -> None:
    c = seed_chain(db)
    from_trade = ev.explore(db, trade=c.sell_trade)
    from_signal = ev.explore(db, signal=c.signal)
    from_position = ev.explore(db, position=c.position)
    expected = {"trades": sorted([c.buy_trade, c.sell_trade]), "position": c.position,
                "orders": [c.entry_order, c.exit_order], "decision": c.signal,
                "signal": c.signal, "wallet": LEADER, "cluster": c.cluster}
    assert from_trade.chain() == expected
    assert from_signal.chain() == expected
    assert from_position.chain() == expected
    assert from_trade.focus_trade_id == c.sell_trade
    assert from_signal.focus_trade_id is None
    assert from_trade.signal_cluster_id == "c-old"  # as scored, beside the cluster now
    assert from_trade.cluster is not None and from_trade.cluster.leader == LEADER
    assert from_trade.wallet is not None and from_trade.wallet.on_watchlist

    position = from_trade.position
    assert position is not None
    fields = dict(ev.position_frame(position).iter_rows())
    assert fields["status"] == "closed"
    assert fields["realized return %"] == "25"  # 0.05 / 0.2
    assert fields["entry delay s"] == "3.5"
    assert fields["confirmations"] == "1"
    sizing = ev.sizing_frame(position)
    assert sizing.filter(sizing["bit"])["name"].to_list() == ["max_position"]
    assert set(sizing.filter(sizing["part"] == "input")["name"]) == {
        "capital_sol", "pool_liquidity_sol", "balance_sol"}
    assert ev.exit_plan_frame(position)["rule"].to_list() == ["stop_loss"]
    history = ev.order_history_frame(from_trade.orders)
    assert history["order"].to_list() == [c.entry_order, c.entry_order]
    trades = ev.trades_frame(from_trade.trades, from_trade.focus_trade_id)
    assert trades.filter(trades["this one"])["id"].to_list() == [c.sell_trade]
    assert "**Taken**" in ev.decision_text(from_trade)


def test_refused_signal_names_its_gate_and_wallet_and_cluster_entries(db: Database) -> None:
    c = seed_chain(db)
    refused = ev.explore(db, signal=c.refused)
    assert refused.position is None and refused.trades == []
    text = ev.decision_text(refused)
    assert "**Refused**" in text and "max_positions" in text and "5 positions open" in text
    assert "not decided" in ev.decision_text(ev.explore(db, signal=c.skipped))

    by_wallet = ev.explore(db, wallet=MEMBER)
    assert by_wallet.signal is None and by_wallet.cluster_id == c.cluster
    by_cluster = ev.explore(db, cluster=c.cluster)
    assert by_cluster.wallet_address is None and by_cluster.cluster is not None
    # the first entry of the URL wins, in the documented order
    assert ev.entry_from_params({"wallet": MEMBER, "trade": ["tr-buy"], "x": "1"}) == {
        "trade": "tr-buy"}
    assert ev.entry_from_params({"signal": "  "}) == {}
    assert ev.choose_entry({"trade": "tr-buy"}, "position", [{"id": "pos-1"}]) == {
        "position": "pos-1"}
    assert ev.choose_entry({"trade": "tr-buy"}, "position", []) == {"trade": "tr-buy"}


def test_breakdown_contributions_sum_to_the_score(db: Database) -> None:
    c = seed_chain(db)
    signal = ev.explore(db, trade=c.buy_trade).signal
    assert signal is not None
    frame = ev.breakdown_frame(signal)
    assert frame["factor"].to_list() == ["wallet", "cluster", "token", "context"]
    assert frame["contribution"].sum() == pytest.approx(signal.score, abs=1e-6)
    assert frame["contribution"].to_list() == pytest.approx([0.27, 0.2, 0.175, 0.12])
    assert frame["share of score"].sum() == pytest.approx(1.0, abs=1e-5)
    threshold, high = ev.thresholds(db)
    assert (threshold, high) == (0.70, 0.85)
    verdict = ev.signal_verdict(signal, threshold, high)
    assert "0.765" in verdict and "≥ threshold **0.70**" in verdict
    assert "above_threshold" in verdict
    spec = ev.breakdown_chart(signal, threshold).to_dict()
    assert len(spec["vconcat"]) == 2


def test_shadow_summary_matches_hand_computed_figures(db: Database) -> None:
    c = seed_chain(db)
    hs = ev.horizons(db)
    assert hs == [300, 3600, 21600]
    wallet = ev.shadow_frame(db, [LEADER], hs)
    assert wallet["id"].to_list() == [c.skipped, c.signal]  # buys only, newest first
    summary = ev.shadow_summary(wallet)
    assert summary.not_taken == 1 and summary.taken == 1
    assert summary.mean_1h_return_not_taken == pytest.approx(-0.20)
    assert summary.mean_realized_return_taken == pytest.approx(0.25)
    assert summary.mean_1h_return_taken == pytest.approx(0.15)
    assert summary.text() == ("signals not taken: 1, mean 1 h return -20.00 %, taken: 1, "
                              "mean realized return +25.00 %")

    cluster = ev.shadow_frame(db, ev.cluster_wallets(db, c.cluster), hs)
    summary = ev.shadow_summary(cluster)
    assert summary.not_taken == 2 and summary.not_taken_measured_1h == 2
    assert summary.mean_1h_return_not_taken == pytest.approx((-0.20 + 0.40) / 2)
    skipped = ev.not_taken_rows(cluster)
    assert skipped["id"].to_list() == [c.refused, c.skipped]
    assert skipped.filter(skipped["id"] == c.skipped)["return 6 h %"].to_list() == [30.0]
    assert skipped.filter(skipped["id"] == c.refused)["return 6 h %"].to_list() == [None]
    chart = ev.shadow_chart(cluster).to_dict()
    values = next(iter(chart["datasets"].values()))
    means = {(v["horizon"], v["signals"]): v["mean return %"] for v in values}
    assert means[("1 h", "not taken")] == pytest.approx(10.0)
    assert means[("realized", "taken")] == pytest.approx(25.0)


def test_wallet_profile_cluster_picture_and_blacklists(db: Database) -> None:
    c = seed_chain(db)
    profile = ev.wallet_profile(db, LEADER, now=T0 + timedelta(hours=3))
    assert profile["origins"]["mint"].to_list() == [MINT]
    standing = dict(profile["standing"].iter_rows())
    assert standing["on watchlist"] == "True" and standing["copy mode"] == "paper"
    assert standing["cluster"] == c.cluster
    perf = profile["performance"]
    assert perf["wallet"].to_list() == [LEADER] and perf["closed"].to_list() == [1]

    members, edges, chart = ev.cluster_picture(db, c.cluster)
    assert {mm["wallet"] for mm in members} == {LEADER, MEMBER, FUNDER}
    assert edges.height == 2 and "layer" in chart.to_dict()
    cluster = ClusterRepository(db).get(c.cluster)
    assert cluster is not None
    text = ev.cluster_text(cluster, members, LEADER)
    assert f"leader `{LEADER}`" in text and "**leader**" in text

    assert ev.blacklist_wallet_action(db, MEMBER, "copies the leader") == (
        f"Wallet {MEMBER} blacklisted.")
    assert ev.blacklist_wallet_action(db, MEMBER, "") == (
        f"Wallet {MEMBER} was already blacklisted.")
    message = ev.blacklist_cluster_action(db, c.cluster, "insiders")
    assert message == f"Cluster {c.cluster} blacklisted: 2 wallets"  # one already was
    for wallet in (LEADER, MEMBER, FUNDER):
        row = WalletRepository(db).get(wallet)
        assert row is not None and row.status is m.DecayStatus.blacklisted
    assert ev.is_blacklisted(ev.explore(db, wallet=LEADER))


def test_unknown_ids_and_an_empty_store(db: Database) -> None:
    assert ev.store_is_empty(db)
    for kind in ("trade", "signal", "position"):
        with pytest.raises(ev.NotFoundError, match=f"no {kind} with id 'nope'"):
            ev.explore(db, **{kind: "nope"})
    with pytest.raises(ev.NotFoundError, match="no wallet with address"):
        ev.explore(db, wallet=LEADER)
    with pytest.raises(ev.NotFoundError, match="no cluster with id 'c-0'"):
        ev.explore(db, cluster="c-0")
    with pytest.raises(ValidationError, match="nothing to explore"):
        ev.explore(db)
    for kind in ("trade", "position", "signal"):
        assert ev.recent(db, kind).is_empty()
    frame = ev.shadow_frame(db, [LEADER], ev.horizons(db))
    assert frame.is_empty()
    assert ev.shadow_summary(frame).text() == (
        "signals not taken: 0, mean 1 h return n/a, taken: 0, mean realized return n/a")
    ev.shadow_chart(frame).to_dict()  # draws with no data
    profile = ev.wallet_profile(db, LEADER)
    assert dict(profile["standing"].iter_rows())["status"] == "not tracked"
    assert profile["performance"].is_empty()


def test_pickers_list_newest_first(db: Database) -> None:
    c = seed_chain(db)
    assert not ev.store_is_empty(db)
    assert ev.recent(db, "trade")["id"].to_list() == [c.sell_trade, c.buy_trade]
    assert ev.recent(db, "signal", limit=2)["id"].to_list() == ["sig-sell", c.refused]
    assert ev.recent(db, "position")["id"].to_list() == [c.position]
    with pytest.raises(ValidationError):
        ev.recent(db, "wallet")
