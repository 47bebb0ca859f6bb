"""Every served payload is read by the production parser and has the real payloads' shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import polars as pl
import pytest

from tests.simulator.conftest import FIXTURES
from tests.simulator.shapes import mismatches
from walltrack.clients.helius import to_swaps
from walltrack.simulator import Market

KEY = {"api-key": "test-key"}
SOL = "So11111111111111111111111111111111111111112"


def real(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def rpc(client: httpx.Client, method: str, params: list[Any]) -> dict[str, Any]:
    return client.post(
        "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    ).json()


def visible_swaps(client: httpx.Client, market: Market) -> pl.DataFrame:
    seen = client.get("/sim/state").json()["visible_transactions"]
    return market.swaps.filter(pl.col("seq") < seen)


def served_by_source(
    client: httpx.Client, market: Market
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """One served transaction per (source, venue, side), through the parse endpoint."""
    s = visible_swaps(client, market)
    picks = s.group_by("source", "venue", "side", "rent_lamports", maintain_order=True).first()
    body = {"transactions": picks["signature"].to_list()}
    served = client.post("/v0/transactions", params=KEY, json=body).json()
    by_sig = {tx["signature"]: tx for tx in served}
    return {
        (r["source"], r["venue"], r["side"] + ("+rent" if r["rent_lamports"] else "")): by_sig[
            r["signature"]
        ]
        for r in picks.iter_rows(named=True)
    }


def test_parser_reads_every_served_swap_as_the_market_row(
    client: httpx.Client, small_market: Market
) -> None:
    s = visible_swaps(client, small_market)
    # Histories of wallets of every archetype, plus one token's whole history.
    tw = small_market.truth_wallets.filter(
        pl.col("archetype").is_in(["retail", "funder", "exchange"]).not_()
    )
    wallets = tw["wallet"].to_list()[:25] + s["wallet"].head(10).to_list()
    rows = {r["signature"]: r for r in s.iter_rows(named=True)}
    checked = sources = 0
    seen_sources: set[str] = set()
    for wallet in wallets:
        page = client.get(
            f"/v0/addresses/{wallet}/transactions", params=KEY | {"limit": 100}
        ).json()
        for tx in page:
            got = to_swaps(tx)
            want = rows.get(tx["signature"])
            if want is None:  # failed transactions and SOL transfers are not trades
                assert got == [], tx["type"]
                continue
            assert len(got) == 1, tx
            swap = got[0]
            assert (swap.wallet, swap.mint, swap.side.value) == (
                want["wallet"],
                want["mint"],
                want["side"],
            )
            assert swap.sol_amount == pytest.approx(want["sol_amount"], rel=1e-9, abs=1e-9)
            assert swap.token_amount == pytest.approx(want["token_amount"], rel=1e-9)
            assert swap.fee_sol == pytest.approx(want["fee_sol"], abs=1e-9)
            assert swap.signature == want["signature"] and swap.slot == want["slot"]
            assert swap.timestamp == want["timestamp"]
            seen_sources.add(tx["source"])
            checked += 1
    sources = len(seen_sources)
    assert checked > 200
    assert seen_sources >= {"RAYDIUM", "PUMP_AMM", "JUPITER", "SYSTEM_PROGRAM", "UNKNOWN"}, (
        seen_sources
    )
    assert sources >= 5


def test_helius_transactions_have_the_real_shape(
    client: httpx.Client, small_market: Market
) -> None:
    served = served_by_source(client, small_market)
    pairs = [
        (("RAYDIUM", "raydium", "buy"), "helius_api/parse_swap_raydium_amm_v4_buy_pump_token.json"),
        (
            ("JUPITER", "pump_amm", "buy"),
            "helius_api/swap_jupiter_sol_to_usdc_native_input_inner_raydium_clmm_orca.json",
        ),
        (
            ("JUPITER", "raydium", "sell"),
            "helius_api/swap_jupiter_usdc_to_sol_inner_meteora_dlmm.json",
        ),
        (("PUMP_AMM", "pump_amm", "buy+rent"), "helius_webhook/swap_pump_amm_buy_trimmed.json"),
        (("PUMP_AMM", "pump_amm", "sell"), "helius_webhook/swap_pump_amm_sell_trimmed.json"),
        (
            ("SYSTEM_PROGRAM", "meteora_dbc", "buy+rent"),
            "helius_webhook/meteora_dbc_buy_classified_transfer.json",
        ),
        (
            ("UNKNOWN", "meteora_dbc", "sell"),
            "helius_webhook/meteora_dbc_sell_classified_unknown.json",
        ),
    ]
    for key, fixture in pairs:
        fx = real(fixture)
        fx = fx[0] if isinstance(fx, list) else fx
        tx = served[key]
        assert mismatches(tx, fx) == [], (key, fixture)
        assert type(tx["events"]) is type(fx["events"]), key  # {} vs [] vs {"swap": …}
        assert tx["type"] == fx["type"] and tx["source"] == fx["source"]
    assert served[("RAYDIUM", "raydium", "buy")]["events"]["swap"]["tokenOutputs"][0][
        "userAccount"
    ] == ("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1")
    assert served[("PUMP_AMM", "pump_amm", "sell")]["events"] == {}


def test_failed_and_transfer_shapes(client: httpx.Client, small_market: Market) -> None:
    seen = client.get("/sim/state").json()["visible_transactions"]
    failed = small_market.failed.filter(pl.col("seq") < seen)["signature"][0]
    transfer = small_market.transfers.filter(pl.col("seq") < seen)["signature"][0]
    got = client.post(
        "/v0/transactions", params=KEY, json={"transactions": [failed, transfer]}
    ).json()
    assert (
        mismatches(got[0], real("helius_api/parse_failed_swap_raydium_instruction_error.json"))
        == []
    )
    assert got[0]["transactionError"] == {"InstructionError": [2, {"Custom": 30}]}
    assert to_swaps(got[0]) == []
    fx = real("helius_api/transfer_sol_system_program_success.json")
    assert mismatches(got[1], fx[0] if isinstance(fx, list) else fx) == []


def test_dexscreener_shapes(client: httpx.Client, small_market: Market) -> None:
    seen = client.get("/sim/state").json()
    mints = [m for m in small_market.tokens["mint"].to_list()][: seen["launched_tokens"]][:30]
    pair_model = real("dexscreener/token_pairs_v1_solana_usd1.json")
    tokens = client.get(f"/tokens/v1/solana/{','.join(mints)}").json()
    assert len(tokens) == len(mints)
    assert mismatches(tokens, pair_model) == []
    assert mismatches(client.get(f"/token-pairs/v1/solana/{mints[0]}").json(), pair_model) == []
    latest = client.get(f"/latest/dex/tokens/{mints[0]}").json()
    assert mismatches(latest, real("dexscreener/latest_dex_tokens_usd1.json")) == []
    symbol = small_market.tokens["symbol"][0]
    found = client.get("/latest/dex/search", params={"q": symbol}).json()
    assert (
        found["pairs"]
        and mismatches(found, real("dexscreener/latest_dex_search_usd1_usdc.json")) == []
    )
    boosts = client.get("/token-boosts/latest/v1").json()
    assert boosts and mismatches(boosts, real("dexscreener/token_boosts_latest_v1.json")) == []
    top = client.get("/token-boosts/top/v1").json()
    assert mismatches(top, real("dexscreener/token_boosts_latest_v1.json")) == []
    profiles = client.get("/token-profiles/latest/v1").json()
    assert (
        profiles and mismatches(profiles, real("dexscreener/token_profiles_latest_v1.json")) == []
    )


def test_jupiter_shapes(client: httpx.Client, small_market: Market) -> None:
    mint = small_market.tokens["mint"][1]
    q = client.get(
        "/swap/v1/quote", params={"inputMint": SOL, "outputMint": mint, "amount": 10**8}
    ).json()
    assert mismatches(q, real("jupiter/quote_v1_sol_usdc_exactin_meteora_dlmm.json")) == []
    user = "9aE476sH92Vz7DMPyq5WLPkrKWivxeuTKEFKd2sZZcde"
    swap = client.post("/swap/v1/swap", json={"quoteResponse": q, "userPublicKey": user}).json()
    assert mismatches(swap, real("jupiter/swap_v1_response_recorded_full_tx.json")) == []
    price = client.get("/price/v3", params={"ids": f"{SOL},{mint}"}).json()
    model = real("jupiter/price_v3_sol_jup.json")
    for value in price.values():
        assert mismatches(value, model[SOL]) == []


def test_rpc_shapes(client: httpx.Client, small_market: Market) -> None:
    s = visible_swaps(client, small_market)
    wallet, sig = s["wallet"][-1], s["signature"][-1]
    seen = client.get("/sim/state").json()["visible_transactions"]
    transfer = small_market.transfers.filter(pl.col("seq") < seen)["signature"][-1]
    checks = [
        (rpc(client, "getBalance", [wallet]), "getBalance_envelope_docs.json"),
        (rpc(client, "getLatestBlockhash", []), "getLatestBlockhash_envelope_docs.json"),
        (
            rpc(client, "getSignaturesForAddress", [wallet, {"limit": 5}]),
            "getSignaturesForAddress_envelope_devnet.json",
        ),
        (
            rpc(
                client,
                "getTokenAccountsByOwner",
                [
                    wallet,
                    {"programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"},
                    {"encoding": "jsonParsed"},
                ],
            ),
            "getTokenAccountsByOwner_jsonParsed_envelope_docs.json",
        ),
    ]
    for got, fixture in checks:
        # computeUnitsConsumed and stackHeight are in current mainnet responses (see the
        # recorded json-encoding getTransaction fixtures); the documented example predates them.
        extra = frozenset({"computeUnitsConsumed", "stackHeight"})
        assert mismatches(got, real(f"solana_rpc/{fixture}"), extra_ok=extra) == [], fixture
    got = rpc(
        client,
        "getTransaction",
        [sig, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}],
    )
    # A swap's instructions are for programs jsonParsed cannot decode: they come in the
    # documented partially-decoded form {accounts, data, programId, stackHeight}.
    model = real(
        "solana_rpc/getTransaction_jsonParsed_v0_system_transfer_lookuptable_envelope.json"
    )
    instructions = model["result"]["transaction"]["message"]["instructions"]
    instructions.append({"accounts": ["x"], "data": "x", "programId": "x", "stackHeight": None})
    extra = frozenset({"computeUnitsConsumed", "stackHeight"})
    assert mismatches(got, model, extra_ok=extra) == []
    params = [transfer, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}]
    parsed_transfer = rpc(client, "getTransaction", params)
    assert mismatches(parsed_transfer, model, extra_ok=extra) == []
    system = parsed_transfer["result"]["transaction"]["message"]["instructions"][-1]
    assert system["parsed"]["type"] == "transfer" and system["program"] == "system"
    meta = got["result"]["meta"]
    assert got["result"]["transaction"]["message"]["accountKeys"][0]["pubkey"] == wallet
    assert (
        meta["postBalances"][0] - meta["preBalances"][0]
        == next(
            d
            for d in client.post(
                "/v0/transactions", params=KEY, json={"transactions": [sig]}
            ).json()[0]["accountData"]
            if d["account"] == wallet
        )["nativeBalanceChange"]
    )
    batch = client.post(
        "/rpc", json=[{"jsonrpc": "2.0", "id": i, "method": "getSlot"} for i in range(3)]
    ).json()
    assert [b["id"] for b in batch] == [0, 1, 2]
