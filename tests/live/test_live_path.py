"""Deliveries → inbox → workers → signals on the real app under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from psycopg.types.json import Jsonb

from tests.factories import address, signature
from tests.harness.app_server import serve_app
from tests.live.conftest import watch
from tests.live.helpers import AUTH, FixedTokens, swap_tx
from walltrack.app.factory import create_app
from walltrack.settings import Settings
from walltrack.store import Database, open_database

W1, W2, OTHER = address("w1"), address("w2"), address("other")
MINT = address("mint")


def post(url: str, txs: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(url + "/webhooks/helius", content=orjson.dumps(txs),
                      headers={"Content-Type": "application/json", "Authorization": AUTH},
                      timeout=10)


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def scalar(db: Database, query: str, *params: Any) -> Any:
    with db.connection() as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def now_s() -> int:
    return int(time.time())


def test_a_watched_wallets_swaps_become_signals_with_breakdowns(live_url: str,
                                                                db: Database) -> None:
    watch(db, W1)
    wait_for(lambda: httpx.get(live_url + "/health").json()["watched_wallets"] == 1)
    t = now_s()
    txs = [swap_tx(signature("b1"), W1, MINT, ts=t),
           swap_tx(signature("x"), OTHER, MINT, ts=t),
           swap_tx(signature("s1"), W1, MINT, side="sell", ts=t)]
    assert post(live_url, txs).json() == {"accepted": 3, "duplicates": 0}
    wait_for(lambda: scalar(db, "SELECT count(*) FROM inbox WHERE status = 'done'") == 3)
    assert scalar(db, "SELECT count(*) FROM signals") == 2
    page = httpx.get(live_url + "/api/signals", params={"wallet": W1}).json()
    assert page["meta"]["count"] == 2
    by_side = {s["side"]: s for s in page["data"]}
    assert by_side["sell"]["reason"] == "source_sold"
    buy = by_side["buy"]
    assert set(buy["factors"]) >= {"wallet", "cluster", "token", "context", "detail"}
    assert buy["factors"]["detail"]["wallet"]["score"] == 0.8
    assert buy["source"] == "webhook" and buy["delay_seconds"] is not None
    # A duplicate delivery changes nothing.
    assert post(live_url, txs).json() == {"accepted": 0, "duplicates": 3}
    time.sleep(0.5)
    assert scalar(db, "SELECT count(*) FROM signals") == 2
    # Filters and pagination.
    one = httpx.get(live_url + "/api/signals", params={"limit": 1}).json()
    assert one["meta"]["next_before"]
    rest = httpx.get(live_url + "/api/signals",
                     params={"limit": 1, "before": one["meta"]["next_before"]}).json()
    assert rest["data"][0]["id"] != one["data"][0]["id"]
    assert httpx.get(live_url + "/api/signals", params={"decision": "eligible",
                                                        "mint": MINT}).status_code == 200
    bad = httpx.get(live_url + "/api/signals", params={"limit": "zero"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_parameter"
    assert httpx.get(live_url + "/api/signals", params={"before": "x"}).status_code == 400


def test_a_poison_transaction_is_parked_and_the_others_flow(
        live_settings: Settings, tokens: FixedTokens, db: Database) -> None:
    # The retry settings are in the store before the server starts: a config change made
    # while it runs applies on its notification, which could come after the first claim.
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = value || %s WHERE key = 'sources'",
                     (Jsonb({"inbox_max_attempts": 2, "inbox_retry_seconds": 0.0}),))
    watch(db, W1)
    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: tokens)
    with serve_app(app) as live_url:
        _park_the_poison(live_url, db)


def _park_the_poison(live_url: str, db: Database) -> None:
    wait_for(lambda: httpx.get(live_url + "/health").json()["watched_wallets"] == 1)
    poison = {"signature": signature("poison"), "tokenTransfers": "not a list",
              "nativeTransfers": 7, "feePayer": W1}
    good = swap_tx(signature("good"), W1, MINT, ts=now_s())
    assert post(live_url, [poison, good]).json()["accepted"] == 2
    wait_for(lambda: scalar(db, "SELECT status FROM inbox WHERE signature = %s",
                            signature("poison")) == "parked")
    assert scalar(db, "SELECT attempts FROM inbox WHERE signature = %s", signature("poison")) == 2
    assert "poison" not in (scalar(db, "SELECT last_error FROM inbox WHERE signature = %s",
                                   signature("poison")) or "poison")
    assert scalar(db, "SELECT status FROM inbox WHERE signature = %s", signature("good")) == "done"
    assert scalar(db, "SELECT count(*) FROM signals") == 1
    health = httpx.get(live_url + "/health").json()
    assert health["inbox_parked"] == 1 and health["inbox_pending"] == 0


def test_a_restart_resumes_the_pending_inbox(live_settings: Settings, db: Database) -> None:
    watch(db, W1, W2)
    t = now_s()
    with db.connection() as conn:  # left pending by a previous run that died
        for i, w in enumerate((W1, W2)):
            conn.execute("INSERT INTO inbox (signature, source, payload) VALUES (%s, %s, %s)",
                         (signature(f"p{i}"), "webhook",
                          orjson.dumps(swap_tx(signature(f"p{i}"), w, MINT, ts=t))))
    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: FixedTokens())
    with serve_app(app):
        wait_for(lambda: scalar(db, "SELECT count(*) FROM signals") == 2)
    assert scalar(db, "SELECT count(*) FROM inbox WHERE status = 'pending'") == 0


def test_watchlist_and_config_changes_apply_without_restart(live_url: str,
                                                            db: Database) -> None:
    t = now_s()
    post(live_url, [swap_tx(signature("before"), W2, MINT, ts=t)])
    wait_for(lambda: scalar(db, "SELECT count(*) FROM inbox WHERE status = 'done'") == 1)
    assert scalar(db, "SELECT count(*) FROM signals") == 0  # not watched yet
    watch(db, W2, score=0.9)
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = %s WHERE key = 'scoring'", (Jsonb({
            "weights": {"wallet": 1.0, "cluster": 0.0, "token": 0.0, "context": 0.0},
            "threshold": 0.5, "high_conviction": 0.95}),))
    wait_for(lambda: httpx.get(live_url + "/health").json()["watched_wallets"] == 1)
    time.sleep(0.6)  # the config reload is debounced like the watchlist's
    post(live_url, [swap_tx(signature("after"), W2, MINT, ts=now_s())])
    wait_for(lambda: scalar(db, "SELECT count(*) FROM signals") == 1)
    assert scalar(db, "SELECT score FROM signals") == 0.9
    assert scalar(db, "SELECT decision FROM signals") == "eligible"


def test_health_without_a_store_answers_503(live_settings: Settings, db: Database,
                                            pg_cluster: Any) -> None:
    import psycopg

    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: FixedTokens())
    name = scalar(db, "SELECT current_database()")
    with serve_app(app) as url:
        assert httpx.get(url + "/health").status_code == 200
        with psycopg.connect(pg_cluster.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (name,))
            try:
                answer = httpx.get(url + "/health", timeout=30)
                assert answer.status_code == 503, answer.text
                assert answer.json()["ok"] is False
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


class BrokenTokens(FixedTokens):
    """Token data that crashes for one mint (a bug in a lookup must not stop the inbox)."""

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad

    async def view(self, mint: str):
        if mint == self.bad:
            raise RuntimeError("lookup bug")
        return await super().view(mint)


def test_an_unexpected_error_parks_the_item_and_the_worker_lives_on(
        live_settings: Settings, db: Database) -> None:
    bad_mint = address("bad-mint")
    watch(db, W1)
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = value || %s WHERE key = 'sources'",
                     (Jsonb({"inbox_max_attempts": 2, "inbox_retry_seconds": 0.0}),))
    app = create_app(live_settings, lambda: open_database(live_settings),
                     tokens=lambda *_: BrokenTokens(bad_mint))
    with serve_app(app) as url:
        t = now_s()
        post(url, [swap_tx(signature("crash"), W1, bad_mint, ts=t)])
        wait_for(lambda: scalar(db, "SELECT status FROM inbox WHERE signature = %s",
                                signature("crash")) == "parked")
        post(url, [swap_tx(signature("after"), W1, MINT, ts=t)])
        wait_for(lambda: scalar(db, "SELECT count(*) FROM signals") == 1)
    assert "RuntimeError: lookup bug" in scalar(
        db, "SELECT last_error FROM inbox WHERE signature = %s", signature("crash"))


def test_token_safety_reads_the_live_config(live_settings: Settings, db: Database) -> None:
    """The token lookup gets the service's config (reloaded on notification), not a copy."""
    seen: dict[str, Any] = {}

    def factory(_settings: Settings, _db: Database, _meter: Any, config: Any) -> FixedTokens:
        seen["config"] = config
        return FixedTokens()

    app = create_app(live_settings, lambda: open_database(live_settings), tokens=factory)
    with serve_app(app):
        assert seen["config"]().max_top10_share == 0.50
        with db.connection() as conn:
            conn.execute("UPDATE config SET value = value || %s WHERE key = 'safety'",
                         (Jsonb({"max_top10_share": 0.35}),))
        wait_for(lambda: seen["config"]().max_top10_share == 0.35)
