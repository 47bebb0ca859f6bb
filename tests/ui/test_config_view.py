"""The config notebook's package side: forms generated from DynamicConfig's models, saves,
the mode switch, exit strategies and alert acknowledgement, against a real store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from solders.keypair import Keypair

from walltrack.errors import ValidationError
from walltrack.models import Alert, TradingMode
from walltrack.models.base import utcnow
from walltrack.models.config import DynamicConfig
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import AlertRepository, ConfigRepository
from walltrack.trading.exits import NAMED_STRATEGIES
from walltrack.trading.mode_switch import ModeSwitchRefused, live_confirmation_text, switch_mode
from walltrack.trading.wallet import WalletCheck, WalletValidation
from walltrack.ui import config_form as cf
from walltrack.ui import config_view as cv


def stored(db: Database) -> dict[str, Any]:
    with db.connection() as conn:
        return dict(conn.execute("SELECT key, value FROM config").fetchall())


def alert_count(db: Database) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM alerts").fetchone()
    return int(row[0]) if row else 0


# -- generated forms ------------------------------------------------------------------------


def test_every_section_round_trips_through_its_editors() -> None:
    defaults = DynamicConfig()
    for section in DynamicConfig.section_names():
        value = getattr(defaults, section)
        shown = cf.editor_values(section, value)
        model, errors = cf.validate_values(section, shown, value)
        assert errors == {}, (section, errors)
        assert model == value, section
    # editors follow the field types; the mode and strategies are owned by other panels
    specs = {s.key: s for s in cf.section_specs("scoring")}
    assert list(specs) == ["weights.wallet", "weights.cluster", "weights.token",
                           "weights.context", "threshold", "high_conviction"]
    assert (specs["threshold"].editor, specs["threshold"].ge, specs["threshold"].le) == \
        ("number", 0.0, 1.0)
    sizing = {s.key: s for s in cf.section_specs("sizing")}
    assert sizing["slippage_bps"].integer and sizing["slippage_bps"].le == 10_000
    assert sizing["max_position_sol"].gt == 0 and "risk_per_trade" in sizing
    safety = {s.key: s for s in cf.section_specs("safety")}
    assert safety["require_mint_authority_revoked"].editor == "checkbox"
    assert safety["forbidden_extensions"].editor == "list"
    execution = {s.key: s for s in cf.section_specs("execution")}
    assert execution["jupiter_api"].editor == "dropdown"
    assert execution["jupiter_api"].options == ["v2", "v1"]
    assert "mode" not in execution and "default_strategy" not in execution
    assert "strategies" not in {s.key for s in cf.section_specs("exits")}
    daily = {s.key: s for s in cf.section_specs("protections")}["daily_loss_limit"]
    assert daily.optional and daily.label.startswith("daily_loss_limit (")
    off, errors = cf.validate_values("protections", {"daily_loss_limit": None})
    assert errors == {} and off.daily_loss_limit is None
    laid_out = [s for group in cv.MAIN_GROUPS.values() for s in group] + cv.ADVANCED_SECTIONS
    assert sorted(laid_out) == sorted(DynamicConfig.section_names())


def test_invalid_values_are_keyed_by_field_and_nothing_is_written(db: Database) -> None:
    before = stored(db)
    outcome = cf.save_values(db, "sizing", {"risk_per_trade": 5, "max_position_sol": 2.0,
                                            "slippage_bps": 1.5})
    assert not outcome.saved and outcome.message.startswith("Not saved: sizing")
    assert set(outcome.errors) == {"risk_per_trade", "slippage_bps"}
    assert "less than or equal to 1" in outcome.errors["risk_per_trade"][0]
    assert outcome.values["max_position_sol"] == 2.0  # shown again in the editor
    weights = cf.save_values(db, "scoring", {"weights.wallet": 0.5})
    assert not weights.saved and "must sum to 1.0" in weights.errors["weights"][0]
    ordered = cf.save_values(db, "scoring", {"threshold": 0.9, "high_conviction": 0.8})
    assert "high_conviction must be at least" in ordered.errors[cf.SECTION_ERROR][0]
    horizons = cf.save_values(db, "sources", {"outcome_horizons_seconds": "300, soon"})
    assert list(horizons.errors) == ["outcome_horizons_seconds"]
    missing = cf.save_values(db, "risk", {"starting_capital_sol": None})
    assert list(missing.errors) == ["starting_capital_sol"]
    mode = cf.save_values(db, "execution", {"mode": "live"})
    assert "mode cannot be edited here" in mode.errors[cf.SECTION_ERROR][0]
    assert stored(db) == before


def test_a_valid_save_writes_exactly_that_section(db: Database) -> None:
    before = stored(db)
    shown = cf.editor_values("sizing", ConfigRepository(db).load().sizing)
    outcome = cf.save_values(db, "sizing", {**shown, "risk_per_trade": 0.03})
    assert outcome.saved and outcome.message == "Saved sizing"
    after = stored(db)
    assert {k for k in after if after[k] != before[k]} == {"sizing"}
    assert after["sizing"] == {**before["sizing"], "risk_per_trade": 0.03}
    # a section's fields owned elsewhere keep their stored value
    switch_mode(db, settings_for_live(), TradingMode.live, good_validation(), True)
    assert cf.save_values(db, "execution", {"max_order_attempts": 4}).saved
    execution = ConfigRepository(db).load().execution
    assert execution.mode is TradingMode.live and execution.max_order_attempts == 4
    assert cf.save_values(db, "safety", {"forbidden_extensions": "transferHook,\n  x "}).saved
    assert ConfigRepository(db).load().safety.forbidden_extensions == ["transferHook", "x"]


# -- the mode switch ------------------------------------------------------------------------

KEY = Keypair()


def settings_for_live(**overrides: Any) -> Settings:
    loopback = "http://127.0.0.1:9"
    values: dict[str, Any] = {"trading_private_key": str(KEY), "live_trading_allowed": True,
                              "solana_rpc_urls": loopback, "jupiter_url": loopback}
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


def good_validation(**overrides: Any) -> WalletValidation:
    checks = [WalletCheck(name=n, ok=True, message="ok") for n in
              ("key_present", "key_parses", "rpc_answers", "balance_covers_trade")]
    values: dict[str, Any] = {"ok": True, "public_key": str(KEY.pubkey()), "sol_balance": 5.0,
                              "required_sol": 0.4, "checks": checks}
    return WalletValidation(**{**values, **overrides})


def test_live_is_refused_with_every_reason_and_writes_nothing(
        db: Database, make_settings: Callable[..., Settings]) -> None:
    before, alerts = stored(db), alert_count(db)
    bare = make_settings()  # no key, WALLTRACK_LIVE_TRADING_ALLOWED unset
    with pytest.raises(ModeSwitchRefused) as refused:
        switch_mode(db, bare, TradingMode.live, None, True)
    text = str(refused.value)
    assert text.startswith("Live mode refused")
    assert "WALLTRACK_LIVE_TRADING_ALLOWED is not true" in text
    assert "WALLTRACK_TRADING_PRIVATE_KEY" in text
    assert not any("confirmed" in r for r in refused.value.reasons)

    not_allowed = settings_for_live(live_trading_allowed=False)
    with pytest.raises(ModeSwitchRefused) as env:
        switch_mode(db, not_allowed, TradingMode.live, good_validation(), True)
    assert len(env.value.reasons) == 1 and "LIVE_TRADING_ALLOWED" in env.value.reasons[0]

    live = settings_for_live()
    with pytest.raises(ModeSwitchRefused) as unconfirmed:
        switch_mode(db, live, TradingMode.live, good_validation(), False)
    assert ["not confirmed" in r for r in unconfirmed.value.reasons] == [True]
    failing = good_validation(ok=False, checks=[
        WalletCheck(name="rpc_answers", ok=False, message="the Solana RPC did not answer")])
    with pytest.raises(ModeSwitchRefused, match="did not answer"):
        switch_mode(db, live, TradingMode.live, failing, True)
    stale = good_validation(checked_at=utcnow() - timedelta(hours=1))
    with pytest.raises(ModeSwitchRefused, match="validate the wallet again"):
        switch_mode(db, live, TradingMode.live, stale, True)
    other = good_validation(public_key=str(Keypair().pubkey()))
    with pytest.raises(ModeSwitchRefused, match="another wallet"):
        switch_mode(db, live, TradingMode.live, other, True)
    remote = settings_for_live(solana_rpc_urls="https://rpc.example.org")
    with pytest.raises(ModeSwitchRefused, match=r"rpc\.example\.org"):
        switch_mode(db, remote, TradingMode.live, good_validation(), True)
    assert stored(db) == before and alert_count(db) == alerts


def test_live_when_everything_holds_and_paper_always(db: Database,
                                                     make_settings: Callable[..., Settings]
                                                     ) -> None:
    config = ConfigRepository(db).load()
    text = live_confirmation_text(config, str(KEY.pubkey()))
    assert str(KEY.pubkey()) in text and "max position 1 SOL" in text
    assert text.startswith("From the next signal, orders are sent with real SOL")
    assert switch_mode(db, settings_for_live(), TradingMode.live, good_validation(), True,
                       note="paper record convinced") is TradingMode.live
    assert ConfigRepository(db).load().execution.mode is TradingMode.live
    # back to paper needs no wallet, no permission and no confirmation
    assert switch_mode(db, make_settings(), TradingMode.paper, None, False) is TradingMode.paper
    assert ConfigRepository(db).load().execution.mode is TradingMode.paper
    messages = [a.message for a in AlertRepository(db).list(order_by="at")]
    assert messages == ["execution mode paper → live (paper record convinced)",
                        "execution mode live → paper (operator switch)"]


# -- exit strategies ------------------------------------------------------------------------


def test_strategies_created_validated_chosen_and_protected(db: Database) -> None:
    config = ConfigRepository(db).load()
    assert [r["strategy"] for r in cv.strategy_rows(config)] == list(NAMED_STRATEGIES)
    text = cv.strategy_json(config, "conservative")
    with pytest.raises(ValidationError, match="loss"):
        cv.save_strategy(db, "bad", '[{"kind": "stop_loss", "params": {"loss": 5}}]')
    with pytest.raises(ValidationError, match="unknown exit rule kind 'moon'"):
        cv.parse_plan("bad", '[{"kind": "moon"}]')
    with pytest.raises(ValidationError, match="not JSON"):
        cv.parse_plan("bad", "[{")
    with pytest.raises(ValidationError, match="more than one rule of kind stop_loss"):
        cv.parse_plan("bad", '[{"kind": "stop_loss", "params": {"loss": 0.2}},'
                             ' {"kind": "stop_loss", "params": {"loss": 0.3}}]')
    with pytest.raises(ValidationError, match="built-in"):
        cv.save_strategy(db, "balanced", text)
    assert ConfigRepository(db).load().exits.strategies == {}

    mine = cv.save_strategy(db, "tight", text)
    config = ConfigRepository(db).load()
    assert mine.name == "tight" and config.exits.strategies["tight"]
    assert cv.strategy_json(config, "tight") == text
    assert cv.strategy_rows(config)[-1]["origin"] == "config"
    cv.set_default_strategy(db, "tight")
    wallet = "So11111111111111111111111111111111111111112"
    cv.set_wallet_strategy(db, wallet, "runner")
    config = ConfigRepository(db).load()
    assert config.execution.default_strategy == "tight"
    assert config.exits.wallet_strategies == {wallet: "runner"}
    with pytest.raises(ValidationError, match="unknown exit strategy 'nope'"):
        cv.set_default_strategy(db, "nope")
    with pytest.raises(ValidationError, match="in use"):
        cv.delete_strategy(db, "tight")
    cv.set_default_strategy(db, "balanced")
    cv.delete_strategy(db, "tight")
    cv.set_wallet_strategy(db, wallet, None)
    config = ConfigRepository(db).load()
    assert config.exits.strategies == {} and config.exits.wallet_strategies == {}


# -- alerts, wallet panel, risk -------------------------------------------------------------


def test_alert_acknowledgement(db: Database) -> None:
    AlertRepository(db).upsert_many([Alert(id=f"a{i}", source="risk", message=f"m{i}")
                                     for i in range(3)])
    assert cv.acknowledge_alerts(db, []) == 0
    assert cv.acknowledge_alerts(db, ["a0", "a2", "missing"]) == 2
    assert cv.acknowledge_alerts(db, ["a0"]) == 0  # already acknowledged
    assert cv.unacknowledged_alerts(db)["id"].to_list() == ["a1"]
    assert {a.id for a in AlertRepository(db).list() if a.acknowledged} == {"a0", "a2"}


def test_wallet_panel_never_shows_the_key(make_settings: Callable[..., Settings],
                                          db: Database) -> None:
    missing = cv.wallet_summary(make_settings())
    assert missing.public_key is None and "WALLTRACK_TRADING_PRIVATE_KEY" in missing.problem
    configured = cv.wallet_summary(settings_for_live())
    assert configured.public_key == str(KEY.pubkey()) and configured.problem is None
    # no key: validation fails at its first check, without touching the RPC
    result = cv.check_wallet(make_settings(), ConfigRepository(db).load())
    assert not result.validation.ok and result.balances is None
    assert [r["result"] for r in cv.check_rows(result.validation)] == ["FAILED"] * 4
    assert cv.risk_rows(db)[0]["value"].startswith("none stored yet")
    assert cv.webhook_rows(db) == []
