"""The fan-out every acquisition stage shares: bounded, counted, never stopped by one error."""

from __future__ import annotations

import asyncio

from walltrack.errors import ExternalAPIError
from walltrack.intel.fanout import fan_out


async def test_fan_out_bounds_concurrency_counts_failures_and_reports_progress() -> None:
    in_flight, peak, handled, seen = 0, 0, {}, []

    async def fetch(item: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        if item % 5 == 0:
            raise ExternalAPIError(f"item {item} refused", api="test")
        return item * 10

    async def handle(item: int, result: int) -> None:
        handled[item] = result

    out = await fan_out(list(range(1, 21)), fetch, handle, concurrency=3, stage="items",
                        event="test_item", progress=lambda *a: seen.append(a))
    assert peak == 3
    assert out.done == 20 and out.failed == {i: f"[test] item {i} refused" for i in (5, 10, 15, 20)}
    assert handled == {i: i * 10 for i in range(1, 21) if i % 5}
    assert seen[0] == ("items", 0, 20) and seen[-1] == ("items", 20, 20) and len(seen) == 21
