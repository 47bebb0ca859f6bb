"""One inbox item → its signals: parse → watched trader? → score every swap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson

from walltrack.clients.helius_swaps import DropReason, parse_swaps
from walltrack.errors import PayloadShapeError
from walltrack.live.scoring.scorer import score_swap
from walltrack.live.state import LiveState, TokenLookup
from walltrack.models import InboxItem, Signal, SignalSource, Swap


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
    return await signals_for_swaps(parsed.swaps, state, tokens,
                                   observed_at=item.received_at, source=item.source)


async def signals_for_swaps(swaps: Iterable[Swap], state: LiveState, tokens: TokenLookup, *,
                            observed_at: datetime, source: SignalSource) -> list[Signal]:
    """The signals of parsed swaps seen at ``observed_at``: every swap of a watched wallet
    scored. The inbox's path after parsing, and the replay's whole path (its swaps come
    from a stored history instead of a payload)."""
    signals = []
    for swap in swaps:
        wallet = state.watch.get(swap.wallet)
        if wallet is None:
            continue
        signals.append(await score_swap(state, tokens, swap, wallet,
                                        observed_at=observed_at, source=source))
    return signals
