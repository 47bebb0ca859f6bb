"""Data and actions of the config notebook (notebooks/config.py) beyond the generated forms
(walltrack/ui/config_form.py): exit strategies, the trading wallet, the risk state, alerts,
webhooks, copy modes, watchlist and blacklist. Every write of the notebook goes through a
function here (or the package function it wraps); the cells only wire elements to them."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import polars as pl
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from walltrack.clients.models import WalletBalances
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import (
    ConfigurationError,
    ExternalAPIError,
    ValidationError,
    WallTrackError,
)
from walltrack.intel.clusters import blacklist_cluster as _blacklist_cluster
from walltrack.live.live_store import get_status
from walltrack.live.webhook_sync import STATUS_KEY, run_sync
from walltrack.logging import get_logger
from walltrack.models import TradingMode, utcnow
from walltrack.models.base import DomainModel
from walltrack.models.config import DynamicConfig
from walltrack.models.trading import ExitRule
from walltrack.settings import Settings, load_settings
from walltrack.store import Database
from walltrack.store.frames import query_frame
from walltrack.store.repositories import ConfigRepository, RiskStateRepository
from walltrack.trading.exits import NAMED_STRATEGIES, ExitStrategy, named_strategy, plan_of
from walltrack.trading.exits import strategy_from_plan as _strategy_from_plan
from walltrack.trading.performance import set_copy_mode, wallet_performance
from walltrack.trading.risk.manager import ProtectionState
from walltrack.trading.wallet import KEY_VAR, TradingWallet, WalletValidation, validate_wallet
from walltrack.ui import wallets_view

__all__ = [
    "ADVANCED_SECTIONS",
    "MAIN_GROUPS",
    "WalletCheckResult",
    "WalletSummary",
    "acknowledge_alerts",
    "blacklist_cluster",
    "blacklist_wallet",
    "check_wallet",
    "cluster_choices",
    "copy_performance",
    "delete_strategy",
    "notebook_settings",
    "open_positions",
    "parse_plan",
    "risk_rows",
    "save_strategy",
    "set_default_strategy",
    "set_wallet_copy_mode",
    "set_wallet_strategy",
    "strategy_json",
    "strategy_names",
    "strategy_rows",
    "sync_webhooks_now",
    "unacknowledged_alerts",
    "unblacklist_wallet",
    "wallet_choices",
    "wallet_summary",
    "watchlist_wallet",
    "webhook_rows",
]

log = get_logger(__name__)

# The notebook's layout of DynamicConfig's sections: the groups an operator touches, then
# the rest in an "Advanced" accordion. Every section appears exactly once.
MAIN_GROUPS: dict[str, list[str]] = {
    "Scoring": ["scoring"],
    "Safety checks": ["safety"],
    "Sizing": ["sizing"],
    "Exit strategies": ["exits"],
    "Risk limits": ["risk", "protections", "gates"],
    "Job intervals": ["jobs"],
}
ADVANCED_SECTIONS = ["signals", "sources", "execution", "decay", "profiling", "watchlist",
                     "token_discovery", "wallet_discovery", "clusters"]

_PLAN = TypeAdapter(list[ExitRule])


def notebook_settings() -> tuple[Settings | None, str | None]:
    """(the settings, None) — or (None, the message naming the problem and fix)."""
    try:
        return load_settings(), None
    except WallTrackError as exc:
        return None, str(exc)


def _config(db: Database) -> DynamicConfig:
    return ConfigRepository(db).load()


# -- exit strategies --------------------------------------------------------------------------


def custom_strategies(config: DynamicConfig) -> dict[str, ExitStrategy]:
    return {name: _strategy_from_plan(name, plan)
            for name, plan in config.exits.strategies.items()}


def strategy_names(config: DynamicConfig) -> list[str]:
    """Built-in names first, then the config's own."""
    return [*NAMED_STRATEGIES, *sorted(set(config.exits.strategies) - set(NAMED_STRATEGIES))]


def strategy_rows(config: DynamicConfig) -> list[dict[str, Any]]:
    """One row per strategy: where it comes from, its rules, who uses it."""
    custom = custom_strategies(config)
    rows = []
    for name in strategy_names(config):
        strategy = named_strategy(name, custom)
        wallets = sorted(w for w, s in config.exits.wallet_strategies.items() if s == name)
        rows.append({
            "strategy": name,
            "origin": "config" if name in custom else "built-in",
            "default": name == config.execution.default_strategy,
            "rules": ", ".join(r.kind for r in plan_of(strategy)),
            "wallets": len(wallets),
            "description": strategy.description,
        })
    return rows


def strategy_json(config: DynamicConfig, name: str) -> str:
    """A strategy's rules as the JSON list the editor takes (kind + params per rule)."""
    strategy = named_strategy(name, custom_strategies(config))
    rows = [json.dumps(r.model_dump(mode="json")) for r in plan_of(strategy)]
    return "[\n  " + ",\n  ".join(rows) + "\n]" if rows else "[]"


def parse_plan(name: str, text: str) -> ExitStrategy:
    """The strategy a JSON list of rules makes (``ValidationError`` naming what is wrong)."""
    clean = name.strip()
    if not clean:
        raise ValidationError("a strategy needs a name", hint="type a name, e.g. 'fast-scalp'")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the rules are not JSON: {exc.msg} at line {exc.lineno}",
                              hint='write a list: [{"kind": "stop_loss", "params": '
                                   '{"loss": 0.3}}]') from None
    try:
        plan = _PLAN.validate_python(raw)
        return _strategy_from_plan(clean, plan)
    except PydanticValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'rules'}: {e['msg']}"
                           for e in exc.errors())
        raise ValidationError(f"strategy {clean!r} is invalid: {detail}",
                              hint="fix the rules; nothing was saved") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"strategy {clean!r} is invalid: {exc}",
                              hint="fix the rules; nothing was saved") from None


def _save_exits(db: Database, exits: Any) -> None:
    ConfigRepository(db).save_section("exits", exits)


def save_strategy(db: Database, name: str, text: str) -> ExitStrategy:
    """Create or replace the config strategy ``name`` from its JSON rules."""
    strategy = parse_plan(name, text)
    if strategy.name in NAMED_STRATEGIES:
        raise ValidationError(f"{strategy.name!r} is a built-in strategy and cannot be "
                              "changed", hint="save your version under another name")
    exits = _config(db).exits
    strategies = {**exits.strategies, strategy.name: plan_of(strategy)}
    _save_exits(db, exits.model_copy(update={"strategies": strategies}))
    log.info("config_strategy_saved", strategy=strategy.name, rules=len(strategy.rules))
    return strategy


def delete_strategy(db: Database, name: str) -> None:
    """Remove a config strategy that neither the default nor a wallet uses."""
    config = _config(db)
    if name not in config.exits.strategies:
        raise ValidationError(f"{name!r} is not one of the config's own strategies",
                              hint="built-in strategies cannot be deleted")
    users = sorted(w for w, s in config.exits.wallet_strategies.items() if s == name)
    if name == config.execution.default_strategy or users:
        raise ValidationError(
            f"strategy {name!r} is in use ({'the default' if not users else ', '.join(users)})",
            hint="choose another default / wallet strategy first")
    strategies = {k: v for k, v in config.exits.strategies.items() if k != name}
    _save_exits(db, config.exits.model_copy(update={"strategies": strategies}))
    log.info("config_strategy_deleted", strategy=name)


def _require_strategy(config: DynamicConfig, name: str) -> None:
    if name not in strategy_names(config):
        raise ValidationError(f"unknown exit strategy {name!r}",
                              hint=f"choose one of {', '.join(strategy_names(config))}")


def set_default_strategy(db: Database, name: str) -> None:
    """``execution.default_strategy`` := ``name`` (which must exist)."""
    config = _config(db)
    _require_strategy(config, name)
    ConfigRepository(db).save_section(
        "execution", config.execution.model_copy(update={"default_strategy": name}))
    log.info("config_default_strategy_set", strategy=name)


def set_wallet_strategy(db: Database, wallet: str, name: str | None) -> None:
    """The source wallet's default strategy (None: back to the global default)."""
    wallet = wallet.strip()
    if not wallet:
        raise ValidationError("choose a wallet", hint="pick or paste a source wallet address")
    config = _config(db)
    mapping = dict(config.exits.wallet_strategies)
    if name:
        _require_strategy(config, name)
        mapping[wallet] = name
    else:
        mapping.pop(wallet, None)
    _save_exits(db, config.exits.model_copy(update={"wallet_strategies": mapping}))
    log.info("config_wallet_strategy_set", wallet=wallet, strategy=name)


def wallet_strategy_rows(config: DynamicConfig) -> list[dict[str, str]]:
    return [{"wallet": w, "strategy": s}
            for w, s in sorted(config.exits.wallet_strategies.items())]


# -- the trading wallet -----------------------------------------------------------------------


class WalletSummary(DomainModel):
    """What may be shown of the trading wallet: its public key, or why there is none."""

    public_key: str | None = None
    problem: str | None = None


class WalletCheckResult(DomainModel):
    validation: WalletValidation
    balances: WalletBalances | None = None
    balance_error: str | None = None


KEY_MISSING = (f"No trading wallet: set {KEY_VAR} in the environment (or .env) to the "
               "wallet's secret key — a base58 64-byte key, solana-keygen's JSON array of 64 "
               "numbers, or a base58 32-byte seed — and restart the notebook and server.py. "
               "Paper trading needs no key.")


def wallet_summary(settings: Settings) -> WalletSummary:
    try:
        wallet = TradingWallet.from_settings(settings)
    except ConfigurationError as exc:  # the message names the variable, never the key
        return WalletSummary(problem=str(exc))
    if wallet is None:
        return WalletSummary(problem=KEY_MISSING)
    return WalletSummary(public_key=wallet.public_key)


async def _check_wallet(settings: Settings, config: DynamicConfig) -> WalletCheckResult:
    async with SolanaRpcClient.from_settings(settings) as rpc:
        validation = await validate_wallet(
            settings, rpc, config.sizing, config.risk.starting_capital_sol,
            priority_fee_lamports=config.execution.priority_fee_lamports,
            network_fee_lamports=config.execution.network_fee_lamports)
        balances, error = None, None
        if validation.public_key is not None:
            try:
                balances = await rpc.wallet_balances(validation.public_key)
            except ExternalAPIError as exc:
                error = f"balances could not be read: {exc}"
    return WalletCheckResult(validation=validation, balances=balances, balance_error=error)


def check_wallet(settings: Settings, config: DynamicConfig) -> WalletCheckResult:
    """Validate the trading wallet against the RPC and read its balances (blocking)."""
    return asyncio.run(_check_wallet(settings, config))


def check_rows(validation: WalletValidation) -> list[dict[str, str]]:
    return [{"check": c.name, "result": "passed" if c.ok else "FAILED", "message": c.message}
            for c in validation.checks]


def token_rows(balances: WalletBalances | None) -> list[dict[str, Any]]:
    if balances is None:
        return []
    return [t.model_dump(mode="json") for t in balances.tokens]


# -- risk state, positions, copy modes --------------------------------------------------------


def risk_rows(db: Database) -> list[dict[str, str]]:
    """The stored risk state as label/value rows: paused, halted, locks, size multiplier."""
    stored = RiskStateRepository(db).get("global")
    if stored is None:
        return [{"what": "risk state", "value": "none stored yet (the engine has not run)"}]
    locks = ProtectionState.from_risk_state(stored, stored.last_reset_at).locks
    return [
        {"what": "paused", "value": "yes" if stored.paused else "no"},
        {"what": "pause reason", "value": stored.pause_reason or "—"},
        {"what": "halted", "value": "yes" if stored.halted else "no"},
        {"what": "locks", "value": "; ".join(f"{lk.kind.value}: {lk.reason}" for lk in locks)
         or "none"},
        {"what": "size multiplier", "value": f"{stored.size_multiplier:g}"},
        {"what": "equity / peak (SOL)",
         "value": f"{stored.equity_sol:.4f} / {stored.peak_equity_sol:.4f}"},
        {"what": "drawdown", "value": f"{stored.drawdown:.1%}"},
        {"what": "mode (engine)", "value": stored.mode.value},
        {"what": "last reset", "value": stored.last_reset_at.isoformat(timespec="seconds")
         if stored.last_reset_at else "never"},
        {"what": "updated", "value": stored.updated_at.isoformat(timespec="seconds")},
    ]


def open_positions(db: Database) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT id, mint, wallet, status, strategy, override_strategy, size_sol, opened_at "
            "FROM positions WHERE status IN ('open', 'closing') ORDER BY opened_at DESC")
        rows = cur.fetchall()
    return [{"position": r["id"], "mint": r["mint"], "wallet": r["wallet"],
             "status": r["status"], "strategy": r["override_strategy"] or r["strategy"],
             "overridden": r["override_strategy"] is not None, "size_sol": r["size_sol"],
             "opened": r["opened_at"].isoformat(timespec="minutes")} for r in rows]


def copy_performance(db: Database, now: datetime | None = None) -> pl.DataFrame:
    return wallet_performance(db, now)


def set_wallet_copy_mode(db: Database, wallet: str, mode: str, note: str) -> str:
    """Promote a source wallet to live copies (or back to paper), with the operator's note."""
    if not wallet.strip():
        raise ValidationError("choose a wallet", hint="pick a source wallet in the table")
    try:
        row = set_copy_mode(db, wallet.strip(), TradingMode(mode), note)
    except ValueError as exc:
        raise ValidationError(str(exc), hint="write why in the note") from None
    return f"Copy mode of {row.wallet}: {row.mode.value}."


# -- alerts ---------------------------------------------------------------------------------


def unacknowledged_alerts(db: Database, limit: int = 200) -> pl.DataFrame:
    return query_frame(
        db, "SELECT id, at, level, source, message FROM alerts WHERE NOT acknowledged "
            "ORDER BY at DESC, id LIMIT %s", (limit,))


def acknowledge_alerts(db: Database, ids: list[str]) -> int:
    """Mark the alerts acknowledged; how many changed."""
    if not ids:
        return 0
    with db.connection() as conn:
        done = conn.execute("UPDATE alerts SET acknowledged = true "
                            "WHERE id = ANY(%s) AND NOT acknowledged", (list(ids),))
        count = done.rowcount
    log.info("alerts_acknowledged", count=count)
    return count


# -- webhooks -------------------------------------------------------------------------------


def webhook_rows(db: Database) -> list[dict[str, str]]:
    """``live_status['webhooks']`` as label/value rows (empty: never synced)."""
    status = get_status(db, STATUS_KEY)
    if not status:
        return []
    actions = status.get("actions") or {}
    return [
        {"what": "last sync", "value": str(status.get("last_sync_at") or "—")},
        {"what": "outcome", "value": str(status.get("outcome") or "—")},
        {"what": "webhook ids", "value": ", ".join(status.get("webhook_ids") or []) or "none"},
        {"what": "addresses", "value": str(status.get("addresses") if status.get("addresses")
                                           is not None else "—")},
        {"what": "last actions", "value": ", ".join(f"{k} {v}" for k, v in actions.items())
         or "—"},
        {"what": "last delivery", "value": str(status.get("last_delivery_at") or "never")},
        {"what": "error", "value": str(status.get("error") or "—")},
    ]


def sync_webhooks_now(settings: Settings, db: Database) -> str:
    """Run the webhook sync once (what jobs/sync_webhooks.py does); its summary."""
    report = asyncio.run(run_sync(settings, db))
    return report.summary()


# -- watchlist and blacklist ------------------------------------------------------------------


def wallet_choices(db: Database, limit: int = 2000) -> list[str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT address FROM wallets ORDER BY on_watchlist DESC, "
                            "score DESC NULLS LAST, address LIMIT %s", (limit,)).fetchall()
    return [r[0] for r in rows]


def cluster_choices(db: Database) -> list[str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT id FROM clusters ORDER BY size DESC, id").fetchall()
    return [r[0] for r in rows]


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError("a reason is required", hint="say why (kept in the history)")
    return text


def watchlist_wallet(db: Database, wallet: str, choice: str) -> str:
    on = wallets_view.watchlist(db, wallet, choice)
    return f"Watchlist override {choice} for {wallet}: {'on' if on else 'off'} the watchlist."


def blacklist_wallet(db: Database, wallet: str, reason: str) -> str:
    changed = wallets_view.blacklist(db, wallet, _reason(reason))
    return f"Blacklisted {wallet} ({changed} changed)."


def unblacklist_wallet(db: Database, wallet: str) -> str:
    changed = wallets_view.unblacklist(db, wallet)
    return f"Blacklist lifted for {wallet} ({changed} changed)."


def blacklist_cluster(db: Database, cluster_id: str, reason: str) -> str:
    changed = _blacklist_cluster(db, cluster_id, _reason(reason), now=utcnow())
    return f"Blacklisted {changed} wallets of cluster {cluster_id}."
