"""Wallet discovery: early buyers of a token who sold at a profit, and their histories.

Stages (each idempotent, each incremental through ``history_cursors``):

1. **token histories** — for each active token (or the given mints), the mint address's whole
   Helius history, newest first, paged by ``before``; ``EnhancedTransaction.parse_swaps``
   turns every transaction into its trader's swaps (the trader is derived, never guessed)
   or the reason it has none (counted in ``dropped_by_reason``); swaps of that mint are
   stored with ``SwapRepository.copy_frame``. A re-run fetches only what is newer than the
   last signature seen (``until``).
2. **selection** (``early_profitable_buyers``, pure polars) — per token, every distinct buyer
   is ranked by its first buy (slot, then time, then address); the early window is the first
   ``cutoff = min(max_early_buyers, max(1, ceil(early_share × buyers)))`` ranks. An early
   buyer is kept when FIFO (``fifo.token_trades``) shows it sold (matched tokens > 0) at a
   realized profit after fees ``> 0`` and ``≥ min_profit_sol``.
3. **store** — new ``Wallet`` rows only (a known wallet's status and scores are never
   touched) and one ``WalletOrigin`` per (wallet, token) with method
   ``early_profitable_buyer``, its rank and detail (profit, first buy, buyers, cutoff…).
   A known origin keeps its first finding.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
from psycopg import sql
from pydantic import Field

from walltrack.clients.helius import DropReason, EnhancedTransaction, HeliusClient, SwapParse
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import ExternalAPIError
from walltrack.intel.fanout import fan_out
from walltrack.intel.fifo import token_trades
from walltrack.logging import get_logger
from walltrack.models import (
    DiscoveryMethod,
    FundingTransfer,
    Swap,
    TokenStatus,
    Wallet,
    WalletOrigin,
)
from walltrack.models.base import DomainModel, utcnow
from walltrack.models.config import WalletDiscoveryConfig
from walltrack.progress import Progress, no_progress
from walltrack.store import Database
from walltrack.store.cursors import CursorScope, HistoryCursor, HistoryCursorRepository
from walltrack.store.repositories import (
    ConfigRepository,
    FundingTransferRepository,
    SwapRepository,
    TokenRepository,
    WalletOriginRepository,
    WalletRepository,
)

log = get_logger("walltrack.intel.wallet_discovery")
SWAP_SCHEMA = SwapRepository.polars_schema
FLUSH_ROWS = 50_000  # swaps buffered before one COPY


class WalletDiscoveryReport(DomainModel):
    tokens: int = 0
    tokens_changed: int = 0  # with new swaps in this run: their buyers are selected again
    pages: int = 0
    transactions: int = 0
    swaps_fetched: int = 0
    swaps_stored: int = 0  # new rows (a re-run stores 0)
    failed_tokens: dict[str, str] = Field(default_factory=dict)  # mint → error
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)  # DropReason → transactions
    buyers: int = 0  # distinct (token, buyer)
    early_buyers: int = 0
    early_profitable: int = 0  # (token, wallet) origins found
    wallets: int = 0  # distinct wallets found
    new_wallets: int = 0
    new_origins: int = 0
    fetch_seconds: float = 0.0
    select_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.tokens} tokens, {self.swaps_stored} new swaps, "
                f"{self.early_profitable} early profitable buyers on {self.wallets} wallets "
                f"({self.new_wallets} new)" + (f", {len(self.failed_tokens)} tokens failed"
                                              if self.failed_tokens else ""))


class WalletHistoryReport(DomainModel):
    wallets: int = 0
    failed: int = 0  # wallets whose history could not be fetched
    transactions: int = 0
    swaps_fetched: int = 0  # the wallets' own swaps since ``since``
    swaps_stored: int = 0  # new rows (a re-run stores 0)
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)  # DropReason → transactions
    seconds: float = 0.0

    def summary(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{self.wallets} wallets read, {self.swaps_stored} new swaps, "
                f"{sum(self.dropped_by_reason.values())} transactions without a swap{failed}")


def count_dropped(counts: dict[str, int], parsed: SwapParse) -> None:
    """Counts a transaction without swaps under its reason (an unreadable one is logged)."""
    if parsed.dropped is None:
        return
    counts[parsed.dropped.value] = counts.get(parsed.dropped.value, 0) + 1
    if parsed.dropped is DropReason.unreadable:
        log.warning("swap_parse_unreadable", signature=parsed.signature, error=parsed.error)


# -- swaps as frames ---------------------------------------------------------------------


def swaps_frame(swaps: Sequence[Swap]) -> pl.DataFrame:
    """Swap models → a frame with the store's schema (column-wise: no per-row dicts)."""
    return pl.DataFrame(
        {
            "signature": [s.signature for s in swaps],
            "slot": [s.slot for s in swaps],
            "timestamp": [s.timestamp for s in swaps],
            "wallet": [s.wallet for s in swaps],
            "mint": [s.mint for s in swaps],
            "side": [s.side.value for s in swaps],
            "sol_amount": [s.sol_amount for s in swaps],
            "token_amount": [s.token_amount for s in swaps],
            "source": [s.source for s in swaps],
            "fee_sol": [s.fee_sol for s in swaps],
        },
        schema=SWAP_SCHEMA,
    )


# -- selection (pure) --------------------------------------------------------------------


def early_cutoff(buyers: int, config: WalletDiscoveryConfig) -> int:
    return min(config.max_early_buyers, max(1, math.ceil(config.early_share * buyers)))


def buyer_ranks(swaps: pl.DataFrame) -> pl.DataFrame:
    """One row per (mint, buyer): its first buy and its rank among the token's buyers."""
    first = (
        swaps.filter(pl.col("side") == "buy")
        .group_by("mint", "wallet")
        .agg(first_buy_slot=pl.col("slot").min(), first_buy_at=pl.col("timestamp").min())
        .sort("mint", "first_buy_slot", "first_buy_at", "wallet")
    )
    return first.with_columns(
        rank=(pl.int_range(pl.len()).over("mint") + 1).cast(pl.Int64),
        buyers=pl.len().over("mint").cast(pl.Int64),
    )


def early_profitable_buyers(swaps: pl.DataFrame, config: WalletDiscoveryConfig) -> pl.DataFrame:
    """Early buyers (rank ≤ cutoff) who sold at a realized profit; sorted by mint, rank."""
    ranked = buyer_ranks(swaps).with_columns(
        cutoff=pl.min_horizontal(
            pl.lit(config.max_early_buyers, pl.Int64),
            pl.max_horizontal(pl.lit(1, pl.Int64),
                              (pl.col("buyers") * config.early_share).ceil().cast(pl.Int64)),
        )
    )
    early = ranked.filter(pl.col("rank") <= pl.col("cutoff"))
    trades = token_trades(swaps).select(
        "wallet", "mint", "realized_pnl", "bought_sol", "proceeds", "matched_tokens",
        "bought_tokens", "closed", "last_sell_at", "sells")
    return (
        early.join(trades, on=["wallet", "mint"], how="left")
        .filter(
            (pl.col("matched_tokens") > 0)
            & (pl.col("realized_pnl") > 0)
            & (pl.col("realized_pnl") >= config.min_profit_sol)
        )
        .rename({"realized_pnl": "profit_sol"})
        .sort("mint", "rank")
    )


def early_buyer_count(swaps: pl.DataFrame, config: WalletDiscoveryConfig) -> tuple[int, int]:
    ranked = buyer_ranks(swaps)
    per_mint = ranked.group_by("mint").agg(buyers=pl.len())
    early = sum(early_cutoff(int(n), config) for n in per_mint["buyers"].to_list())
    return ranked.height, early


# -- history walking ---------------------------------------------------------------------


class HistoryWalk(DomainModel):
    transactions: list[Any] = Field(default_factory=list)  # EnhancedTransaction
    pages: int = 0
    newest_signature: str | None = None
    newest_at: datetime | None = None
    complete: bool = True

    def cursor(self, address: str, scope: CursorScope, *, since: datetime | None,
               collected_at: datetime) -> HistoryCursor | None:
        """Where the next walk of ``address`` resumes (None: the walk saw nothing)."""
        if self.newest_signature is None:
            return None
        return HistoryCursor(address=address, scope=scope,
                             newest_signature=self.newest_signature,
                             newest_at=self.newest_at, since=since, complete=self.complete,
                             collected_at=collected_at)


async def walk_history(
    helius: HeliusClient,
    address: str,
    *,
    until: str | None,
    max_pages: int,
    since: datetime | None = None,
    type: str | None = None,
) -> HistoryWalk:
    """An address's history newest first, down to ``until`` / ``since`` / the start."""
    walk = HistoryWalk()
    async for page in helius.iter_transactions_for_address(
        address, until=until, max_pages=max_pages, type=type
    ):
        walk.pages += 1
        if walk.newest_signature is None:
            walk.newest_signature = page[0].signature
            walk.newest_at = _ts(page[0])
        walk.transactions.extend(page)
        oldest = _ts(page[-1])
        if since is not None and oldest is not None and oldest < since:
            return walk
        if len(page) < 100:
            return walk
    walk.complete = walk.pages < max_pages
    return walk


def _ts(tx: EnhancedTransaction) -> datetime | None:
    return datetime.fromtimestamp(tx.timestamp, UTC) if tx.timestamp is not None else None


def _resume_point(cursor: HistoryCursor | None, since: datetime | None) -> str | None:
    """``until`` for a re-run: only when the last walk was whole and covered ``since``."""
    if cursor is None or not cursor.complete or cursor.newest_signature is None:
        return None
    if since is None or cursor.since is None or cursor.since <= since:
        return cursor.newest_signature
    return None  # asked for an older window than was collected: walk it again


class _Sink:
    """Buffers swaps and cursors; one COPY per flush, cursors only after their swaps."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.frames: list[pl.DataFrame] = []
        self.cursors: list[HistoryCursor] = []
        self.rows = 0
        self.stored = 0
        self.lock = asyncio.Lock()

    async def add(self, frame: pl.DataFrame, cursor: HistoryCursor | None) -> None:
        async with self.lock:
            if frame.height:
                self.frames.append(frame)
                self.rows += frame.height
            if cursor is not None:
                self.cursors.append(cursor)
            if self.rows >= FLUSH_ROWS:
                await self._flush()

    async def flush(self) -> None:
        async with self.lock:
            await self._flush()

    async def _flush(self) -> None:
        frames, cursors = self.frames, self.cursors
        self.frames, self.cursors, self.rows = [], [], 0
        if frames:
            frame = pl.concat(frames)
            self.stored += await asyncio.to_thread(SwapRepository(self.db).copy_frame, frame)
        if cursors:
            await asyncio.to_thread(HistoryCursorRepository(self.db).upsert_many, cursors)


# -- stage 1 + 2 + 3 ---------------------------------------------------------------------


def _target_mints(db: Database, mints: list[str] | None) -> list[str]:
    if mints is not None:
        return list(dict.fromkeys(mints))
    return [t.mint for t in TokenRepository(db).list(where={"status": TokenStatus.active},
                                                       order_by="first_seen_at")]


async def discover_wallets(
    helius: HeliusClient,
    db: Database,
    config: WalletDiscoveryConfig,
    *,
    now: datetime,
    mints: list[str] | None = None,
    progress: Progress | None = None,
) -> WalletDiscoveryReport:
    progress = progress or no_progress
    started = time.perf_counter()
    targets = _target_mints(db, mints)
    report = WalletDiscoveryReport(tokens=len(targets))
    cursors = HistoryCursorRepository(db).for_scope(CursorScope.mint)
    sink = _Sink(db)
    changed: set[str] = set()  # mints with swaps in this walk: only their buyers can change

    async def fetch(mint: str) -> HistoryWalk:
        return await walk_history(helius, mint, until=_resume_point(cursors.get(mint), None),
                                  max_pages=config.max_history_pages)

    async def handle(mint: str, walk: HistoryWalk) -> None:
        swaps: list[Swap] = []
        for tx in walk.transactions:
            parsed = tx.parse_swaps()
            count_dropped(report.dropped_by_reason, parsed)
            swaps.extend(s for s in parsed.swaps if s.mint == mint)
        if swaps:
            changed.add(mint)
        report.pages += walk.pages
        report.transactions += len(walk.transactions)
        report.swaps_fetched += len(swaps)
        await sink.add(swaps_frame(swaps), walk.cursor(mint, CursorScope.mint, since=None,
                                                       collected_at=now))

    fanned = await fan_out(targets, fetch, handle, concurrency=config.concurrency,
                           stage="token histories", event="token_history",
                           progress=progress)
    report.failed_tokens = fanned.failed
    await sink.flush()
    report.swaps_stored = sink.stored
    report.fetch_seconds = round(time.perf_counter() - started, 3)

    selected_at = time.perf_counter()
    progress("selection", 0, 1)
    ok_mints = [m for m in targets if m in changed]
    report.tokens_changed = len(ok_mints)
    history = (SwapRepository(db).frame(sql.SQL("mint = ANY(%s)"), [ok_mints])
               if ok_mints else pl.DataFrame(schema=SWAP_SCHEMA))
    found = early_profitable_buyers(history, config)
    report.buyers, report.early_buyers = early_buyer_count(history, config)
    report.early_profitable = found.height
    progress("selection", 1, 1)

    wallets = found["wallet"].unique(maintain_order=True).to_list()
    report.wallets = len(wallets)
    report.new_wallets = WalletRepository(db).insert_new(
        Wallet(address=w, first_seen_at=now, updated_at=now) for w in wallets)
    report.new_origins = WalletOriginRepository(db).insert_new(_origins(found, now))
    report.select_seconds = round(time.perf_counter() - selected_at, 3)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("wallets_discovered", **report.model_dump(exclude={"failed_tokens"}),
             failed=len(report.failed_tokens))
    return report


def _origins(found: pl.DataFrame, now: datetime) -> list[WalletOrigin]:
    return [
        WalletOrigin(
            wallet=r["wallet"], mint=r["mint"], method=DiscoveryMethod.early_profitable_buyer,
            rank=r["rank"], found_at=now,
            detail={
                "profit_sol": round(r["profit_sol"], 9),
                "bought_sol": round(r["bought_sol"], 9),
                "proceeds_sol": round(r["proceeds"], 9),
                "first_buy_at": r["first_buy_at"].isoformat(),
                "first_buy_slot": r["first_buy_slot"],
                "last_sell_at": r["last_sell_at"].isoformat() if r["last_sell_at"] else None,
                "closed": bool(r["closed"]),
                "buyers": r["buyers"],
                "cutoff": r["cutoff"],
            },
        )
        for r in found.iter_rows(named=True)
    ]


# -- wallet histories --------------------------------------------------------------------


def wallets_due_for_history(db: Database, config: WalletDiscoveryConfig, *,
                            now: datetime) -> list[str]:
    """Tracked wallets whose own history should be read now: never read, read more than
    ``history_refresh_hours`` ago, or — when the watchlist rule ignores them or removed
    them — more than ``ignored_refresh_days`` ago. Never blacklisted wallets."""
    with db.connection() as conn:
        rows = conn.execute(
            """SELECT w.address FROM wallets w
               LEFT JOIN history_cursors c ON c.address = w.address AND c.scope = 'wallet'
               WHERE w.status <> 'blacklisted'
                 AND (c.collected_at IS NULL
                      OR c.collected_at <= %(now)s - make_interval(
                             secs => CASE WHEN w.lifecycle IN ('ignored', 'removed')
                                          THEN %(ignored)s ELSE %(fresh)s END))
               ORDER BY w.first_seen_at, w.address""",
            {"now": now, "fresh": config.history_refresh_hours * 3600,
             "ignored": max(config.ignored_refresh_days * 86_400,
                            config.history_refresh_hours * 3600)},
        ).fetchall()
    return [r[0] for r in rows]


async def collect_wallet_histories(
    helius: HeliusClient,
    db: Database,
    wallets: Sequence[str],
    *,
    since: datetime,
    progress: Progress | None = None,
    config: WalletDiscoveryConfig | None = None,
    now: datetime | None = None,
) -> WalletHistoryReport:
    """Each wallet's own swaps (every token) since ``since``, stored; what was fetched, stored
    and dropped (``dropped_by_reason``: transactions of the wallet without a swap of its own).

    Incremental: a wallet whose last walk was whole and reached back to ``since`` (or
    earlier) is asked only for transactions newer than its last one (Helius ``until``).
    """
    started = time.perf_counter()
    progress = progress or no_progress
    config = config or ConfigRepository(db).load().wallet_discovery
    targets = list(dict.fromkeys(wallets))
    report = WalletHistoryReport(wallets=len(targets))
    cursors = HistoryCursorRepository(db).for_scope(CursorScope.wallet)
    sink = _Sink(db)
    collected_at = now or utcnow()  # the research clock: freshness is judged against it

    async def fetch(wallet: str) -> HistoryWalk:
        return await walk_history(helius, wallet, until=_resume_point(cursors.get(wallet), since),
                                  since=since, max_pages=config.max_history_pages)

    async def handle(wallet: str, walk: HistoryWalk) -> None:
        swaps: list[Swap] = []
        for tx in walk.transactions:
            parsed = tx.parse_swaps(wallet=wallet)
            count_dropped(report.dropped_by_reason, parsed)
            swaps.extend(s for s in parsed.swaps if s.wallet == wallet and s.timestamp >= since)
        report.transactions += len(walk.transactions)
        report.swaps_fetched += len(swaps)
        # A resumed walk keeps the older coverage it builds on.
        cursor = cursors.get(wallet)
        covered = since if cursor is None or cursor.since is None else min(since, cursor.since)
        await sink.add(swaps_frame(swaps), walk.cursor(wallet, CursorScope.wallet,
                                                       since=covered,
                                                       collected_at=collected_at))

    fanned = await fan_out(targets, fetch, handle, concurrency=config.concurrency,
                           stage="wallet histories", event="wallet_history",
                           progress=progress)
    report.failed = len(fanned.failed)
    await sink.flush()
    report.swaps_stored = sink.stored
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("wallet_histories_collected", stored=sink.stored, **report.model_dump(
        exclude={"swaps_stored"}))
    return report


# -- funding -----------------------------------------------------------------------------


async def _first_funding(
    helius: HeliusClient, wallet: str, *, first: int, max_pages: int,
    rpc: SolanaRpcClient | None,
) -> tuple[list[FundingTransfer], bool, str | None]:
    """(oldest incoming transfers, whether the walk reached the start, newest signature)."""
    try:
        walk = await walk_history(helius, wallet, until=None, max_pages=max_pages,
                                  type="TRANSFER")
    except ExternalAPIError as exc:
        if rpc is None:
            raise
        log.warning("funding_rpc_fallback", wallet=wallet, reason=exc.message)
        return await rpc.funding_transfers(wallet, first=first), True, None
    found = [t for tx in reversed(walk.transactions) for t in tx.sol_transfers(into=wallet)]
    return found[:first], walk.complete, walk.newest_signature


async def collect_funding(
    helius: HeliusClient,
    db: Database,
    wallets: Sequence[str],
    *,
    rpc: SolanaRpcClient | None = None,
    progress: Progress | None = None,
    config: WalletDiscoveryConfig | None = None,
    now: datetime | None = None,
) -> int:
    """The first incoming SOL transfers of each wallet, and of their funders one hop up.

    Source: the wallet's Helius history filtered to ``type=TRANSFER`` (Helius's own label;
    a funding transfer is a plain system transfer), walked to its start (at most
    ``funding_max_pages`` pages); the oldest ``funding_first`` plain SOL transfers into the
    wallet are kept. When Helius fails and ``rpc`` is given, ``rpc.funding_transfers``
    (signatures + getTransaction) is used instead. A wallet whose walk did not reach its
    start stores nothing (its oldest transfer is unknown) and is counted as truncated.
    One hop up: funders of these wallets are collected too, but only with **one** page
    (cheap): a funder with more transfers than that is busy, exchange-like, and skipped.
    Already collected wallets (a ``funding`` cursor) are never fetched again: first
    transfers do not change. Returns transfers newly stored.
    """
    progress = progress or no_progress
    config = config or ConfigRepository(db).load().wallet_discovery
    cursors = HistoryCursorRepository(db).for_scope(CursorScope.funding)
    repo = FundingTransferRepository(db)
    collected_at = now or utcnow()  # the research clock, as for every other cursor
    stats = {"stored": 0, "truncated": 0, "failed": 0}

    async def run(targets: list[str], max_pages: int, stage: str) -> list[FundingTransfer]:
        kept: list[FundingTransfer] = []
        new_cursors: list[HistoryCursor] = []

        async def fetch(wallet: str) -> tuple[list[FundingTransfer], bool, str | None]:
            return await _first_funding(helius, wallet, first=config.funding_first,
                                        max_pages=max_pages, rpc=rpc)

        def handle(wallet: str, result: tuple[list[FundingTransfer], bool, str | None]) -> None:
            found, complete, newest = result
            if not complete:
                stats["truncated"] += 1
                return
            kept.extend(found)
            new_cursors.append(HistoryCursor(
                address=wallet, scope=CursorScope.funding, newest_signature=newest,
                since=None, complete=True, collected_at=collected_at))

        fanned = await fan_out(targets, fetch, handle, concurrency=config.concurrency,
                               stage=stage, event="funding", progress=progress)
        stats["failed"] += len(fanned.failed)
        stats["stored"] += await asyncio.to_thread(repo.copy_models, kept)
        await asyncio.to_thread(HistoryCursorRepository(db).upsert_many, new_cursors)
        return kept

    targets = [w for w in dict.fromkeys(wallets) if w not in cursors]
    found = await run(targets, config.funding_max_pages, "funding")
    if config.funder_hop:
        funders = {t.source for t in found} - set(wallets) - set(cursors)
        await run(sorted(funders), 1, "funders")
    log.info("funding_collected", wallets=len(targets), **stats)
    return stats["stored"]
