"""The live guard: every condition alone refuses with its reason, all together allow, tests may
trade live only against loopback; the per-wallet mode rule; and the whole chain against a
real wallet validated on the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from solders.keypair import Keypair

from tests.harness.app_server import ThreadServer
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import RiskError
from walltrack.models import TradingMode
from walltrack.models.config import SizingConfig
from walltrack.settings import Settings
from walltrack.trading.live_guard import (
    LivePermission,
    effective_mode,
    is_loopback_url,
    live_permission,
    require_live,
)
from walltrack.trading.wallet import WALLET_CHECKS, WalletCheck, WalletValidation, validate_wallet

PAPER, LIVE = TradingMode.paper, TradingMode.live
LOOPBACK = {"solana_rpc_urls": "http://127.0.0.1:8899/rpc",
            "jupiter_url": "http://127.0.0.1:8080"}
FAST = ClientPolicy(rate_per_second=1000.0, burst=1000, read_timeout=10.0,
                    retry=RetryPolicy(retries=0, waits=()))


def validation(ok: bool = True) -> WalletValidation:
    checks = [WalletCheck(name=n, ok=True, message="fine") for n in WALLET_CHECKS]
    if not ok:
        checks[3] = WalletCheck(name="balance_covers_trade", ok=False,
                                message="0 SOL is below the 0.35 SOL needed — send at "
                                        "least 0.35 SOL to the wallet")
    return WalletValidation(ok=ok, public_key=str(Keypair().pubkey()),
                            sol_balance=1.0 if ok else 0.0, required_sol=0.35, checks=checks)


# Each row breaks one condition of the all-good case; the reason must name it and its fix.
GOOD: dict[str, Any] = {"settings": {"live_trading_allowed": True, **LOOPBACK}, "mode": LIVE,
                        "validation": True, "wallet_mode": None}
CASES = [
    ("not allowed by the environment", {"settings": {"live_trading_allowed": False, **LOOPBACK}},
     "WALLTRACK_LIVE_TRADING_ALLOWED is not true — set it in the environment"),
    ("config mode paper", {"mode": PAPER},
     "the config's execution mode is paper — switch it in the config notebook"),
    ("wallet never validated", {"validation": None},
     "the trading wallet has not been validated"),
    ("wallet does not validate", {"validation": False},
     "the trading wallet does not validate: 0 SOL is below the 0.35 SOL needed"),
    ("source wallet in paper", {"wallet_mode": PAPER},
     "this source wallet's copy mode is paper"),
    ("tests against a real RPC",
     {"settings": {"live_trading_allowed": True, **LOOPBACK,
                   "solana_rpc_urls": "http://127.0.0.1:8899/rpc,https://api.mainnet-beta.solana.com"}},
     "running under tests (WALLTRACK_ENV=test) against a non-loopback RPC "
     "(api.mainnet-beta.solana.com)"),
    ("tests against the real Jupiter",
     {"settings": {"live_trading_allowed": True, **LOOPBACK, "jupiter_url": "https://api.jup.ag"}},
     "running under tests (WALLTRACK_ENV=test) against a non-loopback Jupiter URL (api.jup.ag)"),
]


def permit(make_settings: Callable[..., Settings], case: dict[str, Any]) -> LivePermission:
    args = {**GOOD, **case}
    v = args["validation"]
    return live_permission(make_settings(**args["settings"]), args["mode"],
                           None if v is None else validation(v), wallet_mode=args["wallet_mode"])


def test_everything_in_place_allows(make_settings: Callable[..., Settings]) -> None:
    permission = permit(make_settings, {})
    assert permission == LivePermission(allowed=True, reasons=[])
    assert permit(make_settings, {"wallet_mode": LIVE}).allowed
    require_live(permission)  # does not raise


@pytest.mark.parametrize(("name", "change", "reason"), CASES, ids=[c[0] for c in CASES])
def test_each_condition_alone_refuses_with_its_reason(
    make_settings: Callable[..., Settings], name: str, change: dict[str, Any], reason: str,
) -> None:
    permission = permit(make_settings, change)
    assert not permission.allowed
    assert len(permission.reasons) == 1, permission.reasons
    assert permission.reasons[0].startswith(reason), permission.reasons[0]
    assert "—" in permission.reasons[0]  # each reason names its fix
    with pytest.raises(RiskError) as info:
        require_live(permission)
    assert permission.reasons[0] in str(info.value)


def test_every_failing_condition_is_listed(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()  # env=test, live not allowed, the real mainnet URLs
    permission = live_permission(settings, PAPER, validation(False), wallet_mode=PAPER)
    assert not permission.allowed and len(permission.reasons) == 6
    with pytest.raises(RiskError) as info:
        require_live(permission)
    assert str(info.value).startswith("live order refused: ")
    assert all(reason in str(info.value) for reason in permission.reasons)
    assert str(info.value).count("; ") >= 5


def test_real_urls_are_fine_outside_tests(make_settings: Callable[..., Settings]) -> None:
    for env in ("production", "development"):
        settings = make_settings(env=env, live_trading_allowed=True)
        assert live_permission(settings, LIVE, validation()).allowed, env


def test_a_refusal_shows_the_rpc_host_never_its_key(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(live_trading_allowed=True, jupiter_url="http://localhost:1",
                             solana_rpc_urls="https://rpc.example.com/?api-key=s3cr3t-key-123")
    (reason,) = live_permission(settings, LIVE, validation()).reasons
    assert "rpc.example.com" in reason and "s3cr3t" not in reason


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8899/rpc", True),
    ("http://127.0.0.2:1", True),
    ("http://localhost:8080", True),
    ("http://LOCALHOST.:8080", True),
    ("http://[::1]:8080/rpc", True),
    ("http://127.0.0.1.example.com/rpc", False),
    ("http://localhost.example.com", False),
    ("http://10.0.0.1:8899", False),
    ("https://api.mainnet-beta.solana.com", False),
])
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize(("global_mode", "wallet_mode", "expected"), [
    (PAPER, None, PAPER),
    (PAPER, PAPER, PAPER),
    (PAPER, LIVE, PAPER),  # the global paper mode caps every wallet
    (LIVE, None, PAPER),  # a wallet never promoted copies in paper
    (LIVE, PAPER, PAPER),
    (LIVE, LIVE, LIVE),
])
def test_effective_mode(global_mode: TradingMode, wallet_mode: TradingMode | None,
                        expected: TradingMode) -> None:
    assert effective_mode(global_mode, wallet_mode) is expected


async def test_a_wallet_validated_on_the_simulator_may_trade_live_against_it(
    make_settings: Callable[..., Settings], sim_server: ThreadServer,
) -> None:
    """The whole chain under tests: loopback simulator, funded wallet → allowed; the same
    wallet unfunded → refused with the balance check's message."""
    rpc_url = sim_server.url + "/rpc"
    funded, empty = Keypair(), Keypair()
    async with SolanaRpcClient([rpc_url], policy=FAST) as rpc:
        await rpc.call("requestAirdrop", [str(funded.pubkey()), 10**9])
        results = {}
        for name, kp in (("funded", funded), ("empty", empty)):
            settings = make_settings(trading_private_key=str(kp), live_trading_allowed=True,
                                     solana_rpc_urls=rpc_url, jupiter_url=sim_server.url)
            checked = await validate_wallet(settings, rpc, SizingConfig(), 10.0)
            results[name] = live_permission(settings, LIVE, checked, wallet_mode=LIVE)
    assert results["funded"].allowed, results["funded"].reasons
    (reason,) = results["empty"].reasons
    assert reason.startswith("the trading wallet does not validate: 0 SOL is below")
    with pytest.raises(RiskError, match="does not validate"):
        require_live(results["empty"])
