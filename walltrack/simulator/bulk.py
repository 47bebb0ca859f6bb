"""Render many generated transactions at once, column-wise.

``render.py`` builds a transaction from its *shape* (venue, side, routing…) and its *leaves*
(the values that change from one transaction to the next). Here the same structure functions
are called once per shape with placeholders instead of leaves, which yields a JSON template
per shape; the leaves are computed for a whole frame with polars (this module mirrors
``render.swap_leaves``, ``failed_leaves`` and ``transfer_leaves``) and the templates filled
with ``concat_str``. The result parses to exactly what ``render.enhanced`` returns for the
same row (tests/simulator/test_bulk.py checks every shape).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

import numpy as np
import orjson
import polars as pl
from solders.pubkey import Pubkey

from walltrack.simulator import render
from walltrack.simulator.ids import derived_address
from walltrack.simulator.market import RENT_ATA

EXACT_INT = 2**53  # int64 values above this do not convert to a float exactly


class Leaf:
    """Where a leaf goes in a template."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Placeholders(Mapping[str, Leaf]):
    """Stands in for a row's leaves: every key is a placeholder."""

    def __getitem__(self, key: str) -> Leaf:
        return Leaf(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def template(obj: Any) -> list[str | Leaf]:
    """JSON of ``obj`` as literal text and leaves (adjacent literals merged)."""
    out: list[str | Leaf] = []

    def lit(text: str) -> None:
        if out and isinstance(out[-1], str):
            out[-1] += text
        else:
            out.append(text)

    def walk(x: Any) -> None:
        if isinstance(x, Leaf):
            out.append(x)
        elif isinstance(x, dict):
            lit("{")
            for i, (key, value) in enumerate(x.items()):
                lit(("," if i else "") + orjson.dumps(key).decode() + ":")
                walk(value)
            lit("}")
        elif isinstance(x, list):
            lit("[")
            for i, value in enumerate(x):
                if i:
                    lit(",")
                walk(value)
            lit("]")
        else:
            lit(orjson.dumps(x).decode())

    walk(obj)
    return out


def filler(obj: Any) -> pl.Expr:
    """An expression filling the template of ``obj`` (leaf columns hold JSON text)."""
    parts = template(obj)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else pl.col(p.name) for p in parts])


@cache
def _swap_filler(shape: render.SwapShape) -> pl.Expr:
    return filler(render.swap_tx(shape, Placeholders()))


@cache
def _failed_filler(venue: str) -> pl.Expr:
    return filler(render.failed_tx(venue, Placeholders()))


@cache
def _transfer_filler() -> pl.Expr:
    return filler(render.transfer_tx(Placeholders()))


def _fill(frame: pl.DataFrame, expr: pl.Expr) -> tuple[np.ndarray, pl.Series]:
    return frame["_seq"].to_numpy(), frame.select(expr.alias("json"))["json"]


# ----- leaves, column-wise --------------------------------------------------------------------


def derive_many(paths: Iterable[str]) -> list[str]:
    """``ids.derived_address`` for many '/'-joined paths, without its cache (all distinct)."""
    sha, from_bytes = hashlib.sha256, Pubkey.from_bytes
    return [str(from_bytes(sha(p.encode()).digest())) for p in paths]


def _text(name: str) -> pl.Expr:
    """A string column as a JSON string (callers guarantee nothing needs escaping)."""
    return pl.concat_str([pl.lit('"'), pl.col(name), pl.lit('"')])


def _num(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _quoted_num(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), expr.cast(pl.String), pl.lit('"')])


def _fmt9(values: Iterable[float]) -> pl.Series:
    """``render._fmt`` of every value (Python's own formatting: floats print as they do)."""
    return (
        pl.Series([f"{x:.9f}" for x in values], dtype=pl.String)
        .str.strip_chars_end("0")
        .str.strip_chars_end(".")
    )


def _sol(lamports: pl.Series) -> pl.Series:
    """``lamports / 1e9`` as Python computes it (the int converted to a float first)."""
    return pl.Series(lamports.to_numpy().astype(np.float64) / 1e9)


def _true_div(raw: pl.Series, decimals: pl.Series) -> pl.Series:
    """``raw / 10**decimals`` exactly as Python divides ints (correctly rounded)."""
    # numpy divides as IEEE does (polars may multiply by the reciprocal instead).
    r_all, d_all = raw.to_numpy(), decimals.to_numpy()
    out = r_all.astype(np.float64) / (10.0 ** d_all.astype(np.float64))
    big = np.flatnonzero(np.abs(r_all) >= EXACT_INT)
    if big.size:
        r, d = r_all[big].tolist(), d_all[big].tolist()
        out[big] = [a / 10**b for a, b in zip(r, d, strict=True)]
    return pl.Series(out)


def check_plain(frame: pl.DataFrame, columns: Iterable[str]) -> None:
    """Leaves are pasted into JSON as they are: refuse anything that would need escaping."""
    for name in columns:
        if frame[name].str.contains(r'["\\\x00-\x1f]').any():
            raise ValueError(f"column {name!r} holds characters that need JSON escaping")


def _pool_accounts(frame: pl.DataFrame) -> pl.DataFrame:
    """The accounts that depend only on the token: vaults, the vaults' owner, Jupiter's."""
    tokens = frame.select("mint", "pool", "venue").unique(maintain_order=True)
    rows = tokens.rows()
    owner = [
        render.RAYDIUM_AUTHORITY
        if venue == "raydium"
        else (derived_address("authority", pool) if venue == "meteora_dbc" else pool)
        for _mint, pool, venue in rows
    ]
    return tokens.select("mint").with_columns(
        vault_sol=pl.Series([derived_address("vault", p, render.SOL_MINT) for _, p, _ in rows]),
        vault_tok=pl.Series([derived_address("vault", p, m) for m, p, _ in rows]),
        jup_tok=pl.Series([derived_address("jupiter", m) for m, _, _ in rows]),
        owner=pl.Series(owner, dtype=pl.String),
    )


def _head(frame: pl.DataFrame, fee_payer: str) -> list[pl.Expr]:
    return [
        _text("signature").alias("signature"),
        _num(pl.col("slot")).alias("slot"),
        _num(pl.col("timestamp").dt.epoch("s")).alias("ts"),
        _num(pl.col("fee_lamports")).alias("fee"),
        _text(fee_payer).alias("fee_payer"),
    ]


def swap_leaves(frame: pl.DataFrame) -> pl.DataFrame:
    """``render.swap_leaves`` for every row of ``frame`` (state swaps: with ``pool``), as JSON
    text, plus the shape columns."""
    check_plain(frame, ("signature", "wallet", "mint", "pool", "source"))
    pairs = frame.select("wallet", "mint").unique()
    pairs = pairs.with_columns(
        ata=pl.Series(
            derive_many(
                pairs.select(pl.format("ata/{}/{}", "wallet", "mint")).to_series().to_list()
            ),
            dtype=pl.String,
        )
    )
    wsol = derive_many("wsol/" + s for s in frame["signature"].to_list())
    f = (
        frame.with_columns(wsol=pl.Series(wsol, dtype=pl.String))
        .join(pairs, on=["wallet", "mint"], how="left", maintain_order="left")
        .join(_pool_accounts(frame), on="mint", how="left", maintain_order="left")
    )
    buy = pl.col("side") == "buy"
    lam, raw = pl.col("sol_lamports"), pl.col("token_raw")
    fee, tip, rent = pl.col("fee_lamports"), pl.col("tip_lamports"), pl.col("rent_lamports")
    sol_ui = _sol(f["sol_lamports"])
    tok_ui = _true_div(f["token_raw"], f["decimals"])
    f = f.with_columns(sol_ui=sol_ui, tok_ui=tok_ui)
    sol_txt, tok_txt = _fmt9(sol_ui.to_list()), _fmt9(tok_ui.to_list())
    f = f.with_columns(sol_txt=sol_txt, tok_txt=tok_txt)
    dbc = pl.col("venue") == "meteora_dbc"
    pump_direct = (pl.col("venue") == "pump_amm") & ~pl.col("via_jupiter")
    description = (
        pl.when(dbc & buy)
        .then(pl.format("{} transferred {} SOL to {}.", "wallet", "sol_txt", "owner"))
        .when(dbc | pump_direct)
        .then(pl.lit(""))
        .when(buy)
        .then(pl.format("{} swapped {} SOL for {} {}", "wallet", "sol_txt", "tok_txt", "mint"))
        .otherwise(pl.format("{} swapped {} {} for {} SOL", "wallet", "tok_txt", "mint", "sol_txt"))
    )
    return f.select(
        *_head(f, "wallet"),
        _text("source").alias("source"),
        *(_text(c).alias(c) for c in ("wallet", "mint", "pool", "ata", "wsol", "owner")),
        *(_text(c).alias(c) for c in ("vault_sol", "vault_tok", "jup_tok")),
        pl.lit(orjson.dumps(derived_address("jupiter", render.SOL_MINT)).decode()).alias("jup_sol"),
        _num(pl.col("decimals")).alias("decimals"),
        _num(lam).alias("lam"),
        _num(-lam).alias("neg_lam"),
        _quoted_num(lam).alias("lam_text"),
        _quoted_num(-lam).alias("neg_lam_text"),
        _quoted_num(raw).alias("raw_text"),
        _quoted_num(-raw).alias("neg_raw_text"),
        _num(lam + RENT_ATA).alias("lam_plus_rent_ata"),
        _num(rent).alias("rent"),
        _num(tip).alias("tip"),
        _num(pl.when(buy).then(-(lam + rent)).otherwise(lam) - fee - tip).alias("wallet_change"),
        _num(pl.col("sol_ui")).alias("sol_ui"),
        _num(pl.col("tok_ui")).alias("tok_ui"),
        pl.concat_str([pl.lit('"'), description, pl.lit('"')]).alias("description"),
        pl.col("venue").alias("_venue"),
        buy.alias("_buy"),
        pl.col("via_jupiter").alias("_jup"),
        (rent != 0).alias("_rent"),
        (tip != 0).alias("_tip"),
        pl.col("seq").alias("_seq"),
    )


def failed_leaves(frame: pl.DataFrame) -> pl.DataFrame:
    check_plain(frame, ("signature", "wallet", "mint", "pool"))
    errors = {e: orjson.dumps(orjson.loads(e)).decode() for e in frame["error"].unique().to_list()}
    return frame.select(
        *_head(frame, "wallet"),
        *(_text(c).alias(c) for c in ("wallet", "pool", "mint")),
        _num(-pl.col("fee_lamports")).alias("neg_fee"),
        pl.col("error").replace_strict(errors, return_dtype=pl.String).alias("error"),
        pl.col("venue").alias("_venue"),
        pl.col("seq").alias("_seq"),
    )


def transfer_leaves(frame: pl.DataFrame) -> pl.DataFrame:
    check_plain(frame, ("signature", "source", "destination"))
    lam = pl.col("lamports")
    sol_ui = _sol(frame["lamports"])
    f = frame.with_columns(sol_txt=_fmt9(sol_ui.to_list()))
    description = pl.format("{} transferred {} SOL to {}.", "source", "sol_txt", "destination")
    return f.select(
        *_head(f, "source"),
        _text("source").alias("source_addr"),
        _text("destination").alias("destination"),
        _num(lam).alias("lamports"),
        _num(-(lam + pl.col("fee_lamports"))).alias("source_change"),
        pl.concat_str([pl.lit('"'), description, pl.lit('"')]).alias("description"),
        pl.col("seq").alias("_seq"),
    )


# ----- rendering ------------------------------------------------------------------------------


def render_swaps(frame: pl.DataFrame) -> Iterator[tuple[np.ndarray, pl.Series]]:
    """(chain positions, JSON per row), one pair per shape present in ``frame``."""
    leaves = swap_leaves(frame)
    keys = ["_venue", "_buy", "_jup", "_rent", "_tip"]
    for (venue, buy, jup, rent, tip), part in leaves.group_by(keys):
        shape = render.SwapShape(str(venue), bool(buy), bool(jup), bool(rent), bool(tip))
        yield _fill(part, _swap_filler(shape))


def render_failed(frame: pl.DataFrame) -> Iterator[tuple[np.ndarray, pl.Series]]:
    leaves = failed_leaves(frame)
    for (venue,), part in leaves.group_by("_venue"):
        yield _fill(part, _failed_filler(str(venue)))


def render_transfers(frame: pl.DataFrame) -> Iterator[tuple[np.ndarray, pl.Series]]:
    leaves = transfer_leaves(frame)
    if leaves.height:
        yield _fill(leaves, _transfer_filler())
