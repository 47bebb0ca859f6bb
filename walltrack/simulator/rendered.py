"""Every generated transaction rendered once, when the server starts, and kept compressed.

A first-time history page used to cost ≈ 4 ms of Python (100 transactions rendered one by
one). Here the whole chain is rendered in bulk (``bulk.py``), in chain order, the visible
past before the server answers and the future in the background; each transaction's JSON
is kept LZ4-compressed (≈ 1.5 kB instead of ≈ 4.4 kB: the bench market's 1.09 M
transactions fit in ≈ 1.5 GB), and a page only decompresses its rows (≈ 1–3 µs each).
Generated transactions never change once rendered; live ones (sent to the simulator) are
not here: they are rendered when asked for.
"""

from __future__ import annotations

import threading
import time
from collections import deque
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
    """Compressed enhanced-transaction JSON by chain position (``seq``).

    ``start`` renders in chain order in the background and returns once the part already
    visible is done; the rest (the future, in a run that starts early in the window) keeps
    rendering while the server answers. ``bodies`` says None for a transaction not rendered
    yet, and the caller renders that one row itself.
    """

    def __init__(self, size: int) -> None:
        self._codec = pa.Codec(CODEC)
        # One bytes object per transaction (≈ 50 bytes of overhead each): a page reads its
        # rows where they are, with no slicing.
        self._bodies: list[bytes | None] = [None] * size
        self._raw_size = np.full(size, -1, dtype=np.int64)
        self.raw_bytes = 0
        self.stored_bytes = 0
        self.rendered = 0
        self._visible = threading.Event()
        self._done = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None

    @classmethod
    def start(
        cls, state: MarketState, *, visible: int | None = None, workers: int = WORKERS
    ) -> RenderedHistory:
        """Start rendering ``state``'s chain; return once every chain position below
        ``visible`` (default: all) is rendered."""
        size = int(state.chain_t.size)
        history = cls(size)
        tasks: list[tuple[int, Renderer, pl.DataFrame, str]] = [
            (int(chunk["seq"][0]), render, chunk, by)
            for frame, render, by in (
                (state.swaps, bulk.render_swaps, "mint"),
                (state.failed, bulk.render_failed, "mint"),
                (state.transfers, bulk.render_transfers, "source"),
            )
            for chunk in (frame.slice(i, CHUNK_ROWS) for i in range(0, frame.height, CHUNK_ROWS))
        ]
        tasks.sort(key=lambda task: task[0])  # chain order: the visible past first
        first = size if visible is None else visible
        needed = sum(1 for task in tasks if task[0] < first)
        thread = threading.Thread(
            target=history._render, args=(tasks, needed, workers), name="render", daemon=True
        )
        thread.start()
        history._visible.wait()
        if history._error is not None:
            raise history._error
        return history

    def _render(
        self, tasks: list[tuple[int, Renderer, pl.DataFrame, str]], needed: int, workers: int
    ) -> None:
        started = time.perf_counter()
        if needed == 0:
            self._visible.set()
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
                futures = deque(pool.submit(_compressed, *task[1:]) for task in tasks)
                for i in range(len(futures)):
                    if self._stop.is_set():
                        pool.shutdown(cancel_futures=True)
                        return
                    self.add(futures.popleft().result())  # and let go of the block
                    if i + 1 == needed:
                        log.info(
                            "simulator_history_ready",
                            transactions=self.rendered,
                            seconds=round(time.perf_counter() - started, 2),
                        )
                        self._visible.set()
        except Exception as exc:  # noqa: BLE001 - reported, and the rows render one by one
            self._error = exc
            log.error("simulator_history_render_failed", error=repr(exc))
        finally:
            self._visible.set()
            self._done.set()
        if self._error is None:
            log.info(
                "simulator_history_rendered",
                transactions=self.rendered,
                seconds=round(time.perf_counter() - started, 2),
                json_mb=round(self.raw_bytes / 2**20),
                stored_mb=round(self.stored_bytes / 2**20),
            )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until rendering has ended — everything rendered, or stopped by ``close`` —
        (True) or ``timeout`` passes (False)."""
        return self._done.wait(timeout)

    def close(self) -> None:
        """Stop rendering (what is not rendered yet stays rendered on demand)."""
        self._stop.set()

    def add(self, block: Block) -> None:
        # Sizes first: a reader that sees a body also sees its size.
        self._raw_size[block.seqs] = block.raw_sizes
        bodies = self._bodies
        for seq, body in zip(block.seqs.tolist(), block.bodies, strict=True):
            bodies[seq] = body
        self.raw_bytes += int(block.raw_sizes.sum())
        self.stored_bytes += sum(map(len, block.bodies))
        self.rendered += len(block.bodies)

    def bodies(self, seqs: Sequence[int]) -> list[bytes | None]:
        """The JSON of each transaction, in the order asked (None: not rendered yet)."""
        stored = list(map(self._bodies.__getitem__, seqs))
        sizes = self._raw_size[np.asarray(seqs, dtype=np.int64)].tolist()
        decompress = self._codec.decompress
        if None not in stored:
            # decompress(buf, decompressed_size, asbytes): map keeps the loop in C.
            return list(map(decompress, stored, sizes, repeat(True)))
        return [
            None if b is None else decompress(b, n, True)
            for b, n in zip(stored, sizes, strict=True)
        ]


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
