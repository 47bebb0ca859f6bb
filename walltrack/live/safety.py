"""Token safety: pure checks over on-chain facts, holders, market and a round-trip quote.

Hard checks (each failure is named in the signal's ``failed_checks`` and makes the token
unsafe; thresholds in the ``config`` table, section ``safety``):

=====================  ===================================================================
check                  fails when (source)
=====================  ===================================================================
mint_authority         the mint can still mint (``getAccountInfo`` jsonParsed)
freeze_authority       the mint can still freeze holders' accounts (same)
token_extension        a forbidden Token-2022 extension: permanent delegate, transfer hook,
                       default frozen account state (same, ``info.extensions``)
transfer_fee           Token-2022 transfer fee above ``max_transfer_fee_bps`` (same)
holder_concentration   top-10 holders' share of supply above ``max_top10_share``, pool vaults
                       excluded (``getTokenLargestAccounts`` + ``getTokenSupply`` + owners
                       through ``getMultipleAccounts``)
liquidity              pool liquidity below ``min_liquidity_usd`` (DexScreener pair)
no_sell_route          a buy route but no route back to SOL (Jupiter quotes)
round_trip_loss        buying ``honeypot_probe_sol`` and selling it back loses more than
                       ``max_round_trip_loss`` (Jupiter quotes)
low_score              no hard failure, but the score below is under ``min_safety_score``
unknown                a source could not be read: never counted as safe
=====================  ===================================================================

Score in [0, 1] (unknown parts count 0):

    authority  = 1 both revoked, 0.5 one, 0 none
    holders    = clamp((0.8 − top-10 share) / 0.6)        1 at ≤ 20 %, 0 at ≥ 80 %
    liquidity  = log-scaled from min_liquidity_usd (0) to 100 × that (1)
    round_trip = clamp(1 − loss / (2 × max_round_trip_loss))
    extensions = 0 forbidden extension or fee above max, 0.5 other Token-2022, 1 plain SPL
    score = 0.25 authority + 0.25 holders + 0.20 liquidity + 0.20 round_trip + 0.10 extensions

Pool vaults: a large account is a pool's (and left out of the holders' share) when it or
its owner is the DexScreener pair address (PumpSwap, Meteora, Orca pools own their vaults)
or its owner is a known AMM authority (Raydium AMM v4, CPMM: ``POOL_AUTHORITIES``). Other
pools' vaults still count — the share is overstated, never understated. (An off-curve test
of the owner would catch every program-derived authority, but the simulator's wallet
addresses are random bytes, half of them off the curve; noted for the simulator.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walltrack.clients.mint_accounts import LargestAccount, MintInfo, TokenAccountInfo
from walltrack.live.scoring.factor import clamp, log_scale
from walltrack.models import SafetyCheck, TokenMarket, TokenSafety
from walltrack.models.config import SafetyConfig


@dataclass(frozen=True, slots=True)
class Holders:
    top10_share: float  # of supply, pool vaults excluded
    excluded: tuple[str, ...]  # token accounts left out as pools


@dataclass(frozen=True, slots=True)
class RoundTrip:
    probe_lamports: int
    tokens_out: int
    lamports_back: int | None  # None: no route back to SOL

    @property
    def loss(self) -> float | None:
        if self.lamports_back is None or self.probe_lamports <= 0:
            return None
        return max(0.0, 1.0 - self.lamports_back / self.probe_lamports)


# Vault authorities of AMMs whose pool account does not own its vaults (program-derived,
# the same for every pool of the program; as published in Raydium's SDK — verify when
# adding more).
POOL_AUTHORITIES = frozenset({
    "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",  # Raydium AMM v4
    "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL",  # Raydium CPMM
})


def holders_share(largest: list[LargestAccount], owners: dict[str, TokenAccountInfo],
                  supply: int, pools: set[str]) -> Holders | None:
    if supply <= 0:
        return None
    kept, excluded = [], []
    for acc in largest:
        info = owners.get(acc.address)
        owner = info.owner if info else None
        if acc.address in pools or (owner is not None
                                    and (owner in pools or owner in POOL_AUTHORITIES)):
            excluded.append(acc.address)
        else:
            kept.append(acc.amount)
    top = sorted(kept, reverse=True)[:10]
    return Holders(top10_share=sum(top) / supply, excluded=tuple(excluded))


def assess(mint: MintInfo | None, holders: Holders | None, market: TokenMarket | None,
           round_trip: RoundTrip | None, cfg: SafetyConfig) -> TokenSafety:
    failed: list[SafetyCheck] = []
    inputs: dict[str, Any] = {}
    authority = extensions = 0.0
    if mint is None:
        failed.append(SafetyCheck.unknown)
        inputs["mint"] = None
    else:
        inputs.update(mint_authority=mint.mint_authority, freeze_authority=mint.freeze_authority,
                      token_2022=mint.token_2022, extensions=[e.name for e in mint.extensions],
                      transfer_fee_bps=mint.transfer_fee_bps)
        if mint.mint_authority and cfg.require_mint_authority_revoked:
            failed.append(SafetyCheck.mint_authority)
        if mint.freeze_authority and cfg.require_freeze_authority_revoked:
            failed.append(SafetyCheck.freeze_authority)
        authority = (float(mint.mint_authority is None) + float(mint.freeze_authority is None)) / 2
        forbidden = [e.name for e in mint.extensions if e.name in cfg.forbidden_extensions
                     and (e.name != "defaultAccountState" or mint.default_frozen)]
        if forbidden:
            failed.append(SafetyCheck.token_extension)
            inputs["forbidden_extensions"] = forbidden
        fee_too_high = mint.transfer_fee_bps > cfg.max_transfer_fee_bps
        if fee_too_high:
            failed.append(SafetyCheck.transfer_fee)
        extensions = 0.0 if forbidden or fee_too_high else (0.5 if mint.token_2022 else 1.0)
    holders_part = 0.0
    if holders is None:
        inputs["top10_share"] = None
        if SafetyCheck.unknown not in failed:
            failed.append(SafetyCheck.unknown)
    else:
        inputs.update(top10_share=round(holders.top10_share, 4),
                      pool_accounts_excluded=len(holders.excluded))
        if holders.top10_share > cfg.max_top10_share:
            failed.append(SafetyCheck.holder_concentration)
        holders_part = clamp((0.8 - holders.top10_share) / 0.6)
    liquidity_part = 0.0
    liquidity = market.liquidity_usd if market else None
    inputs["liquidity_usd"] = liquidity
    if liquidity is None:
        if SafetyCheck.unknown not in failed:
            failed.append(SafetyCheck.unknown)
    else:
        if liquidity < cfg.min_liquidity_usd:
            failed.append(SafetyCheck.liquidity)
        liquidity_part = log_scale(liquidity, cfg.min_liquidity_usd, cfg.min_liquidity_usd * 100)
    trip_part = 0.0
    if round_trip is None:
        inputs["round_trip_loss"] = None
        if SafetyCheck.unknown not in failed:
            failed.append(SafetyCheck.unknown)
    elif round_trip.lamports_back is None:
        failed.append(SafetyCheck.no_sell_route)
        inputs["round_trip_loss"] = None
    else:
        loss = round_trip.loss or 0.0
        inputs["round_trip_loss"] = round(loss, 4)
        if loss > cfg.max_round_trip_loss:
            failed.append(SafetyCheck.round_trip_loss)
        trip_part = clamp(1 - loss / (2 * cfg.max_round_trip_loss))
    score = (0.25 * authority + 0.25 * holders_part + 0.20 * liquidity_part
             + 0.20 * trip_part + 0.10 * extensions)
    if not failed and score < cfg.min_safety_score:
        failed.append(SafetyCheck.low_score)
    return TokenSafety(score=round(score, 4), failed=failed, inputs=inputs)
