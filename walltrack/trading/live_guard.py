"""The live guard: the single place that decides whether a live order may be sent.

A live order needs every one of: ``WALLTRACK_LIVE_TRADING_ALLOWED=true`` (the operator's hard
gate in the environment), the config's execution mode ``live``, a trading wallet that
validates (``walltrack.trading.wallet.validate_wallet``), the source wallet's own copy mode
``live`` when one is given, and — under tests (``WALLTRACK_ENV=test``) — only loopback
services: live trading is impossible in tests except against the simulator. Everything here
is pure: the caller brings the settings, the mode and the wallet's validation.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import Field

from walltrack.errors import RiskError
from walltrack.models.base import DomainModel
from walltrack.models.trading import TradingMode
from walltrack.settings import Environment

if TYPE_CHECKING:
    from walltrack.settings import Settings
    from walltrack.trading.wallet import WalletValidation

__all__ = ["LivePermission", "effective_mode", "is_loopback_url", "live_permission",
           "require_live"]


class LivePermission(DomainModel):
    """Whether a live order may be sent, and every reason it may not (each naming the fix)."""

    allowed: bool
    reasons: list[str] = Field(default_factory=list)


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(url: str) -> str:
    # The host only: a provider URL may carry an API key in its path or query.
    return urlsplit(url).hostname or "?"


def live_permission(
    settings: Settings,
    mode: TradingMode,
    validation: WalletValidation | None,
    *,
    wallet_mode: TradingMode | None = None,
) -> LivePermission:
    """Allowed only when every condition holds; otherwise every failing one is a reason.

    ``mode`` is the config's execution mode; ``wallet_mode`` the source wallet's copy mode
    (None: no per-wallet mode is being asked about — unlike ``effective_mode``, where a wallet
    without a mode is paper).
    """
    reasons: list[str] = []
    if settings.live_trading_allowed is not True:
        reasons.append("WALLTRACK_LIVE_TRADING_ALLOWED is not true — set it in the environment "
                       "to allow live orders")
    if mode is not TradingMode.live:
        reasons.append(f"the config's execution mode is {mode.value} — switch it in the config "
                       "notebook")
    if validation is None:
        reasons.append("the trading wallet has not been validated — set "
                       "WALLTRACK_TRADING_PRIVATE_KEY and validate the wallet before trading "
                       "live")
    elif not validation.ok:
        failure = validation.failure
        detail = failure.message if failure is not None else "no check passed"
        reasons.append(f"the trading wallet does not validate: {detail}")
    if wallet_mode is not None and wallet_mode is not TradingMode.live:
        reasons.append(f"this source wallet's copy mode is {wallet_mode.value} — promote the "
                       "wallet to live once its paper record convinces")
    if settings.env is Environment.test:
        rpc_hosts = sorted({_host(str(u)) for u in settings.solana_rpc_urls
                            if not is_loopback_url(str(u))})
        if rpc_hosts:
            reasons.append("running under tests (WALLTRACK_ENV=test) against a non-loopback "
                           f"RPC ({', '.join(rpc_hosts)}) — live trading is impossible in "
                           "tests except against the simulator on 127.0.0.1")
        if not is_loopback_url(str(settings.jupiter_url)):
            reasons.append("running under tests (WALLTRACK_ENV=test) against a non-loopback "
                           f"Jupiter URL ({_host(str(settings.jupiter_url))}) — live trading "
                           "is impossible in tests except against the simulator on 127.0.0.1")
    return LivePermission(allowed=not reasons, reasons=reasons)


def effective_mode(global_mode: TradingMode, wallet_mode: TradingMode | None) -> TradingMode:
    """The mode a copy of one source wallet trades in: the global mode caps everything (paper
    → paper); under a global live mode, the wallet's own mode, paper until it is promoted."""
    if global_mode is not TradingMode.live:
        return TradingMode.paper
    return wallet_mode if wallet_mode is not None else TradingMode.paper


def require_live(permission: LivePermission) -> None:
    """Raise ``RiskError`` with every reason unless a live order is allowed."""
    if permission.allowed:
        return
    raise RiskError("live order refused: " + "; ".join(permission.reasons or ["not allowed"]))
