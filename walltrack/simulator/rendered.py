"""Every generated transaction rendered once, at start, and kept compressed.

A first-time history page used to cost ≈ 4 ms of Python (100 transactions rendered one by
one). Here the whole chain is rendered in bulk (``bulk.py``) when the server starts, each
transaction's JSON is kept LZ4-compressed (≈ 1.5 kB instead of ≈ 4.4 kB: the bench market's
1.09 M transactions fit in ≈ 1.6 GB), and a page only decompresses its rows (≈ 2 µs each).
Generated transactions never change once rendered; live ones (sent to the simulator) are
not here: they are rendered when asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import polars as pl
import pyarrow as pa

from walltrack.logging import get_logger
from walltrack.simulator import bulk
from walltrack.simulator.state import MarketState

log = get_logger(__name__)

CODEC = "lz4_raw"  # block format: no frame header to parse, ≈ 2x faster than framed LZ4 here
CHUNK_ROWS = 32_768  # rows rendered at a time by one worker: bounds the JSON held at once
WORKERS = 2  # polars and the codec release the GIL: two chunks render side by side
# Arrow string views: length, 4-byte prefix, data buffer index, offset in that buffer.
VIEW = np.dtype([("size", "<i4"), ("prefix", "V4"), ("buffer", "<i4"), ("offset", "<i4")])

Renderer = Callable[[pl.DataFrame], Iterator[tuple[np.ndarray, pl.Series]]]


@dataclass
class Block:
    """Compressed JSON of some transactions."""

    seqs: np.ndarray
    bodies: list[bytes]
    raw_sizes: np.ndarray  # each one's JSON size


class RenderedHistory:
    """Compressed enhanced-transaction JSON by chain position (``seq``)."""

    def __init__(self, size: int) -> None:
        self._codec = pa.Codec(CODEC)
        # One bytes object per transaction (≈ 50 bytes of overhead each): a page reads its
        # rows where they are, with no slicing.
        self._bodies: list[bytes | None] = [None] * size
        self._raw_size = np.full(size, -1, dtype=np.int64)
        self.raw_bytes = 0
        self.stored_bytes = 0

    @classmethod
    def build(cls, state: MarketState, workers: int = WORKERS) -> RenderedHistory:
        started = time.perf_counter()
        history = cls(int(state.chain_t.size))
        tasks: list[tuple[Renderer, pl.DataFrame, str]] = [
            (render, frame.slice(start, CHUNK_ROWS), by)
            for frame, render, by in (
                (state.swaps, bulk.render_swaps, "mint"),
                (state.failed, bulk.render_failed, "mint"),
                (state.transfers, bulk.render_transfers, "source"),
            )
            for start in range(0, frame.height, CHUNK_ROWS)
        ]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
            for block in pool.map(lambda task: _compressed(*task), tasks):
                history.add(block)
        missing = int((history._raw_size < 0).sum())
        if missing:
            raise RuntimeError(f"{missing} transactions were not rendered")
        log.info(
            "simulator_history_rendered",
            transactions=int(state.chain_t.size),
            seconds=round(time.perf_counter() - started, 2),
            json_mb=round(history.raw_bytes / 2**20),
            stored_mb=round(history.stored_bytes / 2**20),
        )
        return history

    def add(self, block: Block) -> None:
        bodies = self._bodies
        for seq, body in zip(block.seqs.tolist(), block.bodies, strict=True):
            bodies[seq] = body
        self._raw_size[block.seqs] = block.raw_sizes
        self.raw_bytes += int(block.raw_sizes.sum())
        self.stored_bytes += sum(map(len, block.bodies))

    def bodies(self, seqs: Sequence[int]) -> list[bytes]:
        """The JSON of each transaction, in the order asked."""
        sizes = self._raw_size[np.asarray(seqs, dtype=np.int64)].tolist()
        stored = map(self._bodies.__getitem__, seqs)
        # decompress(buf, decompressed_size, asbytes): map keeps the loop in C (≈ 15 % less).
        return list(map(self._codec.decompress, stored, sizes, repeat(True)))


def _compressed(render: Renderer, frame: pl.DataFrame, by: str) -> Block:
    """The rows of ``frame`` rendered, then each compressed on its own (read in place from
    polars' buffers) in (``by``, chain) order rather than shape by shape: bodies allocated
    one after the other land next to each other, so the transactions of one token's history
    page (the pages the research reads most) sit together in memory."""
    rendered = list(render(frame))
    seqs = np.concatenate([s for s, _ in rendered]) if rendered else np.zeros(0, np.int64)
    data: list[list[memoryview]] = []
    where: list[np.ndarray] = []  # per row: group, data buffer, offset, size
    for group, (_, json) in enumerate(rendered):
        arr = json.to_arrow(compat_level=pl.CompatLevel.newest())
        buffers = arr.buffers()
        views = np.frombuffer(buffers[1], dtype=VIEW)[arr.offset : arr.offset + len(arr)]
        if (views["size"] <= 12).any():  # short strings are stored inline in the view
            raise ValueError("a rendered transaction is implausibly short")
        data.append([memoryview(b) for b in buffers[2:]])  # type: ignore[arg-type]
        columns = (np.full(len(views), group), views["buffer"], views["offset"], views["size"])
        where.append(np.column_stack(columns).astype(np.int64))
    rows = np.concatenate(where) if where else np.zeros((0, 4), np.int64)
    key = frame[by].rank("dense").to_numpy()[np.searchsorted(frame["seq"].to_numpy(), seqs)]
    order = np.lexsort((seqs, key))
    rows, seqs = rows[order], seqs[order]
    compress = pa.Codec(CODEC).compress
    bodies = [compress(data[g][b][o : o + n], asbytes=True) for g, b, o, n in rows.tolist()]
    return Block(seqs, bodies, rows[:, 3].copy())
