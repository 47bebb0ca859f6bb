"""to_swaps on every real Helius fixture, with the values asserted."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from walltrack.clients.helius import to_swaps
from walltrack.errors import PayloadShapeError, WallTrackError
from walltrack.models import SOL_MINT, SwapSide

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
FCHTRY = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"


def load(relative: str) -> Any:
    return json.loads((REAL / relative).read_text())


def one(relative: str) -> dict[str, Any]:
    data = load(relative)
    if isinstance(data, list):
        assert len(data) == 1
        return data[0]
    return data


# file, wallet, mint, side, sol, tokens, source, fee_sol, slot, unix time
SWAPS = [
    (
        "helius_webhook/swap_pump_amm_buy_trimmed.json",  # no events.swap, WSOL leg
        "DNfuF1L62WWyW3pNakVkyGGFzVVhj4Yr52jSmdTyeBHm",
        "9hWxtLoiCKz6BAKGzdCqTCE8w3ZkeMu2RBjiwDd5Vtuy",
        SwapSide.buy, 20.040000002, 19418974.01253, "PUMP_AMM", 0.000230001,
        362534593, 1756172410,
    ),
    (
        "helius_webhook/swap_pump_amm_sell_trimmed.json",  # WSOL back + unwrap not doubled
        "DNfuF1L62WWyW3pNakVkyGGFzVVhj4Yr52jSmdTyeBHm",
        "44sVpouhWHXzADVsVUo863tvgmaw6LNQo25fYRs1pump",
        SwapSide.sell, 11.263971513, 3666988.222932, "PUMP_AMM", 0.007505001,
        362536673, 1756173223,
    ),
    (
        "helius_webhook/meteora_dbc_buy_classified_transfer.json",  # labelled TRANSFER
        "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf",
        "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        SwapSide.buy, 0.2, 322281812.767019, "METEORA_DBC", 0.00008,
        415184133, 1760695166,
    ),
    (
        "helius_webhook/meteora_dbc_sell_classified_unknown.json",  # labelled UNKNOWN
        "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf",
        "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        SwapSide.sell, 0.191296014, 322281812.0, "METEORA_DBC", 0.00008,
        415184728, 1760695397,
    ),
    (
        "helius_api/parse_swap_raydium_amm_v4_buy_pump_token.json",  # authority as receiver
        "HyygEkpVJJpuUyUYdAWQTZMwX4Ee1BS9ND7Yd2YdkWQg",
        "GFUgXbMeDnLkhZaJS3nYFqunqkFNMRo9ukhyajeXpump",
        SwapSide.buy, 0.001, 3.689514, "RAYDIUM", 0.000305,
        310105416, 1735290280,
    ),
    (
        "helius_api/swap_jupiter_sol_to_usdc_native_input_inner_raydium_clmm_orca.json",
        FCHTRY, USDC, SwapSide.buy, 1.452531235, 238.630695, "JUPITER", 0.000045998,
        269731980, 1717460657,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_invariant_orca_x4.json",  # 4 inner hops
        FCHTRY, USDC, SwapSide.sell, 1.122215063, 161.0, "JUPITER", 0.000113338,
        261185426, 1713594386,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_meteora_dlmm.json",  # platform fee aside
        FCHTRY, USDC, SwapSide.sell, 0.666361548, 100.0, "JUPITER", 0.000565,
        282036155, 1723001159,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_raydium_clmm_x2.json",
        FCHTRY, USDC, SwapSide.sell, 0.1, 13.279846, "JUPITER", 0.000059985,
        287404290, 1725303149,
    ),
]


@pytest.mark.parametrize("case", SWAPS, ids=[c[0].split("/")[1] for c in SWAPS])
def test_real_swap_fixture(case: tuple[Any, ...]) -> None:
    path, wallet, mint, side, sol, tokens, source, fee, slot, unix = case
    tx = one(path)
    swaps = to_swaps(tx)
    assert len(swaps) == 1
    swap = swaps[0]
    assert swap.signature == tx["signature"]
    assert swap.wallet == wallet
    assert swap.mint == mint
    assert swap.side is side
    assert swap.sol_amount == pytest.approx(sol, abs=1e-12)
    assert swap.token_amount == pytest.approx(tokens, rel=1e-12)
    assert swap.source == source
    assert swap.fee_sol == pytest.approx(fee, abs=1e-15)
    assert swap.slot == slot
    assert swap.timestamp == datetime.fromtimestamp(unix, UTC)


NO_SWAP = [
    "helius_api/parse_failed_swap_raydium_instruction_error.json",  # transactionError
    "helius_api/parse_failed_transfer_insufficient_funds_for_rent.json",
    "helius_api/transfer_sol_system_program_success.json",
    "helius_api/transfer_spl_token_success.json",
    "helius_webhook/docs_enhanced_payload_example_nft_sale.json",  # NFT, not a swap
]


@pytest.mark.parametrize("path", NO_SWAP, ids=[p.split("/")[1] for p in NO_SWAP])
def test_real_fixture_without_swap(path: str) -> None:
    assert to_swaps(one(path)) == []


def test_failed_swap_is_dropped_even_with_transfers() -> None:
    tx = copy.deepcopy(one("helius_webhook/swap_pump_amm_buy_trimmed.json"))
    tx["transactionError"] = {"InstructionError": [2, {"Custom": 30}]}
    assert to_swaps(tx) == []


def test_raw_payload_is_a_typed_error_naming_the_signature() -> None:
    raw = load("helius_webhook/docs_raw_payload_example.json")[0]
    with pytest.raises(PayloadShapeError) as info:
        to_swaps(raw)
    assert info.value.signature == raw["transaction"]["signatures"][0]
    assert raw["transaction"]["signatures"][0] in str(info.value)


def test_address_history_50_mixed_types() -> None:
    history = load("helius_api/address_history_50_mixed_types.json")
    assert len(history) == 50
    found = {}
    for tx in history:
        for swap in to_swaps(tx):
            found[swap.signature[:8]] = (swap.side, swap.sol_amount, swap.token_amount)
            assert swap.wallet == FCHTRY
            assert swap.mint == USDC
    assert found == {
        "2hUNXDt4": (SwapSide.sell, 0.1, 13.279846),
        "U1dH19yy": (SwapSide.buy, 1.698050989, 258.619727),  # labelled TOKEN_MINT
        "4JjN4eNx": (SwapSide.sell, 1.00019736, 150.0),
        "2TG2oq9n": (SwapSide.sell, 0.666361548, 100.0),
        "3A6AA1o5": (SwapSide.buy, 1.452531235, 238.630695),
        "4MRM3MQC": (SwapSide.sell, 1.122215063, 161.0),
        "3kaRPqvv": (SwapSide.sell, 0.472774822, 69.0),
    }


def test_swap_mislabelled_token_mint_keeps_net_tokens_after_platform_fee() -> None:
    tx = next(
        t for t in load("helius_api/address_history_50_mixed_types.json")
        if t["signature"].startswith("U1dH19yy")
    )
    assert tx["type"] == "TOKEN_MINT"
    (swap,) = to_swaps(tx)
    # 260.705369 USDC from the pool, 2.085642 USDC platform fee: the wallet holds the net.
    assert swap.token_amount == pytest.approx(258.619727)
    assert swap.sol_amount == 1.698050989


PROJECTION = "helius_api/address_history_projection_52_pump_amm_jupiter.json"
PROJECTION_WALLET = "9JGuVmjXTeMea6VY6fpsu8783YeJME8bewyy9qv9UBxh"


def test_projection_without_slot_or_time_is_a_typed_error() -> None:
    tx = load(PROJECTION)[0]
    with pytest.raises(PayloadShapeError) as info:
        to_swaps(tx)
    assert info.value.signature == tx["signature"]


def test_projection_balance_deltas_give_every_trade() -> None:
    """accountData only: the author cut everything else; slot/time/payer are added here."""
    items = load(PROJECTION)
    assert len(items) == 52
    swaps = []
    for tx in items:
        full = {**tx, "slot": 1, "timestamp": 1_700_000_000, "feePayer": PROJECTION_WALLET,
                "fee": 5000}
        got = to_swaps(full)
        assert len(got) == 1, tx["signature"]
        swap = got[0]
        assert swap.wallet == PROJECTION_WALLET
        # The side agrees with the sign of the wallet's own token balance change.
        delta = sum(
            int(b["rawTokenAmount"]["tokenAmount"]) / 10 ** b["rawTokenAmount"]["decimals"]
            for a in tx["accountData"] for b in a["tokenBalanceChanges"]
            if b["userAccount"] == PROJECTION_WALLET and b["mint"] == swap.mint
        )
        assert swap.token_amount == pytest.approx(abs(delta))
        assert swap.side is (SwapSide.buy if delta > 0 else SwapSide.sell)
        assert swap.source == tx["source"]
        swaps.append(swap)
    first, second = swaps[0], swaps[1]
    # Buy: the pool's wrapped-SOL account gained 2.906549515 SOL for 708365.894528 tokens.
    assert (first.side, first.sol_amount, first.token_amount) == (
        SwapSide.buy, 2.906549515, 708365.894528)
    # Sell: the pool's wrapped-SOL account paid out 3.024621413 SOL.
    assert (second.side, second.sol_amount, second.token_amount) == (
        SwapSide.sell, 3.024621413, 436621.681955)
    # Multi-hop Jupiter route with no SOL on the counterparty: the wallet's own SOL change.
    hop = next(s for s in swaps if s.signature.startswith("hh9DW55n2y"))
    assert (hop.side, hop.sol_amount, hop.token_amount) == (SwapSide.buy, 1.464775068,
                                                            2638.381452)


def test_trader_who_is_not_the_fee_payer_is_found_from_events_swap() -> None:
    tx = copy.deepcopy(one("helius_api/parse_swap_raydium_amm_v4_buy_pump_token.json"))
    relayer = "Re1ayer1111111111111111111111111111111111111"
    tx["feePayer"] = relayer
    (swap,) = to_swaps(tx)
    assert swap.wallet == "HyygEkpVJJpuUyUYdAWQTZMwX4Ee1BS9ND7Yd2YdkWQg"
    assert (swap.side, swap.sol_amount, swap.token_amount) == (SwapSide.buy, 0.001, 3.689514)
    assert swap.fee_sol == 0.0  # the relayer paid it


def test_trader_who_is_not_the_fee_payer_without_events() -> None:
    tx = copy.deepcopy(one("helius_webhook/meteora_dbc_sell_classified_unknown.json"))
    tx["feePayer"] = "Re1ayer1111111111111111111111111111111111111"
    (swap,) = to_swaps(tx)
    assert swap.wallet == "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf"
    assert (swap.side, swap.sol_amount) == (SwapSide.sell, 0.191296014)


def test_wallet_argument_names_the_trader() -> None:
    tx = one("helius_webhook/meteora_dbc_buy_classified_transfer.json")
    assert to_swaps(tx, wallet="FhVo3mqL8PW5pH5U2CN4XE33DokiyZnUwuGpH2hmHLuM")[0].side is (
        SwapSide.sell)  # the pool's mirror view, only when asked for explicitly
    assert to_swaps(tx, wallet="CNcD57kV79EfHqqRRLbFWBEWpht8LLR5M58WmFwP96qx") == []


def test_pool_mirror_is_not_a_second_trade() -> None:
    for path, *_ in SWAPS:
        assert len(to_swaps(one(path))) == 1


def test_token_to_token_swap_gives_no_swap() -> None:
    """USDC → USDT with SOL nowhere on the wallet's side: no SOL amount is invented."""
    tx = copy.deepcopy(one("helius_api/swap_jupiter_usdc_to_sol_inner_raydium_clmm_x2.json"))
    # Cut the route after the USDT hop: the wallet receives USDT instead of wrapped SOL.
    tx["tokenTransfers"] = [t for t in tx["tokenTransfers"] if t["mint"] != SOL_MINT]
    usdt_hop = next(t for t in tx["tokenTransfers"] if t["mint"].startswith("Es9v"))
    router = "HFqp6ErWHY6Uzhj8rFyjYuDya2mXUpYEk8VW75K9PSiY"
    tx["tokenTransfers"].append(
        dict(usdt_hop, fromUserAccount=router, toUserAccount=FCHTRY,
             toTokenAccount="Usdt7okenAcc0unt1111111111111111111111111111")
    )
    tx["nativeTransfers"] = []
    tx["accountData"] = []
    tx["events"] = {}
    assert to_swaps(tx) == []


@pytest.mark.parametrize(
    "bad",
    [None, 3, "x", [], {"signature": 5}, {}, {"signature": "s" * 88, "tokenTransfers": "no"},
     {"signature": "s" * 88, "tokenTransfers": [{"mint": 1}]},
     {"signature": "s" * 88, "nativeTransfers": [{"amount": "many"}]}],
)
def test_broken_shapes_raise_the_typed_error(bad: Any) -> None:
    with pytest.raises(WallTrackError):
        to_swaps(bad)


def test_broken_amount_names_the_signature() -> None:
    tx = copy.deepcopy(one("helius_webhook/swap_pump_amm_buy_trimmed.json"))
    tx["tokenTransfers"][0]["tokenAmount"] = {"oops": 1}
    with pytest.raises(PayloadShapeError) as info:
        to_swaps(tx)
    assert info.value.signature == tx["signature"]
