"""The trading engine's store: positions, orders, fills, decisions and risk state, async.

One async connection (opened lazily, calls serialized on it), every method one short
transaction. The guarantees the engine relies on are the schema's (migration 0007): a
signal is decided once (``trade_decisions`` primary key), opens at most one position
(``positions.signal_id`` unique) and a mint has at most one open position (partial unique
index); an order has one fill (``trades.order_id`` unique) and a position one exit in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from walltrack.errors import StoreError, WallTrackError
from walltrack.models import (
    Alert,
    Order,
    OrderStatus,
    Position,
    RiskEvent,
    RiskState,
    Signal,
    Trade,
    TradeDecision,
    TradingMode,
)
from walltrack.store.database import redact_url
from walltrack.store.repositories import (
    AlertRepository,
    OrderRepository,
    PositionRepository,
    RiskEventRepository,
    RiskStateRepository,
    SignalRepository,
    TradeDecisionRepository,
    TradeRepository,
)
from walltrack.store.repository import Repository

OPEN_STATUSES = ("opening", "open", "closing")

# Statement builders only (they never touch a database of their own).
_POSITIONS = PositionRepository(None)  # type: ignore[arg-type]
_ORDERS = OrderRepository(None)  # type: ignore[arg-type]
_TRADES = TradeRepository(None)  # type: ignore[arg-type]
_DECISIONS = TradeDecisionRepository(None)  # type: ignore[arg-type]
_RISK = RiskStateRepository(None)  # type: ignore[arg-type]
_EVENTS = RiskEventRepository(None)  # type: ignore[arg-type]
_ALERTS = AlertRepository(None)  # type: ignore[arg-type]
_SIGNALS = SignalRepository(None)  # type: ignore[arg-type]


def _insert_any_conflict(repo: Repository[Any]) -> sql.Composed:
    """INSERT … ON CONFLICT DO NOTHING on *any* unique index (the partial ones included)."""
    cols = repo.columns()
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(repo.table), sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)))


def _upsert_keeping(repo: Repository[Any], kept: tuple[str, ...]) -> sql.Composed:
    """Upsert by key that leaves ``kept`` columns to their own statements (counters other
    transactions bump concurrently)."""
    cols = repo.columns()
    others = [c for c in cols if c not in repo.key and c not in kept]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(repo.table), sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        sql.SQL(", ").join(map(sql.Identifier, repo.key)),
        sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                           for c in others))


_UPSERT_POSITION = _upsert_keeping(_POSITIONS, ("confirmations",))


_CASH_FLOW = """SELECT mode, coalesce(sum(CASE WHEN side = 'buy' THEN -(sol_amount + fee_sol)
                                             ELSE sol_amount - fee_sol END), 0) AS cash_flow
                FROM trades GROUP BY mode"""


@dataclass(frozen=True, slots=True)
class EntrySnapshot:
    positions: list[Position]
    risk: RiskState | None
    copy_modes: dict[str, TradingMode]
    cash_flow: dict[str, float]  # by mode: SOL in and out of every fill, fees included
    last_exits: dict[str, datetime]


class TradingStore:
    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[dict[str, Any]] | None = None
        self._lock = asyncio.Lock()
        self._statements: dict[tuple[str, object], str] = {}

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self._url, row_factory=dict_row,
                        connect_timeout=max(1, int(self._connect_timeout)))
                async with self._conn.transaction():
                    yield self._conn
            except psycopg.Error as exc:
                if self._conn is not None and self._conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        await self._conn.close()
                    self._conn = None
                raise StoreError(
                    f"trading store ({redact_url(self._url)}): {type(exc).__name__}: {exc}",
                    hint="check that the PostgreSQL server is running and reachable") from None

    # -- helpers -------------------------------------------------------------------------

    async def _put(self, conn: psycopg.AsyncConnection[Any], repo: Repository[Any], item: Any,
                   *, update: bool = True) -> int:
        cur = await conn.execute(self._statement(conn, repo, update), repo._row(item))
        return cur.rowcount

    def _statement(self, conn: psycopg.AsyncConnection[Any], repo: Repository[Any],
                   update: bool) -> str:
        """Each statement composed and rendered once (composing costs ≈ 1 ms a call)."""
        key = (repo.table, update)
        found = self._statements.get(key)
        if found is None:
            composed = (_UPSERT_POSITION if update and repo is _POSITIONS
                        else repo._insert_sql(update=update))
            found = self._statements[key] = composed.as_string(conn)
        return found

    def _any_conflict(self, conn: psycopg.AsyncConnection[Any], repo: Repository[Any]) -> str:
        key = (repo.table, "any")
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = _insert_any_conflict(repo).as_string(conn)
        return found

    # -- signals -------------------------------------------------------------------------

    async def undecided_signals(self, since: datetime, limit: int = 200) -> list[Signal]:
        """Eligible buys, and sells of a mint we hold, that the engine has not decided yet
        (oldest first): a crash between the signal's commit and its decision loses nothing."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                """SELECT s.* FROM signals s
                   WHERE s.stored_at >= %s
                     AND NOT EXISTS (SELECT 1 FROM trade_decisions d WHERE d.signal_id = s.id)
                     AND ((s.decision = 'eligible' AND s.side = 'buy')
                          OR (s.side = 'sell' AND s.mint IN (
                              SELECT mint FROM positions
                              WHERE status IN ('opening', 'open', 'closing'))))
                   ORDER BY s.stored_at, s.swap_at, s.id LIMIT %s""", (since, limit))
            return [_SIGNALS._model(r) for r in await cur.fetchall()]

    async def source_holding_before(self, wallet: str, mint: str, signal: Signal) -> float:
        """Tokens the source wallet held before this sell, from its stored swaps."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                """SELECT coalesce(sum(CASE WHEN side = 'buy' THEN token_amount
                                            ELSE -token_amount END), 0) AS held
                   FROM signals WHERE wallet = %s AND mint = %s
                     AND (swap_at, id) < (%s, %s)""",
                (wallet, mint, signal.swap_at, signal.id))
            row = await cur.fetchone()
        return float(row["held"]) if row else 0.0

    # -- decisions and positions ---------------------------------------------------------

    async def decide(self, decision: TradeDecision, *,
                     confirm_position: str | None = None) -> bool:
        """Record a decision without a new position; False when already decided."""
        async with self.transaction() as conn:
            if not await self._put(conn, _DECISIONS, decision, update=False):
                return False
            if confirm_position is not None:
                await conn.execute(
                    "UPDATE positions SET confirmations = confirmations + 1, updated_at = now()"
                    " WHERE id = %s", (confirm_position,))
        return True

    async def open_position(self, decision: TradeDecision, position: Position,
                            order: Order) -> bool:
        """Decision + position + its entry order, together or not at all. False when the
        signal was decided already or the mint is held (the store said so)."""
        async with self.transaction() as conn:
            if not await self._put(conn, _DECISIONS, decision, update=False):
                return False
            cur = await conn.execute(self._any_conflict(conn, _POSITIONS),
                                     _POSITIONS._row(position))
            if not cur.rowcount:
                raise MintHeld(f"{position.mint} is held already")
            await self._put(conn, _ORDERS, order, update=False)
        return True

    async def entry_snapshot(self, exits_since: datetime) -> EntrySnapshot:
        """Everything the gates and the sizing read, in one transaction (one round trip
        each instead of one transaction each: this is the hot path of every entry)."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT * FROM positions WHERE status = ANY(%s) ORDER BY opened_at",
                (list(OPEN_STATUSES),))
            positions = [_POSITIONS._model(r) for r in await cur.fetchall()]
            cur = await conn.execute("SELECT * FROM risk_state WHERE id = 'global'")
            row = await cur.fetchone()
            risk = _RISK._model(row) if row else None
            cur = await conn.execute("SELECT wallet, mode FROM wallet_copy_modes")
            modes = {r["wallet"]: TradingMode(r["mode"]) for r in await cur.fetchall()}
            cur = await conn.execute(_CASH_FLOW)
            cash = {r["mode"]: float(r["cash_flow"]) for r in await cur.fetchall()}
            cur = await conn.execute(
                "SELECT mint, max(closed_at) AS at FROM positions WHERE status = 'closed' "
                "AND closed_at >= %s GROUP BY mint", (exits_since,))
            exits = {r["mint"]: r["at"] for r in await cur.fetchall()}
        return EntrySnapshot(positions, risk, modes, cash, exits)

    async def held_position(self, mint: str) -> Position | None:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT * FROM positions WHERE mint = %s AND status = ANY(%s)",
                (mint, list(OPEN_STATUSES)))
            row = await cur.fetchone()
        return _POSITIONS._model(row) if row else None

    async def open_positions(self) -> list[Position]:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT * FROM positions WHERE status = ANY(%s) ORDER BY opened_at",
                (list(OPEN_STATUSES),))
            return [_POSITIONS._model(r) for r in await cur.fetchall()]

    async def position(self, position_id: str) -> Position | None:
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT * FROM positions WHERE id = %s", (position_id,))
            row = await cur.fetchone()
        return _POSITIONS._model(row) if row else None

    async def save_position(self, position: Position) -> None:
        async with self.transaction() as conn:
            await self._put(conn, _POSITIONS, position)

    async def last_exits(self, since: datetime) -> dict[str, datetime]:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT mint, max(closed_at) AS at FROM positions WHERE status = 'closed' "
                "AND closed_at >= %s GROUP BY mint", (since,))
            return {r["mint"]: r["at"] for r in await cur.fetchall()}

    async def closed_positions(self, limit: int) -> list[Position]:
        """The latest closed positions, oldest first (what the protections read)."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT * FROM (SELECT * FROM positions WHERE status = 'closed' "
                "ORDER BY closed_at DESC LIMIT %s) p ORDER BY closed_at", (limit,))
            return [_POSITIONS._model(r) for r in await cur.fetchall()]

    async def book_figures(self) -> dict[str, float]:
        """Cash flows of every fill and realized PnL, per mode (paper balance, equity)."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                """SELECT mode,
                          coalesce(sum(CASE WHEN side = 'buy' THEN -(sol_amount + fee_sol)
                                            ELSE sol_amount - fee_sol END), 0) AS cash_flow,
                          coalesce(sum(pnl_sol), 0) AS realized
                   FROM trades GROUP BY mode""")
            rows = await cur.fetchall()
        out: dict[str, float] = {}
        for r in rows:
            out[f"{r['mode']}_cash_flow"] = float(r["cash_flow"])
            out[f"{r['mode']}_realized"] = float(r["realized"])
        return out

    # -- orders --------------------------------------------------------------------------

    async def save_order(self, order: Order) -> None:
        async with self.transaction() as conn:
            await self._put(conn, _ORDERS, order)

    async def create_exit(self, order: Order, position: Position) -> bool:
        """The exit order and the position's ``closing`` status; False while another exit
        of the position is in flight."""
        async with self.transaction() as conn:
            cur = await conn.execute(self._any_conflict(conn, _ORDERS), _ORDERS._row(order))
            if not cur.rowcount:
                return False
            await self._put(conn, _POSITIONS, position)
        return True

    async def unfinished_orders(self) -> list[Order]:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT * FROM orders WHERE status IN ('created', 'submitted') "
                "ORDER BY created_at")
            return [_ORDERS._model(r) for r in await cur.fetchall()]

    async def settle(self, order: Order, position: Position, trade: Trade | None) -> bool:
        """The order's end (confirmed with its one fill, or failed) and the position after
        it, in one transaction. False when this order already had its fill."""
        async with self.transaction() as conn:
            if trade is not None and not await self._put(conn, _TRADES, trade, update=False):
                return False
            await self._put(conn, _ORDERS, order)
            await self._put(conn, _POSITIONS, position)
        return True

    # -- risk and alerts -----------------------------------------------------------------

    async def risk_state(self) -> RiskState | None:
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT * FROM risk_state WHERE id = 'global'")
            row = await cur.fetchone()
        return _RISK._model(row) if row else None

    async def save_risk(self, state: RiskState, events: Sequence[RiskEvent]) -> None:
        async with self.transaction() as conn:
            await self._put(conn, _RISK, state)
            for e in events:
                await self._put(conn, _EVENTS, e, update=False)

    async def add_alert(self, alert: Alert) -> None:
        async with self.transaction() as conn:
            await self._put(conn, _ALERTS, alert, update=False)

    async def copy_modes(self) -> dict[str, TradingMode]:
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT wallet, mode FROM wallet_copy_modes")
            return {r["wallet"]: TradingMode(r["mode"]) for r in await cur.fetchall()}

    async def order(self, order_id: str) -> Order | None:
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT * FROM orders WHERE id = %s", (order_id,))
            row = await cur.fetchone()
        return _ORDERS._model(row) if row else None

    async def signal_swap_at(self, signal_id: str) -> datetime | None:
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT swap_at FROM signals WHERE id = %s", (signal_id,))
            row = await cur.fetchone()
        return row["swap_at"] if row else None

    async def entry_order_status(self, position_id: str) -> OrderStatus | None:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT status FROM orders WHERE position_id = %s AND kind = 'entry'",
                (position_id,))
            row = await cur.fetchone()
        return OrderStatus(row["status"]) if row else None


class MintHeld(WallTrackError):
    """The mint already has an open position (the partial unique index said so); raised
    inside the transaction so the decision rolls back with the position."""

    code = "mint_held"
