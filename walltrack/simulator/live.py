"""Live phase: as simulated time passes, POST watched addresses' transactions to webhooks.

Like Helius: a delivery is a JSON array of enhanced transactions (keys sorted), carries the
webhook's ``authHeader`` as ``Authorization``, never contains failed transactions, and a
non-2xx answer is retried up to 3 times a (simulated) minute apart — so a receiver that
stored a batch but answered 500 sees it again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import numpy as np
import orjson

from walltrack.logging import get_logger
from walltrack.simulator import render
from walltrack.simulator.state import MarketState

log = get_logger(__name__)

TICK_SECONDS = 0.2
MAX_BATCH = 100
RETRIES = 3
RETRY_SIM_SECONDS = 60.0


class Deliverer:
    def __init__(self, state: MarketState, webhooks: dict[str, dict[str, Any]]) -> None:
        self.state = state
        self.webhooks = webhooks
        self.last_t = state.clock.now()
        self.live_done = len(state.ledger.txs)
        self.sent = 0
        self.failed_attempts = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=10.0)
        self._loop_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.tick()
            except (KeyError, ValueError, TypeError) as exc:  # a bad row must not stop delivery
                log.error("simulator_delivery_tick_failed", error=str(exc))

    def due_rows(self, t0: float, t1: float) -> list[dict[str, Any]]:
        """Successful transactions in (t0, t1], chain order, generated and live."""
        st = self.state
        lo = int(np.searchsorted(st.chain_t, t0, side="right"))
        hi = int(np.searchsorted(st.chain_t, t1, side="right"))
        rows = st.rows_at([s for s in range(lo, hi) if st.chain_kind[s] != 1])
        txs = st.ledger.txs
        fresh = txs[self.live_done :]
        self.live_done = len(txs)
        rows += [tx.row for tx in fresh if tx.row["kind"] != "failed"]
        return rows

    def tick(self) -> None:
        now = self.state.clock.now()
        if not self.webhooks:
            self.last_t = now
            self.live_done = len(self.state.ledger.txs)
            return
        rows = self.due_rows(self.last_t, now)
        self.last_t = now
        if not rows:
            return
        for hook in list(self.webhooks.values()):
            watched = set(hook["accountAddresses"])
            types = set(hook["transactionTypes"])
            batch = [
                r
                for r in rows
                if _involves(r, watched) and ("ANY" in types or render.helius_type(r) in types)
            ]
            for i in range(0, len(batch), MAX_BATCH):
                body = orjson.dumps(
                    [render.enhanced(r) for r in batch[i : i + MAX_BATCH]],
                    option=orjson.OPT_SORT_KEYS,
                )
                task = asyncio.create_task(self._deliver(hook, body))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: dict[str, Any], body: bytes) -> None:
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if hook.get("authHeader"):
            headers["Authorization"] = hook["authHeader"]
        for attempt in range(RETRIES + 1):
            try:
                resp = await self._client.post(hook["webhookURL"], content=body, headers=headers)
                if 200 <= resp.status_code < 300:
                    self.sent += 1
                    return
                reason = f"status {resp.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            self.failed_attempts += 1
            log.warning(
                "simulator_webhook_retry", webhook=hook["webhookID"], attempt=attempt, reason=reason
            )
            if attempt < RETRIES:
                await asyncio.sleep(RETRY_SIM_SECONDS / max(self.state.clock.speed, 1e-9))


def _involves(row: dict[str, Any], watched: set[str]) -> bool:
    if row["kind"] == "transfer":
        return row["source_addr"] in watched or row["destination"] in watched
    return row["wallet"] in watched or row["mint"] in watched or row["pool"] in watched
