"""Which "now" a research run uses: the wall clock, or the simulator's clock.

A simulated market lives in 2025 and shows only the history before its own clock, so age
windows and surveillance must be judged against that clock, never against the wall clock.
The simulator answers ``GET /sim/state`` (``sim_time`` = unix seconds); real APIs do not.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from walltrack.errors import ExternalAPIError
from walltrack.models import utcnow


async def simulator_now(base_url: str) -> datetime:
    """The simulator's clock at ``base_url``; a clear error when it is not a simulator."""
    url = base_url.rstrip("/") + "/sim/state"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            return datetime.fromtimestamp(float(response.json()["sim_time"]), UTC)
    except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        raise ExternalAPIError(
            f"no simulator clock at {base_url} ({type(exc).__name__})", api="simulator"
        ) from None


async def market_now(base_url: str, *, use_simulator: bool) -> datetime:
    return await simulator_now(base_url) if use_simulator else utcnow()
