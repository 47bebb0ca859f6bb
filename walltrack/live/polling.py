"""RPC polling: watched wallets' new transactions into the inbox (issue 10, item 4).

The free signal source, beside or instead of Helius webhooks. Each round walks
``getSignaturesForAddress`` for every watched wallet from its cursor (``poll_cursors``) to
the newest signature, fetches the new transactions (``getTransaction`` jsonParsed), turns
each into the enhanced shape (``rpc_to_enhanced``) and hands them to the same durable inbox
the webhook route writes to (``InboxWriter.submit(..., SignalSource.polling)``).

Rules:

* **No backfill.** A wallet without a cursor starts at its newest signature; only what it
  does afterwards is polled. (A wallet with no transaction at all gets a cursor without a
  signature: everything it does later is new.)
* **Never lose, never double.** A wallet's cursor advances only after the inbox
  acknowledged its transactions (the commit returned). A crash in between re-polls them
  next time; the inbox dedupes by signature. A transaction the node does not return yet, or
  an RPC error, leaves the cursor where it was for that wallet.
* **Failed transactions are skipped** (``err`` set), as enhanced webhooks omit them; a
  transaction whose payload cannot be read is counted as an error, logged and passed over
  (it would block its wallet for ever otherwise).
* **Bounded.** At most ``sources.poll_concurrency`` wallets at once, at most
  ``sources.poll_rate_per_second`` RPC calls per second (a token bucket, re-read every
  round), and at most ``max_pages`` pages of ``sources.poll_signatures_limit`` signatures per
  wallet and round (beyond that the oldest are skipped and ``polling_gap`` is logged: a
  cursor lost by the node must not walk the whole history).

A transaction that is a swap of the polled wallet is submitted apart from the others, so
the round can tell how many *new* swaps it found (``swap_transactions_accepted``): the
deadman's evidence that webhooks missed trades.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from pydantic import Field

from walltrack.clients.base import TokenBucket
from walltrack.clients.helius_swaps import parse_swaps
from walltrack.clients.models import RpcSignatureInfo
from walltrack.clients.solana_rpc import SolanaRpcClient, rpc_to_enhanced
from walltrack.errors import PayloadShapeError, WallTrackError
from walltrack.live.inbox import InboxEntry, InboxWriter
from walltrack.live.live_store import LiveStore, PollCursor
from walltrack.logging import get_logger
from walltrack.models import DomainModel, DynamicConfig, SignalSource, utcnow

log = get_logger(__name__)

STATUS_KEY = "polling"
MAX_PAGES = 20


class PollReport(DomainModel):
    """One round over the watched wallets."""

    wallets: int = 0
    cursors_started: int = 0  # wallets seen for the first time: cursor set, nothing polled
    signatures_seen: int = 0  # signatures past the cursors (failed ones included)
    failed_skipped: int = 0
    submitted: int = 0
    accepted: int = 0  # new to the inbox
    duplicates: int = 0  # already there (delivered by a webhook or an earlier round)
    swap_transactions_accepted: int = 0  # new to the inbox and a swap of its wallet
    errors: int = 0
    seconds: float = 0.0
    error_samples: list[str] = Field(default_factory=list)  # the first few, for the status

    def add(self, other: PollReport) -> None:
        for name in ("cursors_started", "signatures_seen", "failed_skipped", "submitted",
                     "accepted", "duplicates", "swap_transactions_accepted", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.error_samples = (self.error_samples + other.error_samples)[:5]


class Poller:
    """Polls the wallets ``watched()`` returns, with the config ``config()`` returns (both
    read at every round, so changes apply live)."""

    def __init__(self, rpc: SolanaRpcClient, writer: InboxWriter, store: LiveStore,
                 watched: Callable[[], Iterable[str]], config: Callable[[], DynamicConfig],
                 *, max_pages: int = MAX_PAGES) -> None:
        self._rpc = rpc
        self._writer = writer
        self._store = store
        self._watched = watched
        self._config = config
        self._max_pages = max_pages
        rate = config().sources.poll_rate_per_second
        self._bucket = TokenBucket(rate, max(1.0, math.ceil(rate)))
        self._round_lock = asyncio.Lock()
        self.rounds = 0
        self.last_report: PollReport | None = None

    def _tune(self, rate: float) -> None:
        if rate != self._bucket.rate:
            self._bucket.rate = rate
            self._bucket.capacity = max(1.0, math.ceil(rate))
            self._bucket.tokens = min(self._bucket.tokens, self._bucket.capacity)

    async def _signatures(self, wallet: str, **options: Any) -> list[RpcSignatureInfo]:
        await self._bucket.acquire()
        return await self._rpc.get_signatures_for_address(wallet, **options)

    async def _transaction(self, signature: str) -> dict[str, Any] | None:
        await self._bucket.acquire()
        return await self._rpc.get_transaction(signature)

    async def poll_round(self) -> PollReport:
        """Poll every watched wallet once; rounds never overlap (the deadman's probe and
        the loop share one poller)."""
        async with self._round_lock:
            started = time.perf_counter()
            cfg = self._config().sources
            self._tune(cfg.poll_rate_per_second)
            wallets = sorted(set(self._watched()))
            report = PollReport(wallets=len(wallets))
            if wallets:
                cursors = await self._store.cursors(wallets)
                gate = asyncio.Semaphore(cfg.poll_concurrency)

                async def one(wallet: str) -> PollReport:
                    async with gate:
                        return await self._poll_wallet(wallet, cursors.get(wallet),
                                                       cfg.poll_signatures_limit)

                for part in await asyncio.gather(*(one(w) for w in wallets)):
                    report.add(part)
            report.seconds = round(time.perf_counter() - started, 3)
            self.rounds += 1
            self.last_report = report
            level = log.warning if report.errors else log.debug
            level("polling_round_done", **report.model_dump(exclude={"error_samples"}))
            return report

    async def _poll_wallet(self, wallet: str, cursor: PollCursor | None,
                           limit: int) -> PollReport:
        bound = log.bind(wallet=wallet)
        report = PollReport()
        try:
            if cursor is None:
                newest = await self._signatures(wallet, limit=1)
                await self._store.save_cursor(PollCursor(
                    wallet=wallet, last_signature=newest[0].signature if newest else None,
                    last_slot=newest[0].slot if newest else None))
                report.cursors_started = 1
                bound.debug("polling_cursor_started")
                return report
            infos = await self._new_signatures(wallet, cursor, limit, bound)
            if not infos:
                return report
            report.signatures_seen = len(infos)
            swaps: list[InboxEntry] = []
            others: list[InboxEntry] = []
            for info in reversed(infos):  # oldest first, as they happened
                if info.err is not None:
                    report.failed_skipped += 1
                    continue
                tx = await self._transaction(info.signature)
                if tx is None:
                    # Not served yet: try this wallet again next round from the same cursor.
                    report.errors += 1
                    report.error_samples.append(f"{info.signature}: not found yet")
                    bound.info("polling_transaction_not_found", signature=info.signature)
                    return report
                try:
                    enhanced = rpc_to_enhanced(tx, info.signature)
                except PayloadShapeError as exc:
                    report.errors += 1
                    report.error_samples.append(exc.message)
                    bound.warning("polling_transaction_unreadable", signature=info.signature,
                                  error=exc.message)
                    continue
                if enhanced.get("transactionError") is not None:
                    report.failed_skipped += 1
                    continue
                entry = InboxEntry(signature=info.signature, payload=orjson.dumps(enhanced))
                (swaps if parse_swaps(enhanced, wallet=wallet).swaps else others).append(entry)
            for entries, is_swap in ((swaps, True), (others, False)):
                if not entries:
                    continue
                ack = await self._writer.submit(entries, SignalSource.polling)
                report.submitted += len(entries)
                report.accepted += ack.accepted
                report.duplicates += ack.duplicates
                if is_swap:
                    report.swap_transactions_accepted += ack.accepted
            # Only now, with everything acknowledged: move the cursor.
            await self._store.save_cursor(PollCursor(
                wallet=wallet, last_signature=infos[0].signature, last_slot=infos[0].slot))
            if report.accepted:
                bound.info("polling_wallet_polled", accepted=report.accepted,
                           duplicates=report.duplicates, swaps=report.swap_transactions_accepted)
        except WallTrackError as exc:
            report.errors += 1
            report.error_samples.append(exc.message)
            bound.warning("polling_wallet_failed", error=exc.message)
        return report

    async def _new_signatures(self, wallet: str, cursor: PollCursor, limit: int,
                              bound: Any) -> list[RpcSignatureInfo]:
        """Signatures newer than the cursor, newest first."""
        found: list[RpcSignatureInfo] = []
        before: str | None = None
        for _ in range(self._max_pages):
            page = await self._signatures(wallet, until=cursor.last_signature, before=before,
                                          limit=limit)
            found.extend(page)
            if len(page) < limit:
                return found
            before = page[-1].signature
        bound.warning("polling_gap", kept=len(found), cursor=cursor.last_signature,
                      hint="more new signatures than max_pages pages: the oldest are skipped")
        return found

    async def run(self, stop_event: asyncio.Event) -> None:
        """Poll every ``sources.poll_interval_seconds`` until ``stop_event`` is set."""
        log.info("polling_started")
        while not stop_event.is_set():
            try:
                report = await self.poll_round()
                await self._store.put_status(STATUS_KEY, {
                    "at": utcnow(), "rounds": self.rounds,
                    **report.model_dump(mode="json")})
            except WallTrackError as exc:  # the store is down: try again next interval
                log.warning("polling_round_failed", error=exc.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(),
                                       timeout=self._config().sources.poll_interval_seconds)
        log.info("polling_stopped", rounds=self.rounds)
