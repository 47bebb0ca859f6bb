"""What the live pipeline holds in memory and reloads on change notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from walltrack.intel.amplification import AmplificationIndex
from walltrack.live.recent_buys import RecentBuys
from walltrack.live.watchset import WatchSet
from walltrack.models import DynamicConfig, TokenView


class TokenLookup(Protocol):
    """Token market data and safety for scoring (``walltrack.live.token_data.TokenData``)."""

    async def view(self, mint: str) -> TokenView: ...


@dataclass
class LiveState:
    """Replaced attribute by attribute when the store says something changed."""

    config: DynamicConfig
    watch: WatchSet
    index: AmplificationIndex
    recent: RecentBuys
