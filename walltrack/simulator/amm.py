"""Constant-product (x·y = k) pool math in exact integers (lamports, raw token units).

The fee is taken from the input and stays in the pool, so k never decreases; outputs are
floored, so a pool can never pay out more than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000


def out_for_in(reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int) -> int:
    """Output amount for an exact input (ExactIn)."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    eff = amount_in * (BPS - fee_bps)
    return (reserve_out * eff) // (reserve_in * BPS + eff)


def price_impact(reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int) -> float:
    """Fraction by which the execution price is worse than the spot price (fee excluded).

    Exact for x·y = k: impact = a / (x + a) with a the input after the fee — computed in
    real numbers, so it is monotone in size even where integer outputs round to dust.
    """
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0.0
    eff = amount_in * (BPS - fee_bps) / BPS
    return eff / (reserve_in + eff)


@dataclass
class Pool:
    """A SOL/token pool: ``sol`` lamports and ``token`` raw units."""

    sol: int
    token: int
    fee_bps: int = 25

    @property
    def k(self) -> int:
        return self.sol * self.token

    def price_lamports_per_raw(self) -> float:
        return self.sol / self.token if self.token else 0.0

    def quote_buy(self, lamports_in: int) -> int:
        return out_for_in(self.sol, self.token, lamports_in, self.fee_bps)

    def quote_sell(self, raw_in: int) -> int:
        return out_for_in(self.token, self.sol, raw_in, self.fee_bps)

    def buy(self, lamports_in: int) -> int:
        out = self.quote_buy(lamports_in)
        self.sol += lamports_in
        self.token -= out
        return out

    def sell(self, raw_in: int) -> int:
        out = self.quote_sell(raw_in)
        self.token += raw_in
        self.sol -= out
        return out
