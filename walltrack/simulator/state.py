"""The server's view of a market: indexes, simulated clock, live pools and the ledger of
transactions sent to it. Nothing here knows about HTTP."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from walltrack.simulator import render
from walltrack.simulator.amm import out_for_in
from walltrack.simulator.flow import RUG_KEEP
from walltrack.simulator.market import SLOT0, SLOT_SECONDS, Market
from walltrack.simulator.paths import DAY

KIND_NAMES = ("swap", "failed", "transfer")


class SimClock:
    """Simulated seconds since the market start, running ``speed`` times wall time."""

    def __init__(self, start_t: float, speed: float) -> None:
        self._t0 = start_t
        self._m0 = time.monotonic()
        self.speed = speed
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t0 + (time.monotonic() - self._m0) * self.speed

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._t0 += seconds
        return self.now()

    def slot(self) -> int:
        return SLOT0 + math.floor(self.now() / SLOT_SECONDS)


@dataclass
class LiveTx:
    """A transaction sent to the simulator (a swap, or an airdrop)."""

    row: dict[str, Any]
    t: float
    seq: int
    addresses: tuple[str, ...]


@dataclass
class Ledger:
    lamports: dict[str, int] = field(default_factory=dict)
    tokens: dict[tuple[str, str], int] = field(default_factory=dict)
    txs: list[LiveTx] = field(default_factory=list)
    by_sig: dict[str, LiveTx] = field(default_factory=dict)
    by_addr: dict[str, list[LiveTx]] = field(default_factory=dict)

    def add(self, tx: LiveTx) -> None:
        self.txs.append(tx)
        self.by_sig[tx.row["signature"]] = tx
        for a in tx.addresses:
            self.by_addr.setdefault(a, []).append(tx)


class MarketState:
    def __init__(self, market: Market, speed: float, start_t: float | None) -> None:
        self.market = market
        p = market.params
        self.horizon = p.days * DAY
        self.sol_usd = p.sol_usd
        self.clock = SimClock(self.horizon * 0.8 if start_t is None else start_t, speed)
        self.lock = threading.RLock()
        self.ledger = Ledger()
        self.tokens = {r["mint"]: r for r in market.tokens.to_dicts()}
        self.pool_to_mint = {r["pool"]: m for m, r in self.tokens.items()}
        self.token_order = market.tokens["mint"].to_list()
        self._build_chain()
        self._build_pools()
        self._build_listings()
        truth = market.truth_tokens
        self.traits: dict[str, str] = (
            {m: t for m, t in zip(truth["mint"].to_list(), truth["safety_trait"].to_list(),
                                  strict=True) if t}
            if "safety_trait" in truth.columns else {})
        self.token_accounts: dict[str, tuple[str, str]] = {}  # seen holder accounts

    # ----- chain and address index -------------------------------------------------------
    def _build_chain(self) -> None:
        m = self.market
        mints_pool = m.tokens.select("mint", "pool")
        sw = m.swaps.with_row_index("row").join(mints_pool, on="mint", how="left")
        fa = m.failed.with_row_index("row").join(mints_pool, on="mint", how="left")
        tr = m.transfers.with_row_index("row")
        parts = [
            sw.select("seq", "t", pl.lit(0, pl.Int8).alias("kind"), "row"),
            fa.select("seq", "t", pl.lit(1, pl.Int8).alias("kind"), "row"),
            tr.select("seq", "t", pl.lit(2, pl.Int8).alias("kind"), "row"),
        ]
        chain = pl.concat(parts).sort("seq")
        self.chain_t = chain["t"].to_numpy()
        self.chain_kind = chain["kind"].to_numpy()
        self.chain_row = chain["row"].to_numpy()
        # Helius type per chain position, for the type filter.
        dbc = (sw["venue"] == "meteora_dbc").to_numpy()
        sw_type = np.where(dbc, np.where(sw["side"].to_numpy() == "buy", 1, 2), 0)
        types = np.zeros(chain.height, dtype=np.int8)  # 0 SWAP, 1 TRANSFER, 2 UNKNOWN
        types[self.chain_kind == 0] = sw_type[self.chain_row[self.chain_kind == 0]]
        types[self.chain_kind == 2] = 1
        self.chain_type = types
        pairs = pl.concat(
            [
                sw.select(pl.col("wallet").alias("a"), "seq"),
                sw.select(pl.col("mint").alias("a"), "seq"),
                sw.select(pl.col("pool").alias("a"), "seq"),
                fa.select(pl.col("wallet").alias("a"), "seq"),
                fa.select(pl.col("mint").alias("a"), "seq"),
                fa.select(pl.col("pool").alias("a"), "seq"),
                tr.select(pl.col("source").alias("a"), "seq"),
                tr.select(pl.col("destination").alias("a"), "seq"),
            ]
        ).sort(["a", "seq"])
        self.idx_seq = pairs["seq"].to_numpy()
        bounds = (
            pairs.with_row_index("i")
            .group_by("a")
            .agg(pl.col("i").min().alias("lo"), pl.col("i").max().alias("hi"))
        )
        self.addr_range = {
            a: (lo, hi + 1)
            for a, lo, hi in zip(
                bounds["a"].to_list(), bounds["lo"].to_list(), bounds["hi"].to_list(), strict=True
            )
        }
        sig = pl.concat(
            [
                sw.select("signature", "seq"),
                fa.select("signature", "seq"),
                tr.select("signature", "seq"),
            ]
        ).sort("signature")
        # Fixed-width bytes: a signature lookup is one numpy binary search (≈ µs).
        self.sig_sorted = np.array(sig["signature"].cast(pl.Binary).to_list(), dtype=np.bytes_)
        self.sig_seq = sig["seq"].to_numpy()
        self.swaps = sw
        self.failed = fa
        self.transfers = tr

    def seq_of(self, signature: str) -> int | None:
        key = signature.encode()
        if len(key) > self.sig_sorted.itemsize:  # numpy would compare a truncated key
            return None
        i = int(np.searchsorted(self.sig_sorted, key))
        if i < self.sig_sorted.size and self.sig_sorted[i] == key:
            return int(self.sig_seq[i])
        return None

    def visible_seq(self, now: float | None = None) -> int:
        """Chain positions below this are in the past."""
        return int(
            np.searchsorted(self.chain_t, self.clock.now() if now is None else now, side="right")
        )

    def row_at(self, seq: int) -> dict[str, Any]:
        return self.rows_at([seq])[0]

    def rows_at(self, seqs: list[int]) -> list[dict[str, Any]]:
        """Rows for chain positions, fetched one frame gather per kind (not row by row)."""
        kinds = self.chain_kind[seqs]
        rows = self.chain_row[seqs]
        out: list[dict[str, Any] | None] = [None] * len(seqs)
        for kind, frame in ((0, self.swaps), (1, self.failed), (2, self.transfers)):
            pos = np.flatnonzero(kinds == kind)
            if pos.size == 0:
                continue
            for i, r in zip(pos.tolist(), frame[rows[pos].tolist()].to_dicts(), strict=True):
                out[i] = self._transfer_row(r) if kind == 2 else self._swap_row(r, KIND_NAMES[kind])
        return [r for r in out if r is not None]

    def _transfer_row(self, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "transfer",
            "signature": r["signature"],
            "slot": r["slot"],
            "ts": int(r["timestamp"].timestamp()),
            "t": r["t"],
            "fee_lamports": r["fee_lamports"],
            "fee_payer": r["source"],
            "source_addr": r["source"],
            "destination": r["destination"],
            "lamports": r["lamports"],
            "payer_lamports_after": r["source_lamports_after"],
            "destination_lamports_after": r["destination_lamports_after"],
        }

    def _swap_row(self, r: dict[str, Any], kind: str) -> dict[str, Any]:
        tok = self.tokens[r["mint"]]
        out = dict(r)
        out.update(
            kind=kind,
            ts=int(r["timestamp"].timestamp()),
            pool=tok["pool"],
            decimals=tok["decimals"],
            fee_payer=r["wallet"],
            payer_lamports_after=r["wallet_lamports_after"],
        )
        return out

    # ----- history -------------------------------------------------------------------------
    def history_refs(
        self,
        address: str,
        *,
        limit: int,
        before: str | None = None,
        until: str | None = None,
        type_filter: str | None = None,
    ) -> list[int | dict[str, Any]]:
        """A history page as chain positions (generated rows) or rows (live ones)."""
        now = self.clock.now()
        top = self.visible_seq(now)
        lo_hi = self.addr_range.get(address)
        live = [tx for tx in self.ledger.by_addr.get(address, []) if tx.t <= now]
        before_key = self._key_of(before) if before else None
        until_key = self._key_of(until) if until else None
        type_code = {"SWAP": 0, "TRANSFER": 1, "UNKNOWN": 2}.get(type_filter or "", None)
        generated: list[int] = []
        if lo_hi is not None:
            seqs = self.idx_seq[lo_hi[0] : lo_hi[1]]
            end = int(np.searchsorted(seqs, top))
            if before_key is not None and before_key[1] >= 0:
                end = min(end, int(np.searchsorted(seqs, before_key[1])))
            elif before_key is not None:
                end = min(
                    end, int(np.searchsorted(self.chain_t[seqs], before_key[0], side="right"))
                )
            start = 0
            if until_key is not None and until_key[1] >= 0:
                start = int(np.searchsorted(seqs, until_key[1], side="right"))
            elif until_key is not None:
                start = int(np.searchsorted(self.chain_t[seqs], until_key[0], side="right"))
            window = seqs[start:end][::-1]
            if type_code is not None and type_filter != "ANY":
                window = window[self.chain_type[window] == type_code]
            generated = window[:limit].tolist()
        live_rows: list[tuple[tuple[float, int], dict[str, Any]]] = []
        for tx in live:
            key = (tx.t, tx.seq)
            if before_key is not None and key >= before_key:
                continue
            if until_key is not None and key <= until_key:
                continue
            if type_code is not None and render.helius_type(tx.row) != type_filter:
                continue
            live_rows.append((key, tx.row))
        if not live_rows:  # generated rows only: already newest first
            return list(generated)
        out: list[tuple[tuple[float, int], int | dict[str, Any]]] = [
            ((float(self.chain_t[s]), s), s) for s in generated
        ]
        out += live_rows
        out.sort(key=lambda item: item[0], reverse=True)
        return [ref for _, ref in out[:limit]]

    def history(self, address: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Rows involving ``address``, newest first, like Helius address history."""
        refs = self.history_refs(address, **kwargs)
        fetched = iter(self.rows_at([r for r in refs if isinstance(r, int)]))
        return [r if isinstance(r, dict) else next(fetched) for r in refs]

    def _key_of(self, signature: str) -> tuple[float, int] | None:
        seq = self.seq_of(signature)
        if seq is not None:
            return (float(self.chain_t[seq]), seq)
        tx = self.ledger.by_sig.get(signature)
        if tx is not None:
            return (tx.t, -1)
        return None

    def find_ref(self, signature: str) -> int | dict[str, Any] | None:
        """A visible transaction: its chain position (generated) or its row (live)."""
        seq = self.seq_of(signature)
        if seq is not None:
            return seq if seq < self.visible_seq() else None
        tx = self.ledger.by_sig.get(signature)
        return tx.row if tx is not None else None

    def find(self, signature: str) -> dict[str, Any] | None:
        ref = self.find_ref(signature)
        return self.row_at(ref) if isinstance(ref, int) else ref

    # ----- pools -----------------------------------------------------------------------------
    def _build_pools(self) -> None:
        sw = self.swaps.sort(["mint", "seq"])
        mints = sw["mint"].to_numpy()
        order = {m: i for i, m in enumerate(self.token_order)}
        codes = (
            np.array(
                [order[m] for m in mints[np.r_[0, np.flatnonzero(mints[1:] != mints[:-1]) + 1]]]
            )
            if sw.height
            else np.array([], int)
        )
        starts = (
            np.r_[0, np.flatnonzero(mints[1:] != mints[:-1]) + 1, sw.height]
            if sw.height
            else np.array([0])
        )
        t = sw["t"].to_numpy()
        ps = sw["pool_sol_after"].to_numpy()
        pt = sw["pool_token_after"].to_numpy()
        side = (sw["side"] == "buy").to_numpy()
        lam = sw["sol_lamports"].to_numpy()
        raw = sw["token_raw"].to_numpy()
        self.pool_series: dict[str, dict[str, np.ndarray]] = {}
        for k, code in enumerate(codes.tolist()):
            a, b = starts[k], starts[k + 1]
            self.pool_series[self.token_order[code]] = {
                "t": t[a:b],
                "sol": ps[a:b],
                "token": pt[a:b],
                "buy": side[a:b],
                "lamports": lam[a:b],
                "raw": raw[a:b],
                "vol_cum": np.cumsum(lam[a:b]),
                "buy_cum": np.cumsum(side[a:b]),
            }
        # Pools WallTrack traded on: replayed from the touch point with its trades included.
        self.overlay: dict[str, dict[str, Any]] = {}

    def _recorded_pool(self, mint: str, now: float) -> tuple[int, int]:
        tok = self.tokens[mint]
        s = self.pool_series.get(mint)
        i = int(np.searchsorted(s["t"], now, side="right")) if s is not None else 0
        if i == 0:
            sol, token, last_t = tok["pool_sol_initial"], tok["pool_token_initial"], tok["launch_t"]
        else:
            sol, token, last_t = int(s["sol"][i - 1]), int(s["token"][i - 1]), float(s["t"][i - 1])
        rug = tok["rug_t"]
        if not math.isnan(rug) and last_t < rug <= now:
            sol, token = sol * RUG_KEEP // 100, token * RUG_KEEP // 100
        return int(sol), int(token)

    def pool(self, mint: str, now: float | None = None) -> tuple[int, int]:
        """Reserves (lamports, raw tokens) at ``now``, WallTrack's own trades included."""
        now = self.clock.now() if now is None else now
        with self.lock:
            ov = self.overlay.get(mint)
            if ov is None:
                return self._recorded_pool(mint, now)
            self._replay(mint, ov, now)
            return ov["sol"], ov["token"]

    def _replay(self, mint: str, ov: dict[str, Any], now: float) -> None:
        """Apply the market's own swaps after the last replay point to the live reserves."""
        s = self.pool_series.get(mint)
        tok = self.tokens[mint]
        if s is None:
            return
        hi = int(np.searchsorted(s["t"], now, side="right"))
        fee = int(tok["fee_bps"])
        rug = tok["rug_t"]
        for i in range(ov["next"], hi):
            if not ov["rugged"] and not math.isnan(rug) and s["t"][i] >= rug:
                ov["sol"], ov["token"] = ov["sol"] * RUG_KEEP // 100, ov["token"] * RUG_KEEP // 100
                ov["rugged"] = True
            if s["buy"][i]:
                got = out_for_in(ov["sol"], ov["token"], int(s["lamports"][i]), fee)
                ov["sol"] += int(s["lamports"][i])
                ov["token"] -= got
            else:
                got = out_for_in(ov["token"], ov["sol"], int(s["raw"][i]), fee)
                ov["token"] += int(s["raw"][i])
                ov["sol"] -= got
        ov["next"] = max(ov["next"], hi)

    def touch(self, mint: str, now: float) -> dict[str, Any]:
        with self.lock:
            ov = self.overlay.get(mint)
            if ov is None:
                sol, token = self._recorded_pool(mint, now)
                s = self.pool_series.get(mint)
                nxt = int(np.searchsorted(s["t"], now, side="right")) if s is not None else 0
                rug = self.tokens[mint]["rug_t"]
                ov = {
                    "sol": sol,
                    "token": token,
                    "next": nxt,
                    "rugged": not math.isnan(rug) and rug <= now,
                }
                self.overlay[mint] = ov
            else:
                self._replay(mint, ov, now)
            return ov

    def price_sol(self, mint: str, now: float | None = None) -> float:
        sol, token = self.pool(mint, now)
        dec = self.tokens[mint]["decimals"]
        return (sol / 1e9) / (token / 10**dec) if token else 0.0

    def launched(self, now: float | None = None) -> list[str]:
        now = self.clock.now() if now is None else now
        return [m for m in self.token_order if self.tokens[m]["launch_t"] <= now]

    # ----- listings (boosts and profiles) -------------------------------------------------------
    def _build_listings(self) -> None:
        rng = np.random.default_rng(np.random.SeedSequence([self.market.params.seed, 20]))
        n = len(self.token_order)
        launch = self.market.tokens["launch_t"].to_numpy()
        self.profile_t = np.where(rng.random(n) < 0.6, launch + rng.uniform(120, 7200, n), np.inf)
        self.boost_t = np.where(rng.random(n) < 0.3, launch + rng.uniform(600, 6 * 3600, n), np.inf)
        self.boost_amount = rng.choice(
            [10, 30, 50, 100, 500], size=n, p=[0.35, 0.25, 0.2, 0.15, 0.05]
        )
        self.boost_total = self.boost_amount * rng.integers(1, 4, n)

    # ----- balances ---------------------------------------------------------------------------
    def lamports(self, address: str) -> int:
        now = self.clock.now()
        base = 0
        lo_hi = self.addr_range.get(address)
        if lo_hi is not None:
            seqs = self.idx_seq[lo_hi[0] : lo_hi[1]]
            end = int(np.searchsorted(seqs, self.visible_seq(now)))
            if end > 0:
                row = self.row_at(int(seqs[end - 1]))
                if row["kind"] == "transfer":
                    base = (
                        row["payer_lamports_after"]
                        if row["source_addr"] == address
                        else row["destination_lamports_after"]
                    )
                elif row.get("wallet") == address:
                    base = row["wallet_lamports_after"]
        return int(base) + self.ledger.lamports.get(address, 0)

    def token_holdings(self, owner: str) -> dict[str, int]:
        now = self.clock.now()
        out: dict[str, int] = {}
        lo_hi = self.addr_range.get(owner)
        if lo_hi is not None:
            seqs = self.idx_seq[lo_hi[0] : lo_hi[1]]
            seqs = seqs[: int(np.searchsorted(seqs, self.visible_seq(now)))]
            swap_seqs = seqs[self.chain_kind[seqs] == 0]
            rows = self.chain_row[swap_seqs]
            if rows.size:
                sub = self.swaps[rows.tolist()].select("mint", "wallet", "wallet_token_after")
                sub = sub.filter(pl.col("wallet") == owner)
                for mint, amount in zip(
                    sub["mint"].to_list(), sub["wallet_token_after"].to_list(), strict=True
                ):
                    out[mint] = amount
        for (o, mint), delta in self.ledger.tokens.items():
            if o == owner:
                out[mint] = out.get(mint, 0) + delta
        return {m: a for m, a in out.items() if a > 0}
