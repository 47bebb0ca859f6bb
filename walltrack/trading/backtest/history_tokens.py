"""The replay's token lookup: what scoring would have known of a token at the replay's clock.

Scoring asks ``view(mint)`` (``walltrack.live.state.TokenLookup``). Live, the market comes
from DexScreener and the honeypot probe from Jupiter, both as of now; in a replay "now" is
the simulated clock, so they come from the swap history instead: price, liquidity (both
sides of the pool), market cap, 24 h volume, the pool's age, and the round trip quoted on
the pool as it stood. The facts that do not move with the market — the mint's authorities
and extensions, whether any route sells the token back — and the holders (which a swap
tape cannot show: creators' allocations never trade) are asked of the live lookup as they
are now. The same ``assess`` judges both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from walltrack.clients.mint_accounts import MintInfo
from walltrack.live.safety import Holders, RoundTrip, assess
from walltrack.models import TokenMarket, TokenView
from walltrack.models.config import SafetyConfig
from walltrack.trading.backtest.history import LAMPORTS, NoHistoryPrice, SwapHistory
from walltrack.trading.backtest.history_quotes import constant_product_out


class StandingFacts(Protocol):
    """``walltrack.live.token_data.TokenData`` answers these."""

    async def mint_facts(self, mint: str) -> MintInfo | None: ...

    async def holders_now(self, mint: str, pools: set[str]) -> Holders | None: ...

    async def sell_route(self, mint: str) -> bool | None: ...


class HistoryTokens:
    def __init__(self, history: SwapHistory, facts: StandingFacts,
                 clock: Callable[[], datetime], config: Callable[[], SafetyConfig], *,
                 sol_usd: float) -> None:
        self._history = history
        self._facts = facts
        self._clock = clock
        self._config = config
        self._sol_usd = sol_usd

    def market_at(self, mint: str, at: datetime) -> TokenMarket | None:
        try:
            sol, _token = self._history.reserves_at(mint, at)
        except NoHistoryPrice:
            return None  # no pool yet: as DexScreener knowing no pair
        price = self._history.price_sol_at(mint, at)
        supply = self._history.facts(mint).supply_raw / 10 ** self._history.facts(mint).decimals
        usd = self._sol_usd
        return TokenMarket(
            pair_address=self._history.facts(mint).pool, dex_id="history",
            price_usd=price * usd if price else None, price_sol=price,
            liquidity_usd=2 * sol / LAMPORTS * usd,
            market_cap_usd=price * supply * usd if price else None,
            volume_24h_usd=self._history.volume_sol(mint, at - timedelta(hours=24), at) * usd,
            pair_created_at=self._history.launched_at(mint), fetched_at=at)

    def round_trip_at(self, mint: str, at: datetime, probe_sol: float,
                      sells: bool | None) -> RoundTrip | None:
        """Jupiter's probe (buy, then sell what it gave) quoted on the pool at ``at``."""
        if sells is None:
            return None
        try:
            sol, token = self._history.reserves_at(mint, at)
        except NoHistoryPrice:
            return None
        fee = self._history.facts(mint).fee_bps
        probe = int(probe_sol * LAMPORTS)
        tokens, _ = constant_product_out(probe, sol, token, fee)
        if tokens <= 0:
            return None
        back = constant_product_out(tokens, token, sol, fee)[0] if sells else None
        return RoundTrip(probe, tokens, back)

    async def view(self, mint: str) -> TokenView:
        cfg = self._config()
        at = self._clock()
        market = self.market_at(mint, at)
        pools = {market.pair_address} if market and market.pair_address else set()
        info = await self._facts.mint_facts(mint)
        holders = await self._facts.holders_now(mint, pools)
        sells = await self._facts.sell_route(mint)
        trip = self.round_trip_at(mint, at, cfg.honeypot_probe_sol, sells)
        return TokenView(mint=mint, market=market,
                         safety=assess(info, holders, market, trip, cfg))
