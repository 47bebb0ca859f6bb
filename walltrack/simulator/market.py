"""generate_market: tokens, wallets, intents → per-token runs → swaps, transfers, truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from walltrack.logging import get_logger
from walltrack.simulator import ids
from walltrack.simulator.actors import (
    actor_rng,
    assign_actors,
    assign_trackers,
    plan_actors,
    plan_trackers,
    tracker_rng,
)
from walltrack.simulator.agents import build_intents
from walltrack.simulator.flow import TokenRun, run_token
from walltrack.simulator.funding import EXCHANGE_FLOAT, TRANSFER_FEE, fund
from walltrack.simulator.params import SimParams
from walltrack.simulator.paths import DAY, FATES
from walltrack.simulator.population import (
    ARCHETYPES,
    ROLES,
    VENUE_FEE_BPS,
    VENUE_SOURCE,
    VENUES,
    A,
    make_tokens,
    make_wallets,
)
from walltrack.simulator.token_safety import plant_traits

log = get_logger(__name__)

SLOT0 = 340_000_000
SLOT_SECONDS = 0.4
RENT_ATA = 2_039_280
BASE_FEE = 5_000
LAMPORTS = 1_000_000_000
FAILED_ERROR = '{"InstructionError":[2,{"Custom":30}]}'  # slippage exceeded on Raydium

FRAMES = ("swaps", "transfers", "failed", "tokens", "truth_wallets", "truth_tokens")


@dataclass
class Market:
    """A generated market: polars frames, all sorted by ``seq`` (global chain order)."""

    params: SimParams
    swaps: pl.DataFrame
    transfers: pl.DataFrame
    failed: pl.DataFrame
    tokens: pl.DataFrame
    truth_wallets: pl.DataFrame
    truth_tokens: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in FRAMES}

    def manifest(self) -> dict[str, object]:
        return {
            "generator": "walltrack.simulator",
            "params": json.loads(self.params.model_dump_json()),
            "rows": {name: frame.height for name, frame in self.frames().items()},
        }

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames().items():
            # No statistics-with-timestamps, fixed compression: identical bytes every time.
            frame.write_parquet(out / f"{name}.parquet", compression="zstd", statistics=False)
        (out / "manifest.json").write_text(
            json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n"
        )

    @classmethod
    def read(cls, out: Path) -> Market:
        manifest = json.loads((out / "manifest.json").read_text())
        frames = {name: pl.read_parquet(out / f"{name}.parquet") for name in FRAMES}
        return cls(params=SimParams(**manifest["params"]), **frames)


def _stage_rng(seed: int, stage: int) -> np.random.Generator:
    # One independent stream per stage: changing one stage never reshuffles another.
    return np.random.default_rng(np.random.SeedSequence([seed, stage]))


def _lognormal_int(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, n).astype(np.int64)


def generate_market(params: SimParams | None = None) -> Market:
    p = params or SimParams()
    horizon = p.days * DAY
    tk = make_tokens(p, _stage_rng(p.seed, 1))
    wl = make_wallets(p, _stage_rng(p.seed, 2))
    # Copy bots and baits: retail wallets turned into actors, from a stream of their own.
    a_rng = actor_rng(p.seed)
    copy_bots, baits = assign_actors(p, wl, a_rng)
    t_rng = tracker_rng(p.seed)
    trackers = assign_trackers(p, wl, t_rng)
    intents = build_intents(p, tk, wl, _stage_rng(p.seed, 3)).arrays()
    actors = plan_actors(p, tk, wl, copy_bots, baits, intents, a_rng)
    crowds = plan_trackers(p, wl, trackers, intents, p.tokens, t_rng)
    intents = {k: np.concatenate([v, actors.intents[k], crowds[k]])
               for k, v in intents.items()}
    n_w = wl.archetype.size

    retail_idx = np.flatnonzero(wl.archetype == A["retail"])
    retail_p = wl.weight[retail_idx] / wl.weight[retail_idx].sum()
    order = np.argsort(intents["token"], kind="stable")
    bounds = np.searchsorted(intents["token"][order], np.arange(p.tokens + 1))

    def run(j: int, drop: np.ndarray | None = None) -> TokenRun:
        sel = order[bounds[j] : bounds[j + 1]]
        if drop is not None:
            sel = sel[~np.isin(intents["wallet"][sel], drop)]
        mine = {k: v[sel] for k, v in intents.items()}
        # One stream per token, so a token can be re-run alone with the same crowd.
        rng_j = _stage_rng(p.seed, 1000 + j)
        return run_token(j, tk, horizon, p.activity, mine, retail_idx, retail_p, rng_j,
                         float(actors.rug_at[j]))

    runs = [run(j) for j in range(p.tokens)]
    # Lucky retail must end up winning every trade it makes: re-run the tokens where
    # chance went against one of them without that wallet's trade.
    lucky = wl.archetype == A["lucky_retail"]
    for j, r in enumerate(runs):
        mask = lucky[r.wallet]
        if not mask.any():
            continue
        signed = np.where(r.side[mask] == 0, -r.lamports[mask], r.lamports[mask])
        w_l = r.wallet[mask]
        uniq, inv = np.unique(w_l, return_inverse=True)
        losers = uniq[np.bincount(inv, weights=signed) <= 0.01 * LAMPORTS]
        if losers.size:
            runs[j] = run(j, drop=losers)

    counts = np.array([r.t.size for r in runs])
    tok_of = np.repeat(np.arange(p.tokens), counts)
    cat = lambda name: np.concatenate([getattr(r, name) for r in runs])  # noqa: E731
    s_t, s_w, s_side = cat("t"), cat("wallet"), cat("side")
    s_lam, s_raw, s_first = cat("lamports"), cat("raw"), cat("first_buy")
    n_s = s_t.size

    # Fees, tips and routing depend on who trades: bots pay for speed.
    rng = _stage_rng(p.seed, 5)
    arch = wl.archetype[s_w]
    bot = arch == A["sniper_bot"]
    # Copy bots pay for speed as snipers do (their edge is seconds).
    fast = bot | (arch == A["copy_bot"])
    prio = np.where(
        fast, _lognormal_int(rng, 2_500_000, 0.6, n_s), _lognormal_int(rng, 40_000, 1.2, n_s)
    )
    fee = BASE_FEE + np.minimum(prio, 20_000_000)
    tip = np.where(
        fast,
        rng.integers(1_000_000, 8_000_000, n_s),
        np.where(rng.random(n_s) < 0.05, rng.integers(10_000, 100_000, n_s), 0),
    ).astype(np.int64)
    rent = np.where(s_first & (s_side == 0), RENT_ATA, 0).astype(np.int64)
    venue = tk.venue[tok_of]
    jup_share = np.where(fast, 0.0, np.where(arch == A["insider"], 0.1, 0.25))
    via_jup = (rng.random(n_s) < jup_share) & (venue != VENUES.index("meteora_dbc"))
    source = np.asarray(VENUE_SOURCE, dtype=object)[venue]
    source = np.where(via_jup, "JUPITER", source)
    dbc = venue == VENUES.index("meteora_dbc")
    # Helius does not parse the bonding curve: buys come as TRANSFER/SYSTEM_PROGRAM, sells
    # as UNKNOWN/UNKNOWN.
    source = np.where(dbc, np.where(s_side == 0, "SYSTEM_PROGRAM", "UNKNOWN"), source)
    s_delta = np.where(s_side == 0, -(s_lam + fee + rent + tip), s_lam - fee - tip)

    # Failed transactions: the crowd's, plus bots racing the launch slot.
    f_t = np.concatenate([r.failed_t for r in runs])
    f_w = np.concatenate([r.failed_wallet for r in runs])
    f_tok = np.repeat(np.arange(p.tokens), [r.failed_t.size for r in runs])
    bot_buys = np.flatnonzero(bot & (s_side == 0) & (rng.random(n_s) < 0.25))
    f_t = np.concatenate([f_t, s_t[bot_buys] + 0.05])
    f_w = np.concatenate([f_w, s_w[bot_buys]])
    f_tok = np.concatenate([f_tok, tok_of[bot_buys]])
    f_fee = BASE_FEE + np.where(
        wl.archetype[f_w] == A["sniper_bot"],
        _lognormal_int(rng, 1_500_000, 0.5, f_t.size),
        _lognormal_int(rng, 40_000, 1.2, f_t.size),
    )

    tr = fund(
        wl,
        horizon,
        np.concatenate([s_w, f_w]),
        np.concatenate([s_t, f_t]),
        np.concatenate([s_delta, -f_fee]),
        _stage_rng(p.seed, 6),
    )

    # Global chain order over every transaction kind, then running SOL balances.
    kinds = np.concatenate(
        [np.zeros(n_s, np.int8), np.ones(f_t.size, np.int8), np.full(tr.t.size, 2, np.int8)]
    )
    rows = np.concatenate([np.arange(n_s), np.arange(f_t.size), np.arange(tr.t.size)])
    all_t = np.concatenate([s_t, f_t, tr.t])
    chain = np.lexsort((rows, kinds, all_t))
    seq = np.empty(chain.size, dtype=np.int64)
    seq[chain] = np.arange(chain.size)
    s_seq, f_seq, t_seq = np.split(seq, [n_s, n_s + f_t.size])

    ev = pl.DataFrame(
        {
            "w": np.concatenate([s_w, f_w, tr.source, tr.destination]),
            "seq": np.concatenate([s_seq, f_seq, t_seq, t_seq]),
            "d": np.concatenate([s_delta, -f_fee, -(tr.lamports + TRANSFER_FEE), tr.lamports]),
            "slot_kind": np.concatenate(
                [
                    np.zeros(n_s, np.int8),
                    np.ones(f_t.size, np.int8),
                    np.full(tr.t.size, 2, np.int8),
                    np.full(tr.t.size, 3, np.int8),
                ]
            ),
            "row": np.concatenate(
                [np.arange(n_s), np.arange(f_t.size), np.arange(tr.t.size), np.arange(tr.t.size)]
            ),
        }
    )
    base = np.where(wl.archetype == A["exchange"], EXCHANGE_FLOAT, 0)
    ev = ev.with_columns(pl.Series("base", base[ev["w"].to_numpy()]))
    ev = ev.sort(["w", "seq", "slot_kind"]).with_columns(
        (pl.col("d").cum_sum().over("w") + pl.col("base")).alias("after")
    )
    after = {
        k: ev.filter(pl.col("slot_kind") == k).sort("row")["after"].to_numpy() for k in range(4)
    }
    if (ev["after"] < 0).any():
        log.warning("simulator_negative_balance", count=int((ev["after"] < 0).sum()))

    sigs_rng = _stage_rng(p.seed, 7)
    start = p.start

    def ts(t: np.ndarray) -> pl.Series:
        micros = (np.floor(t).astype(np.int64) + int(start.timestamp())) * 1_000_000
        return pl.Series(micros).cast(pl.Datetime("us", "UTC"))

    def slot(t: np.ndarray) -> np.ndarray:
        return SLOT0 + np.floor(t / SLOT_SECONDS).astype(np.int64)

    addr = np.asarray(wl.address, dtype=object)
    mint = np.asarray(tk.mint, dtype=object)
    dec = tk.decimals[tok_of]
    swaps = pl.DataFrame(
        {
            "signature": ids.signatures(sigs_rng, n_s),
            "slot": slot(s_t),
            "timestamp": ts(s_t),
            "wallet": addr[s_w],
            "mint": mint[tok_of],
            "side": np.where(s_side == 0, "buy", "sell"),
            "sol_amount": s_lam / LAMPORTS,
            "token_amount": s_raw / (10.0**dec),
            "source": source.astype(str),
            "fee_sol": fee / LAMPORTS,
            "venue": np.asarray(VENUES, dtype=object)[venue],
            "via_jupiter": via_jup,
            "sol_lamports": s_lam,
            "token_raw": s_raw,
            "decimals": dec.astype(np.int8),
            "fee_lamports": fee,
            "tip_lamports": tip,
            "rent_lamports": rent,
            "pool_sol_after": cat("pool_sol"),
            "pool_token_after": cat("pool_token"),
            "wallet_token_after": cat("wallet_token"),
            "wallet_lamports_after": after[0],
            "t": s_t,
            "seq": s_seq,
        }
    ).sort("seq")
    failed = pl.DataFrame(
        {
            "signature": ids.signatures(sigs_rng, f_t.size),
            "slot": slot(f_t),
            "timestamp": ts(f_t),
            "wallet": addr[f_w],
            "mint": mint[f_tok],
            "source": np.asarray(VENUE_SOURCE, dtype=object)[tk.venue[f_tok]].astype(str),
            "fee_sol": f_fee / LAMPORTS,
            "venue": np.asarray(VENUES, dtype=object)[tk.venue[f_tok]],
            "fee_lamports": f_fee,
            "error": np.full(f_t.size, FAILED_ERROR, dtype=object),
            "wallet_lamports_after": after[1],
            "t": f_t,
            "seq": f_seq,
        }
    ).sort("seq")
    transfers = pl.DataFrame(
        {
            "signature": ids.signatures(sigs_rng, tr.t.size),
            "slot": slot(tr.t),
            "timestamp": ts(tr.t),
            "source": addr[tr.source],
            "destination": addr[tr.destination],
            "sol_amount": tr.lamports / LAMPORTS,
            "lamports": tr.lamports,
            "fee_lamports": np.full(tr.t.size, TRANSFER_FEE, dtype=np.int64),
            "kind": np.where(tr.kind == 0, "funding", "payment"),
            "source_lamports_after": after[2],
            "destination_lamports_after": after[3],
            "t": tr.t,
            "seq": t_seq,
        }
    ).sort("seq")

    rug_t = np.array([r.rug_t for r in runs])
    launch_ts = ts(tk.launch)
    tokens = pl.DataFrame(
        {
            "mint": tk.mint,
            "symbol": tk.symbol,
            "name": tk.name,
            "decimals": tk.decimals.astype(np.int8),
            "supply_raw": tk.supply,
            "pool": tk.pool,
            "creator": tk.creator,
            "venue": np.asarray(VENUES, dtype=object)[tk.venue],
            "fee_bps": VENUE_FEE_BPS[tk.venue].astype(np.int16),
            "launch_time": launch_ts,
            "launch_slot": slot(tk.launch),
            "launch_t": tk.launch,
            "pool_sol_initial": tk.sol0,
            "pool_token_initial": tk.token0,
            "rug_t": rug_t,
            "rug_sol_removed": np.array([r.rug_sol for r in runs], dtype=np.int64),
            "rug_token_removed": np.array([r.rug_token for r in runs], dtype=np.int64),
            "swap_count": counts,
        }
    )
    truth_tokens = pl.DataFrame(
        {
            "mint": tk.mint,
            "fate": np.asarray(FATES, dtype=object)[tk.fate],
            "launch_time": launch_ts,
            "peak_time": ts(tk.launch + tk.t_peak),
            "target_peak_multiple": np.exp(tk.log_peak),
            "rug_time": pl.Series(
                [None if np.isnan(x) else start + timedelta(seconds=int(x)) for x in rug_t],
                dtype=pl.Datetime("us", "UTC"),
            ),
        }
    )
    truth_tokens = truth_tokens.with_columns(pl.Series(
        "safety_trait", plant_traits(p.seed, truth_tokens["fate"].to_list()), dtype=pl.String))
    truth_wallets = pl.DataFrame(
        {
            "wallet": wl.address,
            "archetype": np.asarray(ARCHETYPES, dtype=object)[wl.archetype],
            "cluster_id": pl.Series(
                np.where(wl.cluster >= 0, wl.cluster, None).tolist(), dtype=pl.Int32
            ),
            "role": pl.Series([ROLES[r] or None for r in wl.role.tolist()], dtype=pl.String),
            "fade_day": pl.Series(
                np.where(wl.fade_day >= 0, wl.fade_day, None).tolist(), dtype=pl.Int32
            ),
            "funded_by": pl.Series(_first_funder(transfers, n_w, addr), dtype=pl.String),
            # Copy bots: the wallets they copy (null for everyone else).
            "follows": pl.Series(
                [addr[actors.follows[i]].tolist() if i in actors.follows else None
                 for i in range(n_w)], dtype=pl.List(pl.String)),
        }
    )
    log.info(
        "simulator_generated",
        swaps=n_s,
        transfers=tr.t.size,
        failed=f_t.size,
        tokens=p.tokens,
        wallets=n_w,
    )
    return Market(p, swaps, transfers, failed, tokens, truth_wallets, truth_tokens)


def _first_funder(transfers: pl.DataFrame, n: int, addr: np.ndarray) -> list[str | None]:
    first = (
        transfers.filter(pl.col("kind") == "funding")
        .sort("seq")
        .group_by("destination", maintain_order=True)
        .agg(pl.col("source").first())
    )
    lookup = dict(zip(first["destination"].to_list(), first["source"].to_list(), strict=True))
    return [lookup.get(a) for a in addr.tolist()]
