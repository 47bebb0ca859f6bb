"""A period of swaps as a replay reads it: per mint, in time order, with the pool's reserves
after each swap — the one index behind the replay's quotes, prices and token views.

Frames come from anywhere that has the swaps with their pools' reserves (a simulated
market's whole tape, or a real store's swaps joined with reserves); ``COLUMNS`` names what
is needed. Times are microseconds since the epoch (UTC) inside, datetimes outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from walltrack.errors import ExecutionError

COLUMNS = ("signature", "slot", "timestamp", "wallet", "mint", "side", "sol_amount",
           "token_amount", "pool_sol_after", "pool_token_after")
RESERVES = ("pool_sol_after", "pool_token_after")
TOKEN_COLUMNS = ("mint", "decimals", "supply_raw", "fee_bps")
LAMPORTS = 1_000_000_000


class NoHistoryPrice(ExecutionError):
    """No swap of the mint at or before the time asked: nothing to price it at."""

    code = "no_history_price"


def micros(at: datetime) -> int:
    return round(at.timestamp() * 1_000_000)


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


@dataclass(frozen=True, slots=True)
class MintTape:
    times: np.ndarray  # int64 µs, sorted
    pool_sol: np.ndarray  # raw lamports after each swap
    pool_token: np.ndarray  # raw token units after each swap
    sol_volume: np.ndarray  # cumulative SOL traded (UI), for rolling volumes

    def index_at(self, us: int) -> int:
        """The last swap at or before ``us`` (-1: none)."""
        return int(np.searchsorted(self.times, us, side="right")) - 1


@dataclass(frozen=True, slots=True)
class TokenFacts:
    decimals: int
    supply_raw: int
    fee_bps: int  # the pool's fee, taken from the input
    launched_at: datetime | None = None  # the pool's creation (optional column launch_time)
    pool: str | None = None  # the pool's address (optional column pool)


class SwapHistory:
    def __init__(self, swaps: pl.DataFrame, tokens: pl.DataFrame) -> None:
        missing = [c for c in COLUMNS if c not in swaps.columns]
        missing += [f"tokens.{c}" for c in TOKEN_COLUMNS if c not in tokens.columns]
        if missing:
            raise ExecutionError(f"the swap history lacks the columns {missing}",
                                 hint="replay from swaps with their pools' reserves and a "
                                 "tokens frame with decimals, supply and pool fee")
        unknown = swaps.filter(pl.any_horizontal(pl.col(c).is_null() for c in RESERVES))
        if unknown.height:
            raise ExecutionError(
                f"{unknown.height} swaps of the history have no pool reserves",
                hint="history quotes need every swap's pool_sol_after and pool_token_after")
        self.swaps = swaps.select(COLUMNS).sort("timestamp", "slot", "signature")
        for name, dtype in (("launch_time", pl.Datetime("us", "UTC")), ("pool", pl.String)):
            if name not in tokens.columns:
                tokens = tokens.with_columns(pl.lit(None, dtype).alias(name))
        self.tokens: dict[str, TokenFacts] = {
            m: TokenFacts(int(d), int(s), int(f), launched, pool)
            for m, d, s, f, launched, pool in
            tokens.select(*TOKEN_COLUMNS, "launch_time", "pool").iter_rows()}
        self._tapes: dict[str, MintTape] = {}
        for (mint,), part in self.swaps.group_by("mint", maintain_order=True):
            self._tapes[str(mint)] = MintTape(
                part["timestamp"].dt.epoch("us").to_numpy(),
                part["pool_sol_after"].to_numpy(), part["pool_token_after"].to_numpy(),
                np.cumsum(part["sol_amount"].to_numpy()))

    def tape(self, mint: str) -> MintTape | None:
        return self._tapes.get(mint)

    def facts(self, mint: str) -> TokenFacts:
        facts = self.tokens.get(mint)
        if facts is None:
            raise ExecutionError(f"the history's tokens frame has no row for {mint}",
                                 hint="give the replay the tokens of every swap it feeds")
        return facts

    def reserves_at(self, mint: str, at: datetime) -> tuple[int, int]:
        tape = self._tapes.get(mint)
        i = tape.index_at(micros(at)) if tape is not None else -1
        if tape is None or i < 0:
            raise NoHistoryPrice(f"no swap of {mint} at or before {at.isoformat()}",
                                 hint="the replay's history must cover the traded period")
        return int(tape.pool_sol[i]), int(tape.pool_token[i])

    def price_sol_at(self, mint: str, at: datetime) -> float | None:
        """The pool's spot price (SOL per whole token) as the last swap left it."""
        try:
            sol, token = self.reserves_at(mint, at)
        except NoHistoryPrice:
            return None
        if sol <= 0 or token <= 0:
            return None
        return (sol / LAMPORTS) / (token / 10 ** self.facts(mint).decimals)

    def volume_sol(self, mint: str, start: datetime, end: datetime) -> float:
        tape = self._tapes.get(mint)
        if tape is None:
            return 0.0
        hi, lo = tape.index_at(micros(end)), tape.index_at(micros(start))
        if hi < 0:
            return 0.0
        return float(tape.sol_volume[hi] - (tape.sol_volume[lo] if lo >= 0 else 0.0))

    def launched_at(self, mint: str) -> datetime | None:
        """The pool's creation: the tokens frame's launch_time, else the first swap."""
        facts = self.tokens.get(mint)
        if facts is not None and facts.launched_at is not None:
            return facts.launched_at
        return self.first_swap_at(mint)

    def first_swap_at(self, mint: str) -> datetime | None:
        tape = self._tapes.get(mint)
        return from_micros(int(tape.times[0])) if tape is not None and tape.times.size else None

    def between(self, start: datetime, end: datetime) -> pl.DataFrame:
        """The swaps in (start, end], in time order."""
        return self.swaps.filter((pl.col("timestamp") > start) & (pl.col("timestamp") <= end))
