"""Who is in the market: wallets, their archetypes, planted clusters, exchanges, tokens."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

from walltrack.errors import ValidationError
from walltrack.simulator import ids
from walltrack.simulator.params import SimParams
from walltrack.simulator.paths import DAY, FATE_PROBS, draw_shape

ARCHETYPES = (
    "retail",
    "informed",
    "insider",
    "fading",
    "sniper_bot",
    "lucky_retail",
    "funder",
    "exchange",
    # Appended (issue 13), so the earlier codes keep their values.
    "copy_bot",
    "bait",
    "tracker",
)
A = {name: code for code, name in enumerate(ARCHETYPES)}
ROLES = ("", "leader", "member", "funder")

# Venue → (Helius source, fee in bps, share of launches). "meteora_dbc" is a bonding curve
# Helius does not parse: its trades come typed TRANSFER / UNKNOWN.
VENUES = ("pump_amm", "raydium", "meteora_dbc", "orca", "meteora")
VENUE_SOURCE = ("PUMP_AMM", "RAYDIUM", "METEORA_DBC", "ORCA", "METEORA")
VENUE_FEE_BPS = np.array([25, 25, 100, 30, 20])
VENUE_PROBS = np.array([0.45, 0.25, 0.15, 0.07, 0.08])

_SYLLABLES = (
    "pe mo bo ki ra za lu fi do gi wo na te su mi ko ba ze yo pu chi ne ru da to la "
    "mu ka pi so vi xo"
).split()


@dataclass
class Tokens:
    mint: list[str]
    pool: list[str]
    creator: list[str]
    symbol: list[str]
    name: list[str]
    launch: np.ndarray  # seconds after start
    fate: np.ndarray  # index into FATES
    venue: np.ndarray  # index into VENUES
    decimals: np.ndarray
    sol0: np.ndarray  # initial SOL reserve, lamports
    token0: np.ndarray  # initial token reserve, raw units
    supply: np.ndarray  # raw units
    log_peak: np.ndarray
    t_peak: np.ndarray
    phase: np.ndarray
    hype: np.ndarray  # trade-count multiplier


@dataclass
class Wallets:
    address: list[str]
    archetype: np.ndarray  # index into ARCHETYPES
    cluster: np.ndarray  # -1 when none
    role: np.ndarray  # index into ROLES
    fade_day: np.ndarray  # -1 when none
    edge: np.ndarray  # informed edge in [0, 1]
    weight: np.ndarray  # how often a retail wallet trades (heavy tail)


def _names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    parts = rng.integers(0, len(_SYLLABLES), size=(n, 3))
    names = ["".join(_SYLLABLES[j] for j in row).capitalize() for row in parts.tolist()]
    symbols = [name[:5].upper() for name in names]
    return symbols, names


def make_tokens(p: SimParams, rng: np.random.Generator) -> Tokens:
    n = p.tokens
    horizon = p.days * DAY
    # Launches over the whole window but not in its last hours (nothing to observe).
    launch = np.sort(rng.uniform(0.0, max(horizon - 6 * 3600.0, 3600.0), n))
    fate = rng.choice(len(FATE_PROBS), size=n, p=FATE_PROBS)
    venue = rng.choice(len(VENUES), size=n, p=VENUE_PROBS)
    pump_like = (venue == 0) | (venue == 2)
    mints_pump = ids.addresses(rng, n, suffix="pump")
    mints_plain = ids.addresses(rng, n)
    mint = [
        a if is_pump else b
        for a, b, is_pump in zip(mints_pump, mints_plain, pump_like.tolist(), strict=True)
    ]
    decimals = np.where(pump_like | (rng.random(n) < 0.8), 6, 9)
    supply = (10**9) * (10 ** decimals.astype(np.int64))
    # Pump-style launch: 80 % of the supply in the pool against a thin SOL reserve.
    sol0 = (np.clip(rng.lognormal(np.log(28.0), 0.35, n), 10.0, 90.0) * 1e9).astype(np.int64)
    token0 = (supply // 10) * 8
    log_peak, t_peak = draw_shape(fate, rng)
    symbol, name = _names(rng, n)
    return Tokens(
        mint=mint,
        pool=ids.addresses(rng, n),
        creator=ids.addresses(rng, n),
        symbol=symbol,
        name=name,
        launch=launch,
        fate=fate,
        venue=venue,
        decimals=decimals,
        sol0=sol0,
        token0=token0,
        supply=supply,
        log_peak=log_peak,
        t_peak=t_peak,
        phase=rng.uniform(0, 2 * np.pi, n),
        hype=rng.lognormal(0.0, 0.6, n),
    )


def _exchange_addresses(rng: np.random.Generator, n_real: int) -> list[str]:
    path = resources.files("walltrack.reference").joinpath("cex_hot_wallets.csv")
    with path.open() as fh:
        rows = [r["address"] for r in csv.DictReader(fh) if r["confidence"] == "high"]
    rows.sort()
    pick = rng.choice(len(rows), size=min(n_real, len(rows)), replace=False)
    return [rows[i] for i in sorted(pick.tolist())]


def make_wallets(p: SimParams, rng: np.random.Generator) -> Wallets:
    w = p.wallets
    sizes = rng.integers(3, 9, size=p.clusters)  # 3–8 members
    n_cluster = int(sizes.sum()) + p.clusters  # + one funder each
    n_exchange = max(4, w // 1500)
    n_informed = max(3, int(w * 0.012))
    n_fading = max(2, int(w * 0.005))
    n_sniper = max(3, int(w * 0.004))
    n_lucky = max(3, int(w * 0.012))
    special = n_cluster + n_exchange + n_informed + n_fading + n_sniper + n_lucky
    if special > 0.2 * w:
        raise ValidationError(
            f"{w} wallets is too few for {p.clusters} clusters: retail must stay ≥ 80 %",
            hint=f"use at least {int(special / 0.2) + 1} wallets or fewer clusters",
        )
    archetype = np.full(w, A["retail"], dtype=np.int8)
    cluster = np.full(w, -1, dtype=np.int32)
    role = np.zeros(w, dtype=np.int8)
    fade_day = np.full(w, -1, dtype=np.int32)
    # Special wallets are spread over the index space, not stacked at the front.
    slots = rng.permutation(w)[:special]
    pos = 0

    def take(k: int) -> np.ndarray:
        nonlocal pos
        out = slots[pos : pos + k]
        pos += k
        return out

    exchanges = take(n_exchange)
    archetype[exchanges] = A["exchange"]
    for c, size in enumerate(sizes.tolist()):
        funder = take(1)
        archetype[funder] = A["funder"]
        cluster[funder] = c
        role[funder] = 3
        members = take(size)
        archetype[members] = A["insider"]
        cluster[members] = c
        role[members] = 2
        role[members[0]] = 1  # leader
    archetype[take(n_informed)] = A["informed"]
    fading = take(n_fading)
    archetype[fading] = A["fading"]
    fade_day[fading] = rng.integers(max(1, p.days // 4), max(2, (3 * p.days) // 4), n_fading)
    archetype[take(n_sniper)] = A["sniper_bot"]
    archetype[take(n_lucky)] = A["lucky_retail"]

    address = ids.addresses(rng, w)
    # A few real exchange hot wallets (those a reference list catches) and the rest
    # unknown ones (only the fan-out rule catches them).
    real = _exchange_addresses(rng, n_exchange // 2)
    for i, addr in zip(sorted(exchanges.tolist())[: len(real)], real, strict=True):
        address[i] = addr
    weight = rng.pareto(1.3, w) + 0.05
    return Wallets(
        address=address,
        archetype=archetype,
        cluster=cluster,
        role=role,
        fade_day=fade_day,
        edge=rng.uniform(0.35, 0.8, w),
        weight=weight,
    )
