"""One inbox item → its signals: parse → watched trader? → score every swap."""

from __future__ import annotations

import orjson

from walltrack.clients.helius_swaps import DropReason, parse_swaps
from walltrack.errors import PayloadShapeError
from walltrack.live.scoring.scorer import score_swap
from walltrack.live.state import LiveState, TokenLookup
from walltrack.models import InboxItem, Signal


async def signals_for(item: InboxItem, state: LiveState, tokens: TokenLookup) -> list[Signal]:
    """The signals of one stored transaction ([] when no watched wallet traded in it).

    Raises ``PayloadShapeError`` for a payload that cannot be read: the worker retries it a
    bounded number of times, then parks it with the error visible.
    """
    try:
        tx = orjson.loads(item.payload)
    except orjson.JSONDecodeError:
        raise PayloadShapeError("inbox payload is not valid JSON",
                                signature=item.signature) from None
    parsed = parse_swaps(tx)
    if parsed.dropped is DropReason.unreadable:
        raise PayloadShapeError(parsed.error or "unreadable transaction",
                                signature=item.signature)
    signals = []
    for swap in parsed.swaps:
        wallet = state.watch.get(swap.wallet)
        if wallet is None:
            continue
        signals.append(await score_swap(state, tokens, swap, wallet,
                                        observed_at=item.received_at, source=item.source))
    return signals
