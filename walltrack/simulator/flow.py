"""Run one token's market: crowd flow plus scheduled intents, swap by swap, through its pool.

This is the one sequential part of generation (each swap moves the price the next one
sees); everything around it is vectorised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walltrack.simulator.amm import out_for_in
from walltrack.simulator.paths import FATE_TRADES, activity_scale, target_log_multiple
from walltrack.simulator.population import VENUE_FEE_BPS, Tokens

RUG_KEEP = 2  # percent of each reserve left in the pool after liquidity is pulled


@dataclass
class TokenRun:
    t: np.ndarray
    wallet: np.ndarray
    side: np.ndarray
    lamports: np.ndarray
    raw: np.ndarray
    pool_sol: np.ndarray
    pool_token: np.ndarray
    wallet_token: np.ndarray
    first_buy: np.ndarray
    failed_t: np.ndarray
    failed_wallet: np.ndarray
    rug_t: float  # nan when no rug
    rug_sol: int
    rug_token: int


def run_token(
    j: int,
    tk: Tokens,
    horizon: float,
    activity: float,
    intents: dict[str, np.ndarray],
    retail_idx: np.ndarray,
    retail_p: np.ndarray,
    rng: np.random.Generator,
    rug_at: float = math.nan,
) -> TokenRun:
    fate = int(tk.fate[j])
    launch = float(tk.launch[j])
    fee_bps = int(VENUE_FEE_BPS[tk.venue[j]])
    n = int(rng.poisson(FATE_TRADES[fate] * tk.hype[j] * activity))
    u = rng.exponential(activity_scale(fate, float(tk.t_peak[j])), n) + rng.uniform(1.0, 8.0, n)
    rt = launch + u
    rt = np.sort(rt[rt < horizon])
    rug_t = launch + float(tk.t_peak[j]) if fate == 3 else math.inf
    if math.isfinite(rug_t) and not math.isnan(rug_at):
        rug_t = rug_at  # the crew waited for its copiers (walltrack.simulator.actors)
    if math.isfinite(rug_t):
        after = np.flatnonzero(rt >= rug_t)
        keep = int(rng.integers(5, 25))
        rt = np.concatenate([rt[rt < rug_t], rt[after[:keep]]])
    n = rt.size
    buyer = rng.choice(retail_idx, size=n, p=retail_p)
    size = (np.clip(rng.lognormal(np.log(0.22), 1.1, n), 0.01, 40.0) * 1e9).astype(np.int64)
    sell_frac = np.where(rng.random(n) < 0.55, 1.0, rng.uniform(0.25, 0.75, n))
    r_side = rng.random(n)
    r_holder = rng.random(n)
    fail = rng.random(n) < 0.03

    # Merge crowd events (kind 0) and intents (kind 1) in time order.
    it_t = intents["t"]
    keep_it = it_t < horizon
    all_t = np.concatenate([rt, it_t[keep_it]])
    kind = np.concatenate([np.zeros(n, np.int8), np.ones(int(keep_it.sum()), np.int8)])
    ref = np.concatenate([np.arange(n), np.flatnonzero(keep_it)])
    order = np.argsort(all_t, kind="stable")
    all_t, kind, ref = all_t[order], kind[order], ref[order]
    target = target_log_multiple(
        fate, float(tk.log_peak[j]), float(tk.t_peak[j]), float(tk.phase[j]), all_t - launch
    )
    it_w, it_side, it_lam, it_frac = (
        intents["wallet"],
        intents["side"],
        intents["lamports"],
        intents["frac"],
    )

    sol, tok = int(tk.sol0[j]), int(tk.token0[j])
    log_p0 = math.log(sol / tok)
    holders: list[int] = []
    where: dict[int, int] = {}
    holding: dict[int, int] = {}
    seen: set[int] = set()
    out_t: list[float] = []
    out_w: list[int] = []
    out_side: list[int] = []
    out_lam: list[int] = []
    out_raw: list[int] = []
    out_ps: list[int] = []
    out_pt: list[int] = []
    out_wt: list[int] = []
    out_first: list[bool] = []
    f_t: list[float] = []
    f_w: list[int] = []
    rugged = False
    rug_sol = rug_tok = 0

    def drop_holder(w: int) -> None:
        i = where.pop(w)
        last = holders.pop()
        if last != w:
            holders[i] = last
            where[last] = i

    for t, k, r, tgt in zip(
        all_t.tolist(), kind.tolist(), ref.tolist(), target.tolist(), strict=True
    ):
        if not rugged and t >= rug_t:
            rugged = True
            rug_sol, rug_tok = sol - sol * RUG_KEEP // 100, tok - tok * RUG_KEEP // 100
            sol, tok = sol * RUG_KEEP // 100, tok * RUG_KEEP // 100
        if k == 0:
            if fail[r]:
                f_t.append(t)
                f_w.append(int(buyer[r]))
                continue
            if rugged:
                is_buy = False
            elif not holders:
                is_buy = True
            else:
                gap = tgt - (math.log(sol / tok) - log_p0)
                is_buy = r_side[r] < 1.0 / (1.0 + math.exp(-3.0 * gap))
            if is_buy:
                w = int(buyer[r])
                lam = int(size[r])
            else:
                if not holders:
                    continue
                w = holders[int(r_holder[r] * len(holders))]
                frac = float(sell_frac[r])
        else:
            w = int(it_w[r])
            is_buy = it_side[r] == 0
            lam = int(it_lam[r])
            frac = float(it_frac[r])
        if is_buy:
            got = out_for_in(sol, tok, lam, fee_bps)
            if got <= 0:
                continue
            sol += lam
            tok -= got
            before = holding.get(w, 0)
            holding[w] = before + got
            if k == 0 and w not in where:
                where[w] = len(holders)
                holders.append(w)
            first = w not in seen
            seen.add(w)
            amount_raw, amount_lam = got, lam
        else:
            have = holding.get(w, 0)
            amount_raw = have if frac >= 0.999 else int(have * frac)
            if amount_raw <= 0:
                continue
            amount_lam = out_for_in(tok, sol, amount_raw, fee_bps)
            tok += amount_raw
            sol -= amount_lam
            holding[w] = have - amount_raw
            if holding[w] == 0 and w in where:
                drop_holder(w)
            first = False
        out_t.append(t)
        out_w.append(w)
        out_side.append(0 if is_buy else 1)
        out_lam.append(amount_lam)
        out_raw.append(amount_raw)
        out_ps.append(sol)
        out_pt.append(tok)
        out_wt.append(holding[w])
        out_first.append(first)
    return TokenRun(
        t=np.asarray(out_t),
        wallet=np.asarray(out_w, dtype=np.int32),
        side=np.asarray(out_side, dtype=np.int8),
        lamports=np.asarray(out_lam, dtype=np.int64),
        raw=np.asarray(out_raw, dtype=np.int64),
        pool_sol=np.asarray(out_ps, dtype=np.int64),
        pool_token=np.asarray(out_pt, dtype=np.int64),
        wallet_token=np.asarray(out_wt, dtype=np.int64),
        first_buy=np.asarray(out_first, dtype=bool),
        failed_t=np.asarray(f_t),
        failed_wallet=np.asarray(f_w, dtype=np.int32),
        rug_t=rug_t if rugged else math.nan,
        rug_sol=rug_sol,
        rug_token=rug_tok,
    )
