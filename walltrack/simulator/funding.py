"""SOL funding: every wallet gets the SOL it spends before it spends it.

Sources: exchange hot wallets (most wallets — the trap for a naive FUNDED_BY), peers, and
each cluster's funder shortly before its members trade. Amounts are derived from what each
wallet later needs, so no balance ever goes negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from walltrack.simulator.population import A, Wallets

TRANSFER_FEE = 5_000
EXCHANGE_FLOAT = 250_000 * 1_000_000_000  # lamports an exchange hot wallet starts with


@dataclass
class Transfers:
    t: np.ndarray
    source: np.ndarray  # wallet index
    destination: np.ndarray
    lamports: np.ndarray
    kind: np.ndarray  # 0 funding, 1 peer payment (noise)


def _need_and_first(
    wallet: np.ndarray, t: np.ndarray, delta: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per wallet: SOL needed up front so the running balance never dips below 0; first time."""
    df = pl.DataFrame({"w": wallet, "t": t, "d": delta}).sort(["w", "t"])
    agg = (
        df.with_columns(pl.col("d").cum_sum().over("w").alias("c"))
        .group_by("w")
        .agg(pl.col("c").min().alias("low"), pl.col("t").min().alias("first"))
    )
    need = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.nan)
    w = agg["w"].to_numpy()
    need[w] = np.maximum(0, -agg["low"].to_numpy())
    first[w] = agg["first"].to_numpy()
    return need, first


def fund(
    wl: Wallets,
    horizon: float,
    ev_wallet: np.ndarray,
    ev_t: np.ndarray,
    ev_delta: np.ndarray,
    rng: np.random.Generator,
) -> Transfers:
    n = wl.archetype.size
    arch = wl.archetype
    exchanges = np.flatnonzero(arch == A["exchange"])
    traders = np.flatnonzero(arch != A["exchange"])
    retail_like = np.flatnonzero((arch == A["retail"]) | (arch == A["lucky_retail"]))

    # Peer payments between ordinary wallets: noise in the transfer graph.
    n_noise = n // 2
    ns = rng.choice(retail_like, n_noise)
    nd = rng.choice(retail_like, n_noise)
    ok = ns != nd
    ns, nd = ns[ok], nd[ok]
    nt = rng.uniform(0.0, horizon, ns.size)
    nl = (np.clip(rng.lognormal(np.log(0.3), 1.0, ns.size), 0.001, 50.0) * 1e9).astype(np.int64)

    # Who funds whom.
    src = np.full(n, -1, dtype=np.int64)
    ex_w = 1.0 / np.arange(1, exchanges.size + 1) ** 0.8
    src[traders] = rng.choice(exchanges, traders.size, p=ex_w / ex_w.sum())
    peer_funded = retail_like[rng.random(retail_like.size) < 0.3]
    peer_pool = np.setdiff1d(retail_like, peer_funded)
    src[peer_funded] = rng.choice(peer_pool, peer_funded.size)
    insiders = np.flatnonzero(arch == A["insider"])
    funders = np.flatnonzero(arch == A["funder"])
    funder_of = np.full(int(wl.cluster.max()) + 2, -1, dtype=np.int64)
    funder_of[wl.cluster[funders]] = funders
    src[insiders] = funder_of[wl.cluster[insiders]]

    w_all = np.concatenate([ev_wallet, ns, nd])
    t_all = np.concatenate([ev_t, nt, nt])
    d_all = np.concatenate([ev_delta, -(nl + TRANSFER_FEE), nl])
    need, first = _need_and_first(w_all, t_all, d_all, n)
    idle = np.isnan(first)
    first[idle] = rng.uniform(0.0, horizon, int(idle.sum()))
    buffer = (np.clip(rng.lognormal(np.log(0.4), 1.0, n), 0.02, 200.0) * 1e9).astype(np.int64)

    # Stage 1: wallets funded by a peer or a cluster funder.
    stage1 = np.concatenate([peer_funded, insiders])
    delay1 = np.where(
        arch[stage1] == A["insider"],
        rng.uniform(5 * 60.0, 12 * 3600.0, stage1.size),
        rng.uniform(10 * 60.0, 2 * 86400.0, stage1.size),
    )
    t1 = first[stage1] - delay1
    amt1 = need[stage1] + buffer[stage1]

    # Stage 2: everyone funded by an exchange, now including what they paid out in stage 1.
    w_all = np.concatenate([w_all, src[stage1]])
    t_all = np.concatenate([t_all, t1])
    d_all = np.concatenate([d_all, -(amt1 + TRANSFER_FEE)])
    need, first2 = _need_and_first(w_all, t_all, d_all, n)
    first2 = np.where(np.isnan(first2), first, first2)
    stage2 = np.setdiff1d(np.flatnonzero(np.isin(src, exchanges)), stage1)
    t2 = first2[stage2] - rng.uniform(10 * 60.0, 3 * 86400.0, stage2.size)
    amt2 = need[stage2] + buffer[stage2]

    return Transfers(
        t=np.concatenate([t1, t2, nt]),
        source=np.concatenate([src[stage1], src[stage2], ns]).astype(np.int32),
        destination=np.concatenate([stage1, stage2, nd]).astype(np.int32),
        lamports=np.concatenate([amt1, amt2, nl]).astype(np.int64),
        kind=np.concatenate(
            [np.zeros(stage1.size + stage2.size, np.int8), np.ones(ns.size, np.int8)]
        ),
    )
