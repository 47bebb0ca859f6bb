"""The explorer (notebooks/explorer.py): follow any number back to its reason.

trade → position → orders → trade decision → signal (factors × weights → score) → wallet
(why it is here) → cluster (graph, leaders), and beside them the shadow outcomes of the
wallet's and the cluster's signals that were *not* taken, so the operator sees what the
filters cost or saved.

:func:`explore` resolves one entry (a trade, signal, position, wallet or cluster id) to its
chain; the other functions turn parts of it into frames and charts. Reads the store; the
two actions (blacklist a wallet, a cluster) call the package's own rules.

Taken / not taken: a buy signal is *taken* when a position was opened from it and did not
fail (its entry filled or is filling); every other buy signal — log-only, refused by a gate,
a confirmation of a mint already held, never decided — is *not taken*. A taken signal's
realized return is its closed position's ``realized_pnl_sol / cost_sol``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import altair as alt
import polars as pl
from pydantic import Field

from walltrack.errors import ValidationError
from walltrack.intel.clusters import blacklist_cluster
from walltrack.logging import get_logger
from walltrack.models import (
    Cluster,
    DecayStatus,
    DomainModel,
    Order,
    Position,
    Signal,
    Trade,
    TradeDecision,
    TradingMode,
    Wallet,
    utcnow,
)
from walltrack.store import Database
from walltrack.store.frames import UTC_US, query_frame
from walltrack.store.repositories import (
    ClusterRepository,
    ConfigRepository,
    OrderRepository,
    PositionRepository,
    SignalRepository,
    TradeDecisionRepository,
    TradeRepository,
    WalletCopyModeRepository,
    WalletRepository,
)
from walltrack.trading.performance import wallet_performance
from walltrack.ui import cluster_view, wallets_view

log = get_logger(__name__)

ENTRY_KINDS = ("trade", "position", "signal", "wallet", "cluster")  # precedence order
FACTORS = ("wallet", "cluster", "token", "context")
ONE_HOUR = 3600
NOTHING_YET = "Nothing to explore yet: no trade, position or signal is stored."


class NotFoundError(ValidationError):
    """The id the operator asked for is not in the store."""

    code = "not_found"


class Exploration(DomainModel):
    """One entry resolved to its chain (every part optional: a wallet has no trade)."""

    entry_kind: str
    entry_id: str
    trades: list[Trade] = Field(default_factory=list)  # every fill of the position
    focus_trade_id: str | None = None  # the trade the operator came from
    position: Position | None = None
    orders: list[Order] = Field(default_factory=list)  # entry and exits, oldest first
    decision: TradeDecision | None = None  # what the engine did with the signal
    confirmations: list[TradeDecision] = Field(default_factory=list)  # later signals, held
    signal: Signal | None = None
    wallet_address: str | None = None
    wallet: Wallet | None = None  # None: the address is not (or no longer) tracked
    cluster_id: str | None = None  # the wallet's cluster now
    signal_cluster_id: str | None = None  # its cluster when the signal was scored
    cluster: Cluster | None = None

    @property
    def title(self) -> str:
        return f"{self.entry_kind} {self.entry_id}"

    def chain(self) -> dict[str, Any]:
        """The ids of the chain, for comparing two explorations."""
        return {
            "trades": sorted(t.id for t in self.trades),
            "position": self.position.id if self.position else None,
            "orders": [o.id for o in self.orders],
            "decision": self.decision.signal_id if self.decision else None,
            "signal": self.signal.id if self.signal else None,
            "wallet": self.wallet_address, "cluster": self.cluster_id,
        }


# -- entry -------------------------------------------------------------------------------

def entry_from_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The first known, non-empty entry of a URL's query parameters (``?trade=…``)."""
    for kind in ENTRY_KINDS:
        value = params.get(kind)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return {kind: value.strip()}
    return {}


def choose_entry(params: Mapping[str, Any], picked_kind: str,
                 picked: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A row picked in a picker table wins over the URL's entry."""
    if picked and picked[0].get("id"):
        return {picked_kind: str(picked[0]["id"])}
    return entry_from_params(params)


def _one(repo: Any, kind: str, key: str) -> Any:
    found = repo.get(key)
    if found is None:
        raise NotFoundError(f"no {kind} with id {key!r} in the store",
                            hint=f"pick one from the recent {kind}s table, or check the link")
    return found


def explore(db: Database, *, trade: str | None = None, signal: str | None = None,
            position: str | None = None, wallet: str | None = None,
            cluster: str | None = None) -> Exploration:
    """Resolve one entry to its chain; an unknown id raises :class:`NotFoundError`."""
    given = {k: v for k, v in {"trade": trade, "position": position, "signal": signal,
                                "wallet": wallet, "cluster": cluster}.items() if v}
    if not given:
        raise ValidationError("nothing to explore", hint="pass one of trade=, position=, "
                              "signal=, wallet= or cluster= (or pick a row)")
    kind, key = next(iter(given.items()))
    found_trade: Trade | None = None
    found_position: Position | None = None
    found_signal: Signal | None = None
    address: str | None = None
    cluster_id: str | None = None
    if kind == "trade":
        found_trade = _one(TradeRepository(db), "trade", key)
        found_position = PositionRepository(db).get(found_trade.position_id)
    elif kind == "position":
        found_position = _one(PositionRepository(db), "position", key)
    elif kind == "signal":
        found_signal = _one(SignalRepository(db), "signal", key)
    elif kind == "wallet":
        address = key
    else:
        cluster_id = key

    decision: TradeDecision | None = None
    if found_position is not None and found_signal is None:
        found_signal = SignalRepository(db).get(found_position.signal_id)
    if found_signal is None and found_trade is not None and found_trade.signal_id:
        found_signal = SignalRepository(db).get(found_trade.signal_id)
    if found_signal is not None:
        decision = TradeDecisionRepository(db).get(found_signal.id)
        if found_position is None:
            # Its own position, else the held one a confirmation points at.
            own = PositionRepository(db).list(where={"signal_id": found_signal.id}, limit=1)
            held = decision.position_id if decision else None
            found_position = own[0] if own else (
                PositionRepository(db).get(held) if held else None)
        address = found_signal.wallet
    if address is None and found_position is not None:
        address = found_position.wallet

    wallet_row = WalletRepository(db).get(address) if address else None
    if kind == "wallet" and wallet_row is None and not _has_signals(db, key):
        raise NotFoundError(f"no wallet with address {key!r} in the store",
                            hint="pick one from the wallets notebook, or check the link")
    if address is not None:
        cluster_id = _cluster_of(db, address) or (wallet_row.cluster_id if wallet_row else None)
    cluster_row = ClusterRepository(db).get(cluster_id) if cluster_id else None
    if kind == "cluster" and cluster_row is None:
        raise NotFoundError(f"no cluster with id {key!r} in the store",
                            hint="pick one from the clusters notebook (ids change when "
                            "membership changes)")

    trades: list[Trade] = []
    orders: list[Order] = []
    confirmations: list[TradeDecision] = []
    if found_position is not None:
        where = {"position_id": found_position.id}
        trades = TradeRepository(db).list(where=where, order_by="executed_at")
        orders = OrderRepository(db).list(where=where, order_by="created_at")
        confirmations = [d for d in TradeDecisionRepository(db).list(
            where=where, order_by="decided_at") if d.action.value == "confirmation"]
    elif found_trade is not None:
        trades = [found_trade]
    detail = found_signal.factors.detail.get("cluster", {}) if found_signal else {}
    exploration = Exploration(
        entry_kind=kind, entry_id=key, trades=trades,
        focus_trade_id=found_trade.id if found_trade else None, position=found_position,
        orders=orders, decision=decision, confirmations=confirmations, signal=found_signal,
        wallet_address=address, wallet=wallet_row, cluster_id=cluster_id,
        signal_cluster_id=detail.get("cluster_id") if isinstance(detail, dict) else None,
        cluster=cluster_row)
    log.info("explorer_resolved", entry=kind, entry_id=key, chain=exploration.chain())
    return exploration


def _has_signals(db: Database, wallet: str) -> bool:
    with db.connection() as conn:
        return conn.execute("SELECT 1 FROM signals WHERE wallet = %s LIMIT 1",
                            (wallet,)).fetchone() is not None


def _cluster_of(db: Database, wallet: str) -> str | None:
    with db.connection() as conn:
        row = conn.execute("SELECT cluster_id FROM cluster_members WHERE wallet = %s "
                           "ORDER BY cluster_id LIMIT 1", (wallet,)).fetchone()
    return row[0] if row else None


# -- pickers -----------------------------------------------------------------------------

_RECENT_SQL = {
    "trade": """SELECT t.id, t.executed_at, t.side, t.mint, t.sol_amount, t.pnl_sol, t.trigger,
                       t.mode, t.wallet FROM trades t
                ORDER BY t.executed_at DESC, t.id LIMIT %s""",
    "position": """SELECT p.id, p.opened_at, p.status, p.mint, p.size_sol, p.realized_pnl_sol,
                          p.strategy, p.mode, p.wallet FROM positions p
                   ORDER BY p.opened_at DESC, p.id LIMIT %s""",
    "signal": """SELECT s.id, s.observed_at, s.side, s.mint, s.score, s.decision, s.reason,
                        d.action, s.wallet FROM signals s
                 LEFT JOIN trade_decisions d ON d.signal_id = s.id
                 ORDER BY s.observed_at DESC, s.id LIMIT %s""",
}


def recent(db: Database, kind: str, *, limit: int = 50) -> pl.DataFrame:
    """The newest trades, positions or signals, for the picker tables."""
    if kind not in _RECENT_SQL:
        raise ValidationError(f"no picker for {kind!r}", hint=f"use one of {list(_RECENT_SQL)}")
    return query_frame(db, _RECENT_SQL[kind], (limit,))


def store_is_empty(db: Database) -> bool:
    with db.connection() as conn:
        row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM trades) AND NOT EXISTS "
                           "(SELECT 1 FROM positions) AND NOT EXISTS (SELECT 1 FROM signals)"
                           ).fetchone()
    return bool(row and row[0])


# -- the trade side of the chain -----------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(getattr(value, "value", value))


def _pairs(items: Sequence[tuple[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame({"field": [k for k, _ in items], "value": [_text(v) for _, v in items]},
                        schema={"field": pl.String, "value": pl.String})


def realized_return(position: Position) -> float | None:
    """A closed position's realized PnL over the SOL it cost (None while open)."""
    if position.status.value != "closed" or position.cost_sol <= 0:
        return None
    return position.realized_pnl_sol / position.cost_sol


def position_frame(position: Position) -> pl.DataFrame:
    """Status, size, PnL, entry delay, confirmations, strategy and exit state (one row
    per field)."""
    ret = realized_return(position)
    return _pairs([
        ("status", position.status), ("mode", position.mode), ("mint", position.mint),
        ("size SOL", position.size_sol), ("cost SOL", position.cost_sol),
        ("proceeds SOL", position.proceeds_sol),
        ("realized PnL SOL", position.realized_pnl_sol),
        ("realized return %", None if ret is None else round(100 * ret, 2)),
        ("entry price SOL", position.entry_price_sol), ("peak price SOL",
                                                        position.peak_price_sol),
        ("last price SOL", position.last_price_sol),
        ("tokens / remaining", f"{position.token_amount:.6g} / "
                               f"{position.remaining_tokens:.6g}"),
        ("entry delay s", position.entry_delay_seconds),
        ("confirmations", position.confirmations),
        ("exit strategy", position.plan_name), ("exit state", position.exit_state),
        ("opened", position.opened_at), ("closed", position.closed_at),
        ("close reason", position.close_reason),
    ])


def sizing_frame(position: Position) -> pl.DataFrame:
    """The sizing inputs and every cap, the caps that bit marked (engine's SizeDecision)."""
    sizing = position.sizing or {}
    binding = [str(c) for c in sizing.get("binding_caps", [])]
    rows: list[dict[str, Any]] = [
        {"part": "input", "name": k, "value": _text(v), "bit": None}
        for k, v in (sizing.get("inputs") or {}).items()]
    rows += [{"part": "step", "name": k, "value": _text(sizing.get(k)), "bit": None}
             for k in ("base_sol", "conviction_multiplier", "risk_multiplier", "uncapped_sol",
                       "size_sol", "zero_reason") if k in sizing]
    rows += [{"part": "cap", "name": str(k), "value": _text(v), "bit": str(k) in binding}
             for k, v in (sizing.get("caps") or {}).items()]
    return pl.DataFrame(rows, schema={"part": pl.String, "name": pl.String,
                                      "value": pl.String, "bit": pl.Boolean})


def exit_plan_frame(position: Position) -> pl.DataFrame:
    return pl.DataFrame([{"rule": r.kind, "params": _text(r.params)} for r in position.plan],
                        schema={"rule": pl.String, "params": pl.String})


def orders_frame(orders: Sequence[Order]) -> pl.DataFrame:
    return pl.DataFrame([{
        "id": o.id, "kind": o.kind.value, "side": o.side.value, "status": o.status.value,
        "amount_in": o.amount_in, "quoted_out": o.quoted_out, "attempts": o.attempts,
        "trigger": o.trigger, "tx_signature": o.tx_signature, "error": o.error,
        "created_at": o.created_at, "confirmed_at": o.confirmed_at,
    } for o in orders], schema={
        "id": pl.String, "kind": pl.String, "side": pl.String, "status": pl.String,
        "amount_in": pl.Float64, "quoted_out": pl.Float64, "attempts": pl.Int64,
        "trigger": pl.String, "tx_signature": pl.String, "error": pl.String,
        "created_at": UTC_US, "confirmed_at": UTC_US})


def order_history_frame(orders: Sequence[Order]) -> pl.DataFrame:
    """Every attempt each order recorded, oldest first."""
    return pl.DataFrame([{"order": o.id, "kind": o.kind.value, "step": i, "entry": _text(h)}
                         for o in orders for i, h in enumerate(o.history)],
                        schema={"order": pl.String, "kind": pl.String, "step": pl.Int64,
                                "entry": pl.String})


def trades_frame(trades: Sequence[Trade], focus: str | None = None) -> pl.DataFrame:
    return pl.DataFrame([{
        "id": t.id, "this one": t.id == focus, "side": t.side.value, "mode": t.mode.value,
        "sol_amount": t.sol_amount, "token_amount": t.token_amount, "price_sol": t.price_sol,
        "fee_sol": t.fee_sol, "price_impact_pct": t.price_impact_pct, "pnl_sol": t.pnl_sol,
        "delay_s": t.delay_seconds, "trigger": t.trigger, "executed_at": t.executed_at,
    } for t in trades], schema={
        "id": pl.String, "this one": pl.Boolean, "side": pl.String, "mode": pl.String,
        "sol_amount": pl.Float64, "token_amount": pl.Float64, "price_sol": pl.Float64,
        "fee_sol": pl.Float64, "price_impact_pct": pl.Float64, "pnl_sol": pl.Float64,
        "delay_s": pl.Float64, "trigger": pl.String, "executed_at": UTC_US})


def decision_text(exploration: Exploration) -> str:
    """Why the engine took the signal, or which gate refused it (markdown)."""
    d = exploration.decision
    if exploration.signal is None:
        return "_No signal behind this entry._"
    if d is None:
        return ("_The trading engine has not decided on this signal_ (it only acts on "
                "eligible buys and the held positions' sells).")
    action = {"opened": "**Taken**: a position was opened",
              "confirmation": "**Not bought again**: the mint was already held (a "
                              "confirmation of that position)",
              "refused": "**Refused**", "mirror_exit": "**Mirror exit**: the source wallet "
                         "sold, an exit was planned", "ignored": "**Ignored**"}[d.action.value]
    parts = [action]
    if d.gate:
        parts.append(f"by the `{d.gate}` gate")
    if d.reason:
        parts.append(f"— reason `{d.reason}`")
    text = " ".join(parts)
    if d.message:
        text += f": {d.message}"
    mode = f", {d.mode.value}" if d.mode else ""
    return f"{text} ({d.decided_at.isoformat(timespec='seconds')}{mode})."


# -- the signal's breakdown ----------------------------------------------------------------

def breakdown_frame(signal: Signal) -> pl.DataFrame:
    """factor × weight → contribution; contributions sum to the signal's score (the
    scorer rounds the score to 6 places)."""
    factors = signal.factors
    detail = factors.detail
    frame = pl.DataFrame({
        "factor": list(FACTORS),
        "value": [float(getattr(factors, f)) for f in FACTORS],
        "weight": [float(signal.weights.get(f, 0.0)) for f in FACTORS],
        "inputs": [_text(detail.get(f)) for f in FACTORS],
    })
    return frame.with_columns(
        (pl.col("value") * pl.col("weight")).alias("contribution"),
    ).with_columns(
        pl.when(pl.lit(signal.score) > 0)
        .then((pl.col("contribution") / pl.lit(signal.score)).round(4)).otherwise(None)
        .alias("share of score"),
    ).select("factor", "value", "weight", "contribution", "share of score", "inputs")


def breakdown_chart(signal: Signal, threshold: float) -> alt.VConcatChart:
    """Each factor's contribution (weight × value), then the same stacked into the score
    beside the trade threshold."""
    frame = breakdown_frame(signal).select("factor", "value", "weight", "contribution")
    frame = frame.with_row_index("rank")  # stack in the factors' own order
    color = alt.Color("factor:N", sort=list(FACTORS))
    tooltip = ["factor", "value", "weight", alt.Tooltip("contribution:Q", format=".3f")]
    per_factor = alt.Chart(frame).mark_bar().encode(
        x=alt.X("contribution:Q", title="weight × factor"),
        y=alt.Y("factor:N", sort=list(FACTORS), title=None), color=color, tooltip=tooltip,
    ).properties(width=480, height=120, title="Contribution of each factor")
    stacked = alt.Chart(frame.with_columns(pl.lit("score").alias("bar"))).mark_bar().encode(
        x=alt.X("sum(contribution):Q", title="score = Σ weight × factor",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("bar:N", title=None), color=color, order=alt.Order("rank:Q"),
        tooltip=tooltip,
    )
    rule = alt.Chart(pl.DataFrame({"threshold": [threshold]})).mark_rule(
        color="black", strokeDash=[4, 3], strokeWidth=2).encode(x="threshold:Q")
    score = (stacked + rule).properties(
        width=480, height=50, title=f"Score {signal.score:.3f} against the threshold "
                                    f"{threshold:.2f}")
    return alt.vconcat(per_factor, score)


def thresholds(db: Database) -> tuple[float, float]:
    """(trade threshold, high-conviction threshold) from the config table."""
    scoring = ConfigRepository(db).load().scoring
    return scoring.threshold, scoring.high_conviction


def signal_frame(signal: Signal) -> pl.DataFrame:
    return _pairs([
        ("id", signal.id), ("side", signal.side), ("wallet", signal.wallet),
        ("mint", signal.mint), ("SOL", signal.sol_amount), ("score", signal.score),
        ("decision", signal.decision), ("reason", signal.reason),
        ("high conviction", signal.high_conviction), ("failed checks", signal.failed_checks),
        ("message", signal.message), ("swap at", signal.swap_at),
        ("observed at", signal.observed_at), ("delay s", signal.delay_seconds),
        ("source", signal.source), ("signature", signal.signature),
    ])


def signal_verdict(signal: Signal, threshold: float, high_conviction: float) -> str:
    """The signal's decision and reason beside the configured thresholds (markdown)."""
    side = "≥" if signal.score >= threshold else "<"
    text = (f"Score **{signal.score:.3f}** {side} threshold **{threshold:.2f}** "
            f"(high conviction ≥ {high_conviction:.2f}) → decision **{signal.decision.value}**, "
            f"reason `{signal.reason.value}`")
    if signal.message:
        text += f": {signal.message}"
    return text + "."


# -- the wallet ------------------------------------------------------------------------------

def wallet_profile(db: Database, wallet: str, *, now: datetime | None = None
                   ) -> dict[str, pl.DataFrame]:
    """wallets_view.wallet_story (origins, metrics, lifecycle, decay, recent trades) plus
    the wallet's standing (score, watchlist, copy mode, cluster) and its copy performance."""
    story = wallets_view.wallet_story(db, wallet)
    row = WalletRepository(db).get(wallet)
    mode = WalletCopyModeRepository(db).get(wallet)
    story["standing"] = _pairs([
        ("address", wallet), ("tracked", row is not None),
        ("status", row.status if row else "not tracked"),
        ("lifecycle", row.lifecycle if row else None),
        ("lifecycle reason", row.lifecycle_reason if row else None),
        ("score (after decay)", row.score if row else None),
        ("score (before decay)", row.raw_score if row else None),
        ("on watchlist", row.on_watchlist if row else False),
        ("watchlist override", row.watchlist_override if row else None),
        ("copy mode", mode.mode if mode else TradingMode.paper),
        ("copy mode note", mode.note if mode else "no row: new wallets copy on paper"),
        ("bot", row.is_bot if row else None), ("cluster", _cluster_of(db, wallet)),
        ("last activity", row.last_activity_at if row else None),
    ])
    story["performance"] = wallet_performance(db, now).filter(pl.col("wallet") == wallet)
    return story


def is_blacklisted(exploration: Exploration) -> bool:
    return exploration.wallet is not None and exploration.wallet.status is DecayStatus.blacklisted


def blacklist_wallet_action(db: Database, wallet: str, reason: str, *,
                            now: datetime | None = None) -> str:
    """Blacklist one wallet (wallets_view.blacklist); the outcome as a sentence."""
    changed = wallets_view.blacklist(db, wallet, reason.strip() or "operator", now=now)
    log.info("explorer_wallet_blacklisted", wallet=wallet, changed=changed)
    return (f"Wallet {wallet} blacklisted." if changed
            else f"Wallet {wallet} was already blacklisted.")


# -- the cluster -----------------------------------------------------------------------------

def cluster_picture(db: Database, cluster_id: str
                    ) -> tuple[list[dict[str, Any]], pl.DataFrame, alt.LayerChart]:
    """(members, edges, graph chart) — cluster_view's own pieces."""
    members = cluster_view.member_rows(db, cluster_id)
    edges = cluster_view.cluster_edges(db, cluster_id)
    return members, edges, cluster_view.graph_chart(members, edges)


def cluster_text(cluster: Cluster, members: Sequence[Mapping[str, Any]],
                 wallet: str | None) -> str:
    leaders = [m["wallet"] for m in members if m["role"] == "leader"] or (
        [cluster.leader] if cluster.leader else [])
    role = next((m["role"] for m in members if m["wallet"] == wallet), None)
    lead = ", ".join(f"`{w}`" for w in leaders) or "none"
    text = (f"Cluster **{cluster.id}**: {cluster.size} wallets, leader {lead}"
            + (f", funder `{cluster.funder}`" if cluster.funder else "")
            + f", {len(cluster.shared_tokens)} shared tokens")
    if role:
        text += f"; this wallet is its **{role}**"
    return text + "."


def blacklist_cluster_action(db: Database, cluster_id: str, reason: str, *,
                             now: datetime | None = None) -> str:
    """Blacklist every member (intel.clusters.blacklist_cluster); the outcome as a sentence."""
    changed = blacklist_cluster(db, cluster_id, reason.strip() or "operator", now=now or utcnow())
    return f"Cluster {cluster_id} blacklisted: {changed} wallets"


def cluster_wallets(db: Database, cluster_id: str) -> list[str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT wallet FROM cluster_members WHERE cluster_id = %s "
                            "ORDER BY wallet", (cluster_id,)).fetchall()
    return [r[0] for r in rows]


# -- shadow outcomes -------------------------------------------------------------------------

_SHADOW_SIGNALS_SQL = """
SELECT s.id, s.wallet, s.mint, s.observed_at, s.score, s.decision, s.reason,
       d.action, d.gate,
       (p.id IS NOT NULL AND p.status <> 'failed') AS taken,
       p.status AS position_status,
       CASE WHEN p.status = 'closed' AND p.cost_sol > 0
            THEN p.realized_pnl_sol / p.cost_sol END AS realized_return
FROM signals s
LEFT JOIN trade_decisions d ON d.signal_id = s.id
LEFT JOIN positions p ON p.signal_id = s.id
WHERE s.side = 'buy' AND s.wallet = ANY(%s)
ORDER BY s.observed_at DESC, s.id"""
_SHADOW_SIGNALS_SCHEMA = {
    "id": pl.String, "wallet": pl.String, "mint": pl.String, "observed_at": UTC_US,
    "score": pl.Float64, "decision": pl.String, "reason": pl.String, "action": pl.String,
    "gate": pl.String, "taken": pl.Boolean, "position_status": pl.String,
    "realized_return": pl.Float64}
_OUTCOMES_SQL = """
SELECT o.signal_id, o.horizon_s, o.return_pct FROM signal_outcomes o
JOIN signals s ON s.id = o.signal_id
WHERE s.side = 'buy' AND s.wallet = ANY(%s) AND o.return_pct IS NOT NULL"""
_OUTCOMES_SCHEMA = {"signal_id": pl.String, "horizon_s": pl.Int64, "return_pct": pl.Float64}


def horizon_label(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def horizons(db: Database) -> list[int]:
    return sorted(ConfigRepository(db).load().sources.outcome_horizons_seconds)


def shadow_frame(db: Database, wallets: Sequence[str],
                 horizon_seconds: Sequence[int] = (300, ONE_HOUR, 21600)) -> pl.DataFrame:
    """The wallets' buy signals with ``taken``, the realized return of the taken ones and
    the measured return at each horizon (``return <label>``, a fraction; null: not
    measured), newest first."""
    signals = query_frame(db, _SHADOW_SIGNALS_SQL, (list(wallets),),
                          schema=_SHADOW_SIGNALS_SCHEMA)
    outcomes = query_frame(db, _OUTCOMES_SQL, (list(wallets),), schema=_OUTCOMES_SCHEMA)
    for h in horizon_seconds:  # a few horizons, one join each
        part = outcomes.filter(pl.col("horizon_s") == h).select(
            pl.col("signal_id").alias("id"),
            pl.col("return_pct").alias(f"return {horizon_label(h)}"))
        signals = signals.join(part, on="id", how="left", maintain_order="left")
    return signals


class ShadowSummary(DomainModel):
    """What the filters cost or saved: signals not taken against the ones taken."""

    not_taken: int = 0
    not_taken_measured_1h: int = 0
    mean_1h_return_not_taken: float | None = None  # fraction
    taken: int = 0
    taken_closed: int = 0
    mean_realized_return_taken: float | None = None  # fraction, closed positions only
    mean_1h_return_taken: float | None = None  # fraction

    def text(self) -> str:
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{100 * v:+.2f} %"
        return (f"signals not taken: {self.not_taken}, mean 1 h return "
                f"{pct(self.mean_1h_return_not_taken)}, taken: {self.taken}, mean realized "
                f"return {pct(self.mean_realized_return_taken)}")


def _mean(series: pl.Series) -> float | None:
    values = series.drop_nulls()
    return None if values.is_empty() else float(values.mean())  # type: ignore[arg-type]


def shadow_summary(frame: pl.DataFrame) -> ShadowSummary:
    col = f"return {horizon_label(ONE_HOUR)}"
    one_hour = frame[col] if col in frame.columns else pl.Series(col, [None] * frame.height,
                                                                 dtype=pl.Float64)
    flagged = frame.with_columns(one_hour.alias("_1h"))
    skipped = flagged.filter(~pl.col("taken"))
    taken = flagged.filter(pl.col("taken"))
    return ShadowSummary(
        not_taken=skipped.height,
        not_taken_measured_1h=skipped["_1h"].drop_nulls().len(),
        mean_1h_return_not_taken=_mean(skipped["_1h"]),
        taken=taken.height,
        taken_closed=taken["realized_return"].drop_nulls().len(),
        mean_realized_return_taken=_mean(taken["realized_return"]),
        mean_1h_return_taken=_mean(taken["_1h"]),
    )


def shadow_chart(frame: pl.DataFrame) -> alt.Chart:
    """Mean return by horizon, taken against not taken (and the taken ones' realized)."""
    returns = [c for c in frame.columns if c.startswith("return ")]
    order = [c.removeprefix("return ") for c in returns] + ["realized"]
    long = (
        frame.select("id", "taken", *returns, pl.col("realized_return").alias("return realized"))
        .unpivot(index=["id", "taken"], variable_name="horizon", value_name="return_pct")
        .drop_nulls("return_pct")
        .with_columns(pl.col("horizon").str.strip_prefix("return "),
                      pl.when(pl.col("taken")).then(pl.lit("taken"))
                      .otherwise(pl.lit("not taken")).alias("signals"))
        .group_by("horizon", "signals")
        .agg((pl.col("return_pct").mean() * 100).alias("mean return %"),
             pl.len().alias("measured"))
    )
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("horizon:N", sort=order, title="horizon"),
        xOffset=alt.XOffset("signals:N", sort=["not taken", "taken"]),
        y=alt.Y("mean return %:Q"),
        color=alt.Color("signals:N", sort=["not taken", "taken"],
                        scale=alt.Scale(range=["#9e9e9e", "#1f77b4"])),
        tooltip=["horizon", "signals", alt.Tooltip("mean return %:Q", format=".2f"),
                 "measured"],
    ).properties(width=420, height=240, title="Return after the signal: taken vs not taken")


def not_taken_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The skipped / ineligible signals with their measured returns (in %)."""
    returns = [c for c in frame.columns if c.startswith("return ")]
    return frame.filter(~pl.col("taken")).select(
        "id", "wallet", "mint", "observed_at", "score", "decision", "reason", "action", "gate",
        *((pl.col(c) * 100).round(2).alias(f"{c} %") for c in returns))
