"""to_swaps / parse_swaps on every Helius fixture (real and faithfully shaped), values asserted."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from walltrack.clients.helius import (
    DropReason,
    EnhancedTransaction,
    TraderBasis,
    parse_swaps,
    to_swaps,
)
from walltrack.errors import PayloadShapeError, WallTrackError
from walltrack.models import SOL_MINT, SwapSide

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "real"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
FCHTRY = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"
MEME = "9DSvWmnutGgA1XBqPmWf1DKo2yA6rGE2tvWZ7FuQTvMc"  # the shaped fixtures' token
DCA_KEEPER = "DCAKxn5PFNN1mBREPWGdk1RXg5aVH9rPErLfBFEi2Emb"
LO_KEEPER = "GzvmBPZdBTK6Vym5rrp5CExY49EssdjhLqhRhCdSoyMU"


def load(relative: str) -> Any:
    """``relative`` to tests/fixtures/real, or ``shaped/...`` (tests/fixtures/shaped)."""
    base = FIXTURES if relative.startswith("shaped/") else REAL
    return json.loads((base / relative).read_text())


def one(relative: str) -> dict[str, Any]:
    data = load(relative)
    if isinstance(data, list):
        assert len(data) == 1
        return data[0]
    return data


# file, wallet, mint, side, sol, tokens, source, fee_sol, slot, unix time, how the trader was found
FEE_PAYER, FLOWS, RELAYED, OWNER = (TraderBasis.fee_payer, TraderBasis.flows,
                                    TraderBasis.relayed, TraderBasis.order_owner)
SWAPS = [
    (
        "helius_webhook/swap_pump_amm_buy_trimmed.json",  # no events.swap, WSOL leg
        "DNfuF1L62WWyW3pNakVkyGGFzVVhj4Yr52jSmdTyeBHm",
        "9hWxtLoiCKz6BAKGzdCqTCE8w3ZkeMu2RBjiwDd5Vtuy",
        SwapSide.buy, 20.040000002, 19418974.01253, "PUMP_AMM", 0.000230001,
        362534593, 1756172410, FEE_PAYER,
    ),
    (
        "helius_webhook/swap_pump_amm_sell_trimmed.json",  # WSOL back + unwrap not doubled
        "DNfuF1L62WWyW3pNakVkyGGFzVVhj4Yr52jSmdTyeBHm",
        "44sVpouhWHXzADVsVUo863tvgmaw6LNQo25fYRs1pump",
        SwapSide.sell, 11.263971513, 3666988.222932, "PUMP_AMM", 0.007505001,
        362536673, 1756173223, FEE_PAYER,
    ),
    (
        "helius_webhook/meteora_dbc_buy_classified_transfer.json",  # labelled TRANSFER
        "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf",
        "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        SwapSide.buy, 0.2, 322281812.767019, "METEORA_DBC", 0.00008,
        415184133, 1760695166, FEE_PAYER,
    ),
    (
        "helius_webhook/meteora_dbc_sell_classified_unknown.json",  # labelled UNKNOWN
        "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf",
        "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        SwapSide.sell, 0.191296014, 322281812.0, "METEORA_DBC", 0.00008,
        415184728, 1760695397, FEE_PAYER,
    ),
    (
        "helius_api/parse_swap_raydium_amm_v4_buy_pump_token.json",  # authority as receiver
        "HyygEkpVJJpuUyUYdAWQTZMwX4Ee1BS9ND7Yd2YdkWQg",
        "GFUgXbMeDnLkhZaJS3nYFqunqkFNMRo9ukhyajeXpump",
        SwapSide.buy, 0.001, 3.689514, "RAYDIUM", 0.000305,
        310105416, 1735290280, FEE_PAYER,
    ),
    (
        "helius_api/swap_jupiter_sol_to_usdc_native_input_inner_raydium_clmm_orca.json",
        FCHTRY, USDC, SwapSide.buy, 1.452531235, 238.630695, "JUPITER", 0.000045998,
        269731980, 1717460657, FEE_PAYER,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_invariant_orca_x4.json",  # 4 inner hops
        FCHTRY, USDC, SwapSide.sell, 1.122215063, 161.0, "JUPITER", 0.000113338,
        261185426, 1713594386, FEE_PAYER,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_meteora_dlmm.json",  # platform fee aside
        FCHTRY, USDC, SwapSide.sell, 0.666361548, 100.0, "JUPITER", 0.000565,
        282036155, 1723001159, FEE_PAYER,
    ),
    (
        "helius_api/swap_jupiter_usdc_to_sol_inner_raydium_clmm_x2.json",
        FCHTRY, USDC, SwapSide.sell, 0.1, 13.279846, "JUPITER", 0.000059985,
        287404290, 1725303149, FEE_PAYER,
    ),
    # -- faithfully shaped (tests/fixtures/shaped/MANIFEST.md) --
    (
        "shaped/helius/gasless_integrator_payer_buy_sol_out.json",  # payer fronts the rent
        "kGVVPhth5uzRVW5bsCSoSqp9i755gfKyKn12TniwxoU", MEME,
        SwapSide.buy, 0.99, 3512345.678901, "JUPITER", 0.0, 361204118, 1755713240, FLOWS,
    ),
    (
        "shaped/helius/gasless_ultra_sell_sol_in.json",  # Jupiter's gas payer signs
        "CTG44JRwkSgzQYoH5NYy5PtL9nUo7kfK6BvSFu5q4LkQ", MEME,
        SwapSide.sell, 1.234567891, 2000000.5, "JUPITER", 0.0, 362880511, 1756370902, FLOWS,
    ),
    (
        "shaped/helius/relayer_fee_in_input_token_sell.json",  # the relayer's fee: 1 500 MEME
        "YhhCTr8SyXpv2MNGWWFLpnKNyGeyYuVAWs7RgurPSHY", MEME,
        SwapSide.sell, 0.61728394, 1000000.0, "PUMP_AMM", 0.0, 358017442, 1754401337, RELAYED,
    ),
    (
        "shaped/helius/limit_order_v2_fill_buy_owner_receives.json",  # keeper keeps a spread
        "H6Jf43Bupwwq5HXk4fmFKPn5UjHwtSZ6bC5VRS34ow4G", MEME,
        SwapSide.buy, 1.5, 4200000.0, "JUPITER_LIMIT_ORDER_V2", 0.0, 364512900, 1757012555,
        OWNER,
    ),
    (
        "shaped/helius/limit_order_v2_fill_sell_closes_order.json",  # rent back is not SOL out
        "52N93wxLfVDG85dckkurAdZxbk2RvvhRVPwdVi5gSp78", MEME,
        SwapSide.sell, 0.8, 2500000.0, "JUPITER_LIMIT_ORDER_V2", 0.0, 365003871, 1757205010,
        OWNER,
    ),
    (
        "shaped/helius/dca_fill_owner_receives.json",  # a real DCA keeper is the fee payer
        "5RLbUvzApaqAinNTZRw3xGsArXqVb78sKoUgPfKVySYN", MEME,
        SwapSide.buy, 0.5, 1233333.323343, "JUPITER_DCA", 0.0, 359771004, 1755130800, OWNER,
    ),
]


@pytest.mark.parametrize("case", SWAPS, ids=[c[0].split("/")[-1] for c in SWAPS])
def test_swap_fixture(case: tuple[Any, ...]) -> None:
    path, wallet, mint, side, sol, tokens, source, fee, slot, unix, basis = case
    tx = one(path)
    swaps = to_swaps(tx)
    assert len(swaps) == 1
    swap = swaps[0]
    parsed = parse_swaps(tx)
    assert parsed.swaps == swaps
    assert (parsed.dropped, parsed.trader, parsed.basis) == (None, wallet, basis)
    assert parse_swaps(tx, wallet=wallet).swaps == swaps  # the wallet's own history agrees
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
    ("helius_api/parse_failed_swap_raydium_instruction_error.json", DropReason.failed),
    ("helius_api/parse_failed_transfer_insufficient_funds_for_rent.json", DropReason.failed),
    ("helius_api/transfer_sol_system_program_success.json", DropReason.no_trade),
    ("helius_api/transfer_spl_token_success.json", DropReason.no_trade),
    ("helius_webhook/docs_enhanced_payload_example_nft_sale.json", DropReason.non_fungible),
    # shaped: the DCA output stays in the DCA account's vault; the owner is not in the flows
    ("shaped/helius/dca_fill_without_owner.json", DropReason.keeper_fill_without_owner),
]


@pytest.mark.parametrize("case", NO_SWAP, ids=[c[0].split("/")[-1] for c in NO_SWAP])
def test_fixture_without_swap_and_its_reason(case: tuple[str, DropReason]) -> None:
    path, reason = case
    tx = one(path)
    assert to_swaps(tx) == []
    parsed = parse_swaps(tx)
    assert (parsed.swaps, parsed.dropped, parsed.signature) == ([], reason, tx["signature"])


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
    assert parse_swaps(tx).basis is TraderBasis.swap_event


def test_trader_who_is_not_the_fee_payer_without_events() -> None:
    tx = copy.deepcopy(one("helius_webhook/meteora_dbc_sell_classified_unknown.json"))
    tx["feePayer"] = "Re1ayer1111111111111111111111111111111111111"
    (swap,) = to_swaps(tx)
    assert swap.wallet == "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf"
    assert (swap.side, swap.sol_amount) == (SwapSide.sell, 0.191296014)
    # The pool's side is two-sided too; its authority FhVo3… is a PDA, so it is not a trader.
    assert parse_swaps(tx).basis is TraderBasis.flows


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
    parsed = parse_swaps(tx)
    assert (parsed.dropped, parsed.trader) == (DropReason.token_to_token, FCHTRY)


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


def test_reasons_of_the_50_item_history() -> None:
    history = load("helius_api/address_history_50_mixed_types.json")
    reasons = Counter(parse_swaps(tx).dropped for tx in history)
    # 7 swaps; compressed-NFT mints (events.compressed) and one NFT transfer; transfers,
    # staking, withdrawals and the rest moved nothing against anything.
    assert reasons == {None: 7, DropReason.non_fungible: 13, DropReason.no_trade: 30}


def test_unreadable_payload_is_a_reason_for_parse_swaps_and_an_error_for_to_swaps() -> None:
    tx = copy.deepcopy(one("helius_webhook/swap_pump_amm_buy_trimmed.json"))
    del tx["slot"]
    parsed = parse_swaps(tx)
    assert (parsed.swaps, parsed.dropped, parsed.signature) == (
        [], DropReason.unreadable, tx["signature"])
    assert parsed.error and "slot" in parsed.error
    with pytest.raises(PayloadShapeError):
        to_swaps(tx)
    assert parse_swaps([1, 2]).dropped is DropReason.unreadable


# -- someone else pays: relayers and keepers ------------------------------------------------

KEEPER_FILLS = [
    "shaped/helius/limit_order_v2_fill_buy_owner_receives.json",
    "shaped/helius/limit_order_v2_fill_sell_closes_order.json",
    "shaped/helius/dca_fill_owner_receives.json",
    "shaped/helius/dca_fill_without_owner.json",
]


@pytest.mark.parametrize("path", KEEPER_FILLS, ids=[p.split("/")[-1] for p in KEEPER_FILLS])
def test_the_keeper_is_never_the_trader(path: str) -> None:
    tx = one(path)
    keeper = tx["feePayer"]
    assert keeper in (LO_KEEPER, DCA_KEEPER)
    assert all(swap.wallet != keeper for swap in to_swaps(tx))
    # Not even when its own history is read: it executed someone else's order.
    mine = parse_swaps(tx, wallet=keeper)
    assert mine.swaps == [] and mine.dropped in (DropReason.no_trade,
                                                 DropReason.keeper_fill_without_owner)


def test_keeper_of_a_limit_order_keeps_a_spread_but_it_is_not_a_buy() -> None:
    """The keeper's own flows look like a buy (10 800 MEME kept for 1.5 SOL sent to the
    pool): the earlier rule 'the fee payer is the trader when it is a party' took it."""
    tx = one("shaped/helius/limit_order_v2_fill_buy_owner_receives.json")
    kept = sum(t["tokenAmount"] * (1 if t["toUserAccount"] == LO_KEEPER else -1)
               for t in tx["tokenTransfers"] if t["mint"] == MEME and LO_KEEPER in (
                   t["toUserAccount"], t["fromUserAccount"]))
    assert kept == pytest.approx(10_800.0)
    (swap,) = to_swaps(tx)
    assert swap.wallet != LO_KEEPER and swap.token_amount == 4_200_000.0


def test_keeper_fill_is_recognised_from_account_keys_when_instructions_are_cut() -> None:
    tx = copy.deepcopy(one("shaped/helius/limit_order_v2_fill_buy_owner_receives.json"))
    tx["instructions"] = []  # trimmed payloads keep accountData (every account key)
    (swap,) = to_swaps(tx)
    assert swap.wallet == "H6Jf43Bupwwq5HXk4fmFKPn5UjHwtSZ6bC5VRS34ow4G"
    assert swap.source == "JUPITER_LIMIT_ORDER_V2"  # from the account keys as well


def test_keeper_fill_in_the_owners_history_and_in_a_strangers() -> None:
    tx = one("shaped/helius/dca_fill_owner_receives.json")
    owner = "5RLbUvzApaqAinNTZRw3xGsArXqVb78sKoUgPfKVySYN"
    assert parse_swaps(tx, wallet=owner).basis is TraderBasis.order_owner
    stranger = parse_swaps(tx, wallet=FCHTRY)
    assert (stranger.swaps, stranger.dropped) == ([], DropReason.no_trade)
    lost = one("shaped/helius/dca_fill_without_owner.json")
    assert parse_swaps(lost, wallet=owner).dropped is DropReason.keeper_fill_without_owner


RELAYER = "24z4v1c9K1qoRUyaJQbG5q5VCGYSkMuwTQhsQbsta4wm"
CAROL = "YhhCTr8SyXpv2MNGWWFLpnKNyGeyYuVAWs7RgurPSHY"


def test_relayer_fee_in_the_input_token_is_not_a_trade_of_the_relayer() -> None:
    tx = one("shaped/helius/relayer_fee_in_input_token_sell.json")
    # The relayer got 1 500 MEME from Carol and fronted the rent of her wSOL account: with
    # Carol's proceeds, that looked like the relayer buying MEME with SOL.
    relayer_view = parse_swaps(tx, wallet=RELAYER)
    assert (relayer_view.swaps, relayer_view.dropped) == ([], DropReason.no_trade)
    (swap,) = parse_swaps(tx, wallet=CAROL).swaps
    # Her proceeds come from the pool only: the rent the relayer fronted is not SOL out.
    assert (swap.side, swap.sol_amount, swap.token_amount) == (SwapSide.sell, 0.61728394,
                                                               1_000_000.0)


def test_relayer_with_a_token_fee_is_not_mistaken_for_a_p2p_counterparty() -> None:
    """The fee payer buys MEME from one wallet directly (OTC): both flows are with that
    wallet and that wallet trades with nobody else, so the fee payer is the trader."""
    seller, buyer = CAROL, RELAYER
    tx = {
        "signature": "otc" + "1" * 85, "slot": 1, "timestamp": 1_700_000_000,
        "feePayer": buyer, "fee": 5000,
        "tokenTransfers": [{"fromUserAccount": seller, "toUserAccount": buyer, "mint": MEME,
                            "fromTokenAccount": "", "toTokenAccount": "", "tokenAmount": 10.0,
                            "tokenStandard": "Fungible"}],
        "nativeTransfers": [{"fromUserAccount": buyer, "toUserAccount": seller,
                             "amount": 250_000_000}],
    }
    parsed = parse_swaps(tx)
    assert parsed.basis is TraderBasis.fee_payer
    (swap,) = parsed.swaps
    assert (swap.wallet, swap.side, swap.sol_amount) == (buyer, SwapSide.buy, 0.25)


def _p2p_relayed(extra_native: int = 0) -> dict[str, Any]:
    a, b = CAROL, "kGVVPhth5uzRVW5bsCSoSqp9i755gfKyKn12TniwxoU"
    return {
        "signature": "rel" + "1" * 85, "slot": 1, "timestamp": 1_700_000_000,
        "feePayer": RELAYER, "fee": 5000, "events": {}, "accountData": [],
        "tokenTransfers": [{"fromUserAccount": a, "toUserAccount": b, "mint": MEME,
                            "tokenAmount": 10.0, "tokenStandard": "Fungible"}],
        "nativeTransfers": [{"fromUserAccount": b, "toUserAccount": a,
                             "amount": 250_000_000 + extra_native}],
    }


def test_two_wallets_trading_with_each_other_under_a_relayer_is_ambiguous() -> None:
    # Both are wallets and both are two-sided: which one's trade it is cannot be told.
    parsed = parse_swaps(_p2p_relayed())
    assert (parsed.swaps, parsed.dropped) == ([], DropReason.ambiguous_trader)
    # Asked from one side's history, the trade is that side's.
    (swap,) = parse_swaps(_p2p_relayed(), wallet=CAROL).swaps
    assert (swap.side, swap.sol_amount) == (SwapSide.sell, 0.25)


def test_two_tokens_against_one_shared_sol_flow_is_not_split() -> None:
    trader, pool = CAROL, "FhVo3mqL8PW5pH5U2CN4XE33DokiyZnUwuGpH2hmHLuM"
    tx = {
        "signature": "two" + "1" * 85, "slot": 1, "timestamp": 1_700_000_000,
        "feePayer": trader, "fee": 5000,
        "tokenTransfers": [
            {"fromUserAccount": pool, "toUserAccount": trader, "mint": MEME, "tokenAmount": 5.0},
            {"fromUserAccount": pool, "toUserAccount": trader, "mint": USDC, "tokenAmount": 7.0},
            {"fromUserAccount": trader, "toUserAccount": pool, "mint": SOL_MINT,
             "tokenAmount": 1.0},
        ],
    }
    parsed = parse_swaps(tx)
    assert (parsed.swaps, parsed.dropped, parsed.trader) == ([], DropReason.shared_sol_leg,
                                                             trader)


def test_enhanced_transaction_gives_the_parsed_models() -> None:
    tx = one("shaped/helius/relayer_fee_in_input_token_sell.json")
    parsed = EnhancedTransaction.from_raw(tx)
    assert parsed.parse_swaps() == parse_swaps(tx)
    assert parsed.swaps() == to_swaps(tx)
    assert parsed.parse_swaps(wallet=RELAYER).dropped is DropReason.no_trade
