"""Every client against the simulator's real server process (issue 3's contract).

Skipped until the simulator serves (``python -m walltrack.simulator serve``); written
against the contract: one port, Helius /v0/…, DexScreener paths, Jupiter /swap/v1, /swap/v2,
/price/v3, JSON-RPC at /rpc, GET /health.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest

from tests.harness.processes import ServerProcess, run_server
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient, WebhookSpec
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.models import SOL_MINT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("walltrack.simulator.server") is None
    or importlib.util.find_spec("walltrack.simulator.__main__") is None,
    reason="the simulator server (issue 3) is not in the tree yet",
)
POLICY = ClientPolicy(retry=RetryPolicy(retries=1, waits=(0.05,)), rate_per_second=200,
                      burst=50)


@pytest.fixture(scope="module")
def sim() -> Iterator[ServerProcess]:
    with run_server([sys.executable, "-m", "walltrack.simulator", "serve", "--seed", "7",
                     "--port", "{port}"], ready_path="/health") as server:
        yield server


async def test_discovery_to_quote_and_price(sim: ServerProcess) -> None:
    async with DexScreenerClient(sim.url, policy=POLICY) as dex, JupiterClient(
        sim.url, policy=POLICY, dexscreener=dex
    ) as jup:
        boosts = await dex.boosts_latest()
        assert boosts and all(b.token_address for b in boosts)
        mints = [b.token_address for b in boosts if b.chain_id == "solana"][:5]
        pairs = await dex.canonical_pairs(mints)
        assert pairs, "the simulator should list pools for its boosted tokens"
        mint, pair = next(iter(pairs.items()))
        assert pair.value.base_token.address == mint and not pair.stale
        assert pair.value.liquidity_usd > 0
        profiles = await dex.profiles_latest()
        assert isinstance(profiles, list)
        quote = await jup.quote(SOL_MINT, mint, 10_000_000)
        assert quote.in_amount == 10_000_000 and quote.out_amount > 0
        prices = await jup.prices([mint])
        assert prices[mint].usd_price > 0


async def test_rpc_and_helius_history(sim: ServerProcess) -> None:
    async with SolanaRpcClient([sim.url + "/rpc"], policy=POLICY) as rpc, HeliusClient(
        sim.url, "sim-key", policy=POLICY
    ) as helius:
        blockhash = await rpc.get_latest_blockhash()
        assert blockhash.blockhash
        async with DexScreenerClient(sim.url, policy=POLICY) as dex:
            boosts = await dex.boosts_latest()
            pool_pairs = await dex.token_pairs(boosts[0].token_address)
        address = pool_pairs[0].pair_address
        page = await helius.transactions_for_address(address, limit=10)
        assert isinstance(page, list)
        sigs = await rpc.get_signatures_for_address(address, limit=10)
        assert isinstance(sigs, list)


async def test_helius_webhook_crud(sim: ServerProcess) -> None:
    async with HeliusClient(sim.url, "sim-key", policy=POLICY) as helius:
        spec = WebhookSpec(webhook_url="http://127.0.0.1:9/webhooks/helius",
                           transaction_types=["SWAP"], account_addresses=[SOL_MINT],
                           auth_header="Bearer sim")
        created = await helius.create_webhook(spec)
        assert created.webhook_id
        assert any(h.webhook_id == created.webhook_id for h in await helius.list_webhooks())
        edited = await helius.edit_webhook(created.webhook_id, spec.model_copy(
            update={"account_addresses": [SOL_MINT, "11111111111111111111111111111111"]}))
        assert len(edited.account_addresses) == 2
        await helius.delete_webhook(created.webhook_id)
        assert all(h.webhook_id != created.webhook_id for h in await helius.list_webhooks())
