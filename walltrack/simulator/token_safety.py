"""Planted token-safety traits and the RPC answers that reveal them.

Traits (at most one per token, ``truth_tokens.safety_trait``), drawn *after* the market is
generated from a stream of their own (``[seed, 0x5AFE]``), so no other random draw moves:

==================  ============================================================================
trait               what the APIs show
==================  ============================================================================
mint_authority      ``getAccountInfo``: ``mintAuthority`` = the creator (can still mint)
freeze_authority    ``freezeAuthority`` = the creator (can freeze holders)
concentrated        the creator's account holds 60 % of supply (``getTokenLargestAccounts``)
token2022_delegate  a Token-2022 mint with a ``permanentDelegate`` extension
one_way             Jupiter quotes a buy but answers ``COULD_NOT_FIND_ANY_ROUTE`` for any sell
==================  ============================================================================

Traits follow the token's fate — rugs and pump-and-dumps carry them far more often than
runners (``TRAIT_CHANCE``) — so a copier that ignores them is trapped more often. The
recorded history is not changed (earlier sellers of a one-way token did sell): the trait is
what the token shows *now*, as a honeypot does once its owner flips it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from walltrack.simulator.ids import derived_address

if TYPE_CHECKING:
    from walltrack.simulator.state import MarketState

TRAITS = ("mint_authority", "freeze_authority", "concentrated", "token2022_delegate", "one_way")
TRAIT_WEIGHTS = (0.2, 0.25, 0.25, 0.1, 0.2)
TRAIT_CHANCE = {"rug": 0.65, "pump_and_dump": 0.45, "dead_on_arrival": 0.30,
                "slow_bleed": 0.15, "runner": 0.05}
CONCENTRATED_SHARE = 0.60
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - a program id
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - a program id
U64_MAX = 18_446_744_073_709_551_615


def plant_traits(seed: int, fates: list[str]) -> list[str | None]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5AFE]))
    draws = rng.random(len(fates))
    kinds = rng.choice(len(TRAITS), size=len(fates), p=TRAIT_WEIGHTS)
    return [TRAITS[k] if d < TRAIT_CHANCE.get(f, 0.1) else None
            for d, k, f in zip(draws, kinds, fates, strict=True)]


def token_account(owner: str, mint: str) -> str:
    return derived_address("ata", owner, mint)


def mint_account(state: MarketState, mint: str) -> dict[str, Any] | None:
    tok = state.tokens.get(mint)
    if tok is None:
        return None
    trait = state.traits.get(mint)
    creator = tok["creator"]
    info: dict[str, Any] = {
        "decimals": int(tok["decimals"]),
        "freezeAuthority": creator if trait == "freeze_authority" else None,
        "isInitialized": True,
        "mintAuthority": creator if trait == "mint_authority" else None,
        "supply": str(int(tok["supply_raw"])),
    }
    program, name, space = TOKEN_PROGRAM, "spl-token", 82
    if trait == "token2022_delegate":
        program, name, space = TOKEN_2022_PROGRAM, "spl-token-2022", 202
        info["extensions"] = [{"extension": "permanentDelegate",
                               "state": {"delegate": creator}}]
    return {"data": {"parsed": {"info": info, "type": "mint"}, "program": name, "space": space},
            "executable": False, "lamports": 1_461_600, "owner": program,
            "rentEpoch": U64_MAX, "space": space}


def holders(state: MarketState, mint: str) -> list[tuple[str, str, int]]:
    """(token account, owner, raw amount) of the mint's holders now, largest first."""
    tok = state.tokens[mint]
    now = state.clock.now()
    sw = state.market.swaps
    balances = (
        sw.filter((pl.col("mint") == mint) & (pl.col("t") <= now))
        .group_by("wallet").agg(pl.col("wallet_token_after").sort_by("seq").last())
        .filter(pl.col("wallet_token_after") > 0)
    )
    found = [(w, int(a)) for w, a in balances.iter_rows()]
    for (owner, m), delta in state.ledger.tokens.items():
        if m == mint and delta:
            found.append((owner, delta))
    if tok["launch_t"] <= now:
        found.append((tok["pool"], state.pool(mint, now)[1]))
    if state.traits.get(mint) == "concentrated":
        found.append((tok["creator"], int(int(tok["supply_raw"]) * CONCENTRATED_SHARE)))
    merged: dict[str, int] = {}
    for owner, amount in found:
        merged[owner] = merged.get(owner, 0) + amount
    out = [(token_account(o, mint), o, a) for o, a in merged.items() if a > 0]
    out.sort(key=lambda x: -x[2])
    with state.lock:
        for account, owner, _amount in out[:20]:
            state.token_accounts[account] = (owner, mint)
    return out


def parsed_token_account(state: MarketState, address: str) -> dict[str, Any] | None:
    known = state.token_accounts.get(address)
    if known is None:
        return None
    owner, mint = known
    amount = next((a for acc, _o, a in holders(state, mint) if acc == address), 0)
    dec = int(state.tokens[mint]["decimals"])
    trait = state.traits.get(mint)
    program = TOKEN_2022_PROGRAM if trait == "token2022_delegate" else TOKEN_PROGRAM
    return {"data": {"parsed": {"info": {
                "isNative": False, "mint": mint, "owner": owner, "state": "initialized",
                "tokenAmount": {"amount": str(amount), "decimals": dec,
                                "uiAmount": amount / 10**dec,
                                "uiAmountString": str(amount / 10**dec)}},
                "type": "account"},
                     "program": "spl-token-2022" if program == TOKEN_2022_PROGRAM
                     else "spl-token", "space": 165},
            "executable": False, "lamports": 2_039_280, "owner": program,
            "rentEpoch": U64_MAX, "space": 165}
