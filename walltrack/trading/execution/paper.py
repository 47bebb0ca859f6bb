"""Paper execution: the real quote (Jupiter's; the swap history's in a replay), then a fill
at the quoted output instead of a send.

Price impact and the platform fee are inside the quoted output; the network fee and the
priority fee of the configured order are charged as a live send would pay them. The
"chain" of a paper order is this object's memory: a paper attempt interrupted before its
fill can never land later, so after a restart it counts as expired and is re-quoted.
"""

from __future__ import annotations

from collections.abc import Callable

from walltrack.models import TradingMode
from walltrack.models.config import ExecutionConfig
from walltrack.trading.execution.base import Fill, Prepared, SwapRequest
from walltrack.trading.execution.quotes import Quoter
from walltrack.trading.orders import ChainState, Observation


class PaperExecutor:
    def __init__(self, quoter: Quoter, config: Callable[[], ExecutionConfig]) -> None:
        self._quoter = quoter
        self._config = config
        self._fills: dict[str, Fill] = {}

    @property
    def mode(self) -> TradingMode:
        return TradingMode.paper

    async def prepare(self, request: SwapRequest) -> Prepared:
        cfg = self._config()
        q = await self._quoter(request, cfg)
        return Prepared(signature=f"paper-{request.key}", request=request,
                        quoted_out=q.out_amount, price_impact_pct=q.price_impact_pct,
                        platform_fee_bps=q.platform_fee_bps,
                        priority_fee_lamports=cfg.priority_fee_lamports, quote=q.raw)

    async def send(self, prepared: Prepared) -> None:
        cfg = self._config()
        req = prepared.request
        buy = req.side.value == "buy"
        sol = req.amount_in if buy else prepared.quoted_out
        tokens = prepared.quoted_out if buy else req.amount_in
        self._fills[prepared.signature] = Fill(
            signature=prepared.signature, side=req.side, sol_lamports=sol, token_raw=tokens,
            network_fee_lamports=cfg.network_fee_lamports,
            priority_fee_lamports=prepared.priority_fee_lamports,
            platform_fee_lamports=sol * prepared.platform_fee_bps // 10_000,
            quoted_out=prepared.quoted_out, price_impact_pct=prepared.price_impact_pct)

    async def observe(self, signature: str, last_valid_block_height: int | None) -> Observation:
        if signature in self._fills:
            return Observation(chain=ChainState.succeeded)
        return Observation(chain=ChainState.not_found, blockhash_expired=True)

    async def fill(self, signature: str, request: SwapRequest) -> Fill | None:
        return self._fills.pop(signature, None)

    async def aclose(self) -> None:
        self._fills.clear()
