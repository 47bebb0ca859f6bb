"""The actors that make copy trading hard: copy bots, bait wallets, rugs that wait for copiers.

Everything here is drawn from a random stream of its own (``[seed, ACTOR_STREAM]``), after
the wallets and the other archetypes' intents exist, so no earlier draw moves: the other
archetypes keep their schedules (their realised prices do move, since every swap moves the
pool — which is the point). Parameters: ``SimParams.actors`` (``ActorParams``), documented
with their reasons in docs/simulator.md.

- **copy bots** follow a few informed/insider wallets (and, unknowingly, a few baits): each
  leader buy is copied with ``copy_follow_prob``, ``copy_delay_s`` seconds later, with a size
  that moves the pool; each leader sell is mirrored (same fraction) with the same lag.
- **bait wallets** buy early, let retail followers and their copy bots pile in, dump
  ``bait_dump_frac`` after ``bait_wait_s`` and sell the rest later.
- **rugs**: at the planned pull time a bait of the crew buys, its followers buy, and the
  liquidity goes ``rug_after_copy_s`` after the last of them, the bait selling just before:
  whoever bought early and left is fine, the copiers hold the empty bag.
- **tracker crowds**: wallets that buy on a "smart money" alert — an informed wallet's
  first buy of a token — ``tracker_lag_s`` later and flip within the quarter hour: the
  price a copier a minute late pays is the crowd's, and it falls back as they leave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walltrack.errors import ValidationError
from walltrack.simulator.agents import BUY, LAMPORTS, SELL
from walltrack.simulator.params import SimParams
from walltrack.simulator.paths import DAY, FATES
from walltrack.simulator.population import A, Tokens, Wallets

ACTOR_STREAM = 0xAC7
TRACKER_STREAM = 0x7AC  # the tracker crowds' own stream: the other actors' draws stay put
RUG = FATES.index("rug")
# The bait sells this long before the pull: under the copiers' smallest lag, so no copier
# that mirrors it gets out.
CREW_LEAD_S = (0.2, 0.8)


def actor_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, ACTOR_STREAM]))


@dataclass
class Actors:
    copy_bots: np.ndarray  # wallet indices
    baits: np.ndarray
    follows: dict[int, np.ndarray]  # copy bot → the wallets it copies
    intents: dict[str, np.ndarray]  # the actors' intents (Intents.arrays() layout)
    rug_at: np.ndarray  # per token: the pull time (nan: as planned, or no rug)


def assign_actors(p: SimParams, wl: Wallets, rng: np.random.Generator) -> tuple[
    np.ndarray, np.ndarray
]:
    """Turn a few retail wallets into copy bots and baits (in place); retail stays ≥ 80 %."""
    a = p.actors
    w = p.wallets
    if not a.enabled:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    n_copy = max(2, int(w * a.copy_bot_share)) if a.copy_bot_share > 0 else 0
    n_bait = max(2, int(w * a.bait_share)) if a.bait_share > 0 else 0
    retail = np.flatnonzero(wl.archetype == A["retail"])
    if retail.size - n_copy - n_bait < 0.8 * w:
        raise ValidationError(
            f"{w} wallets is too few for {n_copy} copy bots and {n_bait} baits: "
            "retail must stay ≥ 80 %", hint="lower the actor shares or add wallets")
    picked = rng.choice(retail, n_copy + n_bait, replace=False)
    copy_bots, baits = np.sort(picked[:n_copy]), np.sort(picked[n_copy:])
    wl.archetype[copy_bots] = A["copy_bot"]
    wl.archetype[baits] = A["bait"]
    return copy_bots, baits


def tracker_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, TRACKER_STREAM]))


def assign_trackers(p: SimParams, wl: Wallets, rng: np.random.Generator) -> np.ndarray:
    """Turn retail wallets into trackers (in place), after the other actors."""
    a = p.actors
    if not a.enabled or a.tracker_share <= 0 or a.tracker_followers <= 0:
        return np.empty(0, np.int64)
    retail = np.flatnonzero(wl.archetype == A["retail"])
    n = max(2, int(p.wallets * a.tracker_share))
    if retail.size - n < 0.8 * p.wallets * (1 - a.tracker_share):
        raise ValidationError(
            f"{p.wallets} wallets is too few for {n} trackers beside the other actors",
            hint="lower actors.tracker_share or add wallets")
    picked = np.sort(rng.choice(retail, n, replace=False))
    wl.archetype[picked] = A["tracker"]
    return picked


def plan_trackers(p: SimParams, wl: Wallets, trackers: np.ndarray,
                  base: dict[str, np.ndarray], n_tok: int,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The tracker crowds' intents: on each alert (an informed wallet's first buy of a
    token) Poisson(``tracker_followers``) trackers buy ``tracker_lag_s`` later and sell
    everything ``tracker_hold_s`` (exponential mean) + 60 s after their buy."""
    a = p.actors
    out = _Out()
    if trackers.size:
        buys = np.flatnonzero((wl.archetype[base["wallet"]] == A["informed"])
                              & (base["side"] == BUY))
        order = buys[np.lexsort((base["t"][buys], base["token"][buys],
                                 base["wallet"][buys]))]
        pair = base["wallet"][order].astype(np.int64) * n_tok + base["token"][order]
        alerts = order[np.r_[True, pair[1:] != pair[:-1]]] if order.size else order
        _crowd(out, rng, base["token"][alerts], base["t"][alerts], trackers,
               mean=a.tracker_followers, lag=a.tracker_lag_s, size_sol=a.tracker_size_sol,
               hold_s=a.tracker_hold_s)
    return out.arrays()


class _Out:
    """Column lists of intents, appended in bulk."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("token", "t", "wallet", "side", "lamports", "frac")}

    def add(self, token: np.ndarray, t: np.ndarray, wallet: np.ndarray | int, side: int,
            sol: np.ndarray | float = 0.0, frac: np.ndarray | float = 0.0) -> None:
        n = np.asarray(t).size
        self.cols["token"].append(np.broadcast_to(token, n).astype(np.int32))
        self.cols["t"].append(np.asarray(t, dtype=np.float64).reshape(n))
        self.cols["wallet"].append(np.broadcast_to(wallet, n).astype(np.int32))
        self.cols["side"].append(np.full(n, side, np.int8))
        lam = (np.broadcast_to(sol, n) * LAMPORTS).astype(np.int64)
        self.cols["lamports"].append(np.where(side == BUY, lam, 0))
        self.cols["frac"].append(np.broadcast_to(frac, n).astype(np.float64))

    def arrays(self) -> dict[str, np.ndarray]:
        dtypes = {"token": np.int32, "t": np.float64, "wallet": np.int32, "side": np.int8,
                  "lamports": np.int64, "frac": np.float64}
        return {k: np.concatenate(v) if v else np.empty(0, dtypes[k])
                for k, v in self.cols.items()}


def _cat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}


def _followers(out: _Out, rng: np.random.Generator, p: SimParams, token: np.ndarray,
               t0: np.ndarray, retail: np.ndarray) -> np.ndarray:
    """Retail wallets that pile in after a bait buy; returns each episode's last buy time."""
    a = p.actors
    return _crowd(out, rng, token, t0, retail, mean=a.bait_followers,
                  lag=a.bait_follower_lag_s, size_sol=0.22, hold_s=3600.0)


def _crowd(out: _Out, rng: np.random.Generator, token: np.ndarray, t0: np.ndarray,
           retail: np.ndarray, *, mean: float, lag: tuple[float, float], size_sol: float,
           hold_s: float) -> np.ndarray:
    """Poisson(``mean``) retail wallets buy ``lag`` seconds after each episode's start and
    sell everything ``hold_s`` (exponential mean) + 60 s later; returns each episode's last
    buy time."""
    k = rng.poisson(mean, token.size)
    ep = np.repeat(np.arange(token.size), k)
    t = t0[ep] + rng.uniform(*lag, ep.size)
    who = rng.choice(retail, ep.size)
    size = np.clip(rng.lognormal(np.log(size_sol), 1.0, ep.size), 0.01, 10.0)
    out.add(token[ep], t, who, BUY, size)
    out.add(token[ep], t + rng.exponential(hold_s, ep.size) + 60.0, who, SELL, frac=1.0)
    last = t0.copy()
    np.maximum.at(last, ep, t)
    return last


def plan_actors(p: SimParams, tk: Tokens, wl: Wallets, copy_bots: np.ndarray,
                baits: np.ndarray, base: dict[str, np.ndarray],
                rng: np.random.Generator) -> Actors:
    a = p.actors
    n_tok = tk.launch.size
    horizon = p.days * DAY
    rug_at = np.full(n_tok, np.nan)
    if copy_bots.size == 0 and baits.size == 0:
        return Actors(copy_bots, baits, {}, _Out().arrays(), rug_at)
    arch = wl.archetype
    retail = np.flatnonzero(arch == A["retail"])
    good = np.flatnonzero((arch == A["informed"]) | (arch == A["insider"]))

    # Who each copy bot follows: a few good wallets, plus baits dealt round-robin so every
    # bait has followers (a bot cannot tell a bait from an early buyer at first sight).
    follows: dict[int, np.ndarray] = {}
    # The informed are the best known (their records are public): followed more often.
    good_w = np.where(arch[good] == A["informed"], a.copy_informed_weight, 1.0)
    good_w = good_w / good_w.sum()
    bait_order = rng.permutation(baits)
    for i, b in enumerate(copy_bots.tolist()):
        k = min(int(rng.integers(a.copy_leaders[0], a.copy_leaders[1] + 1)), good.size)
        mine = rng.choice(good, k, replace=False, p=good_w)
        if bait_order.size and a.copy_baits:
            idx = (i * a.copy_baits + np.arange(a.copy_baits)) % bait_order.size
            mine = np.concatenate([mine, bait_order[np.unique(idx)]])
        follows[b] = np.sort(mine)

    # Bait trades: early buys on tokens of any fate, a dump once the followers are in.
    out = _Out()
    usable = np.flatnonzero(tk.launch < horizon - 0.5 * DAY)
    for b in baits.tolist():
        n = min(max(3, int(rng.poisson(a.bait_tokens * p.days / 30))), usable.size)
        toks = np.sort(rng.choice(usable, n, replace=False))
        t0 = tk.launch[toks] + rng.uniform(*a.bait_entry_s, n)
        out.add(toks, t0, b, BUY, a.bait_size_sol * rng.lognormal(0.0, 0.4, n))
        last = _followers(out, rng, p, toks, t0, retail)
        dump = np.maximum(t0 + rng.uniform(*a.bait_wait_s, n), last + 5.0)
        out.add(toks, dump, b, SELL, frac=a.bait_dump_frac)
        out.add(toks, dump + rng.exponential(a.bait_rest_hold_s, n) + 60.0, b, SELL, frac=1.0)

    # Rug crews: at the planned pull time a bait buys; the pull waits for its followers.
    rugs = np.flatnonzero((tk.fate == RUG) & (tk.launch + tk.t_peak < horizon))
    crew = rng.choice(baits, rugs.size) if baits.size else np.empty(0, np.int64)
    planned = tk.launch[rugs] + tk.t_peak[rugs]
    rug_bait = _Out()
    if crew.size:
        rug_bait.add(rugs, planned, crew, BUY, a.bait_size_sol * rng.lognormal(0.0, 0.4,
                                                                                  rugs.size))
        last = _followers(out, rng, p, rugs, planned, retail)
    bait_events = _cat([out.arrays(), rug_bait.arrays()])

    # Copy bots: every leader buy copied with some probability, with a lag and a size that
    # moves the pool. The sells mirror the leader's, once the crews' sells exist (below).
    leaders = _cat([base, bait_events])
    c_tok, c_t, c_w, c_src, c_sol = [], [], [], [], []
    for b in copy_bots.tolist():
        buys = np.flatnonzero(np.isin(leaders["wallet"], follows[b]) & (leaders["side"] == BUY))
        buys = buys[rng.random(buys.size) < a.copy_follow_prob]
        size = a.copy_size_sol * rng.lognormal(0.0, 0.4)
        c_tok.append(leaders["token"][buys])
        c_t.append(leaders["t"][buys] + rng.uniform(*a.copy_delay_s, buys.size))
        c_w.append(np.full(buys.size, b))
        c_src.append(leaders["wallet"][buys])
        c_sol.append(size * rng.lognormal(0.0, 0.25, buys.size))
    cb_tok, cb_t, cb_w, cb_src, cb_sol = (
        np.concatenate(x) if x else np.empty(0) for x in (c_tok, c_t, c_w, c_src, c_sol))
    copies = _Out()
    copies.add(cb_tok, cb_t, cb_w, BUY, cb_sol)
    # A time stop: whatever the leader still holds, the bot is out after copy_hold_s.
    copies.add(cb_tok, cb_t + rng.uniform(*a.copy_hold_s, cb_t.size), cb_w, SELL, frac=1.0)

    if crew.size:
        # The pull: after the last follower (retail or copy bot) of the crew's buy; the crew
        # bait sells just before it.
        for i, (j, f) in enumerate(zip(rugs.tolist(), crew.tolist(), strict=True)):
            hit = (cb_src == f) & (cb_tok == j) & (cb_t >= planned[i])
            if hit.any():
                last[i] = max(last[i], float(cb_t[hit].max()))
        pull = last + rng.uniform(*a.rug_after_copy_s, rugs.size)
        rug_at[rugs] = pull
        rug_bait.add(rugs, pull - rng.uniform(*CREW_LEAD_S, rugs.size), crew, SELL, frac=1.0)

    leaders = _cat([base, out.arrays(), rug_bait.arrays()])
    key = leaders["wallet"].astype(np.int64) * n_tok + leaders["token"]
    for b in copy_bots.tolist():
        copied = np.unique(cb_src[cb_w == b].astype(np.int64) * n_tok + cb_tok[cb_w == b])
        sells = np.flatnonzero((leaders["side"] == SELL) & np.isin(key, copied))
        copies.add(leaders["token"][sells], leaders["t"][sells]
                   + rng.uniform(*a.copy_delay_s, sells.size), b, SELL,
                   frac=leaders["frac"][sells])

    intents = _cat([out.arrays(), rug_bait.arrays(), copies.arrays()])
    return Actors(copy_bots, baits, follows, intents, rug_at)
