"""Scheduled trades of the non-retail archetypes (what they *intend*; the pool decides
what they get). Retail flow is generated per token in ``flow``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from walltrack.simulator.params import SimParams
from walltrack.simulator.paths import DAY, HOUR
from walltrack.simulator.population import A, Tokens, Wallets

BUY, SELL = 0, 1
LAMPORTS = 1_000_000_000


@dataclass
class Intents:
    token: list[int] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    wallet: list[int] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    lamports: list[int] = field(default_factory=list)
    frac: list[float] = field(default_factory=list)

    def buy(self, tok: int, t: float, w: int, sol: float) -> None:
        self._add(tok, t, w, BUY, int(sol * LAMPORTS), 0.0)

    def sell(self, tok: int, t: float, w: int, frac: float) -> None:
        self._add(tok, t, w, SELL, 0, frac)

    def _add(self, tok: int, t: float, w: int, side: int, lam: int, frac: float) -> None:
        self.token.append(tok)
        self.t.append(t)
        self.wallet.append(w)
        self.side.append(side)
        self.lamports.append(lam)
        self.frac.append(frac)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "token": np.asarray(self.token, dtype=np.int32),
            "t": np.asarray(self.t, dtype=np.float64),
            "wallet": np.asarray(self.wallet, dtype=np.int32),
            "side": np.asarray(self.side, dtype=np.int8),
            "lamports": np.asarray(self.lamports, dtype=np.int64),
            "frac": np.asarray(self.frac, dtype=np.float64),
        }


def _pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    k = min(k, int((weights > 0).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    return rng.choice(weights.size, size=k, replace=False, p=weights / weights.sum())


def _informed_exit(
    it: Intents, tk: Tokens, j: int, w: int, entry: float, rng: np.random.Generator
) -> None:
    """Sell into strength when the token runs; cut the loss after a while otherwise."""
    launch, tp, fate = tk.launch[j], tk.t_peak[j], int(tk.fate[j])
    if fate == 0:
        first = max(entry + 120.0, launch + tp * rng.uniform(0.25, 0.6))
        it.sell(j, first, w, rng.uniform(0.4, 0.6))
        it.sell(j, max(first + 600.0, launch + tp * rng.uniform(0.7, 1.3)), w, 1.0)
    elif fate == 1:
        it.sell(j, max(entry + 90.0, launch + tp * rng.uniform(0.45, 1.15)), w, 1.0)
    else:
        it.sell(j, entry + rng.exponential(45 * 60.0) + 60.0, w, 1.0)


def build_intents(p: SimParams, tk: Tokens, wl: Wallets, rng: np.random.Generator) -> Intents:
    it = Intents()
    horizon = p.days * DAY
    n_tok = tk.launch.size
    usable = tk.launch < horizon - 0.5 * DAY
    fate = tk.fate
    arch = wl.archetype

    # Informed and fading: pick future runners more often than chance, enter early.
    for w in np.flatnonzero((arch == A["informed"]) | (arch == A["fading"])).tolist():
        edge = wl.edge[w]
        fade_t = wl.fade_day[w] * DAY if wl.fade_day[w] >= 0 else np.inf
        weights = np.where(fate == 0, 1 + 9 * edge, np.where(fate == 1, 1 + 3 * edge, 1.0))
        informed_w = np.where(usable & (tk.launch < fade_t), weights, 0.0)
        random_w = np.where(usable & (tk.launch >= fade_t), 1.0, 0.0)
        n_trades = max(3, rng.poisson(22 * p.days / 30))
        size = rng.lognormal(np.log(1.2), 0.6)
        share_before = min(1.0, (fade_t / horizon)) if np.isfinite(fade_t) else 1.0
        n_inf = round(n_trades * share_before)
        for j in _pick(rng, informed_w, n_inf).tolist():
            entry = tk.launch[j] + 20.0 + rng.exponential(12 * 60.0)
            it.buy(j, entry, w, size * rng.lognormal(0, 0.3))
            _informed_exit(it, tk, j, w, entry, rng)
        for j in _pick(rng, random_w, n_trades - n_inf).tolist():
            entry = tk.launch[j] + rng.exponential(3 * HOUR)
            it.buy(j, entry, w, size * rng.lognormal(0, 0.3))
            it.sell(j, entry + rng.exponential(2 * HOUR) + 60.0, w, 1.0)

    # Insider clusters: one token set per cluster; some clusters share tokens.
    n_clusters = int(wl.cluster.max()) + 1 if (wl.cluster >= 0).any() else 0
    token_sets: list[list[int]] = []
    cw = np.where(fate == 0, 4.0, np.where(fate == 1, 3.0, np.where(fate == 4, 0.4, 1.0)))
    cw = np.where(usable, cw, 0.0)
    per = max(3, min(10, round(3 + 5 * p.days / 30)))
    for _ in range(n_clusters):
        token_sets.append(_pick(rng, cw, int(rng.integers(3, per + 1))).tolist())
    for c in range(n_clusters):
        if n_clusters > 1 and rng.random() < 0.4:  # share ≥ 2 early tokens with another
            other = int(rng.integers(0, n_clusters - 1))
            other += other >= c
            extra = [j for j in token_sets[other] if j not in token_sets[c]][:2]
            token_sets[c].extend(extra)
    for c in range(n_clusters):
        members = np.flatnonzero((wl.cluster == c) & (arch == A["insider"]))
        leader = int(members[wl.role[members] == 1][0])
        others = [int(m) for m in members if m != leader]
        size = rng.lognormal(np.log(1.5), 0.5)
        for j in token_sets[c]:
            launch, tp, f = tk.launch[j], tk.t_peak[j], int(fate[j])
            t_lead = launch + rng.uniform(3.0, 90.0)
            if f == 0:
                exit_base = launch + tp * rng.uniform(0.35, 0.9)
            elif f == 1:
                exit_base = launch + tp * rng.uniform(0.6, 1.0)
            elif f == 3:
                exit_base = launch + tp * rng.uniform(0.5, 0.9)  # out before the rug
            else:
                exit_base = launch + rng.uniform(20 * 60, 3 * HOUR)
            it.buy(j, t_lead, leader, size * rng.lognormal(0, 0.3))
            it.sell(j, max(t_lead + 60, exit_base), leader, 1.0)
            for m in others:
                if rng.random() > 0.85:
                    continue
                # Within minutes of the leader; now and then a member is first.
                if rng.random() < 0.15:
                    t_m = max(launch + 1.0, t_lead - rng.uniform(10.0, 90.0))
                else:
                    t_m = t_lead + rng.uniform(15.0, 240.0)
                it.buy(j, t_m, m, size * rng.lognormal(0, 0.4))
                it.sell(j, max(t_m + 60, exit_base + rng.uniform(-120.0, 900.0)), m, 1.0)
        # Insiders also trade a little on their own, like anyone.
        for m in members.tolist():
            own = usable.astype(float)
            own[token_sets[c]] = 0.0  # solo trades stay off the cluster's tokens
            for j in _pick(rng, own, int(rng.integers(0, 4))).tolist():
                entry = tk.launch[j] + rng.exponential(4 * HOUR)
                it.buy(j, entry, m, rng.lognormal(np.log(0.4), 0.6))
                it.sell(j, entry + rng.exponential(3 * HOUR) + 60, m, 1.0)

    # Launch-slot snipers: most launches, first slots, out within minutes.
    for w in np.flatnonzero(arch == A["sniper_bot"]).tolist():
        q = rng.uniform(0.45, 0.9)
        size = rng.lognormal(np.log(1.6), 0.4)
        for j in np.flatnonzero(rng.random(n_tok) < q).tolist():
            t = tk.launch[j] + 0.4 * int(rng.integers(0, 3)) + rng.uniform(0.0, 0.39)
            it.buy(j, t, w, size * rng.lognormal(0, 0.25))
            it.sell(j, t + 2.0 + rng.exponential(50.0), w, 1.0)

    # Lucky retail: a handful of trades that happened to land on the way up.
    winners = np.where(usable & ((fate == 0) | (fate == 1)) & (tk.log_peak > np.log(4.0)), 1.0, 0.0)
    for w in np.flatnonzero(arch == A["lucky_retail"]).tolist():
        for j in _pick(rng, winners, int(rng.integers(2, 5))).tolist():
            tp, launch = tk.t_peak[j], tk.launch[j]
            it.buy(j, launch + tp * rng.uniform(0.08, 0.3), w, rng.lognormal(np.log(0.2), 0.6))
            it.sell(j, launch + tp * rng.uniform(0.8, 1.0), w, 1.0)
    return it
