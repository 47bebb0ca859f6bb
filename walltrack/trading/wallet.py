"""The trading wallet: the one keypair live orders are signed with, and its validation.

The key comes only from a secret (``WALLTRACK_TRADING_PRIVATE_KEY``): a base58 64-byte
secret key, the JSON array of 64 numbers ``solana-keygen`` writes, or a base58 32-byte seed.
The keypair lives in a private attribute of ``TradingWallet`` and is never logged, printed,
pickled or stored; only its public key is ever shown.

Live mode cannot be switched on until the wallet validates (DESIGN.md section 5, "Trading
wallet"): ``validate_wallet`` runs, in order, ``key_present`` → ``key_parses`` →
``rpc_answers`` → ``balance_covers_trade`` and never raises for a failing check — the
result says which check failed and how to fix it, and ``walltrack.trading.live_guard``
reads it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import Field, SecretStr
from solders.keypair import Keypair

from walltrack.clients.jupiter import sign_transaction
from walltrack.clients.models import WalletBalances
from walltrack.errors import ConfigurationError, ExternalAPIError
from walltrack.logging import get_logger, register_secrets
from walltrack.models import LAMPORTS_PER_SOL
from walltrack.models.base import Address, DomainModel, UtcDatetime, utcnow
from walltrack.models.config import ExecutionConfig, SizingConfig
from walltrack.settings import KEY_FORMS_TEXT, decode_secret_key

if TYPE_CHECKING:
    from walltrack.clients.solana_rpc import SolanaRpcClient
    from walltrack.settings import Settings

__all__ = [
    "WALLET_CHECKS",
    "TradingWallet",
    "WalletCheck",
    "WalletValidation",
    "required_balance_sol",
    "validate_wallet",
    "wallet_balances",
]

KEY_VAR = "WALLTRACK_TRADING_PRIVATE_KEY"
KEY_HINT = (f"export the trading wallet's secret key again and set {KEY_VAR} to it in the "
            "environment (or .env)")
# The checks of validate_wallet, in the order they run (a failure skips the later ones).
WALLET_CHECKS = ("key_present", "key_parses", "rpc_answers", "balance_covers_trade")
# ExecutionConfig's defaults (plain ints, read once from the model's field defaults).
DEFAULT_PRIORITY_FEE_LAMPORTS: int = ExecutionConfig.model_fields["priority_fee_lamports"].default
DEFAULT_NETWORK_FEE_LAMPORTS: int = ExecutionConfig.model_fields["network_fee_lamports"].default

log = get_logger("walltrack.trading.wallet")
_FROM_SECRET = object()  # only the class's own constructors hold it


def _bad_key(reason: str) -> ConfigurationError:
    # Never the key, nor any part of it: only what is wrong with it and the fix.
    return ConfigurationError(f"{KEY_VAR} {reason}", hint=KEY_HINT)


class TradingWallet:
    """The keypair live orders are signed with; built only from a secret.

    ``repr``/``str`` show the public key only; the keypair is never handed out (``sign`` is
    the only thing done with it) and the object refuses to be pickled or copied.
    """

    __slots__ = ("_keypair",)

    def __init__(self, keypair: Keypair, *, _token: object = None) -> None:
        if _token is not _FROM_SECRET:
            raise TypeError("build a TradingWallet with TradingWallet.from_secret or "
                            "TradingWallet.from_settings")
        self._keypair = keypair

    @classmethod
    def from_secret(cls, secret: SecretStr) -> TradingWallet:
        """The wallet of a secret key in any of its three forms (ConfigurationError if not)."""
        text = secret.get_secret_value().strip()
        if not text:
            raise _bad_key("is empty")
        register_secrets([text])  # whatever happens next, this value never reaches a log
        try:
            raw = decode_secret_key(text)
        except ValueError as exc:
            raise _bad_key(str(exc)) from None
        try:
            keypair = Keypair.from_seed(raw) if len(raw) == 32 else Keypair.from_bytes(raw)
        except (ValueError, TypeError):
            # solders checks that the public half is the secret half's public key.
            raise _bad_key("is not a Solana keypair: its last 32 bytes are not the public key "
                           "of its first 32 (a copy error?)") from None
        register_secrets([str(keypair)])  # the canonical base58 form, whichever form came in
        return cls(keypair, _token=_FROM_SECRET)

    @classmethod
    def from_settings(cls, settings: Settings) -> TradingWallet | None:
        """The configured trading wallet; None when no key is set (paper trading only)."""
        if settings.trading_private_key is None:
            return None
        return cls.from_secret(settings.trading_private_key)

    @property
    def public_key(self) -> str:
        return str(self._keypair.pubkey())

    def sign(self, transaction_b64: str) -> str:
        """The base64 versioned transaction signed by this wallet (other signatures kept)."""
        return sign_transaction(transaction_b64, self._keypair)

    def __repr__(self) -> str:
        return f"TradingWallet(public_key={self.public_key})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # Pickling or copying would carry the secret key somewhere it should never be.
        raise TypeError("a TradingWallet cannot be pickled or copied")


async def wallet_balances(rpc: SolanaRpcClient, public_key: str) -> WalletBalances:
    """SOL and token balances of the wallet (what the dashboard shows)."""
    return await rpc.wallet_balances(public_key)


# -- validation -----------------------------------------------------------------------------


class WalletCheck(DomainModel):
    name: str
    ok: bool
    message: str


class WalletValidation(DomainModel):
    """The result of ``validate_wallet``: every check, in order, each with its message."""

    ok: bool
    public_key: Address | None = None
    sol_balance: float | None = None
    required_sol: float
    checks: list[WalletCheck]
    checked_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def failure(self) -> WalletCheck | None:
        """The check that failed (the later ones are only skipped); None when ok."""
        return next((c for c in self.checks if not c.ok), None)


def _trade_sol(sizing: SizingConfig, capital_sol: float) -> float:
    return min(max(0.0, capital_sol) * sizing.risk_per_trade * sizing.high_conviction_multiplier,
               sizing.max_position_sol)


def _fees_sol(priority_fee_lamports: int, network_fee_lamports: int) -> float:
    return (max(0, priority_fee_lamports) + max(0, network_fee_lamports)) / LAMPORTS_PER_SOL


def required_balance_sol(
    sizing: SizingConfig,
    capital_sol: float,
    priority_fee_lamports: int,
    network_fee_lamports: int = DEFAULT_NETWORK_FEE_LAMPORTS,
) -> float:
    """The SOL the wallet must hold before live trading may start: the largest single trade
    sizing can ask for, plus what sizing keeps back, plus one transaction's fees.

        trade    = min(capital × risk_per_trade × high_conviction_multiplier, max_position_sol)
        required = trade + fee_reserve_sol + (priority_fee_lamports + network_fee_lamports) / 1e9

    The high-conviction size is the largest one (the loss-streak reduction only lowers it);
    the pool-liquidity cap is left out because it depends on the token, not the wallet. The
    fee reserve is what sizing never spends: the exit's fees and the token account's rent.
    """
    return (_trade_sol(sizing, capital_sol) + sizing.fee_reserve_sol
            + _fees_sol(priority_fee_lamports, network_fee_lamports))


def _sol(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


async def validate_wallet(
    settings: Settings,
    rpc: SolanaRpcClient,
    sizing: SizingConfig,
    capital_sol: float,
    priority_fee_lamports: int = DEFAULT_PRIORITY_FEE_LAMPORTS,
    *,
    network_fee_lamports: int = DEFAULT_NETWORK_FEE_LAMPORTS,
) -> WalletValidation:
    """Run the wallet checks in order; a failure skips the later ones. Never raises for a
    failing check (an RPC error becomes a failed ``rpc_answers``)."""
    trade = _trade_sol(sizing, capital_sol)
    fees = _fees_sol(priority_fee_lamports, network_fee_lamports)
    required = required_balance_sol(sizing, capital_sol, priority_fee_lamports,
                                    network_fee_lamports)
    checks: list[WalletCheck] = []
    public_key: str | None = None
    sol_balance: float | None = None

    def result() -> WalletValidation:
        failed = next((c.name for c in checks if not c.ok), None)
        for name in WALLET_CHECKS[len(checks):]:
            checks.append(WalletCheck(name=name, ok=False, message=f"skipped: {failed} failed"))
        validation = WalletValidation(
            ok=all(c.ok for c in checks), public_key=public_key, sol_balance=sol_balance,
            required_sol=required, checks=checks)
        log.info("wallet_validated", ok=validation.ok, public_key=public_key,
                 failed=failed, sol_balance=sol_balance, required_sol=required)
        return validation

    if settings.trading_private_key is None:
        checks.append(WalletCheck(name="key_present", ok=False,
                                  message=f"{KEY_VAR} is not set — set it to the trading "
                                          "wallet's secret key in the environment (or .env); "
                                          f"{KEY_FORMS_TEXT}"))
        return result()
    checks.append(WalletCheck(name="key_present", ok=True, message=f"{KEY_VAR} is set"))

    try:
        wallet = TradingWallet.from_secret(settings.trading_private_key)
    except ConfigurationError as exc:
        checks.append(WalletCheck(name="key_parses", ok=False, message=str(exc)))
        return result()
    public_key = wallet.public_key
    checks.append(WalletCheck(name="key_parses", ok=True,
                              message=f"the key is the keypair of {public_key}"))

    try:
        lamports = await rpc.get_balance(public_key)
    except ExternalAPIError as exc:
        checks.append(WalletCheck(
            name="rpc_answers", ok=False,
            message=f"the Solana RPC did not answer: {exc} — check WALLTRACK_SOLANA_RPC_URLS "
                    "and that the provider is up"))
        return result()
    sol_balance = lamports / LAMPORTS_PER_SOL
    checks.append(WalletCheck(name="rpc_answers", ok=True,
                              message=f"the Solana RPC answered: {_sol(sol_balance)} SOL"))

    breakdown = (f"one trade {_sol(trade)} SOL + fee reserve {_sol(sizing.fee_reserve_sol)} SOL "
                 f"+ fees {_sol(fees)} SOL")
    needed = math.ceil(round(required * LAMPORTS_PER_SOL, 3))  # to the lamport
    if lamports >= needed:
        checks.append(WalletCheck(
            name="balance_covers_trade", ok=True,
            message=f"{_sol(sol_balance)} SOL covers the {_sol(required)} SOL needed "
                    f"({breakdown})"))
    else:
        short = (needed - lamports) / LAMPORTS_PER_SOL
        checks.append(WalletCheck(
            name="balance_covers_trade", ok=False,
            message=f"{_sol(sol_balance)} SOL is below the {_sol(required)} SOL needed "
                    f"({breakdown}) — send at least {_sol(short)} SOL to {public_key}"))
    return result()
