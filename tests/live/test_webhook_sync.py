"""The webhook sync: the pure plan, then the real thing against the simulator's /v0/webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.factories import address
from tests.harness.app_server import ThreadServer
from tests.live.conftest import SIM_KEY, put_on_watchlist
from walltrack.clients.helius import HELIUS_POLICY, HeliusClient, Webhook
from walltrack.errors import ConfigurationError
from walltrack.live.live_store import get_status
from walltrack.live.webhook_sync import (
    ActionKind,
    WebhookTarget,
    plan_webhooks,
    run_sync,
    sync_target,
)
from walltrack.models import JobOutcome
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import JobRunRepository

URL = "http://127.0.0.1:9/webhooks/helius"
AUTH = "Bearer s3cret-hook-value"
TARGET = WebhookTarget(url=URL, auth_header=SecretStr(AUTH))
FAST = HELIUS_POLICY.with_(rate_per_second=1000.0, burst=1000)
ADDRS = [address(f"w{i}") for i in range(10)]


def hook(hook_id: str, addresses: list[str], **changes: Any) -> Webhook:
    data = {"webhookID": hook_id, "webhookURL": URL, "transactionTypes": ["ANY"],
            "accountAddresses": addresses, "webhookType": "enhanced", "authHeader": AUTH}
    return Webhook.model_validate({**data, **changes})


# --- the pure plan ---------------------------------------------------------------------------


def test_plan_creates_then_is_idempotent() -> None:
    actions = plan_webhooks([], ADDRS[:5], TARGET)
    assert [(a.kind, a.addresses) for a in actions] == [(ActionKind.create, sorted(ADDRS[:5]))]
    assert plan_webhooks([hook("a", list(reversed(ADDRS[:5])))], ADDRS[:5], TARGET) == []


def test_plan_edits_on_any_drift() -> None:
    base = sorted(ADDRS[:3])
    assert plan_webhooks([hook("a", base[:2])], base, TARGET)[0].reasons == ["addresses"]
    for changes, reason in (({"authHeader": "Bearer old"}, "auth_header"),
                            ({"authHeader": ""}, "auth_header"),
                            ({"transactionTypes": ["SWAP"]}, "transaction_types"),
                            ({"webhookType": "raw"}, "webhook_type"),
                            ({"webhookURL": URL + "/"}, "url")):
        actions = plan_webhooks([hook("a", base, **changes)], base, TARGET)
        assert [(a.kind, a.webhook_id, a.reasons) for a in actions] == [
            (ActionKind.edit, "a", [reason])], changes
    # No authHeader in the answer: it cannot be checked, so it is not called drift.
    no_auth = hook("a", base).model_copy(update={"auth_header": None})
    assert plan_webhooks([no_auth], base, TARGET) == []


def test_plan_splits_keeps_addresses_in_place_and_deletes_strays() -> None:
    actions = plan_webhooks([], ADDRS[:7], TARGET, max_addresses=3)
    assert [a.kind for a in actions] == [ActionKind.create] * 3
    assert sorted(x for a in actions for x in a.addresses) == sorted(ADDRS[:7])
    assert [len(a.addresses) for a in actions] == [3, 3, 1]
    # One address added: only the webhook with room changes.
    current = [hook(f"h{i}", a.addresses) for i, a in enumerate(actions)]
    more = plan_webhooks(current, [*ADDRS[:7], ADDRS[7]], TARGET, max_addresses=3)
    assert [(a.kind, a.webhook_id) for a in more] == [(ActionKind.edit, "h2")]
    assert set(more[0].addresses) == set(current[2].account_addresses) | {ADDRS[7]}
    # Fewer addresses: the least loaded of ours goes, its addresses move.
    fewer = plan_webhooks(current, ADDRS[:4], TARGET, max_addresses=3)
    kinds = {(a.kind, a.webhook_id) for a in fewer}
    assert (ActionKind.delete, "h2") in kinds or (ActionKind.delete, "h1") in kinds
    after = {h.webhook_id: set(h.account_addresses) for h in current}
    for a in fewer:
        if a.kind is ActionKind.delete:
            after.pop(a.webhook_id or "")
        else:
            after[a.webhook_id or "new"] = set(a.addresses)
    assert sorted(x for s in after.values() for x in s) == sorted(ADDRS[:4])
    assert all(len(s) <= 3 for s in after.values()) and len(after) == 2
    # An empty watchlist deletes ours; other webhooks are never in a plan.
    foreign = hook("zz", ["x"], webhookURL="https://elsewhere.example/hook")
    gone = plan_webhooks([*current, foreign], [], TARGET, max_addresses=3)
    assert {(a.kind, a.webhook_id) for a in gone} == {
        (ActionKind.delete, h.webhook_id) for h in current}
    # The same address on two of ours: kept once.
    dup = plan_webhooks([hook("a", ADDRS[:2]), hook("b", ADDRS[1:3])], ADDRS[:3], TARGET)
    assert [(a.kind, a.webhook_id) for a in dup] == [(ActionKind.edit, "a"),
                                                     (ActionKind.delete, "b")]
    assert dup[0].addresses == sorted(ADDRS[:3])


# --- against the simulator -------------------------------------------------------------------


@pytest.fixture
async def helius(live_sim: ThreadServer) -> AsyncIterator[HeliusClient]:
    async with HeliusClient(live_sim.url, SIM_KEY, policy=FAST) as client:
        for existing in await client.list_webhooks():
            await client.delete_webhook(existing.webhook_id)
        yield client


@pytest.fixture
def sync_settings(make_settings: Callable[..., Settings], db_url: str,
                  live_sim: ThreadServer) -> Settings:
    return make_settings(database_url=db_url, helius_api_url=live_sim.url,
                         helius_api_key=SIM_KEY, webhook_url=URL, webhook_auth_header=AUTH)


def _remote(http: httpx.Client) -> list[dict[str, Any]]:
    response = http.get("/v0/webhooks", params={"api-key": SIM_KEY})
    response.raise_for_status()
    return list(response.json())


async def test_sync_against_the_simulator(helius: HeliusClient, sync_settings: Settings,
                                          db: Database) -> None:
    async def remote() -> list[dict[str, Any]]:
        return list(await helius.http.request("GET", "/v0/webhooks"))

    foreign = await helius.http.request("POST", "/v0/webhooks", idempotent=False, json={
        "webhookURL": "https://someone-else.example/hook", "transactionTypes": ["SWAP"],
        "accountAddresses": ["keep-me"], "webhookType": "enhanced"})
    put_on_watchlist(db, ADDRS[:5])
    put_on_watchlist(db, ADDRS[5:], on=False)

    # Create.
    report = await run_sync(sync_settings, db, helius=helius, max_addresses=3)
    assert report.counts() == {"create": 2, "edit": 0, "delete": 0} and report.foreign == 1
    ours = [h for h in await remote() if h["webhookURL"] == URL]
    assert sorted(a for h in ours for a in h["accountAddresses"]) == sorted(ADDRS[:5])
    assert all(h["authHeader"] == AUTH and h["transactionTypes"] == ["ANY"] for h in ours)
    status = get_status(db, "webhooks")
    assert status is not None and status["outcome"] == "succeeded"
    assert sorted(status["webhook_ids"]) == sorted(h["webhookID"] for h in ours)
    assert status["addresses"] == 5 and status["last_sync_at"]
    assert status["last_delivery_at"] is None
    assert AUTH not in str(status)

    # Idempotent: a second run changes nothing.
    again = await run_sync(sync_settings, db, helius=helius, max_addresses=3)
    assert again.actions == []

    # Drift: someone edited our webhook's auth header and types; the watchlist grew.
    victim = ours[0]["webhookID"]
    await helius.http.request("PUT", f"/v0/webhooks/{victim}",
                              json={"authHeader": "Bearer stale", "transactionTypes": ["SWAP"]})
    put_on_watchlist(db, ADDRS[5:7])
    drift = await run_sync(sync_settings, db, helius=helius, max_addresses=3)
    assert drift.counts()["edit"] >= 1 and drift.counts()["delete"] == 0
    ours = [h for h in await remote() if h["webhookURL"] == URL]
    assert sorted(a for h in ours for a in h["accountAddresses"]) == sorted(ADDRS[:7])
    assert all(len(h["accountAddresses"]) <= 3 for h in ours) and len(ours) == 3
    assert all(h["authHeader"] == AUTH and h["transactionTypes"] == ["ANY"] for h in ours)
    assert (await run_sync(sync_settings, db, helius=helius, max_addresses=3)).actions == []

    # A stray of ours (same URL) and a shrinking watchlist: deleted; the foreign one stays.
    await helius.http.request("POST", "/v0/webhooks", idempotent=False, json={
        "webhookURL": URL, "transactionTypes": ["ANY"], "accountAddresses": ["stray"],
        "webhookType": "enhanced", "authHeader": AUTH})
    put_on_watchlist(db, ADDRS[2:7], on=False)
    shrink = await run_sync(sync_settings, db, helius=helius, max_addresses=3)
    assert shrink.counts()["delete"] >= 1
    remote = await remote()
    ours = [h for h in remote if h["webhookURL"] == URL]
    assert len(ours) == 1 and sorted(ours[0]["accountAddresses"]) == sorted(ADDRS[:2])
    assert [h for h in remote if h["webhookURL"] != URL] == [foreign]
    assert (await run_sync(sync_settings, db, helius=helius, max_addresses=3)).actions == []
    assert get_status(db, "webhooks")["webhook_ids"] == [ours[0]["webhookID"]]  # type: ignore[index]


def test_missing_settings_name_the_variable(make_settings: Callable[..., Settings]) -> None:
    full = {"webhook_url": URL, "webhook_auth_header": AUTH, "helius_api_key": "k"}
    for missing, var in (("webhook_url", "WALLTRACK_WEBHOOK_URL"),
                         ("webhook_auth_header", "WALLTRACK_WEBHOOK_AUTH_HEADER"),
                         ("helius_api_key", "WALLTRACK_HELIUS_API_KEY")):
        settings = make_settings(**{k: v for k, v in full.items() if k != missing})
        with pytest.raises(ConfigurationError) as caught:
            sync_target(settings)
        assert var in str(caught.value) and caught.value.hint
        assert AUTH not in str(caught.value)
    assert sync_target(make_settings(**full)).url == URL


def test_the_job_records_its_run(sync_settings: Settings, db: Database,
                                 sim_http: httpx.Client,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.sync_webhooks import main

    for existing in _remote(sim_http):
        sim_http.delete(f"/v0/webhooks/{existing['webhookID']}", params={"api-key": SIM_KEY})
    put_on_watchlist(db, ADDRS[:2])
    assert main(["--helius-rps", "1000"], settings=sync_settings, db=db) == 0
    assert "created 1" in capsys.readouterr().out
    run = JobRunRepository(db).last_runs()[0]
    assert run.job == "sync_webhooks" and run.outcome is JobOutcome.succeeded
    assert run.stats["create"] == 1 and run.stats["addresses"] == 2
    # Without the auth header: exit 2, a clear message, a failed run.
    bad = sync_settings.model_copy(update={"webhook_auth_header": None})
    assert main([], settings=bad, db=db) == 2
    assert "WALLTRACK_WEBHOOK_AUTH_HEADER" in capsys.readouterr().err
    assert JobRunRepository(db).last_runs()[0].outcome is JobOutcome.failed
