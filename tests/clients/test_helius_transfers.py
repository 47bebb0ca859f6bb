"""Plain SOL transfers of enhanced transactions (``sol_transfers``), on the real fixtures."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from walltrack.clients.helius import EnhancedTransaction, sol_transfers
from walltrack.errors import PayloadShapeError
from walltrack.models import FundingTransfer

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
FCHTRY = "FCHTRYx6npkQCogtpZtEFLJeevAFGbDHhJyvqvT6F4kX"
HISTORY = "helius_api/address_history_50_mixed_types.json"


def load(relative: str) -> Any:
    data = json.loads((REAL / relative).read_text())
    return data[0] if isinstance(data, list) and len(data) == 1 else data


def by_signature(prefix: str) -> dict[str, Any]:
    return next(tx for tx in load(HISTORY) if tx["signature"].startswith(prefix))


def test_history_transfers_into_and_out_of_the_wallet() -> None:
    history = load(HISTORY)
    into = [t for tx in history for t in sol_transfers(tx, into=FCHTRY)]
    out = [t for tx in history for t in sol_transfers(tx, out_of=FCHTRY)]
    assert sorted((t.source[:6], t.sol_amount) for t in into) == [
        ("A77HEr", 1.5039865), ("AC5RDf", 0.33124145), ("Habp5b", 1e-07), ("fLiPgg", 1e-07)]
    assert sorted((t.destination[:6], t.sol_amount) for t in out) == [
        ("AYNCpE", 0.00203928), ("CNcD57", 0.015), ("DTXRn6", 0.001), ("DTXRn6", 0.471774822),
        ("HFqU5x", 0.001)]
    assert all(t.destination == FCHTRY for t in into)
    assert all(t.source == FCHTRY for t in out)


def test_transfer_model_carries_the_transaction() -> None:
    tx = by_signature("2k8dTYcK")
    (transfer,) = sol_transfers(tx, into=FCHTRY)
    assert transfer == FundingTransfer(
        signature=tx["signature"], slot=tx["slot"],
        timestamp=datetime.fromtimestamp(tx["timestamp"], UTC),
        source=tx["nativeTransfers"][0]["fromUserAccount"], destination=FCHTRY,
        sol_amount=1.5039865)
    # Both filters: only the transfers between the two.
    assert sol_transfers(tx, into=FCHTRY, out_of=transfer.source) == [transfer]
    assert sol_transfers(tx, into=FCHTRY, out_of=FCHTRY) == []


def test_one_transaction_paying_several_wallets_gives_each() -> None:
    tx = by_signature("3ZLCQQ6r")
    assert [t.destination[:6] for t in sol_transfers(tx)] == ["ctihJy", "FCHTRY"]


@pytest.mark.parametrize("path", [
    "helius_webhook/swap_pump_amm_sell_trimmed.json",  # a swap's SOL is not funding
    "helius_api/transfer_spl_token_success.json",  # a token moved
    "helius_api/transfer_sol_system_program_success.json",  # 0 SOL
    "helius_api/parse_failed_transfer_insufficient_funds_for_rent.json",  # failed
])
def test_no_plain_transfer(path: str) -> None:
    assert sol_transfers(load(path)) == []


def test_self_transfers_and_bad_items_are_skipped() -> None:
    tx = copy.deepcopy(by_signature("2k8dTYcK"))
    native = tx["nativeTransfers"][0]
    tx["nativeTransfers"] = [
        {**native, "toUserAccount": native["fromUserAccount"]},  # to itself
        {**native, "amount": "lots"},
        {**native, "amount": -5},
        {**native, "fromUserAccount": None},
        native,
    ]
    assert len(sol_transfers(tx)) == 1
    for key in ("slot", "timestamp"):
        assert sol_transfers({**tx, key: None}) == []


@pytest.mark.parametrize("broken", [
    {"nativeTransfers": "no"},
    {"nativeTransfers": [3]},
    {"nativeTransfers": [{"fromUserAccount": "not an address", "toUserAccount": FCHTRY,
                          "amount": 10}]},
])
def test_broken_shapes_are_typed_errors_naming_the_signature(broken: dict[str, Any]) -> None:
    tx = {**by_signature("2k8dTYcK"), **broken}
    with pytest.raises(PayloadShapeError) as info:
        sol_transfers(tx)
    assert info.value.signature == tx["signature"]


def test_enhanced_transaction_gives_the_same_models() -> None:
    tx = by_signature("k8ykGZYB")
    parsed = EnhancedTransaction.from_raw(tx)
    assert parsed.sol_transfers(into=FCHTRY) == sol_transfers(tx, into=FCHTRY)
    assert parsed.sol_transfers(out_of=FCHTRY) == []
