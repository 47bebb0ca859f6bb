"""Bulk rendering (every generated transaction at start) is the per-row renderer, faster."""

from __future__ import annotations

import dataclasses
import random

import orjson
import polars as pl
import pytest
from pyarrow import Codec

from walltrack.simulator import Market, bulk, execution, render
from walltrack.simulator.api_helius import render_refs
from walltrack.simulator.rendered import CODEC, Block, RenderedHistory
from walltrack.simulator.state import MarketState

VENUES = {"pump_amm", "raydium", "meteora_dbc", "orca", "meteora"}


def _all_bulk(state: MarketState) -> dict[int, tuple[str, bytes]]:
    """seq → (shape label, JSON) for every generated transaction."""
    out: dict[int, tuple[str, bytes]] = {}
    for frame, fn in (
        (state.swaps, bulk.render_swaps),
        (state.failed, bulk.render_failed),
        (state.transfers, bulk.render_transfers),
    ):
        for seqs, json in fn(frame):
            for seq, text in zip(seqs.tolist(), json.to_list(), strict=True):
                out[seq] = (fn.__name__, text.encode())
    return out


def _shape(row: dict[str, object]) -> tuple[object, ...]:
    if row["kind"] != "swap":
        return (row["kind"], row.get("venue"))
    s = render.SwapShape.of(row)  # type: ignore[arg-type]
    return ("swap", s.venue, s.buy, s.jup, s.rent, s.tip)


@pytest.fixture(scope="module")
def state(small_market: Market) -> MarketState:
    """The small market, with half the Orca trades relabelled Meteora DLMM (which it lacks)
    and failed attempts spread over the venues, so that every venue is rendered."""
    relabel = pl.when((pl.col("venue") == "orca") & (pl.col("slot") % 2 == 0))
    venue = relabel.then(pl.lit("meteora")).otherwise(pl.col("venue")).alias("venue")
    venues = sorted(VENUES)
    failed_venue = pl.Series([venues[i % 5] for i in range(small_market.failed.height)])
    market = dataclasses.replace(
        small_market,
        swaps=small_market.swaps.with_columns(venue),
        failed=small_market.failed.with_columns(venue=failed_venue),
    )
    return MarketState(market, 0.0, market.params.days * 86_400.0)


def test_bulk_equals_per_row_for_a_sample_of_every_shape(state: MarketState) -> None:
    rendered = _all_bulk(state)
    assert sorted(rendered) == list(range(int(state.chain_t.size)))  # every transaction
    rows = state.rows_at(list(range(int(state.chain_t.size))))
    by_shape: dict[tuple[object, ...], list[int]] = {}
    for seq, row in enumerate(rows):
        by_shape.setdefault(_shape(row), []).append(seq)
    rng = random.Random(3)
    checked = 0
    for seqs in by_shape.values():
        for seq in rng.sample(seqs, min(25, len(seqs))):
            want = render.enhanced(rows[seq])
            got = rendered[seq][1]
            assert orjson.loads(got) == want, (seq, _shape(rows[seq]))
            assert got == orjson.dumps(want)  # even the bytes (key order included)
            checked += 1
    swaps = {k for k in by_shape if k[0] == "swap"}
    assert {(k[1], k[2]) for k in swaps} == {(v, b) for v in VENUES for b in (True, False)}
    assert {k[3] for k in swaps} == {True, False}  # routed through Jupiter or not
    assert {k[4] for k in swaps} == {True, False}  # token account opened (rent) or not
    assert {k[5] for k in swaps} == {True, False}  # Jito tip or not
    assert {k[1] for k in by_shape if k[0] == "failed"} == VENUES
    assert ("transfer", None) in by_shape
    assert checked > 300


def test_bulk_divides_huge_token_amounts_as_python_does(small_market: Market) -> None:
    """Raw amounts past 2**53 do not convert to floats exactly: the UI amount must still be
    Python's correctly rounded ``raw / 10**decimals`` (and the description its formatting)."""
    big = small_market.swaps.head(300).with_columns(
        token_raw=pl.col("token_raw") * 9_999_991 + 2**53 + 1,
        sol_lamports=pl.col("sol_lamports") * 7 + 123_456_789_011,
        seq=pl.int_range(300, dtype=pl.Int64),  # chain positions of this market alone
    )
    market = dataclasses.replace(
        small_market,
        swaps=big,
        failed=small_market.failed.head(0),
        transfers=small_market.transfers.head(0),
    )
    state = MarketState(market, 0.0, market.params.days * 86_400.0)
    rendered = _all_bulk(state)
    for seq, row in enumerate(state.rows_at(list(range(big.height)))):
        assert orjson.loads(rendered[seq][1]) == render.enhanced(row), seq


def test_history_pages_mix_stored_and_live_transactions(small_market: Market) -> None:
    state = MarketState(small_market, 0.0, small_market.params.days * 86_400.0)
    history = RenderedHistory.start(state)
    assert history.wait(60) and history.rendered == state.chain_t.size
    assert history.stored_bytes < history.raw_bytes / 2  # compressed
    wallet = small_market.swaps["wallet"][0]
    execution.airdrop(state, wallet, 10**9)  # a live transaction, newest in the history
    refs = state.history_refs(wallet, limit=100)
    assert isinstance(refs[0], dict) and any(isinstance(r, int) for r in refs)
    page = orjson.loads(render_refs(state, history, refs))
    assert page == [render.enhanced(r) for r in state.history(wallet, limit=100)]
    seqs = random.Random(5).sample(range(int(state.chain_t.size)), 500)
    assert [orjson.loads(b or b"") for b in history.bodies(seqs)] == [
        render.enhanced(r) for r in state.rows_at(seqs)
    ]


def test_rows_not_rendered_yet_are_rendered_on_demand(small_market: Market) -> None:
    """While the future still renders in the background, a page may need rows that are not
    stored yet (the clock moved, or a parse call): they are rendered one by one."""
    state = MarketState(small_market, 0.0, small_market.params.days * 86_400.0)
    history = RenderedHistory(int(state.chain_t.size))  # nothing rendered
    seqs, json = next(bulk.render_transfers(state.transfers))  # only the transfers
    history.add(
        Block(
            seqs,
            [Codec(CODEC).compress(j.encode(), asbytes=True) for j in json.to_list()],
            json.str.len_bytes().to_numpy(),
        )
    )
    wallet = small_market.transfers["destination"][3]
    refs = state.history_refs(wallet, limit=100)
    assert set(map(type, history.bodies(refs))) == {bytes, type(None)}  # some stored
    page = orjson.loads(render_refs(state, history, refs))
    assert page == [render.enhanced(r) for r in state.history(wallet, limit=100)]


def test_rendering_starts_with_the_visible_past(small_market: Market) -> None:
    state = MarketState(small_market, 0.0, 3_600.0)  # one hour in: little is visible
    history = RenderedHistory.start(state, visible=state.visible_seq(), workers=1)
    visible = state.visible_seq()
    assert history.bodies(list(range(visible))).count(None) == 0  # ready: the past is there
    assert history.wait(60)
    assert history.bodies(list(range(int(state.chain_t.size)))).count(None) == 0


def test_signature_lookup(state: MarketState) -> None:
    sig = state.swaps["signature"][7]
    assert state.seq_of(sig) == state.swaps["seq"][7]
    assert state.seq_of(sig[:-1]) is None
    assert state.seq_of(sig + "1") is None  # longer than any stored: not truncated to match
    assert state.seq_of("") is None and state.seq_of("zzz") is None


def test_closing_stops_the_background_rendering(small_market: Market) -> None:
    state = MarketState(small_market, 0.0, 0.0)  # nothing visible: all of it in the background
    history = RenderedHistory.start(state, visible=0, workers=1)
    history.close()
    assert history.wait(60)
    wallet = small_market.swaps["wallet"][0]
    state.clock.advance(small_market.params.days * 86_400.0)
    refs = state.history_refs(wallet, limit=100)
    page = orjson.loads(render_refs(state, history, refs))  # what was not rendered still is
    assert page == [render.enhanced(r) for r in state.history(wallet, limit=100)]
