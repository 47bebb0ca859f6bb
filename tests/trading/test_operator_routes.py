"""The per-position strategy override route and the notebook's operator client, against the
real app under uvicorn with the trading engine running (paper) and an operator token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from tests.factories import address
from tests.harness.processes import free_port
from tests.trading.test_trading_api import TOKEN, post, quiet_settings, serve
from walltrack.models import Position, PositionStatus
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import PositionRepository, RiskStateRepository
from walltrack.trading.exits import named_strategy, plan_of
from walltrack.ui.operator_client import OperatorApiError, OperatorClient, server_base_url

W, M_OPEN, M_CLOSED = address("op-wallet"), address("op-mint-open"), address("op-mint-closed")


@pytest.fixture
def server(make_settings: Callable[..., Settings], db_url: str,
           db: Database) -> Iterator[tuple[str, Settings]]:
    PositionRepository(db).upsert_many([
        Position(id="OPEN", signal_id="sig-open", wallet=W, mint=M_OPEN,
                 status=PositionStatus.open, strategy="balanced",
                 exit_plan=plan_of(named_strategy("balanced")), size_sol=0.1,
                 token_amount=1000.0, remaining_tokens=1000.0),
        Position(id="DONE", signal_id="sig-done", wallet=W, mint=M_CLOSED,
                 status=PositionStatus.closed, size_sol=0.1),
    ])
    settings = quiet_settings(make_settings, db_url, trading_enabled=True,
                              operator_token=TOKEN)
    with serve(settings) as url:
        yield url, settings


def client_for(url: str, token: str | None) -> OperatorClient:
    return OperatorClient(url, SecretStr(token) if token is not None else None)


def test_override_and_the_operator_client(server: tuple[str, Settings], db: Database,
                                         make_settings: Callable[..., Settings]) -> None:
    url, _ = server
    path = "/api/positions/OPEN/strategy"
    body = {"strategy": "conservative", "note": "taking profit early on this one"}
    for token in (None, "wrong"):
        denied = post(url, path, body, token=token)
        assert denied.status_code == 401, denied.text
    assert post(url, path, {"strategy": "conservative"}).json()["error"]["code"] == \
        "note_required"
    assert post(url, path, {"note": "why"}).json()["error"]["code"] == "strategy_required"
    unknown = post(url, path, {"strategy": "yolo", "note": "why"})
    assert unknown.status_code == 400 and "yolo" in unknown.json()["error"]["message"]
    closed = post(url, "/api/positions/DONE/strategy", body)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "position_not_open"
    untouched = PositionRepository(db).get("OPEN")
    assert untouched.override_strategy is None and untouched.override_plan is None

    applied = client_for(url, TOKEN).override_strategy("OPEN", "conservative", body["note"])
    assert applied["strategy"] == "conservative" and applied["position_id"] == "OPEN"
    stored = PositionRepository(db).get("OPEN")
    assert stored.override_strategy == "conservative"
    assert stored.override_plan == plan_of(named_strategy("conservative"))
    assert stored.exit_plan == plan_of(named_strategy("balanced"))  # the entry's plan kept
    assert stored.plan_name == "conservative"
    with db.cursor() as cur:
        cur.execute("SELECT source, detail FROM alerts WHERE detail->>'kind' = "
                    "'strategy_override'")
        rows = cur.fetchall()
    assert [(r["source"], r["detail"]["note"]) for r in rows] == [("operator", body["note"])]

    # The same server (an open position makes its shutdown slow): the client's other calls.
    client = client_for(url, TOKEN)
    assert TOKEN not in repr(client) and "token=set" in repr(client)
    paused = client.pause("  maintenance  ")
    assert paused["risk_state"]["paused"] is True
    assert RiskStateRepository(db).current().paused is True
    client.resume("done")
    client.reset("fresh start")
    assert RiskStateRepository(db).current().last_reset_at is not None
    assert client.risk()["risk_state"]["paused"] is False

    with pytest.raises(OperatorApiError, match="note") as empty:
        client.reset("   ")
    assert empty.value.status is None  # refused before anything was sent
    with pytest.raises(OperatorApiError, match="no operator token") as none:
        client_for(url, None).pause("why")
    assert none.value.status == 401 and "WALLTRACK_OPERATOR_TOKEN" in str(none.value)
    with pytest.raises(OperatorApiError, match="refused the operator token") as wrong:
        client_for(url, "not-the-token").pause("why")
    assert wrong.value.status == 401 and "not-the-token" not in str(wrong.value)

    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(OperatorApiError, match="not reachable") as down:
        client_for(closed, TOKEN).pause("why")
    assert closed in str(down.value) and "python server.py" in str(down.value)
    assert TOKEN not in str(down.value)

    host = urlsplit(url)
    built = OperatorClient.from_settings(make_settings(
        server_host="0.0.0.0", server_port=host.port, operator_token=TOKEN))
    assert built.base_url == f"http://127.0.0.1:{host.port}"
    assert built.risk()["stored"] is True


def test_client_errors_without_the_engine_or_the_servers_token(
        make_settings: Callable[..., Settings], db_url: str, db: Database) -> None:
    no_engine = quiet_settings(make_settings, db_url, trading_enabled=False,
                               operator_token=TOKEN)
    with serve(no_engine) as url:
        with pytest.raises(OperatorApiError, match="trading is disabled") as off:
            client_for(url, TOKEN).reset("why")
        assert off.value.status == 409 and "WALLTRACK_TRADING_ENABLED" in str(off.value)
    without_token = quiet_settings(make_settings, db_url, trading_enabled=False)
    with serve(without_token) as url:
        with pytest.raises(OperatorApiError, match="server has no operator token") as denied:
            client_for(url, TOKEN).pause("why")
        assert denied.value.status == 403
    assert server_base_url(make_settings(server_host="::1", server_port=9)) == "http://[::1]:9"
    assert httpx.URL(server_base_url(make_settings())).host == "127.0.0.1"
