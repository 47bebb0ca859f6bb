"""Helius enhanced transaction → plain SOL transfers (``FundingTransfer`` models).

A *plain* SOL transfer is a native transfer in a transaction that moved no token at all: a
wallet sending SOL to another. The native transfers of a swap (wrapping SOL, rent, tips,
platform fees) are not: a swap's SOL is not funding. Rules:

1. failed transactions, transactions that moved any token, and transactions without a slot
   or a time give none;
2. a transfer from an account to itself, of nothing, or with a missing end is not one;
3. ``into`` / ``out_of`` keep the transfers into / out of that address (both: between them).

Items that are not plain transfers are skipped, never guessed; a payload whose transfers are
not a list of objects, or whose addresses are not Solana addresses, raises
``PayloadShapeError`` naming the signature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from walltrack.errors import PayloadShapeError
from walltrack.models import LAMPORTS_PER_SOL, FundingTransfer

__all__ = ["sol_transfers"]


def sol_transfers(
    tx: Mapping[str, Any], *, into: str | None = None, out_of: str | None = None
) -> list[FundingTransfer]:
    """Plain SOL transfers of one enhanced transaction, optionally into / out of an address."""
    signature = tx.get("signature")
    slot, timestamp = tx.get("slot"), tx.get("timestamp")
    if (
        tx.get("transactionError") is not None
        or tx.get("tokenTransfers")
        or not isinstance(signature, str)
        or isinstance(slot, bool) or not isinstance(slot, int)
        or isinstance(timestamp, bool) or not isinstance(timestamp, int | float)
    ):
        return []
    natives = tx.get("nativeTransfers") or []
    if not isinstance(natives, list):
        raise PayloadShapeError("'nativeTransfers' must be a list", signature=signature)
    when: datetime | None = None
    found: list[FundingTransfer] = []
    for item in natives:
        if not isinstance(item, Mapping):
            raise PayloadShapeError("a nativeTransfers item must be an object",
                                    signature=signature)
        source, target = item.get("fromUserAccount"), item.get("toUserAccount")
        lamports = item.get("amount")
        if not isinstance(source, str) or not isinstance(target, str) or not source \
                or not target or source == target:
            continue
        if isinstance(lamports, bool) or not isinstance(lamports, int | float) \
                or not math.isfinite(lamports) or lamports <= 0:
            continue
        if (into and target != into) or (out_of and source != out_of):
            continue
        if when is None:
            try:
                when = datetime.fromtimestamp(timestamp, UTC)
            except (OverflowError, OSError, ValueError):
                raise PayloadShapeError("'timestamp' is not a time", signature=signature) from None
        try:
            found.append(FundingTransfer(
                signature=signature, slot=slot, timestamp=when, source=source,
                destination=target, sol_amount=lamports / LAMPORTS_PER_SOL))
        except ValidationError as exc:
            raise PayloadShapeError(
                f"unreadable native transfer ({exc.error_count()} problems: "
                f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']})",
                signature=signature) from None
    return found
