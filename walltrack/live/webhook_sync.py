"""Keep the Helius webhooks' ``accountAddresses`` equal to the watchlist (issue 10, item 3).

* :func:`plan_webhooks` — pure: the webhooks Helius has now and the addresses we want →
  the actions (create / edit / delete) that make them agree.
* :func:`apply_plan` / :func:`sync_webhooks` — the I/O shell over ``HeliusClient``.
* :func:`run_sync` — what ``jobs/sync_webhooks.py`` runs: settings checked, watchlist read,
  webhooks synced, the outcome recorded in ``live_status`` under ``'webhooks'``.

**Ours** are the webhooks whose ``webhookURL`` is ``WALLTRACK_WEBHOOK_URL`` (compared
without a trailing slash); any other webhook of the account is never touched. One webhook
holds at most ``max_addresses`` addresses (Helius: 100 000); a larger watchlist is split
over several. Addresses stay on the webhook that already has them where possible, so a
small watchlist change edits one webhook, not all of them. An empty watchlist deletes ours
(Helius does not take a webhook without addresses).

The auth header is compared and sent, never logged: it is a ``SecretStr`` up to the
request body. When Helius's answer has no ``authHeader`` at all the value cannot be
checked and is left as it is (the simulator and Helius both return it).
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr

from walltrack.clients.helius import HeliusClient, Webhook, WebhookSpec
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ConfigurationError, ExternalAPIError
from walltrack.live.live_store import get_status, last_delivery_at, put_status
from walltrack.logging import get_logger
from walltrack.models import DomainModel, SignalSource, utcnow
from walltrack.settings import Settings
from walltrack.store import Database

log = get_logger(__name__)

MAX_ADDRESSES = 100_000  # per webhook (Helius)
STATUS_KEY = "webhooks"


class ActionKind(StrEnum):
    create = "create"
    edit = "edit"
    delete = "delete"


class WebhookTarget(DomainModel):
    """What each of our webhooks must look like, apart from its addresses."""

    url: str
    auth_header: SecretStr
    transaction_types: list[str] = Field(default_factory=lambda: ["ANY"])
    webhook_type: str = "enhanced"

    def spec(self, addresses: Sequence[str]) -> WebhookSpec:
        return WebhookSpec.model_validate({
            "webhookURL": self.url, "transactionTypes": list(self.transaction_types),
            "accountAddresses": list(addresses), "webhookType": self.webhook_type,
            "auth_header": self.auth_header})


class WebhookAction(DomainModel):
    kind: ActionKind
    webhook_id: str | None = None  # None for a create
    addresses: list[str] = Field(default_factory=list)  # the full list after the action
    reasons: list[str] = Field(default_factory=list)  # why (never a secret)


class SyncReport(DomainModel):
    actions: list[WebhookAction] = Field(default_factory=list)
    webhook_ids: list[str] = Field(default_factory=list)
    addresses: int = 0
    foreign: int = 0  # webhooks of the account that are not ours (left alone)

    def counts(self) -> dict[str, int]:
        return {kind.value: sum(a.kind is kind for a in self.actions) for kind in ActionKind}

    def summary(self) -> str:
        c = self.counts()
        return (f"webhooks: {len(self.webhook_ids)} for {self.addresses} addresses; "
                f"created {c['create']}, edited {c['edit']}, deleted {c['delete']}; "
                f"{self.foreign} other webhook(s) left alone")


def _norm_url(url: str) -> str:
    return url.rstrip("/")


def is_ours(hook: Webhook, target: WebhookTarget) -> bool:
    return _norm_url(hook.webhook_url) == _norm_url(target.url)


def _drift(hook: Webhook, target: WebhookTarget, addresses: list[str]) -> list[str]:
    reasons = []
    if set(hook.account_addresses) != set(addresses) or len(hook.account_addresses) != len(
            addresses):
        reasons.append("addresses")
    if hook.webhook_url != target.url:
        reasons.append("url")
    if {t.upper() for t in hook.transaction_types} != {
            t.upper() for t in target.transaction_types}:
        reasons.append("transaction_types")
    if (hook.webhook_type or "") != target.webhook_type:
        reasons.append("webhook_type")
    if hook.auth_header is not None and not hmac.compare_digest(
            hook.auth_header.get_secret_value().encode(),
            target.auth_header.get_secret_value().encode()):
        reasons.append("auth_header")
    return reasons


def plan_webhooks(current: Sequence[Webhook], desired: Sequence[str], target: WebhookTarget,
                  *, max_addresses: int = MAX_ADDRESSES) -> list[WebhookAction]:
    """The actions that make our webhooks carry exactly ``desired``, each at most
    ``max_addresses``, in as few webhooks as needed. Pure; deterministic."""
    if max_addresses < 1:
        raise ValueError("max_addresses must be at least 1")
    wanted = sorted(set(desired))
    wanted_set = set(wanted)
    ours = sorted((h for h in current if is_ours(h, target)), key=lambda h: h.webhook_id)
    needed = math.ceil(len(wanted) / max_addresses)
    # What each of ours already carries that we still want (an address once, capped).
    taken: set[str] = set()
    kept: dict[str, list[str]] = {}
    for hook in ours:
        keep = []
        for address in hook.account_addresses:
            if address in wanted_set and address not in taken and len(keep) < max_addresses:
                keep.append(address)
                taken.add(address)
        kept[hook.webhook_id] = keep
    # Keep the ``needed`` webhooks that already carry the most; the others go.
    by_load = sorted(ours, key=lambda h: (-len(kept[h.webhook_id]), h.webhook_id))
    staying = sorted(by_load[:needed], key=lambda h: h.webhook_id)
    leaving = by_load[needed:]
    for hook in leaving:
        taken.difference_update(kept[hook.webhook_id])
    rest = [a for a in wanted if a not in taken]
    actions: list[WebhookAction] = []
    for hook in staying:
        addresses = sorted(kept[hook.webhook_id])
        room = max_addresses - len(addresses)
        addresses = sorted(addresses + rest[:room])
        rest = rest[room:]
        reasons = _drift(hook, target, addresses)
        if reasons:
            actions.append(WebhookAction(kind=ActionKind.edit, webhook_id=hook.webhook_id,
                                         addresses=addresses, reasons=reasons))
    for start in range(0, len(rest), max_addresses):
        actions.append(WebhookAction(kind=ActionKind.create,
                                     addresses=rest[start:start + max_addresses],
                                     reasons=["missing"]))
    for hook in sorted(leaving, key=lambda h: h.webhook_id):
        actions.append(WebhookAction(kind=ActionKind.delete, webhook_id=hook.webhook_id,
                                     reasons=["not needed"]))
    return actions


async def apply_plan(helius: HeliusClient, actions: Sequence[WebhookAction],
                     target: WebhookTarget) -> list[str]:
    """Run the actions in order (creates and edits before deletes: never fewer addresses
    watched than needed); return the ids created."""
    created: list[str] = []
    for action in actions:
        bound = log.bind(action=action.kind.value, webhook_id=action.webhook_id,
                         addresses=len(action.addresses), reasons=action.reasons)
        if action.kind is ActionKind.create:
            hook = await helius.create_webhook(target.spec(action.addresses))
            created.append(hook.webhook_id)
            bound.info("webhook_created", webhook_id=hook.webhook_id)
        elif action.kind is ActionKind.edit:
            assert action.webhook_id is not None
            await helius.edit_webhook(action.webhook_id, target.spec(action.addresses))
            bound.info("webhook_edited")
        else:
            assert action.webhook_id is not None
            await helius.delete_webhook(action.webhook_id)
            bound.info("webhook_deleted")
    return created


async def sync_webhooks(helius: HeliusClient, desired: Sequence[str], target: WebhookTarget,
                        *, max_addresses: int = MAX_ADDRESSES,
                        dry_run: bool = False) -> SyncReport:
    current = await helius.list_webhooks()
    actions = plan_webhooks(current, desired, target, max_addresses=max_addresses)
    foreign = sum(not is_ours(h, target) for h in current)
    ids = {h.webhook_id for h in current if is_ours(h, target)}
    if not dry_run:
        created = await apply_plan(helius, actions, target)
        ids |= set(created)
        ids -= {a.webhook_id for a in actions if a.kind is ActionKind.delete}
    return SyncReport(actions=actions, webhook_ids=sorted(ids), addresses=len(set(desired)),
                      foreign=foreign)


def sync_target(settings: Settings) -> WebhookTarget:
    """Our webhooks' definition from the settings, or a ConfigurationError naming the
    missing variable and the fix."""
    if settings.webhook_url is None:
        raise ConfigurationError(
            "WALLTRACK_WEBHOOK_URL is not set: the webhook sync does not know where Helius "
            "should post",
            hint="set WALLTRACK_WEBHOOK_URL to the server's public URL ending in "
            "/webhooks/helius (see .env.example), or use WALLTRACK_SIGNAL_SOURCE=polling")
    auth = settings.webhook_auth_header
    if auth is None or not auth.get_secret_value().strip():
        raise ConfigurationError(
            "WALLTRACK_WEBHOOK_AUTH_HEADER is not set: deliveries could not be told apart "
            "from anyone's POST",
            hint="set WALLTRACK_WEBHOOK_AUTH_HEADER to a long random value (e.g. the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    key = settings.helius_api_key
    if key is None or not key.get_secret_value().strip():
        raise ConfigurationError(
            "WALLTRACK_HELIUS_API_KEY is not set: webhooks are managed through the Helius API",
            hint="set WALLTRACK_HELIUS_API_KEY to the key of your Helius dashboard")
    return WebhookTarget(url=str(settings.webhook_url), auth_header=auth)


def watchlist_addresses(db: Database) -> list[str]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT address FROM wallets WHERE on_watchlist ORDER BY address").fetchall()
    return [r[0] for r in rows]


def _status(report: SyncReport | None, *, outcome: str, now: datetime,
            last_delivery: datetime | None, error: str | None = None,
            previous: dict[str, Any] | None = None) -> dict[str, Any]:
    # A failed sync keeps the last known webhooks and count: they are still what Helius has.
    previous = previous or {}
    return {
        "outcome": outcome,
        "last_sync_at": now,
        "webhook_ids": report.webhook_ids if report else previous.get("webhook_ids", []),
        "addresses": report.addresses if report else previous.get("addresses"),
        "actions": report.counts() if report else {},
        "foreign_webhooks": report.foreign if report else None,
        "last_delivery_at": last_delivery,
        "error": error,
    }


async def run_sync(settings: Settings, db: Database, *, helius: HeliusClient | None = None,
                   meter: UsageMeter | None = None, max_addresses: int = MAX_ADDRESSES,
                   dry_run: bool = False) -> SyncReport:
    """Check the settings, read the watchlist, sync, record ``live_status['webhooks']``."""
    target = sync_target(settings)
    desired = watchlist_addresses(db)
    own = helius is None
    client = helius or HeliusClient.from_settings(settings, meter=meter)
    bound = log.bind(addresses=len(desired), dry_run=dry_run)
    try:
        report = await sync_webhooks(client, desired, target, max_addresses=max_addresses,
                                     dry_run=dry_run)
    except ExternalAPIError as exc:
        bound.error("webhooks_sync_failed", error=exc.message)
        if not dry_run:
            put_status(db, STATUS_KEY, _status(
                None, outcome="failed", now=utcnow(), error=exc.message,
                previous=get_status(db, STATUS_KEY),
                last_delivery=last_delivery_at(db, SignalSource.webhook)))
        raise
    finally:
        if own:
            await client.aclose()
    if not dry_run:
        put_status(db, STATUS_KEY, _status(
            report, outcome="succeeded", now=utcnow(),
            last_delivery=last_delivery_at(db, SignalSource.webhook)))
    bound.info("webhooks_synced", webhooks=len(report.webhook_ids), **report.counts())
    return report
