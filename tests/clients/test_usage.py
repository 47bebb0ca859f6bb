"""The usage meter over real loopback HTTP: calls, retries, credits, waits, plans."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.clients.conftest import FakeTime
from tests.clients.fault_server import FaultServer, Reply, refused_url
from walltrack.clients.base import ApiClient, ClientPolicy, RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HELIUS_POLICY, HeliusClient, helius_policy
from walltrack.clients.solana_rpc import RPC_POLICY, SolanaRpcClient
from walltrack.clients.usage import (
    HELIUS_CREDITS,
    UsageMeter,
    helius_rest_credits,
    helius_rpc_credits,
    is_helius_host,
    is_local_host,
    usage_name_for,
)
from walltrack.errors import ConfigurationError, ExternalAPIError
from walltrack.models.usage import UsageCounts
from walltrack.settings import Settings, load_settings

FAST = ClientPolicy(
    retry=RetryPolicy(waits=(0.01, 0.02, 0.04)), rate_per_second=1000, burst=1000,
    read_timeout=0.5, connect_timeout=0.5,
)
WALLET = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"
HELIUS = "helius@local"  # a loopback server is never the real provider: counted apart
RPC_NULL = json.dumps({"jsonrpc": "2.0", "id": 1, "result": None}).encode()


async def test_meter_counts_every_helius_call_and_its_credits(server: FaultServer) -> None:
    server.default = Reply(body=b"[]")
    meter = UsageMeter()
    async with HeliusClient(server.url, "k", policy=FAST, meter=meter) as helius:
        assert helius.meter is meter
        for _ in range(3):
            await helius.transactions_for_address(WALLET)
        await helius.parse_transactions([f"sig{i}" for i in range(150)])  # 2 batches
        await helius.list_webhooks()
    usage = meter.usage(HELIUS)
    assert len(server.seen) == 6
    assert (usage.operations, usage.calls, usage.failures, usage.errors) == (6, 6, 0, 0)
    # 5 enhanced-transaction calls at 100, one webhook management call at 100.
    assert usage.credits == 5 * HELIUS_CREDITS["enhanced_transactions"] + 100 == 600


async def test_retries_are_calls_and_a_429_costs_no_credit(server: FaultServer) -> None:
    server.then(Reply(500, b"boom"), Reply(429, b"{}", {"retry-after": "0"}), Reply(body=b"[]"))
    meter = UsageMeter()
    async with HeliusClient(server.url, "k", policy=FAST, meter=meter) as helius:
        assert await helius.transactions_for_address(WALLET) == []
    usage = meter.usage(HELIUS)
    assert len(server.seen) == 3
    assert (usage.operations, usage.calls, usage.retries) == (1, 3, 2)
    assert (usage.failures, usage.rate_limited, usage.errors) == (2, 1, 0)
    assert usage.credits == 200  # the 500 and the answer; the 429 was refused unbilled
    assert usage.retry_wait_seconds > 0


async def test_a_call_that_never_leaves_is_not_a_call() -> None:
    meter = UsageMeter()
    async with HeliusClient(refused_url(), "k", policy=FAST, meter=meter) as helius:
        with pytest.raises(ExternalAPIError, match="cannot connect"):
            await helius.transactions_for_address(WALLET)
    usage = meter.usage(HELIUS)
    assert (usage.operations, usage.errors, usage.retries) == (1, 1, 3)
    assert (usage.calls, usage.credits) == (0, 0)


async def test_one_meter_for_several_clients(server: FaultServer) -> None:
    server.default = Reply(body=b"[]")
    meter = UsageMeter()
    async with (
        HeliusClient(server.url, "k", policy=FAST, meter=meter) as helius,
        HeliusClient(server.url, "k", policy=FAST, meter=meter) as helius_again,
        DexScreenerClient(server.url, policy=FAST, meter=meter) as dex,
    ):
        await helius.transactions_for_address(WALLET)
        await helius_again.transactions_for_address(WALLET)
        await dex.boosts_latest()
    snapshot = meter.snapshot()
    assert sorted(snapshot) == ["dexscreener@local", HELIUS]
    assert (snapshot[HELIUS].calls, snapshot[HELIUS].credits) == (2, 200)
    assert (snapshot["dexscreener@local"].calls, snapshot["dexscreener@local"].credits) == (1, 0)
    assert meter.totals().calls == 3 == len(server.seen)


async def test_without_a_meter_each_client_has_its_own(server: FaultServer) -> None:
    server.default = Reply(body=b"[]")
    async with HeliusClient(server.url, "k", policy=FAST) as one, HeliusClient(
        server.url, "k", policy=FAST
    ) as two:
        await one.transactions_for_address(WALLET)
        assert one.meter is not two.meter
        assert one.meter.usage(HELIUS).calls == 1
        assert two.meter.usage(HELIUS).calls == 0  # no module-global counters


async def test_rpc_on_helius_costs_helius_credits_elsewhere_none(server: FaultServer) -> None:
    server.default = Reply(body=RPC_NULL)
    netloc = server.url.removeprefix("http://")
    meter = UsageMeter()
    async with SolanaRpcClient([server.url + "/rpc"], policy=FAST, meter=meter,
                               helius_hosts=(netloc,)) as helius_rpc:
        assert helius_rpc.meter is meter
        await helius_rpc.call("getBalance", [WALLET])  # 1
        await helius_rpc.call("getSignaturesForAddress", [WALLET])  # 10 (archival)
        await helius_rpc.call("getTransaction", ["sig"])  # 10
        await helius_rpc.call("getSignatureStatuses", [["s"], {"searchTransactionHistory": True}])
    async with SolanaRpcClient([server.url + "/rpc"], policy=FAST, meter=meter) as public:
        await public.call("getTransaction", ["sig"])
    usage = meter.snapshot()
    assert (usage["helius_rpc@local"].calls, usage["helius_rpc@local"].credits) == (4, 31)
    other = f"solana_rpc:{netloc}@local"
    assert (usage[other].calls, usage[other].credits) == (1, 0)


async def test_time_waiting_for_the_rate_limiter_is_counted(
    server: FaultServer, fake_time: FakeTime
) -> None:
    meter = UsageMeter()
    policy = FAST.with_(rate_per_second=1.0, burst=1)
    async with ApiClient("testapi", server.url, policy=policy, meter=meter,
                         clock=fake_time.clock, sleep=fake_time.sleep) as api:
        for _ in range(3):
            await api.request("GET", "/x")
    assert meter.usage("testapi@local").rate_wait_seconds == pytest.approx(2.0)


def test_credit_table() -> None:
    assert helius_rest_credits("GET", f"/v0/addresses/{WALLET}/transactions", None) == 100
    assert helius_rest_credits("POST", "/v0/transactions", {"transactions": ["a"] * 100}) == 100
    for method, path in (("POST", "/v0/webhooks"), ("GET", "/v0/webhooks"),
                         ("PUT", "/v0/webhooks/x"), ("DELETE", "/v0/webhooks/x")):
        assert helius_rest_credits(method, path, None) == 100
    rpc = {"getBalance": 1, "getTokenAccountsByOwner": 1, "getLatestBlockhash": 1,
           "sendTransaction": 1, "getProgramAccounts": 10, "getTransaction": 10,
           "getSignaturesForAddress": 10, "getBlock": 10, "getAsset": 10,
           "getTransactionsForAddress": 100, "getSignatureStatuses": 1}
    for method, credits in rpc.items():
        assert helius_rpc_credits("POST", "/", {"method": method, "params": []}) == credits
    history = {"method": "getSignatureStatuses",
               "params": [["s"], {"searchTransactionHistory": True}]}
    assert helius_rpc_credits("POST", "/", history) == 10
    batch = [{"method": "getBalance"}, {"method": "getTransaction"}]
    assert helius_rpc_credits("POST", "/", batch) == 11
    assert is_helius_host("mainnet.helius-rpc.com") and is_helius_host("api-mainnet.helius-rpc.com")
    assert not is_helius_host("api.mainnet-beta.solana.com")
    assert not is_helius_host("nothelius-rpc.com")


def test_a_local_server_is_counted_apart() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert is_local_host(host), host
    assert not is_local_host("mainnet.helius-rpc.com") and not is_local_host("10.0.0.5")
    assert usage_name_for("helius", "http://127.0.0.1:8080") == "helius@local"
    assert usage_name_for("helius", "https://api-mainnet.helius-rpc.com") == "helius"


def test_webhook_events_cost_a_credit_each() -> None:
    meter = UsageMeter()
    meter.record_webhook_events(7)
    usage = meter.usage("helius")
    assert (usage.webhook_events, usage.credits, usage.calls) == (7, 7, 0)


def test_flushing_marks_counts_only_when_the_block_succeeds() -> None:
    meter = UsageMeter()
    meter.add("helius", calls=2, credits=200)
    with pytest.raises(RuntimeError), meter.flushing() as pending:
        assert pending == {"helius": UsageCounts(calls=2, credits=200)}
        raise RuntimeError("the store went away")
    assert meter.pending() == {"helius": UsageCounts(calls=2, credits=200)}  # kept
    with meter.flushing() as pending:
        assert pending["helius"].calls == 2
    assert meter.pending() == {}
    meter.add("helius", calls=1, credits=100)
    with meter.flushing() as pending:
        assert pending == {"helius": UsageCounts(calls=1, credits=100)}
    assert meter.usage("helius").calls == 3  # the meter's own totals never reset
    with pytest.raises(ValueError, match="not a usage counter"):
        meter.add("helius", bogus=1)


# -- the plan picks the rate limits -------------------------------------------------------


@pytest.mark.parametrize(("plan", "enhanced", "rpc", "credits"), [
    ("free", 2.0, 10.0, 1_000_000),
    ("developer", 10.0, 50.0, 10_000_000),
    ("business", 50.0, 200.0, 100_000_000),
    ("professional", 100.0, 500.0, 200_000_000),
])
async def test_the_plan_setting_picks_the_rate_limits(
    make_settings: Callable[..., Settings], plan: str, enhanced: float, rpc: float,
    credits: int,
) -> None:
    settings = make_settings(
        helius_plan=plan,
        solana_rpc_urls="https://mainnet.helius-rpc.com/?api-key=x,https://rpc.example.org",
    )
    assert settings.helius_limits.monthly_credits == credits
    async with HeliusClient.from_settings(settings) as helius, SolanaRpcClient.from_settings(
        settings
    ) as rpc_client:
        assert helius.http.policy.rate_per_second == enhanced
        assert helius.http.policy.burst == max(1, int(enhanced))
        on_helius, public = rpc_client.providers
        assert on_helius.billed_by_helius and on_helius.http.policy.rate_per_second == rpc
        assert on_helius.http.usage_name == "helius_rpc"
        assert not public.billed_by_helius and public.http.policy == RPC_POLICY
    # An explicit policy (the simulator's fast one) still wins over the plan.
    async with HeliusClient.from_settings(settings, policy=FAST) as helius, \
            SolanaRpcClient.from_settings(settings, policy=FAST) as rpc_client:
        assert helius.http.policy is FAST
        assert all(p.http.policy is FAST for p in rpc_client.providers)


def test_the_free_plan_is_the_default_and_a_bad_plan_is_named(
    make_settings: Callable[..., Settings],
) -> None:
    assert make_settings().helius_plan.value == "free"
    assert HELIUS_POLICY == helius_policy(2.0) and HELIUS_POLICY.rate_per_second == 2.0
    with pytest.raises(ConfigurationError, match="WALLTRACK_HELIUS_PLAN"):
        load_settings(_env_file=None, helius_plan="gold")


async def test_the_simulator_rpc_is_billed_like_helius(
    server: FaultServer, make_settings: Callable[..., Settings]
) -> None:
    """The simulator serves Helius and RPC on one host: its RPC counts as Helius RPC."""
    server.default = Reply(body=RPC_NULL)
    settings = make_settings(helius_api_url=server.url, solana_rpc_urls=server.url + "/rpc")
    meter = UsageMeter()
    async with SolanaRpcClient.from_settings(settings, policy=FAST, meter=meter) as rpc:
        await rpc.call("getTransaction", ["sig"])
    assert meter.usage("helius_rpc@local").credits == 10
