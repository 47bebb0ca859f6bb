"""The trading routes on the real app under uvicorn: positions, orders, trades, risk, copy
performance, and the operator's pause / resume / reset behind the bearer token."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import address, signature
from tests.harness.app_server import serve_app
from tests.harness.processes import REPO_ROOT, free_port
from tests.live.helpers import FixedTokens
from walltrack.app import auth
from walltrack.app.auth import check_bind
from walltrack.app.factory import create_app
from walltrack.errors import ConfigurationError
from walltrack.models import (
    Alert,
    DecisionReason,
    Order,
    OrderKind,
    OrderStatus,
    Position,
    PositionStatus,
    RiskEvent,
    RiskEventKind,
    RiskState,
    Signal,
    SignalDecision,
    SignalFactors,
    SwapSide,
    Trade,
    TradingMode,
    Wallet,
)
from walltrack.models.base import utcnow
from walltrack.settings import Settings
from walltrack.store import Database, open_database
from walltrack.store.repositories import (
    AlertRepository,
    OrderRepository,
    PositionRepository,
    RiskEventRepository,
    RiskStateRepository,
    SignalRepository,
    TradeRepository,
    WalletRepository,
)
from walltrack.trading.performance import set_copy_mode

TOKEN = "operator-token-0123456789abcdef-0123"
NOW = utcnow().replace(microsecond=0)
W1, W2 = address("api-wallet-1"), address("api-wallet-2")
M1, M2, M3 = (address(f"api-mint-{i}") for i in range(1, 4))


def closed_url() -> str:
    """A loopback URL nobody listens on (the engine only calls out when it trades)."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def serve(settings: Settings, *, live: bool = True) -> Iterator[str]:
    app = create_app(settings, lambda: open_database(settings),
                     tokens=lambda *_: FixedTokens(), live=live)
    with serve_app(app) as url:
        yield url


def quiet_settings(make_settings: Callable[..., Settings], db_url: str,
                   **overrides: Any) -> Settings:
    closed = closed_url()
    return make_settings(database_url=db_url, jupiter_url=closed, dexscreener_url=closed,
                         solana_rpc_urls=closed, **overrides)


@pytest.fixture
def read_url(make_settings: Callable[..., Settings], db_url: str, db: Database) -> Iterator[str]:
    """The live app without trading and without an operator token."""
    with serve(quiet_settings(make_settings, db_url, trading_enabled=False)) as url:
        yield url


@pytest.fixture
def trading_url(make_settings: Callable[..., Settings], db_url: str,
                db: Database) -> Iterator[str]:
    """The live app with the trading engine running (paper) and an operator token."""
    with serve(quiet_settings(make_settings, db_url, trading_enabled=True,
                              operator_token=TOKEN)) as url:
        yield url


def get(url: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(url + path, params=params, timeout=10)


def post(url: str, path: str, body: Any = None, *, token: str | None = TOKEN,
         content: bytes | None = None, scheme: str = "Bearer") -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    if content is not None:
        return httpx.post(url + path, content=content, headers=headers, timeout=10)
    return httpx.post(url + path, json=body, headers=headers, timeout=10)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def bad(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_parameter"
    for word in words:
        assert word in error["message"]


def position(pid: str, wallet: str, mint: str, status: PositionStatus, opened: datetime,
             pnl: float = 0.0) -> Position:
    return Position(id=pid, signal_id=f"sig-{pid}", wallet=wallet, mint=mint, status=status,
                    size_sol=0.1, token_amount=1000.0, remaining_tokens=1000.0,
                    realized_pnl_sol=pnl, opened_at=opened)


def order(oid: str, pid: str, kind: OrderKind, status: OrderStatus, created: datetime,
          mint: str) -> Order:
    return Order(id=oid, position_id=pid, idempotency_key=f"{pid}:{oid}", kind=kind,
                 side=SwapSide.buy if kind is OrderKind.entry else SwapSide.sell, mint=mint,
                 status=status, amount_in=0.1, created_at=created)


def trade(tid: str, oid: str, pid: str, mint: str, side: SwapSide, at: datetime,
          pnl: float | None = None) -> Trade:
    return Trade(id=tid, order_id=oid, position_id=pid, wallet=W1, mint=mint, side=side,
                 mode=TradingMode.paper, sol_amount=0.1, token_amount=1000.0,
                 price_sol=0.0001, pnl_sol=pnl, executed_at=at)


@pytest.fixture
def book(db: Database) -> Database:
    d = timedelta(days=1)
    PositionRepository(db).upsert_many([
        position("P1", W1, M1, PositionStatus.closed, NOW - 3 * d, pnl=0.2),
        position("P2", W1, M2, PositionStatus.open, NOW - 2 * d),
        position("P3", W2, M3, PositionStatus.open, NOW - d),
        position("P4", W2, M1, PositionStatus.failed, NOW - timedelta(hours=4)),
    ])
    OrderRepository(db).upsert_many([
        order("O1", "P1", OrderKind.entry, OrderStatus.confirmed, NOW - 3 * d, M1),
        order("O2", "P1", OrderKind.exit, OrderStatus.confirmed,
              NOW - 3 * d + timedelta(hours=1), M1),
        order("O3", "P2", OrderKind.entry, OrderStatus.confirmed, NOW - 2 * d, M2),
        order("O4", "P3", OrderKind.entry, OrderStatus.submitted, NOW - d, M3),
        order("O5", "P4", OrderKind.entry, OrderStatus.failed, NOW - timedelta(hours=4), M1),
    ])
    TradeRepository(db).upsert_many([
        trade("T1", "O1", "P1", M1, SwapSide.buy, NOW - 3 * d),
        trade("T2", "O2", "P1", M1, SwapSide.sell, NOW - 3 * d + timedelta(hours=1), 0.2),
        trade("T3", "O3", "P2", M2, SwapSide.buy, NOW - 2 * d),
    ])
    return db


# -- reads ---------------------------------------------------------------------------------


def test_positions_filters_order_and_limits(read_url: str, book: Database) -> None:
    assert ids(get(read_url, "/api/positions")) == ["P4", "P3", "P2", "P1"]
    assert ids(get(read_url, "/api/positions", status="open")) == ["P3", "P2"]
    assert ids(get(read_url, "/api/positions", wallet=W1)) == ["P2", "P1"]
    assert ids(get(read_url, "/api/positions", mint=M1)) == ["P4", "P1"]
    assert ids(get(read_url, "/api/positions", wallet=W2, status="open")) == ["P3"]
    one = get(read_url, "/api/positions", limit=1)
    assert ids(one) == ["P4"] and one.json()["meta"] == {"count": 1, "limit": 1}
    row = get(read_url, "/api/positions", status="closed").json()["data"][0]
    assert datetime.fromisoformat(row["opened_at"]) == NOW - timedelta(days=3)
    assert row["realized_pnl_sol"] == 0.2 and row["exit_plan"] == [] and row["wallet"] == W1
    bad(get(read_url, "/api/positions", status="bogus"), "status", "opening", "failed")
    for limit in ("0", "501", "x", "-1"):
        bad(get(read_url, "/api/positions", limit=limit), "limit", "1..500")


def test_orders_filters_and_errors(read_url: str, book: Database) -> None:
    assert ids(get(read_url, "/api/orders")) == ["O5", "O4", "O3", "O2", "O1"]
    assert ids(get(read_url, "/api/orders", status="confirmed")) == ["O3", "O2", "O1"]
    assert ids(get(read_url, "/api/orders", position_id="P1")) == ["O2", "O1"]
    assert ids(get(read_url, "/api/orders", position_id="P1", status="failed")) == []
    assert ids(get(read_url, "/api/orders", limit=2)) == ["O5", "O4"]
    bad(get(read_url, "/api/orders", status="open"), "status", "submitted")
    bad(get(read_url, "/api/orders", limit="1000"), "limit")


def test_trades_filters_and_errors(read_url: str, book: Database) -> None:
    assert ids(get(read_url, "/api/trades")) == ["T3", "T2", "T1"]
    sells = get(read_url, "/api/trades", wallet=W1, side="sell")
    assert ids(sells) == ["T2"] and sells.json()["data"][0]["pnl_sol"] == 0.2
    assert ids(get(read_url, "/api/trades", mint=M2)) == ["T3"]
    assert ids(get(read_url, "/api/trades", wallet=W2)) == []
    bad(get(read_url, "/api/trades", side="hold"), "side", "buy", "sell")
    bad(get(read_url, "/api/trades", limit=""), "limit")


def test_risk_defaults_then_the_stored_row_events_and_alerts(read_url: str,
                                                             db: Database) -> None:
    empty = get(read_url, "/api/risk")
    assert empty.status_code == 200, empty.text
    body = empty.json()
    assert body["stored"] is False and body["trading"] is None
    assert body["risk_state"]["paused"] is False and body["risk_state"]["capital_sol"] == 10.0
    assert body["events"] == [] and body["unacknowledged_alerts"] == 0

    RiskStateRepository(db).upsert(RiskState(paused=True, pause_reason="manual_pause: test",
                                             equity_sol=9.0, peak_equity_sol=10.0))
    RiskEventRepository(db).upsert_many(
        RiskEvent(id=f"e{i:02d}", at=NOW - timedelta(minutes=60 - i),
                  kind=RiskEventKind.manual_pause, message=f"event {i}") for i in range(55))
    AlertRepository(db).upsert_many([
        Alert(source="risk", message="a"), Alert(source="risk", message="b"),
        Alert(source="risk", message="c", acknowledged=True)])
    body = get(read_url, "/api/risk").json()
    assert body["stored"] is True
    assert body["risk_state"]["paused"] is True
    assert body["risk_state"]["drawdown"] == pytest.approx(0.1)
    assert [e["id"] for e in body["events"]] == [f"e{i:02d}" for i in range(54, 4, -1)]
    assert datetime.fromisoformat(body["events"][0]["at"]) == NOW - timedelta(minutes=6)
    assert body["unacknowledged_alerts"] == 2


def test_performance_records(read_url: str, book: Database) -> None:
    WalletRepository(book).upsert(Wallet(address=W1, on_watchlist=True))
    set_copy_mode(book, W1, TradingMode.live, "promoted after the paper run")
    seen = NOW - timedelta(hours=1)
    SignalRepository(book).upsert(Signal(
        id="s1", signature=signature("api-s1"), wallet=W1, mint=M1, side=SwapSide.buy,
        sol_amount=1.0, observed_at=seen, swap_at=seen,
        factors=SignalFactors(wallet=0.5, cluster=0.5, token=0.5, context=0.5),
        weights={"wallet": 1.0}, score=0.8, decision=SignalDecision.eligible,
        reason=DecisionReason.above_threshold))
    response = get(read_url, "/api/performance")
    assert response.status_code == 200, response.text
    data = {r["wallet"]: r for r in response.json()["data"]}
    assert response.json()["meta"] == {"count": 2}
    w1, w2 = data[W1], data[W2]
    assert (w1["copy_mode"], w1["positions"], w1["open_positions"], w1["closed"],
            w1["wins"], w1["win_rate"]) == ("live", 2, 1, 1, 1, 1.0)
    assert w1["realized_pnl_sol"] == pytest.approx(0.2)
    assert (w1["signals_24h"], w1["signals_all"], w1["eligible_all"]) == (1, 1, 1)
    assert datetime.fromisoformat(w1["last_signal_at"]) == seen
    assert (w2["copy_mode"], w2["positions"], w2["open_positions"], w2["win_rate"],
            w2["watched"], w2["last_signal_at"]) == ("paper", 1, 1, None, False, None)


# -- operator actions ----------------------------------------------------------------------


def test_without_a_token_every_operator_action_is_refused(read_url: str, db: Database) -> None:
    for action in ("pause", "resume", "reset"):
        for token in (None, TOKEN, "wrong"):
            r = post(read_url, f"/api/risk/{action}", {"note": "why"}, token=token)
            assert r.status_code == 403, r.text
            error = r.json()["error"]
            assert error["code"] == "operator_token_missing"
            assert "WALLTRACK_OPERATOR_TOKEN" in error["message"]
    assert RiskStateRepository(db).get("global") is None


def test_pause_resume_reset_with_the_token(trading_url: str, db: Database) -> None:
    started = get(trading_url, "/api/risk").json()
    assert started["trading"] is not None and started["trading"]["reconciled"] is True
    assert started["stored"] is True and started["risk_state"]["paused"] is False

    missing = post(trading_url, "/api/risk/pause", {"note": "x"}, token=None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    for wrong in (post(trading_url, "/api/risk/pause", {"note": "x"}, token=TOKEN + "x"),
                  post(trading_url, "/api/risk/pause", {"note": "x"}, token=TOKEN[:-1]),
                  post(trading_url, "/api/risk/pause", {"note": "x"}, scheme="Basic")):
        assert wrong.status_code == 401, wrong.text
        assert "WALLTRACK_OPERATOR_TOKEN" in wrong.json()["error"]["message"]
    for body in (None, {}, {"note": "   "}, {"note": 3}, ["note"]):
        r = post(trading_url, "/api/risk/pause", body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "note_required", r.text
    garbled = post(trading_url, "/api/risk/pause", content=b"{note")
    assert garbled.status_code == 400 and garbled.json()["error"]["code"] == "bad_json"
    assert RiskStateRepository(db).current().paused is False

    paused = post(trading_url, "/api/risk/pause", {"note": "  maintenance window  "},
                  scheme="bearer")
    assert paused.status_code == 200, paused.text
    assert paused.json()["action"] == "pause" and paused.json()["note"] == "maintenance window"
    assert paused.json()["risk_state"]["paused"] is True
    stored = RiskStateRepository(db).current()
    assert stored.paused is True and "maintenance window" in (stored.pause_reason or "")
    with db.cursor() as cur:
        cur.execute("SELECT kind, message FROM risk_events ORDER BY at")
        assert ("manual_pause", "maintenance window") in [
            (e["kind"], e["message"]) for e in cur.fetchall()]
    assert get(trading_url, "/api/risk").json()["risk_state"]["paused"] is True

    resumed = post(trading_url, "/api/risk/resume", {"note": "done"})
    assert resumed.status_code == 200 and resumed.json()["risk_state"]["paused"] is False
    assert RiskStateRepository(db).current().paused is False

    reset = post(trading_url, "/api/risk/reset", {"note": "fresh start"})
    assert reset.status_code == 200, reset.text
    assert RiskStateRepository(db).current().last_reset_at is not None
    with db.cursor() as cur:
        cur.execute("SELECT kind FROM risk_events")
        kinds = {e["kind"] for e in cur.fetchall()}
    assert {"manual_pause", "manual_resume", "reset"} <= kinds


def test_an_action_without_the_engine_is_a_conflict(make_settings: Callable[..., Settings],
                                                    db_url: str, db: Database) -> None:
    settings = quiet_settings(make_settings, db_url, trading_enabled=False,
                              operator_token=TOKEN)
    with serve(settings) as url:
        r = post(url, "/api/risk/pause", {"note": "why"})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "trading_disabled"
        assert post(url, "/api/risk/pause", {"note": "why"}, token="no").status_code == 401
        assert post(url, "/api/risk/pause", {}).status_code == 400
        assert httpx.get(url + "/api/risk/pause", timeout=10).status_code == 405


# -- auth and bind -------------------------------------------------------------------------


def test_check_bind(make_settings: Callable[..., Settings]) -> None:
    open_settings = make_settings()
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        with pytest.raises(ConfigurationError, match="WALLTRACK_OPERATOR_TOKEN") as caught:
            check_bind(open_settings, host)
        assert "WALLTRACK_SERVER_HOST" in str(caught.value)
    with pytest.raises(ConfigurationError):
        check_bind(make_settings(operator_token="   "), "0.0.0.0")
    for host in ("127.0.0.1", "::1", "localhost", "[::1]", "127.0.0.2", "LOCALHOST"):
        check_bind(open_settings, host)
    check_bind(make_settings(operator_token=TOKEN), "0.0.0.0")


def test_server_py_refuses_a_public_bind_without_a_token(db_url: str) -> None:
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_OPERATOR_TOKEN": "",
           "WALLTRACK_SERVER_HOST": "0.0.0.0"}
    done = subprocess.run([sys.executable, "server.py", "--port", str(free_port())],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "WALLTRACK_OPERATOR_TOKEN" in done.stderr and "0.0.0.0" in done.stderr


def test_the_token_compare_is_constant_time() -> None:
    tree = ast.parse(inspect.getsource(auth.bearer_matches))
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "hmac.compare_digest" in calls
    token = TOKEN.encode()
    assert auth.bearer_matches(f"Bearer {TOKEN}", token)
    assert auth.bearer_matches(f"bearer  {TOKEN} ", token)
    assert not auth.bearer_matches(TOKEN, token)
    assert not auth.bearer_matches(f"Basic {TOKEN}", token)
    assert not auth.bearer_matches("Bearer ", token)
    assert not auth.bearer_matches(None, token)
