"""The operator's switch of the execution mode (``execution.mode``: paper ↔ live).

Back to paper is always allowed. Live needs the operator's explicit confirmation, a wallet
validation made within ``VALIDATION_MAX_AGE`` and everything ``live_permission`` asks
(the one place the live rule lives); a refusal raises :class:`ModeSwitchRefused` with every
reason and writes nothing. A switch that happens is stored in the ``config`` table (the
running server reloads it from the table's NOTIFY) and kept as an operator alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from walltrack.errors import ConfigurationError, RiskError
from walltrack.logging import get_logger
from walltrack.models import Alert, AlertLevel, TradingMode
from walltrack.models.base import utcnow
from walltrack.models.config import DynamicConfig
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import AlertRepository, ConfigRepository
from walltrack.trading.alerts import log_alert
from walltrack.trading.live_guard import live_permission
from walltrack.trading.wallet import TradingWallet, WalletValidation

__all__ = ["VALIDATION_MAX_AGE", "ModeSwitchRefused", "live_confirmation_text",
           "live_refusals", "switch_mode"]

log = get_logger(__name__)

VALIDATION_MAX_AGE = timedelta(minutes=15)


class ModeSwitchRefused(RiskError):
    """Switching to live was refused; ``reasons`` lists every one (each naming the fix)."""

    code = "mode_switch_refused"

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("Live mode refused: " + "; ".join(self.reasons),
                         hint="nothing was changed: the mode stays paper")


def live_refusals(settings: Settings, validation: WalletValidation | None, *,
                  confirmed: bool, now: datetime | None = None) -> list[str]:
    """Every reason switching to live would be refused now (empty: it would be allowed)."""
    at = now or utcnow()
    reasons = list(live_permission(settings, TradingMode.live, validation).reasons)
    if validation is not None and validation.ok:
        if at - validation.checked_at > VALIDATION_MAX_AGE:
            minutes = int(VALIDATION_MAX_AGE.total_seconds() // 60)
            reasons.append(f"the wallet validation is older than {minutes} minutes — "
                           "validate the wallet again")
        try:
            wallet = TradingWallet.from_settings(settings)
        except ConfigurationError:  # the key no longer parses: the same refusal
            wallet = None
        if wallet is None or wallet.public_key != validation.public_key:
            reasons.append("the validation is of another wallet than the configured "
                           "WALLTRACK_TRADING_PRIVATE_KEY — validate the wallet again")
    if not confirmed:
        reasons.append("the switch was not confirmed — tick the confirmation after reading "
                       "what live mode will do")
    return reasons


def live_confirmation_text(config: DynamicConfig, public_key: str | None) -> str:
    """What switching to live will do, with the figures that bound it."""
    sizing, risk, gates = config.sizing, config.risk, config.gates
    wallet = public_key or "(no trading wallet configured)"
    return (
        f"From the next signal, orders are sent with real SOL from wallet {wallet}: "
        f"max position {sizing.max_position_sol:g} SOL, risk per trade "
        f"{sizing.risk_per_trade:.1%} of {risk.starting_capital_sol:g} SOL capital "
        f"(× {sizing.high_conviction_multiplier:g} on high conviction), at most "
        f"{risk.max_concurrent_positions} positions open and "
        f"{gates.max_total_exposure_sol:g} SOL exposed, slippage up to "
        f"{sizing.slippage_bps} bps. Only source wallets whose copy mode is live are copied "
        "live; the others stay paper until you promote them.")


def switch_mode(db: Database, settings: Settings, target: TradingMode,
                validation: WalletValidation | None, confirmed: bool, *,
                note: str = "", now: datetime | None = None) -> TradingMode:
    """Set ``execution.mode`` to ``target``; raise ``ModeSwitchRefused`` (writing nothing)
    when live is not allowed. Returns the mode now stored."""
    target = TradingMode(target)
    at = now or utcnow()
    repo = ConfigRepository(db)
    config = repo.load()
    previous = config.execution.mode
    if target is TradingMode.live:
        reasons = live_refusals(settings, validation, confirmed=confirmed, now=at)
        if reasons:
            log.warning("config_mode_refused", target=target.value, reasons=len(reasons))
            raise ModeSwitchRefused(reasons)
    if previous is target:
        return target
    repo.save_section("execution", config.execution.model_copy(update={"mode": target}))
    text = note.strip() or "operator switch"
    detail = {"kind": "execution_mode", "previous": previous.value, "mode": target.value,
              "note": text}
    if validation is not None and target is TradingMode.live:
        detail["wallet"] = validation.public_key
    alert = Alert(
        at=at, level=AlertLevel.warning if target is TradingMode.live else AlertLevel.info,
        source="operator", message=f"execution mode {previous.value} → {target.value} ({text})",
        detail=detail)
    AlertRepository(db).upsert(alert)
    log_alert(alert)
    log.info("config_mode_switched", previous=previous.value, mode=target.value)
    return target
