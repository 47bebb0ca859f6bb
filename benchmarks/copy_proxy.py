"""What copying the informed wallets would earn, straight from a generated market's frames.

    python benchmarks/copy_proxy.py [--seed 7] [--size 0.5] [--max-hold 3600]
                                    [--delays 0,2,5,15,60] [--archetype informed]
                                    [--first-per-mint] [--skip-unsafe]

For every buy of a wallet of ``--archetype`` (truth), a small copier buys ``--size`` SOL
against the pool as it stands ``delay`` seconds later (the reserves after the last swap at
or before that time — the leader's own swap included at delay 0 — constant product with the
pool fee, exactly as ``walltrack.simulator.amm``) and sells the same share of its tokens as
the leader sells, ``delay`` seconds after each of the leader's sells; whatever it still
holds ``--max-hold`` seconds after its buy is sold then. Each leg pays 0.000005 SOL network
fee + 0.0001 SOL priority fee. A rug between the last swap and a leg is applied (the pool
keeps RUG_KEEP % of each reserve). The copier's trades are not fed back into the pool (a
small copier), so this is a proxy: the team measures the real thing through the replay.
``--first-per-mint`` copies only the first buy of each token by any of the leaders (the
engine holds one position per mint); ``--skip-unsafe`` leaves out the tokens with a planted
safety trait (what the engine's safety checks refuse).

Prints one line per delay: trades, mean and median return per trade, share of winners.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import polars as pl

from walltrack.simulator import SimParams, generate_market
from walltrack.simulator.amm import out_for_in
from walltrack.simulator.flow import RUG_KEEP

LAMPORTS = 1_000_000_000
LEG_FEE = 5_000 + 100_000  # lamports: network fee + priority fee, each way


class Pools:
    """Per mint: swap times and reserves after each swap, the fee and the rug."""

    def __init__(self, swaps: pl.DataFrame, tokens: pl.DataFrame) -> None:
        self.t: dict[str, np.ndarray] = {}
        self.sol: dict[str, np.ndarray] = {}
        self.tok: dict[str, np.ndarray] = {}
        for (mint,), g in swaps.sort("seq").group_by(["mint"], maintain_order=True):
            self.t[mint] = g["t"].to_numpy()
            self.sol[mint] = g["pool_sol_after"].to_numpy()
            self.tok[mint] = g["pool_token_after"].to_numpy()
        self.fee = dict(zip(tokens["mint"], tokens["fee_bps"].cast(pl.Int64), strict=True))
        self.rug = dict(zip(tokens["mint"], tokens["rug_t"], strict=True))

    def at(self, mint: str, t: float) -> tuple[int, int]:
        i = int(np.searchsorted(self.t[mint], t, side="right")) - 1
        sol, tok = int(self.sol[mint][i]), int(self.tok[mint][i])
        rug = self.rug[mint]
        if not math.isnan(rug) and rug <= t and self.t[mint][i] < rug:
            sol, tok = sol * RUG_KEEP // 100, tok * RUG_KEEP // 100
        return sol, tok


def copy_returns(market_swaps: pl.DataFrame, tokens: pl.DataFrame, leaders: list[str],
                 delay: float, size_sol: float, max_hold: float, *,
                 first_per_mint: bool = False, skip: frozenset[str] = frozenset(),
                 ) -> np.ndarray:
    pools = Pools(market_swaps, tokens)
    mine = market_swaps.filter(pl.col("wallet").is_in(leaders)
                               & ~pl.col("mint").is_in(list(skip))).sort("seq")
    first = set(mine.filter(pl.col("side") == "buy").group_by("mint").agg(
        pl.col("seq").min())["seq"].to_list())
    out: list[float] = []
    for (_w, mint), g in mine.group_by(["wallet", "mint"], maintain_order=True):
        fee = pools.fee[mint]
        side, t = g["side"].to_list(), g["t"].to_list()
        raw, after = g["token_raw"].to_list(), g["wallet_token_after"].to_list()
        seq = g["seq"].to_list()
        for i in np.flatnonzero(np.array(side) == "buy").tolist():
            if first_per_mint and seq[i] not in first:
                continue
            t_in = t[i] + delay
            sol, tok = pools.at(mint, t_in)
            lam_in = int(size_sol * LAMPORTS)
            held = out_for_in(sol, tok, lam_in, fee)
            cost = lam_in + LEG_FEE
            got = 0
            stop = t[i] + max_hold
            for k in range(i + 1, len(side)):
                if side[k] == "buy":
                    continue
                if held <= 0 or t[k] + delay > stop:
                    break
                # Sell the share of its tokens the leader sold in this swap.
                share = raw[k] / (after[k] + raw[k]) if after[k] + raw[k] else 1.0
                q = held if share >= 0.999 else int(held * share)
                s_sol, s_tok = pools.at(mint, t[k] + delay)
                got += out_for_in(s_tok, s_sol, q, fee) - LEG_FEE
                held -= q
            if held > 0:
                s_sol, s_tok = pools.at(mint, max(stop, t_in))
                got += out_for_in(s_tok, s_sol, held, fee) - LEG_FEE
            out.append(got / cost - 1.0)
    return np.asarray(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", type=float, default=0.5)
    ap.add_argument("--max-hold", type=float, default=3600.0)
    ap.add_argument("--delays", default="0,2,5,15,60")
    ap.add_argument("--archetype", default="informed")
    ap.add_argument("--first-per-mint", action="store_true")
    ap.add_argument("--skip-unsafe", action="store_true")
    args = ap.parse_args(argv)
    market = generate_market(SimParams(seed=args.seed))
    leaders = market.truth_wallets.filter(pl.col("archetype") == args.archetype)["wallet"]
    unsafe = frozenset(market.truth_tokens.filter(pl.col("safety_trait").is_not_null())["mint"]
                       .to_list()) if args.skip_unsafe else frozenset()
    print(f"seed {args.seed}: copying {leaders.len()} {args.archetype} wallets, "
          f"{args.size} SOL a trade, max hold {args.max_hold:.0f} s"
          + (", first buy per token" if args.first_per_mint else "")
          + (f", {len(unsafe)} unsafe tokens skipped" if unsafe else ""))
    for d in (float(x) for x in args.delays.split(",")):
        r = copy_returns(market.swaps, market.tokens, leaders.to_list(), d, args.size,
                         args.max_hold, first_per_mint=args.first_per_mint, skip=unsafe)
        print(f"delay {d:>4.0f} s: trades {r.size}  mean {r.mean():+.4f}  "
              f"median {np.median(r):+.4f}  winners {(r > 0).mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
