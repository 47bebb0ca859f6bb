"""POST /webhooks/helius on the real app under uvicorn: auth, limits, shapes, the inbox."""

from __future__ import annotations

import ast
import inspect
import time

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import address, signature
from tests.live.helpers import AUTH, swap_tx
from walltrack.app import webhooks
from walltrack.app.factory import check_webhook_settings
from walltrack.errors import ConfigurationError
from walltrack.store import Database

JSON = {"Content-Type": "application/json"}


def post(url: str, body: bytes | str, headers: dict[str, str] | None = None,
         auth: str | None = AUTH) -> httpx.Response:
    h = dict(JSON if headers is None else headers)
    if auth is not None:
        h["Authorization"] = auth
    return httpx.post(url + "/webhooks/helius", content=body, headers=h, timeout=10)


def inbox_rows(db: Database) -> list[tuple[str, int]]:
    with db.connection() as conn:
        return conn.execute("SELECT signature, duplicates FROM inbox ORDER BY seq").fetchall()


def delivery(*sigs: str) -> bytes:
    w, m = address("w"), address("m")
    return orjson.dumps([swap_tx(s, w, m, ts=int(time.time())) for s in sigs])


def test_auth_missing_wrong_and_right(live_url: str, db: Database) -> None:
    body = delivery(signature("a"))
    missing = post(live_url, body, auth=None)
    wrong = post(live_url, body, auth=AUTH + "x")
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["error"]["code"] == "unauthorized"
    assert inbox_rows(db) == []
    right = post(live_url, body)
    assert right.status_code == 200, right.text
    assert right.json() == {"accepted": 1, "duplicates": 0}
    assert [r[0] for r in inbox_rows(db)] == [signature("a")]


def test_the_compare_is_constant_time() -> None:
    tree = ast.parse(inspect.getsource(webhooks.authorized))
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "hmac.compare_digest" in calls
    assert not any(isinstance(n, ast.Compare) and isinstance(n.ops[0], ast.Eq | ast.NotEq)
                   for n in ast.walk(tree))
    assert webhooks.authorized(AUTH, AUTH.encode())
    assert not webhooks.authorized(AUTH[:-1], AUTH.encode())
    assert not webhooks.authorized("", AUTH.encode())


def test_the_route_refuses_to_start_without_a_secret(make_settings) -> None:
    with pytest.raises(ConfigurationError, match="WALLTRACK_WEBHOOK_AUTH_HEADER"):
        check_webhook_settings(make_settings(signal_source="webhook"))
    assert check_webhook_settings(make_settings(signal_source="polling")) is None


def test_limits_and_shapes(live_url: str, db: Database, live_settings) -> None:
    text = post(live_url, delivery(signature("a")), headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    limit = live_settings.webhook_max_body_bytes
    big = post(live_url, b"[" + b" " * (limit + 10) + b"]")
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: refused while streaming
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = httpx.post(live_url + "/webhooks/helius", content=chunks(),
                          headers={**JSON, "Authorization": AUTH}, timeout=10)
    assert streamed.status_code == 413
    for body in (b"{", b'{"signature": "x"}', b"[1, 2]", b'[{"type": "SWAP"}]',
                 b'[{"signature": 5}]', b"null", b'"text"'):
        answer = post(live_url, body)
        assert answer.status_code == 400, body
        assert set(answer.json()["error"]) == {"code", "message"}
    assert inbox_rows(db) == []
    assert post(live_url, b"[]").json() == {"accepted": 0, "duplicates": 0}


def test_duplicates_are_acknowledged_counted_and_stored_once(live_url: str,
                                                             db: Database) -> None:
    a, b, c = signature("a"), signature("b"), signature("c")
    assert post(live_url, delivery(a, b)).json() == {"accepted": 2, "duplicates": 0}
    assert post(live_url, delivery(a, b)).json() == {"accepted": 0, "duplicates": 2}
    assert post(live_url, delivery(b, c, c)).json() == {"accepted": 1, "duplicates": 2}
    rows = dict(inbox_rows(db))
    assert rows == {a: 1, b: 2, c: 1}


def test_concurrent_deliveries_share_commits(live_url: str, db: Database) -> None:
    import concurrent.futures as cf

    sigs = [signature(f"c{i}") for i in range(200)]
    with cf.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: post(live_url, delivery(*sigs[i:i + 10])),
                                range(0, 200, 10)))
    assert all(a.status_code == 200 for a in answers)
    assert sum(a.json()["accepted"] for a in answers) == 200
    status = httpx.get(live_url + "/api/status").json()
    assert status["writer"]["accepted"] == 200
    assert status["writer"]["commits"] <= 20


bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                 | st.text(max_size=20),
                 lambda kids: st.lists(kids, max_size=4)
                 | st.dictionaries(st.text(max_size=10), kids, max_size=4),
                 max_leaves=12).map(orjson.dumps),
)


@pytest.mark.slow
def test_fuzzed_bodies_never_get_a_5xx_or_an_inbox_row(live_url: str, db: Database) -> None:
    client = httpx.Client(timeout=10)

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, ctype=st.sampled_from(["application/json", "text/plain", ""]),
           auth=st.sampled_from([AUTH, None, "nope"]))
    def check(body: bytes, ctype: str, auth: str | None) -> None:
        headers = {"Content-Type": ctype} if ctype else {}
        if auth:
            headers["Authorization"] = auth
        answer = client.post(live_url + "/webhooks/helius", content=body, headers=headers)
        assert answer.status_code < 500, (body, answer.text)
        if answer.status_code != 200:
            assert set(answer.json()["error"]) == {"code", "message"}

    check()
    client.close()
    # Only bodies that were a JSON array of objects with a signature could be stored;
    # random data never has a 32-100 character signature.
    assert inbox_rows(db) == []


def test_delivered_events_are_metered_as_helius_credits(live_settings, db: Database) -> None:
    from tests.harness.app_server import serve_app
    from tests.live.helpers import FixedTokens
    from walltrack.app.factory import create_app
    from walltrack.store import open_database

    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: FixedTokens())
    with serve_app(app) as url:
        post(url, delivery(signature("m1"), signature("m2"), signature("m3")))
        post(url, delivery(signature("m1")))  # a duplicate is billed all the same
    with db.connection() as conn:  # flushed when the server stopped
        row = conn.execute("SELECT webhook_events, credits FROM api_usage "
                           "WHERE api = 'helius'").fetchone()
    assert row == (4, 4)
