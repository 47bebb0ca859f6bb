"""The JSON API: health, status, signals. Errors are ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from walltrack.app.errors import error_body
from walltrack.errors import StoreError, ValidationError
from walltrack.models import SignalDecision
from walltrack.models.base import utcnow
from walltrack.service.status import read_supervisor_status
from walltrack.store import Database, store_status

MAX_LIMIT = 500


def live_figures(db: Database) -> dict[str, Any]:
    """Inbox backlog and last deliveries, one query (the store must answer)."""
    with db.connection() as conn:
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE status = 'pending'),
                      extract(epoch FROM now() - min(received_at)
                              FILTER (WHERE status = 'pending')),
                      count(*) FILTER (WHERE status = 'parked'),
                      max(received_at) FILTER (WHERE source = 'webhook'),
                      max(received_at) FILTER (WHERE source = 'polling'),
                      count(*)
               FROM inbox""").fetchone()
    assert row is not None
    return {"inbox_pending": int(row[0]),
            "oldest_pending_seconds": None if row[1] is None else round(float(row[1]), 3),
            "inbox_parked": int(row[2]),
            "last_webhook_delivery": row[3].isoformat() if row[3] else None,
            "last_polling_delivery": row[4].isoformat() if row[4] else None,
            "inbox_total": int(row[5])}


async def health(request: Request) -> JSONResponse:
    app = request.app
    try:
        figures = await run_in_threadpool(live_figures, app.state.db)
        # `python -m walltrack serve` keeps its children's state in live_status.
        supervisor = await run_in_threadpool(read_supervisor_status, app.state.db)
    except StoreError as exc:
        return JSONResponse({"ok": False, "store": "unreachable", "error": exc.message,
                             "source": app.state.settings.signal_source.value},
                            status_code=503)
    if supervisor is not None:
        figures["supervisor"] = supervisor
    live = getattr(app.state, "live", None)
    return JSONResponse({
        "ok": True, "store": app.state.db.mode.value,
        "source": app.state.settings.signal_source.value,
        **figures,
        "workers": len(live.workers) if live else 0,
        "watched_wallets": len(live.state.watch) if live and live.state else 0,
        "sources": live.sources_status() if live else None,
        "now": utcnow().isoformat(),
    })


async def api_status(request: Request) -> JSONResponse:
    app = request.app
    status = await run_in_threadpool(store_status, app.state.db)
    figures = await run_in_threadpool(live_figures, app.state.db)
    live = getattr(app.state, "live", None)
    body: dict[str, Any] = {**status.model_dump(mode="json"), "live": figures,
                            "source": app.state.settings.signal_source.value}
    if live is not None:
        body["signals_this_run"] = live.counters.signals
        body["eligible_this_run"] = live.counters.eligible
        body["writer"] = {"commits": live.writer.stats.commits,
                          "accepted": live.writer.stats.accepted,
                          "duplicates": live.writer.stats.duplicates,
                          "largest_batch": live.writer.stats.largest_batch}
        body["workers"] = [{"name": w.name, "processed": w.processed, "signals": w.signals,
                            "parked": w.parked} for w in live.workers]
    return JSONResponse(body)


def _cursor(value: str) -> tuple[datetime, str]:
    at, _, sid = value.partition("~")
    try:
        return datetime.fromisoformat(at), sid
    except ValueError:
        raise ValidationError(f"before={value!r} is not a cursor from meta.next_before",
                              hint="pass the meta.next_before value of the previous page") from None


def query_signals(db: Database, *, limit: int, before: str | None, wallet: str | None,
                  mint: str | None, decision: str | None) -> list[dict[str, Any]]:
    where, params = [], []
    if before:
        at, sid = _cursor(before)
        where.append("(observed_at, id) < (%s, %s)")
        params += [at, sid]
    for col, value in (("wallet", wallet), ("mint", mint), ("decision", decision)):
        if value:
            where.append(f"{col} = %s")
            params.append(value)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with db.cursor() as cur:
        cur.execute(f"SELECT * FROM signals {clause} "
                    "ORDER BY observed_at DESC, id DESC LIMIT %s", [*params, limit])
        return list(cur.fetchall())


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


async def api_signals(request: Request) -> JSONResponse:
    q = request.query_params
    raw_limit = q.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error_body("bad_parameter", f"limit must be an integer in 1..{MAX_LIMIT}", 400)
    decision = q.get("decision")
    if decision and decision not in {d.value for d in SignalDecision}:
        return error_body("bad_parameter",
                          f"decision must be one of {[d.value for d in SignalDecision]}", 400)
    limit = int(raw_limit)
    rows = await run_in_threadpool(
        query_signals, request.app.state.db, limit=limit, before=q.get("before"),
        wallet=q.get("wallet"), mint=q.get("mint"), decision=decision)
    data = [_jsonable(r) for r in rows]
    next_before = (f"{rows[-1]['observed_at'].isoformat()}~{rows[-1]['id']}"
                   if len(rows) == limit else None)
    return JSONResponse({"data": data, "meta": {"count": len(data), "limit": limit,
                                                "next_before": next_before}})
