"""One way to ask an API about many things at once: bounded concurrency, progress, errors
counted — the shape every acquisition stage shares.

``fetch`` runs at most ``concurrency`` at a time; an ``ExternalAPIError`` is logged as
``<event>_failed`` and counted (the item is skipped, never the whole run); ``handle`` then
processes each result outside the concurrency gate, so slow parsing never holds an API
slot. Progress is reported after every fetch.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from walltrack.errors import ExternalAPIError
from walltrack.logging import get_logger
from walltrack.progress import Progress, no_progress

log = get_logger(__name__)

T = TypeVar("T", bound=Hashable)
R = TypeVar("R")


@dataclass
class FanOut(Generic[T]):
    """What a fan-out did: how many items were fetched, and the failures by item."""

    done: int = 0
    failed: dict[T, str] = field(default_factory=dict)


async def fan_out(
    items: Sequence[T],
    fetch: Callable[[T], Awaitable[R]],
    handle: Callable[[T, R], Awaitable[None] | None],
    *,
    concurrency: int,
    stage: str,
    event: str,
    progress: Progress | None = None,
) -> FanOut[T]:
    """Fetch every item (``concurrency`` in flight), then ``handle(item, result)``."""
    progress = progress or no_progress
    gate = asyncio.Semaphore(concurrency)
    outcome: FanOut[T] = FanOut()
    total = len(items)

    async def one(item: T) -> None:
        async with gate:
            try:
                result = await fetch(item)
            except ExternalAPIError as exc:
                outcome.failed[item] = exc.message
                log.warning(f"{event}_failed", item=str(item), error=exc.message)
                return
            finally:
                outcome.done += 1
                progress(stage, outcome.done, total)
        handled = handle(item, result)
        if inspect.isawaitable(handled):
            await handled

    progress(stage, 0, total)
    await asyncio.gather(*(one(item) for item in items))
    return outcome
