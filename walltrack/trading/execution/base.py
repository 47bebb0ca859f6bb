"""The one interface both execution modes implement (docs/trading.md).

An order attempt is ``prepare`` (quote, build, sign: the signature is known, nothing has
left this process) → the engine stores the signature with ``submitted`` → ``send`` (the edge:
paper fills at the quote, live simulates and sends) → ``observe`` until the chain answers →
``fill`` (the amounts that really moved). Paper and live differ only inside these calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from walltrack.errors import ExecutionError
from walltrack.models import SwapSide, TradingMode
from walltrack.trading.orders import Observation

LAMPORTS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SwapRequest:
    """One attempt of an order, in raw units (lamports for a buy, token units for a sell)."""

    key: str  # the order's idempotency key + attempt number
    mint: str
    side: SwapSide
    amount_in: int
    slippage_bps: int
    decimals: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """A signed (live) or priced (paper) attempt, ready to send."""

    signature: str
    request: SwapRequest
    quoted_out: int  # raw units of the output side
    price_impact_pct: float
    platform_fee_bps: int
    priority_fee_lamports: int
    last_valid_block_height: int | None = None
    transaction: str | None = field(default=None, repr=False)  # signed, base64 (live)
    quote: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Fill:
    """What moved: the swap's SOL and tokens (raw), and every fee in lamports."""

    signature: str
    side: SwapSide
    sol_lamports: int  # SOL of the swap itself
    token_raw: int
    network_fee_lamports: int
    priority_fee_lamports: int
    platform_fee_lamports: int = 0  # already inside the output (information only)
    rent_lamports: int = 0
    quoted_out: int | None = None
    price_impact_pct: float = 0.0
    slot: int | None = None


class SendRejected(ExecutionError):
    """The attempt was refused before anything left for the chain (simulation failed, live
    not allowed): safe to retry after a fresh quote."""

    code = "send_rejected"


class Executor(Protocol):
    @property
    def mode(self) -> TradingMode: ...

    async def prepare(self, request: SwapRequest) -> Prepared: ...

    async def send(self, prepared: Prepared) -> None: ...

    async def observe(self, signature: str, last_valid_block_height: int | None) -> Observation:
        ...

    async def fill(self, signature: str, request: SwapRequest) -> Fill | None:
        """The amounts that moved; None when the landed transaction failed."""
        ...

    async def aclose(self) -> None: ...
