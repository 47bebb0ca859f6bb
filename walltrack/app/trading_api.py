"""The trading part of the JSON API: positions, orders, trades, risk, copy performance, and
the operator's pause / resume / reset (bearer token, walltrack.app.auth).

Reads are open like the rest of the API; the operator actions need the token. Every query
runs in the threadpool over ``app.state.db``; datetimes are ISO strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from psycopg import sql
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from walltrack.app.auth import Endpoint, OperatorGuard, operator_guard
from walltrack.app.errors import error_body
from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.models import (
    Alert,
    AlertLevel,
    OrderStatus,
    Position,
    PositionStatus,
    RiskState,
    SwapSide,
)
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import AlertRepository, RiskStateRepository
from walltrack.trading.alerts import log_alert
from walltrack.trading.performance import wallet_performance

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
RISK_EVENTS = 50
MAX_ACTION_BODY = 16_384
OPERATOR_ACTIONS = ("pause", "resume", "reset")

log = get_logger(__name__)


class BadParameter(Exception):
    """A query parameter is invalid: answered 400 ``bad_parameter``."""


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def parse_limit(raw: str | None) -> int:
    value = raw if raw is not None else str(DEFAULT_LIMIT)
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadParameter(f"limit must be an integer in 1..{MAX_LIMIT}")
    return int(value)


def parse_enum(name: str, raw: str | None, enum: type[StrEnum]) -> str | None:
    if not raw:
        return None
    values = [e.value for e in enum]
    if raw not in values:
        raise BadParameter(f"{name} must be one of {values}")
    return raw


def select_rows(db: Database, table: str, filters: Mapping[str, str | None],
                order: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """``SELECT *`` of ``table`` with equality filters (None: no filter), newest first."""
    where = [(col, value) for col, value in filters.items() if value]
    query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
    if where:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(
            sql.SQL("{} = %s").format(sql.Identifier(col)) for col, _ in where)
    query += sql.SQL(" ORDER BY {} LIMIT %s").format(sql.SQL(", ").join(
        sql.SQL("{} DESC").format(sql.Identifier(col)) for col in order))
    with db.cursor() as cur:
        cur.execute(query, [*(v for _, v in where), limit])
        return [jsonable(r) for r in cur.fetchall()]


async def _listing(request: Request, table: str, filters: Mapping[str, str | None],
                   order: tuple[str, ...], limit: int) -> JSONResponse:
    data = await run_in_threadpool(select_rows, request.app.state.db, table, filters, order,
                                   limit)
    return JSONResponse({"data": data, "meta": {"count": len(data), "limit": limit}})


async def api_positions(request: Request) -> Response:
    """``GET /api/positions?status=&wallet=&mint=&limit=``: newest opened first."""
    q = request.query_params
    try:
        limit = parse_limit(q.get("limit"))
        status = parse_enum("status", q.get("status"), PositionStatus)
    except BadParameter as exc:
        return error_body("bad_parameter", str(exc), 400)
    return await _listing(request, "positions",
                          {"status": status, "wallet": q.get("wallet"), "mint": q.get("mint")},
                          ("opened_at", "id"), limit)


async def api_orders(request: Request) -> Response:
    """``GET /api/orders?status=&position_id=&limit=``: newest created first."""
    q = request.query_params
    try:
        limit = parse_limit(q.get("limit"))
        status = parse_enum("status", q.get("status"), OrderStatus)
    except BadParameter as exc:
        return error_body("bad_parameter", str(exc), 400)
    return await _listing(request, "orders",
                          {"status": status, "position_id": q.get("position_id")},
                          ("created_at", "id"), limit)


async def api_trades(request: Request) -> Response:
    """``GET /api/trades?wallet=&mint=&side=&limit=``: newest fill first."""
    q = request.query_params
    try:
        limit = parse_limit(q.get("limit"))
        side = parse_enum("side", q.get("side"), SwapSide)
    except BadParameter as exc:
        return error_body("bad_parameter", str(exc), 400)
    return await _listing(request, "trades",
                          {"wallet": q.get("wallet"), "mint": q.get("mint"), "side": side},
                          ("executed_at", "id"), limit)


def risk_view(state: RiskState) -> dict[str, Any]:
    return {**state.model_dump(mode="json"), "drawdown": state.drawdown}


def risk_figures(db: Database) -> dict[str, Any]:
    """The stored risk state (defaults when none is stored), recent events, open alerts."""
    stored = RiskStateRepository(db).get("global")
    with db.cursor() as cur:
        cur.execute("SELECT * FROM risk_events ORDER BY at DESC, id DESC LIMIT %s",
                    (RISK_EVENTS,))
        events = [jsonable(r) for r in cur.fetchall()]
        cur.execute("SELECT count(*) AS n FROM alerts WHERE NOT acknowledged")
        row = cur.fetchone()
    return {"risk_state": risk_view(stored or RiskState()), "stored": stored is not None,
            "events": events, "unacknowledged_alerts": int(row["n"]) if row else 0}


def _trading(request: Request) -> Any:
    live = getattr(request.app.state, "live", None)
    return getattr(live, "trading", None) if live is not None else None


async def api_risk(request: Request) -> Response:
    """``GET /api/risk``: risk state, the last 50 risk events, unacknowledged alerts and
    the running engine's status (null when trading is off)."""
    body = await run_in_threadpool(risk_figures, request.app.state.db)
    trading = _trading(request)
    body["trading"] = trading.status() if trading is not None else None
    return JSONResponse(body)


def performance_records(db: Database) -> list[dict[str, Any]]:
    return [jsonable(r) for r in wallet_performance(db).to_dicts()]


async def api_performance(request: Request) -> Response:
    """``GET /api/performance``: per-source-wallet copy performance."""
    data = await run_in_threadpool(performance_records, request.app.state.db)
    return JSONResponse({"data": data, "meta": {"count": len(data)}})


async def read_body(request: Request, example: str) -> dict[str, Any] | JSONResponse:
    """An operator action's JSON object body (``example`` shows its shape in errors), or
    the 4xx to answer."""
    raw = await request.body()
    if len(raw) > MAX_ACTION_BODY:
        return error_body("payload_too_large",
                          f"the body may hold at most {MAX_ACTION_BODY} bytes", 413)
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return error_body("bad_json", f"the body must be JSON: {example}", 400)
    return body if isinstance(body, dict) else {}


def note_of(body: dict[str, Any]) -> str | JSONResponse:
    note = body.get("note")
    if not isinstance(note, str) or not note.strip():
        return error_body("note_required",
                          'an operator action needs a note saying why: {"note": "..."}', 400)
    return note.strip()


async def read_note(request: Request) -> str | JSONResponse:
    """The operator's note from a JSON body ``{"note": "..."}``, or the 4xx to answer."""
    body = await read_body(request, '{"note": "why"}')
    return body if isinstance(body, JSONResponse) else note_of(body)


def make_operator_action(action: str, guard: OperatorGuard) -> Endpoint:
    """``POST /api/risk/<action>`` behind the operator guard."""

    async def operator_action(request: Request) -> Response:
        note = await read_note(request)
        if isinstance(note, JSONResponse):
            return note
        trading = _trading(request)
        if trading is None:
            return error_body("trading_disabled",
                              "the trading engine is not running in this server "
                              "(WALLTRACK_TRADING_ENABLED=false)", 409)
        try:
            state: RiskState = await trading.engine.operator(action, note)
        except ValueError as exc:
            return error_body("bad_request", str(exc), 400)
        return JSONResponse({"action": action, "note": note, "risk_state": risk_view(state)})

    operator_action.__name__ = f"api_risk_{action}"
    return guard(operator_action)


async def read_override(request: Request) -> tuple[str, str] | JSONResponse:
    """(strategy, note) from ``{"strategy": name, "note": why}``, or the 4xx to answer."""
    body = await read_body(request, '{"strategy": "name", "note": "why"}')
    if isinstance(body, JSONResponse):
        return body
    note = note_of(body)
    if isinstance(note, JSONResponse):
        return note
    strategy = body.get("strategy")
    if not isinstance(strategy, str) or not strategy.strip():
        return error_body("strategy_required",
                          'name the exit strategy to follow: {"strategy": "balanced"}', 400)
    return strategy.strip(), note


def record_override(db: Database, position: Position, note: str) -> None:
    """The override is kept as an operator alert (who changed what, and why)."""
    alert = Alert(
        level=AlertLevel.info, source="operator",
        message=f"exit strategy of position {position.id} → {position.plan_name} ({note})",
        detail={"kind": "strategy_override", "position_id": position.id,
                "strategy": position.plan_name, "note": note})
    AlertRepository(db).upsert(alert)
    log_alert(alert)


def make_strategy_override(guard: OperatorGuard) -> Endpoint:
    """``POST /api/positions/{id}/strategy`` behind the operator guard: the open position's
    exits follow the named strategy (built-in or the config's own) from the next price."""

    async def api_position_strategy(request: Request) -> Response:
        parsed = await read_override(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        strategy, note = parsed
        trading = _trading(request)
        if trading is None:
            return error_body("trading_disabled",
                              "the trading engine is not running in this server "
                              "(WALLTRACK_TRADING_ENABLED=false)", 409)
        position_id = request.path_params["position_id"]
        try:
            position: Position = await trading.engine.override_strategy(position_id, strategy)
        except ValueError as exc:  # an unknown strategy name
            return error_body("unknown_strategy", str(exc), 400)
        except WallTrackError as exc:  # not open (or unknown)
            return error_body("position_not_open", str(exc), 409)
        await run_in_threadpool(record_override, request.app.state.db, position, note)
        log.info("api_strategy_overridden", position=position_id, strategy=position.plan_name,
                 note=note)
        return JSONResponse({"position_id": position.id, "strategy": position.plan_name,
                             "note": note,
                             "plan": [r.model_dump(mode="json") for r in position.plan]})

    return guard(api_position_strategy)


def trading_routes(settings: Settings) -> list[Route]:
    """Every route of this module (the operator actions guarded by ``settings``' token)."""
    guard = operator_guard(settings)
    return [
        Route("/api/positions", api_positions),
        Route("/api/orders", api_orders),
        Route("/api/trades", api_trades),
        Route("/api/risk", api_risk),
        Route("/api/performance", api_performance),
        *(Route(f"/api/risk/{action}", make_operator_action(action, guard), methods=["POST"])
          for action in OPERATOR_ACTIONS),
        Route("/api/positions/{position_id}/strategy", make_strategy_override(guard),
              methods=["POST"]),
    ]
