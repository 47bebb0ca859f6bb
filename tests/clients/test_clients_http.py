"""The four clients over real loopback HTTP, answering with the real recorded payloads."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from tests.clients.conftest import FakeTime
from tests.clients.fault_server import FaultServer, Reply, refused_url
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient, canonical_pair
from walltrack.clients.helius import HeliusClient, WebhookSpec, parse_delivery
from walltrack.clients.jupiter import JupiterClient, sign_transaction
from walltrack.clients.models import DexPair
from walltrack.clients.solana_rpc import RpcError, SolanaRpcClient
from walltrack.errors import ExternalAPIError, PayloadShapeError
from walltrack.models import SOL_MINT, SwapSide

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
FAST = ClientPolicy(retry=RetryPolicy(retries=1, waits=(0.01,)), rate_per_second=1000,
                    burst=1000, read_timeout=2.0)
USD1 = "USD1ttGY1N17NEEHLmELoaybftRBUSErhqYiQzvEmuB"


def body(relative: str) -> bytes:
    return (REAL / relative).read_bytes()


def query(target: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(target).query)


# -- DexScreener ----------------------------------------------------------------------------


async def test_dexscreener_tokens_batched_by_30(server: FaultServer) -> None:
    server.default = Reply(body=body("dexscreener/tokens_v1_solana_usd1.json"))
    mints = [USD1] + [f"Mint{i:040d}" for i in range(64)]
    async with DexScreenerClient(server.url, policy=FAST) as dex:
        pairs = await dex.pairs_for_tokens(mints)
    assert len(server.seen) == 3
    assert [len(s.target.rsplit("/", 1)[1].split(",")) for s in server.seen] == [30, 30, 5]
    assert pairs[0].base_token.address == USD1 and pairs[0].chain_id == "solana"


async def test_dexscreener_endpoints_parse_real_payloads(server: FaultServer) -> None:
    server.then(
        Reply(body=body("dexscreener/token_pairs_v1_solana_usd1.json")),
        Reply(body=body("dexscreener/latest_dex_tokens_usd1.json")),
        Reply(body=body("dexscreener/latest_dex_search_usd1_usdc.json")),
        Reply(body=body("dexscreener/token_boosts_latest_v1.json")),
        Reply(body=body("dexscreener/token_boosts_latest_v1.json")),
        Reply(body=body("dexscreener/token_profiles_latest_v1.json")),
    )
    async with DexScreenerClient(server.url, policy=FAST) as dex:
        pools = await dex.token_pairs(USD1)
        latest = await dex.latest_pairs_for_tokens([USD1])
        found = await dex.search("USD1/USDC")
        boosts = await dex.boosts_latest()
        top = await dex.boosts_top()
        profiles = await dex.profiles_latest()
    assert len(pools) == 30 and len(latest) == 30 and len(found) == 30
    assert {p.chain_id for p in found} >= {"solana", "ethereum"}
    first = latest[0]
    assert (first.dex_id, first.price_usd, first.liquidity_usd) == ("raydium", 0.9989,
                                                                    15059888.24)
    assert first.market_cap == 157836115 and first.txns["h24"].buys == 4678
    assert len(boosts) == 30 and boosts[0].token_address.startswith("8xEdEh9J")
    assert len(top) == 30
    assert len(profiles) == 30 and profiles[0].chain_id == "base"
    assert [s.target.split("?")[0] for s in server.seen] == [
        f"/token-pairs/v1/solana/{USD1}", f"/latest/dex/tokens/{USD1}", "/latest/dex/search",
        "/token-boosts/latest/v1", "/token-boosts/top/v1", "/token-profiles/latest/v1"]
    assert query(server.seen[2].target) == {"q": ["USD1/USDC"]}


def test_canonical_pair_prefers_sol_then_usd() -> None:
    raw = json.loads(body("dexscreener/token_pairs_v1_solana_usd1.json"))
    pairs = [DexPair.model_validate(p) for p in raw]
    best = canonical_pair(pairs, USD1)
    assert best is not None
    sol_quoted = [p for p in pairs if p.base_token.address == USD1
                  and p.quote_token.address == SOL_MINT]
    if sol_quoted:
        assert best.quote_token.address == SOL_MINT
        assert best.liquidity_usd == max(p.liquidity_usd for p in sol_quoted)
    no_sol = [p for p in pairs if p.quote_token.address != SOL_MINT]
    usd_best = canonical_pair(no_sol, USD1)
    assert usd_best is not None and usd_best.quote_token.symbol in {"USDC", "USDT"}
    assert usd_best.liquidity_usd == max(
        p.liquidity_usd for p in no_sol
        if p.base_token.address == USD1 and p.quote_token.symbol in {"USDC", "USDT"})
    assert canonical_pair(pairs, "NoSuchMint1111111111111111111111111111111") is None


async def test_dexscreener_down_serves_last_known_marked_stale(server: FaultServer) -> None:
    wall = [1_000_000.0]
    server.then(Reply(body=body("dexscreener/tokens_v1_solana_usd1.json")))
    server.default = Reply(503, b"down")
    async with DexScreenerClient(server.url, policy=FAST, now=lambda: wall[0]) as dex:
        fresh = await dex.canonical_pairs([USD1])
        assert not fresh[USD1].stale
        wall[0] += 90
        stale = await dex.canonical_pairs([USD1])
        with pytest.raises(ExternalAPIError):
            await dex.canonical_pairs(["Unknown11111111111111111111111111111111111"])
    assert stale[USD1].stale and stale[USD1].age_seconds == 90
    assert "503" in (stale[USD1].reason or "")
    assert stale[USD1].value == fresh[USD1].value


# -- Jupiter --------------------------------------------------------------------------------


async def test_jupiter_quote_is_cached_briefly(server: FaultServer, fake_time: FakeTime) -> None:
    server.default = Reply(body=body("jupiter/quote_v1_sol_usdc_exactin_meteora_dlmm.json"))
    async with JupiterClient(server.url, "FAKE-jup-key", policy=FAST, quote_ttl=2.0,
                             clock=fake_time.clock, sleep=fake_time.sleep) as jup:
        q1 = await jup.quote(SOL_MINT, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 100_000_000)
        q2 = await jup.quote(SOL_MINT, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 100_000_000)
        fake_time.now += 2.5
        await jup.quote(SOL_MINT, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 100_000_000)
    assert q1 is q2 and len(server.seen) == 2
    assert (q1.in_amount, q1.out_amount, q1.other_amount_threshold) == (100000000, 16198753,
                                                                        16117760)
    assert q1.route_plan[0].swap_info.label == "Meteora DLMM"
    assert server.seen[0].headers["x-api-key"] == "FAKE-jup-key"
    assert query(server.seen[0].target)["amount"] == ["100000000"]


async def test_jupiter_keyless_limiter_is_strict(server: FaultServer, fake_time: FakeTime) -> None:
    server.default = Reply(body=body("jupiter/quote_v1_sol_usdc_exactin_meteora_dlmm.json"))
    async with JupiterClient(server.url, clock=fake_time.clock, sleep=fake_time.sleep) as jup:
        await jup.quote(SOL_MINT, "A" * 43, 1, fresh=True)
        await jup.quote(SOL_MINT, "A" * 43, 1, fresh=True)
    assert fake_time.waits == pytest.approx([2.0])


async def test_jupiter_swap_v1_and_v2_shapes(server: FaultServer) -> None:
    order = {"requestId": "req-1", "inputMint": SOL_MINT, "outputMint": "B" * 43,
             "inAmount": "1000", "outAmount": "5000", "transaction": "AAA=", "router": "iris",
             "mode": "ultra", "feeBps": 5, "slippageBps": 50, "priceImpactPct": "0.1"}
    server.then(
        Reply(body=body("jupiter/quote_v1_sol_usdc_tiny_stabble_recorded.json")),
        Reply(body=body("jupiter/swap_v1_response_recorded_full_tx.json")),
        Reply(body=json.dumps(order).encode()),
        Reply(body=b'{"status":"Success","signature":"sig1","slot":"7"}'),
    )
    async with JupiterClient(server.url, policy=FAST) as jup:
        quote = await jup.quote(SOL_MINT, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 1000)
        swap = await jup.swap_transaction(quote, "9aE476sH92Vz7DMPyq5WLPkrKWivxeuTKEFKd2sZZcde")
        got = await jup.order(SOL_MINT, "B" * 43, 1000, taker="Taker")
        done = await jup.execute("c2lnbmVk", got.request_id)
    assert len(base64.b64decode(swap.swap_transaction)) == 597
    assert swap.last_valid_block_height == 301043236
    sent = json.loads(server.seen[1].body)
    assert int(sent["quoteResponse"]["inAmount"]) == quote.in_amount
    assert (got.request_id, got.out_amount, got.price_impact_pct) == ("req-1", 5000, 0.1)
    assert done.succeeded and done.signature == "sig1"
    assert json.loads(server.seen[3].body) == {"signedTransaction": "c2lnbmVk",
                                               "requestId": "req-1"}


async def test_jupiter_execute_is_never_blindly_retried(server: FaultServer) -> None:
    server.default = Reply(502, b"gateway")
    async with JupiterClient(server.url, policy=FAST.with_(retry=RetryPolicy())) as jup:
        with pytest.raises(ExternalAPIError):
            await jup.execute("c2lnbmVk", "req-1")
    assert len(server.seen) == 1


async def test_jupiter_price_v3_and_dexscreener_fallback(server: FaultServer) -> None:
    jup_mint = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
    server.then(Reply(body=body("jupiter/price_v3_sol_jup.json")))
    async with JupiterClient(server.url, policy=FAST) as jup:
        prices = await jup.prices([SOL_MINT, jup_mint])
    assert prices[SOL_MINT].usd_price == 147.48 and prices[SOL_MINT].decimals == 9
    assert prices[jup_mint].usd_price == 0.85 and prices[jup_mint].source == "jupiter"

    dex_server = FaultServer().start()
    try:
        dex_server.default = Reply(body=body("dexscreener/tokens_v1_solana_usd1.json"))
        server.default = Reply(429, body("jupiter/price_v3_error_rate_limited.json"),
                               {"retry-after": "0"})
        async with DexScreenerClient(dex_server.url, policy=FAST) as dex, JupiterClient(
            server.url, policy=FAST, dexscreener=dex
        ) as jup:
            fallback = await jup.prices([USD1])
    finally:
        dex_server.stop()
    expected = float(json.loads(body("dexscreener/tokens_v1_solana_usd1.json"))[0]["priceUsd"])
    assert fallback[USD1].source == "dexscreener"
    assert fallback[USD1].usd_price == expected


async def test_jupiter_prices_batched_by_50(server: FaultServer) -> None:
    server.default = Reply(body=b"{}")
    async with JupiterClient(server.url, policy=FAST) as jup:
        assert await jup.prices([f"M{i}" for i in range(120)]) == {}
    assert [len(query(s.target)["ids"][0].split(",")) for s in server.seen] == [50, 50, 20]


def test_sign_transaction_with_solders() -> None:
    payer = Keypair()  # a throwaway key: no real key is ever read
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(),
                                 lamports=1))
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.default())
    unsigned = VersionedTransaction.populate(message, [Signature.default()])
    signed_b64 = sign_transaction(base64.b64encode(bytes(unsigned)).decode(), payer)
    signed = VersionedTransaction.from_bytes(base64.b64decode(signed_b64))
    assert signed.verify_with_results() == [True]
    with pytest.raises(Exception, match="not a signer"):
        sign_transaction(signed_b64, Keypair())


# -- Helius ---------------------------------------------------------------------------------


async def test_helius_history_pages_and_parse_batches(server: FaultServer) -> None:
    history = json.loads(body("helius_api/address_history_50_mixed_types.json"))
    server.then(Reply(body=json.dumps(history[:25]).encode()),
                Reply(body=json.dumps(history[25:]).encode()), Reply(body=b"[]"))
    wallet = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"
    async with HeliusClient(server.url, "FAKE-helius-key", policy=FAST) as helius:
        pages = [page async for page in helius.iter_transactions_for_address(wallet,
                                                                             page_size=25)]
        raydium = body("helius_api/parse_swap_raydium_amm_v4_buy_pump_token.json")
        server.default = Reply(body=raydium)
        parsed = await helius.parse_transactions([f"sig{i}" for i in range(150)])
    assert [len(p) for p in pages] == [25, 25]
    assert query(server.seen[1].target)["before"] == [history[24]["signature"]]
    assert query(server.seen[0].target)["api-key"] == ["FAKE-helius-key"]
    posts = [json.loads(s.body)["transactions"] for s in server.seen if s.method == "POST"]
    assert [len(p) for p in posts] == [100, 50]
    assert len(parsed) == 2 and parsed[0].swaps()[0].side is SwapSide.buy
    swaps = [s for page in pages for tx in page for s in tx.swaps(wallet=wallet)]
    assert len(swaps) == 7


async def test_helius_webhook_crud(server: FaultServer) -> None:
    hook = {"webhookID": "wh-1", "wallet": "w", "webhookURL": "https://x/webhooks/helius",
            "transactionTypes": ["SWAP"], "accountAddresses": ["A"], "webhookType": "enhanced",
            "authHeader": "Bearer secret-value"}
    server.then(Reply(body=json.dumps(hook).encode()), Reply(body=json.dumps([hook]).encode()),
                Reply(body=json.dumps(hook).encode()), Reply(body=json.dumps(hook).encode()),
                Reply(200, b""))
    spec = WebhookSpec(webhook_url="https://x/webhooks/helius", transaction_types=["SWAP"],
                       account_addresses=["A"], auth_header="Bearer secret-value")
    async with HeliusClient(server.url, "k", policy=FAST) as helius:
        created = await helius.create_webhook(spec)
        listed = await helius.list_webhooks()
        got = await helius.get_webhook("wh-1")
        edited = await helius.edit_webhook("wh-1", spec)
        await helius.delete_webhook("wh-1")
    assert created.webhook_id == "wh-1" and listed[0] == got == edited
    assert "secret-value" not in repr(created)
    assert [(s.method, s.target.split("?")[0]) for s in server.seen] == [
        ("POST", "/v0/webhooks"), ("GET", "/v0/webhooks"), ("GET", "/v0/webhooks/wh-1"),
        ("PUT", "/v0/webhooks/wh-1"), ("DELETE", "/v0/webhooks/wh-1")]
    assert json.loads(server.seen[0].body) == {
        "webhookURL": "https://x/webhooks/helius", "transactionTypes": ["SWAP"],
        "accountAddresses": ["A"], "webhookType": "enhanced", "authHeader": "Bearer secret-value"}


async def test_helius_webhook_create_not_retried(server: FaultServer) -> None:
    server.default = Reply(500, b"err")
    async with HeliusClient(server.url, "k", policy=FAST) as helius:
        with pytest.raises(ExternalAPIError):
            await helius.create_webhook(WebhookSpec(webhook_url="https://x"))
    assert len(server.seen) == 1


def test_parse_delivery_real_payloads() -> None:
    items = parse_delivery(body("helius_webhook/docs_enhanced_payload_example_nft_sale.json"))
    assert items[0].type == "NFT_SALE" and items[0].swaps() == []
    one = body("helius_webhook/swap_pump_amm_buy_trimmed.json")
    (tx,) = parse_delivery(b"[" + one + b"]")
    assert tx.fee_payer == "DNfuF1L62WWyW3pNakVkyGGFzVVhj4Yr52jSmdTyeBHm"
    assert tx.swaps()[0].sol_amount == 20.040000002
    with pytest.raises(PayloadShapeError, match="array"):
        parse_delivery(one)  # a bare object is not a delivery
    with pytest.raises(PayloadShapeError):
        parse_delivery(body("helius_webhook/docs_raw_payload_example.json"))
    with pytest.raises(PayloadShapeError):
        parse_delivery(b"[{")


# -- Solana RPC -----------------------------------------------------------------------------


def rpc_reply(relative: str) -> Reply:
    return Reply(body=body(relative))


async def test_rpc_methods_on_real_envelopes(server: FaultServer) -> None:
    server.then(
        rpc_reply("solana_rpc/getBalance_envelope_docs.json"),
        rpc_reply("solana_rpc/getTokenAccountsByOwner_jsonParsed_envelope_docs.json"),
        Reply(body=b'{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":[]},"id":1}'),
        rpc_reply("solana_rpc/getSignaturesForAddress_envelope_devnet.json"),
        rpc_reply("solana_rpc/getLatestBlockhash_envelope_docs.json"),
        rpc_reply("solana_rpc/sendTransaction_envelope_docs.json"),
    )
    owner = "A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd"
    async with SolanaRpcClient([server.url + "/rpc"], policy=FAST) as rpc:
        balances = await rpc.wallet_balances(owner)
        sigs = await rpc.get_signatures_for_address(owner)
        blockhash = await rpc.get_latest_blockhash()
        signature = await rpc.send_transaction("AAAA")
    expected_balance = json.loads(body("solana_rpc/getBalance_envelope_docs.json"))["result"][
        "value"]
    assert balances.lamports == expected_balance
    assert balances.tokens[0].mint == "2cHr7QS3xfuSV8wdxo3ztuF4xbiarF6Nrgx3qpx3HzXR"
    assert balances.tokens[0].amount == 420000000000000 and balances.tokens[0].decimals == 6
    assert len(sigs) == 3 and sigs[0].confirmation_status is not None
    assert blockhash.last_valid_block_height > 0
    assert signature == json.loads(body("solana_rpc/sendTransaction_envelope_docs.json"))[
        "result"]
    assert all(s.target == "/rpc" for s in server.seen)
    assert json.loads(server.seen[0].body)["method"] == "getBalance"


async def test_rpc_rotates_past_a_dead_provider(server: FaultServer) -> None:
    server.default = rpc_reply("solana_rpc/getBalance_envelope_docs.json")
    async with SolanaRpcClient([refused_url() + "/rpc", server.url + "/rpc"],
                               policy=FAST) as rpc:
        for _ in range(3):
            assert await rpc.get_balance("A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd") >= 0
        health = rpc.health()
    assert not health[0].healthy and health[1].healthy
    assert health[0].consecutive_failures >= 1


async def test_rpc_send_is_not_rotated_after_an_ambiguous_failure(server: FaultServer) -> None:
    other = FaultServer().start()
    try:
        server.default = Reply(500, b"maybe landed")
        other.default = rpc_reply("solana_rpc/sendTransaction_envelope_docs.json")
        async with SolanaRpcClient([server.url + "/rpc", other.url + "/rpc"],
                                   policy=FAST.with_(retry=RetryPolicy())) as rpc:
            rpc._next = iter(range(0, 10**6, len(rpc.providers)))  # type: ignore[assignment]
            with pytest.raises(ExternalAPIError):
                await rpc.send_transaction("AAAA")
        assert len(server.seen) == 1 and other.seen == []
    finally:
        other.stop()


async def test_rpc_error_object_is_typed(server: FaultServer) -> None:
    server.default = Reply(body=b'{"jsonrpc":"2.0","error":{"code":-32602,"message":"bad"},"id":1}')
    async with SolanaRpcClient([server.url], policy=FAST) as rpc:
        with pytest.raises(RpcError) as info:
            await rpc.get_balance("A1TMhSGzQxMr1TboBKtgixKz1sS6REASMxPo1qsyTSJd")
    assert info.value.rpc_code == -32602


async def test_helius_down_falls_back_to_rpc(server: FaultServer) -> None:
    tx = json.loads(body("solana_rpc/getTransaction_json_v0_pump_amm_swap_envelope.json"))
    trader = tx["result"]["transaction"]["message"]["accountKeys"][0]
    signature = tx["result"]["transaction"]["signatures"][0]
    sigs = {"jsonrpc": "2.0", "id": 1, "result": [
        {"signature": signature, "slot": tx["result"]["slot"], "err": None, "memo": None,
         "blockTime": tx["result"]["blockTime"]}]}
    rpc_server = FaultServer().start()
    try:
        rpc_server.then(Reply(body=json.dumps(sigs).encode()), Reply(body=json.dumps(tx).encode()))
        server.default = Reply(503, b"helius down")
        async with HeliusClient(server.url, "k", policy=FAST) as helius, SolanaRpcClient(
            [rpc_server.url], policy=FAST
        ) as rpc:
            result = await helius.swaps_for_address(trader, rpc=rpc)
    finally:
        rpc_server.stop()
    assert result.source == "rpc" and "503" in (result.reason or "")
    (swap,) = result.swaps
    assert swap.wallet == trader and swap.side is SwapSide.sell
    assert swap.sol_amount == 0.201692493 and swap.token_amount == pytest.approx(468934.276696458)
    assert swap.source == "PUMP_AMM"
