"""Quotes from live pools; swaps signed with a solders Keypair settle and show everywhere."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from tests.harness.app_server import ThreadServer
from walltrack.simulator import Market
from walltrack.simulator.server import create_app

SOL = "So11111111111111111111111111111111111111112"
KEY = {"api-key": "k"}


def sign(tx_b64: str, kp: Keypair) -> str:
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(tx_b64))
    return base64.b64encode(bytes(VersionedTransaction(unsigned.message, [kp]))).decode()


def rpc(c: httpx.Client, method: str, params: list[Any]) -> Any:
    body = c.post(
        "/rpc", json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    ).json()
    assert "error" not in body, body
    return body["result"]


@pytest.fixture(scope="module")
def live(small_market: Market) -> Any:
    # Its own server: these tests move pools and balances.
    with (
        ThreadServer(create_app(small_market, speed=0.0)) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        yield c


def _liquid_mint(c: httpx.Client, market: Market) -> str:
    mints = market.tokens["mint"].to_list()[:30]
    pairs = c.get(f"/tokens/v1/solana/{','.join(mints)}").json()
    return max(pairs, key=lambda p: p["liquidity"]["usd"])["baseToken"]["address"]


def test_quote_impact_grows_with_size(live: httpx.Client, small_market: Market) -> None:
    mint = _liquid_mint(live, small_market)
    impacts = []
    for lamports in (10**7, 10**8, 10**9, 10**10):
        q = live.get(
            "/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint, "amount": lamports}
        ).json()
        impacts.append(float(q["priceImpactPct"]))
    assert impacts == sorted(impacts) and impacts[-1] > impacts[0]


def test_swap_v1_signed_sent_and_visible_everywhere(
    live: httpx.Client, small_market: Market
) -> None:
    kp = Keypair()
    user = str(kp.pubkey())
    rpc(live, "requestAirdrop", [user, 5 * 10**9])
    assert rpc(live, "getBalance", [user])["value"] == 5 * 10**9
    mint = _liquid_mint(live, small_market)
    q = live.get(
        "/swap/v1/quote",
        params={"inputMint": SOL, "outputMint": mint, "amount": 10**9, "slippageBps": 100},
    ).json()
    swap = live.post("/swap/v1/swap", json={"quoteResponse": q, "userPublicKey": user}).json()
    signed = sign(swap["swapTransaction"], kp)
    sim = rpc(live, "simulateTransaction", [signed, {"encoding": "base64"}])
    assert sim["value"]["err"] is None
    sig = rpc(live, "sendTransaction", [signed, {"encoding": "base64"}])
    status = rpc(live, "getSignatureStatuses", [[sig]])["value"][0]
    assert status["err"] is None and status["confirmationStatus"] == "finalized"
    balance = rpc(live, "getBalance", [user])["value"]
    assert balance < 4 * 10**9
    accounts = rpc(
        live, "getTokenAccountsByOwner", [user, {"mint": mint}, {"encoding": "jsonParsed"}]
    )["value"]
    held = int(accounts[0]["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"])
    assert held == int(q["outAmount"])  # frozen clock: nothing traded in between
    history = live.get(f"/v0/addresses/{user}/transactions", params=KEY).json()
    assert [t["signature"] for t in history][:1] == [sig]
    from walltrack.clients.helius import to_swaps

    (parsed,) = to_swaps(history[0])
    assert (
        parsed.wallet == user
        and parsed.side.value == "buy"
        and parsed.sol_amount == pytest.approx(1.0)
    )
    # The same pool moved: the next identical quote gets fewer tokens.
    again = live.get(
        "/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint, "amount": 10**9}
    ).json()
    assert int(again["outAmount"]) < int(q["outAmount"])
    # Sell it all back: the round trip costs fees and impact.
    back = live.get(
        "/swap/v1/quote", params={"inputMint": mint, "outputMint": SOL, "amount": held}
    ).json()
    tx = live.post("/swap/v1/swap", json={"quoteResponse": back, "userPublicKey": user}).json()
    rpc(live, "sendTransaction", [sign(tx["swapTransaction"], kp), {"encoding": "base64"}])
    assert (
        rpc(live, "getTokenAccountsByOwner", [user, {"mint": mint}, {"encoding": "jsonParsed"}])[
            "value"
        ]
        == []
    )
    assert rpc(live, "getBalance", [user])["value"] < 5 * 10**9
    tx_info = rpc(
        live,
        "getTransaction",
        [sig, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}],
    )
    assert tx_info["meta"]["err"] is None


def test_bad_signature_and_slippage_are_refused(live: httpx.Client, small_market: Market) -> None:
    kp, other = Keypair(), Keypair()
    user = str(kp.pubkey())
    rpc(live, "requestAirdrop", [user, 10**9])
    mint = _liquid_mint(live, small_market)
    q = live.get(
        "/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint, "amount": 10**8}
    ).json()
    tx = live.post("/swap/v1/swap", json={"quoteResponse": q, "userPublicKey": user}).json()
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(tx["swapTransaction"]))
    forged = VersionedTransaction.populate(
        unsigned.message, [other.sign_message(bytes(unsigned.message))]
    )
    body = live.post(
        "/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "sendTransaction",
            "params": [base64.b64encode(bytes(forged)).decode(), {"encoding": "base64"}],
        },
    ).json()
    assert body["error"]["code"] == -32003
    # Someone else buys first: the stale quote's minimum out can no longer be met.
    whale = Keypair()
    rpc(live, "requestAirdrop", [str(whale.pubkey()), 500 * 10**9])
    big = live.get(
        "/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint, "amount": 200 * 10**9}
    ).json()
    wtx = live.post(
        "/swap/v1/swap", json={"quoteResponse": big, "userPublicKey": str(whale.pubkey())}
    ).json()
    rpc(live, "sendTransaction", [sign(wtx["swapTransaction"], whale), {"encoding": "base64"}])
    late = live.post(
        "/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "sendTransaction",
            "params": [sign(tx["swapTransaction"], kp), {"encoding": "base64"}],
        },
    ).json()
    assert late["error"]["code"] == -32002
    landed = rpc(
        live,
        "sendTransaction",
        [sign(tx["swapTransaction"], kp), {"encoding": "base64", "skipPreflight": True}],
    )
    status = rpc(live, "getSignatureStatuses", [[landed]])["value"][0]
    assert status["err"] == {"InstructionError": [2, {"Custom": 6001}]}
    history = live.get(f"/v0/addresses/{user}/transactions", params=KEY).json()
    assert history[0]["transactionError"] is not None


def test_swap_v2_order_execute(live: httpx.Client, small_market: Market) -> None:
    kp = Keypair()
    user = str(kp.pubkey())
    live.post("/sim/airdrop", json={"address": user, "sol": 2})
    mint = _liquid_mint(live, small_market)
    order = live.get(
        "/swap/v2/order",
        params={"inputMint": SOL, "outputMint": mint, "amount": 10**8, "taker": user},
    ).json()
    assert order["transaction"] and order["requestId"] and order["router"] == "iris"
    result = live.post(
        "/swap/v2/execute",
        json={"signedTransaction": sign(order["transaction"], kp), "requestId": order["requestId"]},
    ).json()
    assert result["status"] == "Success" and result["code"] == 0
    assert int(result["outputAmountResult"]) > 0 and result["swapEvents"][0]["outputMint"] == mint
    again = live.post(
        "/swap/v2/execute",
        json={"signedTransaction": sign(order["transaction"], kp), "requestId": order["requestId"]},
    ).json()
    assert again["status"] == "Failed" and again["code"] == -1


def test_paper_fills_move_the_pool(live: httpx.Client, small_market: Market) -> None:
    mint = _liquid_mint(live, small_market)
    params = {"inputMint": SOL, "outputMint": mint, "amount": 3 * 10**9}
    first = live.get("/swap/v1/quote", params=params).json()
    fill = live.post("/sim/paper-fill", json=params).json()
    assert fill["outAmount"] == first["outAmount"]
    after = live.get("/swap/v1/quote", params=params).json()
    assert int(after["outAmount"]) < int(first["outAmount"])  # copying late costs more


def test_swap_v2_build_then_send_through_our_rpc(live: httpx.Client, small_market: Market) -> None:
    from solders.hash import Hash
    from solders.instruction import AccountMeta, Instruction
    from solders.message import MessageV0
    from solders.pubkey import Pubkey

    kp = Keypair()
    user = str(kp.pubkey())
    live.post("/sim/airdrop", json={"address": user, "sol": 1})
    mint = _liquid_mint(live, small_market)
    built = live.get(
        "/swap/v2/build",
        params={"inputMint": SOL, "outputMint": mint, "amount": 10**8, "taker": user},
    ).json()

    def ix(j: dict[str, Any]) -> Instruction:
        metas = [
            AccountMeta(Pubkey.from_string(a["pubkey"]), a["isSigner"], a["isWritable"])
            for a in j["accounts"]
        ]
        return Instruction(Pubkey.from_string(j["programId"]), base64.b64decode(j["data"]), metas)

    ixs = [ix(j) for j in built["computeBudgetInstructions"]] + [ix(built["swapInstruction"])]
    blockhash = rpc(live, "getLatestBlockhash", [])["value"]["blockhash"]
    msg = MessageV0.try_compile(kp.pubkey(), ixs, [], Hash.from_string(blockhash))
    tx = VersionedTransaction(msg, [kp])
    sig = rpc(
        live, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
    )
    assert rpc(live, "getSignatureStatuses", [[sig]])["value"][0]["err"] is None
    held = rpc(live, "getTokenAccountsByOwner", [user, {"mint": mint}, {"encoding": "jsonParsed"}])[
        "value"
    ]
    assert int(held[0]["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"]) == int(
        built["outAmount"]
    )
