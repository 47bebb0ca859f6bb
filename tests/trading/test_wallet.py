"""The trading wallet against the simulator's real RPC and Jupiter on loopback: the key's three
forms, validation (funded, unfunded, dead RPC, bad key, no key) and signing a real swap."""

from __future__ import annotations

import base64
import copy
import json
import pickle
from collections.abc import AsyncIterator, Callable

import base58
import httpx
import pytest
from pydantic import SecretStr
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from tests.harness.app_server import ThreadServer
from tests.harness.processes import free_port
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.solana_rpc import RpcError, SolanaRpcClient
from walltrack.errors import ConfigurationError, ExecutionError
from walltrack.models.config import SizingConfig
from walltrack.settings import Settings
from walltrack.simulator import Market
from walltrack.trading.wallet import (
    WALLET_CHECKS,
    TradingWallet,
    WalletValidation,
    required_balance_sol,
    validate_wallet,
    wallet_balances,
)

SOL = "So11111111111111111111111111111111111111112"
FAST = ClientPolicy(rate_per_second=1000.0, burst=1000, read_timeout=10.0,
                    retry=RetryPolicy(retries=0, waits=()))
SIZING = SizingConfig()  # 2 % of 10 SOL × 1.5 = 0.3 SOL, reserve 0.05
CAPITAL = 10.0
PRIORITY = 100_000
REQUIRED = 0.3 + 0.05 + (PRIORITY + 5_000) / 1e9  # 0.350105 SOL


@pytest.fixture
async def rpc(sim_server: ThreadServer) -> AsyncIterator[SolanaRpcClient]:
    async with SolanaRpcClient([sim_server.url + "/rpc"], policy=FAST) as client:
        yield client


def forms(kp: Keypair) -> dict[str, str]:
    """The three ways an operator may write the same key."""
    return {
        "base58": str(kp),
        "json": json.dumps(list(bytes(kp))),
        "seed": base58.b58encode(kp.secret()).decode(),
    }


def assert_no_part_of(secret: str, text: str) -> None:
    assert secret not in text
    for i in range(len(secret) - 7):  # every 8-character window
        assert secret[i:i + 8] not in text, "a part of the key leaked"


async def airdrop(rpc: SolanaRpcClient, address: str, lamports: int) -> None:
    await rpc.call("requestAirdrop", [address, lamports])


async def check(settings: Settings, rpc: SolanaRpcClient) -> WalletValidation:
    return await validate_wallet(settings, rpc, SIZING, CAPITAL, priority_fee_lamports=PRIORITY)


# -- the key ----------------------------------------------------------------------------------


def test_the_three_key_forms_give_the_same_public_key(
    make_settings: Callable[..., Settings],
) -> None:
    kp = Keypair()
    for name, text in forms(kp).items():
        wallet = TradingWallet.from_secret(SecretStr(text))
        assert wallet.public_key == str(kp.pubkey()), name
        # Settings accept the same three forms (and keep the value a secret).
        settings = make_settings(trading_private_key=f"  {text}\n")
        assert isinstance(settings.trading_private_key, SecretStr)
        from_settings = TradingWallet.from_settings(settings)
        assert from_settings is not None and from_settings.public_key == str(kp.pubkey()), name


def test_no_key_means_no_wallet(make_settings: Callable[..., Settings]) -> None:
    assert TradingWallet.from_settings(make_settings()) is None
    assert TradingWallet.from_settings(make_settings(trading_private_key="  ")) is None


def test_the_wallet_shows_only_its_public_key() -> None:
    kp = Keypair()
    wallet = TradingWallet.from_secret(SecretStr(str(kp)))
    secret = str(kp)
    for text in (repr(wallet), str(wallet), f"{wallet}"):
        assert str(kp.pubkey()) in text
        assert_no_part_of(secret, text)
    assert not hasattr(wallet, "__dict__")  # nothing but the private slot
    with pytest.raises(TypeError):
        pickle.dumps(wallet)
    with pytest.raises(TypeError):
        copy.copy(wallet)
    with pytest.raises(TypeError, match="from_secret"):
        TradingWallet(kp)


def _inconsistent() -> str:
    """64 bytes whose public half belongs to another key: passes the settings' form check."""
    return base58.b58encode(Keypair().secret() + bytes(Keypair().pubkey())).decode()


@pytest.mark.parametrize(("bad", "says"), [
    ("0OIl-not-base58-at-all", "base58"),
    ("3" * 60, "64-byte"),  # base58, wrong length
    (json.dumps(list(range(63))), "64 numbers"),
    (json.dumps([300] * 64), "64 numbers"),
    ("[1, 2, oops", "JSON"),
    (_inconsistent(), "not a Solana keypair"),
])
def test_a_bad_key_is_refused_without_a_trace_of_it(bad: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TradingWallet.from_secret(SecretStr(bad))
    message = str(info.value)
    assert "WALLTRACK_TRADING_PRIVATE_KEY" in message and says in message
    assert info.value.hint
    assert_no_part_of(bad, message)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("bad", ["0OIl-not-base58", "3" * 60, json.dumps([1] * 10)])
def test_settings_refuse_an_unreadable_key_without_echoing_it(
    make_settings: Callable[..., Settings], bad: str,
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_settings(trading_private_key=bad)
    assert "WALLTRACK_TRADING_PRIVATE_KEY" in str(info.value)
    assert_no_part_of(bad, str(info.value))


# -- validation against the simulator ------------------------------------------------------


def test_required_balance_is_one_trade_the_reserve_and_the_fees() -> None:
    assert required_balance_sol(SIZING, CAPITAL, PRIORITY) == pytest.approx(REQUIRED)
    # Capped by max_position_sol: a big capital still needs one capped trade only.
    assert required_balance_sol(SIZING, 1_000.0, PRIORITY) == pytest.approx(1.0 + 0.05 + 105e-6)
    assert required_balance_sol(SIZING, CAPITAL, 0, network_fee_lamports=0) == pytest.approx(0.35)
    assert required_balance_sol(SIZING, 0.0, PRIORITY) == pytest.approx(0.05 + 105e-6)


async def test_a_funded_wallet_validates(
    make_settings: Callable[..., Settings], rpc: SolanaRpcClient,
) -> None:
    kp = Keypair()
    await airdrop(rpc, str(kp.pubkey()), 2 * 10**9)
    validation = await check(make_settings(trading_private_key=str(kp)), rpc)
    assert validation.ok, validation.checks
    assert [c.name for c in validation.checks] == list(WALLET_CHECKS)
    assert all(c.ok for c in validation.checks)
    assert validation.failure is None
    assert validation.public_key == str(kp.pubkey())
    assert validation.sol_balance == pytest.approx(2.0)
    assert validation.required_sol == pytest.approx(REQUIRED)
    assert_no_part_of(str(kp), validation.model_dump_json())


async def test_the_balance_must_cover_a_trade_to_the_lamport(
    make_settings: Callable[..., Settings], rpc: SolanaRpcClient,
) -> None:
    needed = round(REQUIRED * 1e9)
    exact, short = Keypair(), Keypair()
    await airdrop(rpc, str(exact.pubkey()), needed)
    await airdrop(rpc, str(short.pubkey()), needed - 1)
    assert (await check(make_settings(trading_private_key=str(exact)), rpc)).ok
    failed = await check(make_settings(trading_private_key=str(short)), rpc)
    assert not failed.ok and failed.failure is not None
    assert failed.failure.name == "balance_covers_trade"
    assert "0.000000001 SOL to" in failed.failure.message


async def test_an_unfunded_wallet_fails_the_balance_check_with_the_numbers(
    make_settings: Callable[..., Settings], rpc: SolanaRpcClient,
) -> None:
    kp = Keypair()
    validation = await check(make_settings(trading_private_key=str(kp)), rpc)
    assert not validation.ok
    by_name = {c.name: c for c in validation.checks}
    assert by_name["key_present"].ok and by_name["key_parses"].ok and by_name["rpc_answers"].ok
    balance = by_name["balance_covers_trade"]
    assert not balance.ok and validation.failure == balance
    for number in ("0 SOL is below", "0.350105 SOL needed", "one trade 0.3 SOL",
                   "fee reserve 0.05 SOL", "fees 0.000105 SOL",
                   f"send at least 0.350105 SOL to {kp.pubkey()}"):
        assert number in balance.message, (number, balance.message)
    assert validation.sol_balance == 0.0


async def test_a_dead_rpc_fails_rpc_answers_without_raising(
    make_settings: Callable[..., Settings],
) -> None:
    kp = Keypair()
    dead = f"http://127.0.0.1:{free_port()}/rpc"  # nothing listens there
    async with SolanaRpcClient([dead], policy=FAST) as rpc:
        validation = await check(make_settings(trading_private_key=str(kp)), rpc)
    assert not validation.ok
    names = [(c.name, c.ok) for c in validation.checks]
    assert names == [("key_present", True), ("key_parses", True), ("rpc_answers", False),
                     ("balance_covers_trade", False)]
    assert "did not answer" in validation.checks[2].message
    assert "WALLTRACK_SOLANA_RPC_URLS" in validation.checks[2].message
    assert validation.checks[3].message == "skipped: rpc_answers failed"
    assert validation.sol_balance is None and validation.public_key == str(kp.pubkey())


async def test_a_bad_key_fails_key_parses_and_never_shows_the_key(
    make_settings: Callable[..., Settings], rpc: SolanaRpcClient,
) -> None:
    bad = _inconsistent()
    settings = make_settings(trading_private_key=bad)  # the form is fine: settings accept it
    validation = await check(settings, rpc)
    assert [(c.name, c.ok) for c in validation.checks] == [
        ("key_present", True), ("key_parses", False), ("rpc_answers", False),
        ("balance_covers_trade", False)]
    assert "WALLTRACK_TRADING_PRIVATE_KEY" in validation.checks[1].message
    assert [c.message for c in validation.checks[2:]] == ["skipped: key_parses failed"] * 2
    assert validation.public_key is None
    assert_no_part_of(bad, validation.model_dump_json())
    # A value that bypassed the settings' own check is caught the same way.
    unreadable = settings.model_copy(update={"trading_private_key": SecretStr("not-a-key-0OIl")})
    again = await check(unreadable, rpc)
    assert again.failure is not None and again.failure.name == "key_parses"
    assert "not-a-key" not in again.model_dump_json()


async def test_no_key_fails_key_present_and_skips_the_rest(
    make_settings: Callable[..., Settings], rpc: SolanaRpcClient,
) -> None:
    validation = await check(make_settings(), rpc)
    assert not validation.ok and validation.public_key is None
    assert validation.checks[0].name == "key_present" and not validation.checks[0].ok
    assert "WALLTRACK_TRADING_PRIVATE_KEY is not set" in validation.checks[0].message
    assert [c.message for c in validation.checks[1:]] == ["skipped: key_present failed"] * 3
    assert validation.required_sol == pytest.approx(REQUIRED)


async def test_wallet_balances_read_the_chain(rpc: SolanaRpcClient) -> None:
    kp = Keypair()
    await airdrop(rpc, str(kp.pubkey()), 1_500_000_000)
    balances = await wallet_balances(rpc, str(kp.pubkey()))
    assert balances.address == str(kp.pubkey())
    assert balances.lamports == 1_500_000_000 and balances.sol == pytest.approx(1.5)
    assert balances.tokens == []


# -- signing ----------------------------------------------------------------------------------


def _swap_transaction(sim_url: str, market: Market, user: str) -> str:
    """An unsigned /swap/v1/swap transaction of a small buy of the most liquid token."""
    with httpx.Client(base_url=sim_url, timeout=30) as c:
        mints = market.tokens["mint"].to_list()[:30]
        pairs = c.get(f"/tokens/v1/solana/{','.join(mints)}").json()
        mint = max(pairs, key=lambda p: p["liquidity"]["usd"])["baseToken"]["address"]
        quote = c.get("/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint,
                                                "amount": 10**7, "slippageBps": 300}).json()
        swap = c.post("/swap/v1/swap", json={"quoteResponse": quote, "userPublicKey": user})
        swap.raise_for_status()
        return str(swap.json()["swapTransaction"])


async def test_sign_produces_a_transaction_the_simulator_accepts(
    sim_server: ThreadServer, small_market: Market, rpc: SolanaRpcClient,
) -> None:
    kp = Keypair()
    wallet = TradingWallet.from_secret(SecretStr(str(kp)))
    await airdrop(rpc, wallet.public_key, 10**9)
    unsigned = _swap_transaction(sim_server.url, small_market, wallet.public_key)
    with pytest.raises(RpcError):  # the simulator verifies signatures: unsigned is refused
        await rpc.simulate_transaction(unsigned)
    signed = wallet.sign(unsigned)
    tx = VersionedTransaction.from_bytes(base64.b64decode(signed))
    assert all(tx.verify_with_results())
    assert (await rpc.simulate_transaction(signed)).err is None
    # The other key forms sign identically (ed25519 is deterministic).
    for text in forms(kp).values():
        assert TradingWallet.from_secret(SecretStr(text)).sign(unsigned) == signed
    # Someone else's transaction cannot be signed by this wallet.
    other = _swap_transaction(sim_server.url, small_market, str(Keypair().pubkey()))
    with pytest.raises(ExecutionError, match="not a signer"):
        wallet.sign(other)
