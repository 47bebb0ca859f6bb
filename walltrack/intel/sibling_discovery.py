"""Sibling discovery: the other wallets a tracked wallet's private funder has funded.

Insiders come in groups seeded by one funder shortly before they trade; wallet discovery
usually finds only some of them (those that were early *and* profitable on a discovered
token). Their funder's outgoing transfers name the rest. So, for every tracked wallet:

1. its funder = the source of its first incoming SOL transfer of at least
   ``funding_min_sol`` (the FUNDED_BY rule of the wallet graph);
2. funders that are exchange-like are skipped — on the known-exchange list
   (``walltrack/reference/cex_hot_wallets.csv``) or funding more than
   ``exchange_fanout_threshold`` wallets, in what is stored or in what their history shows.
   Expanding through an exchange would pull in thousands of strangers;
3. the funder's history (``type=TRANSFER``, at most ``sibling_max_pages`` pages) gives its
   outgoing plain SOL transfers: stored as funding transfers (FUNDED_BY evidence), and every
   destination not yet tracked becomes a wallet with origin ``cluster_member`` (detail: the
   funder and the tracked wallet it was found through).

Each funder is walked once (a ``funder`` history cursor). The new wallets then go through
the same collection, profiling and clustering as every other tracked wallet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime

import polars as pl
from pydantic import Field

from walltrack.clients.helius import HeliusClient
from walltrack.intel.fanout import fan_out
from walltrack.intel.wallet_discovery import HistoryWalk, walk_history
from walltrack.logging import get_logger
from walltrack.models import (
    DiscoveryMethod,
    DomainModel,
    FundingTransfer,
    Wallet,
    WalletOrigin,
)
from walltrack.models.config import ClusterConfig, WalletDiscoveryConfig
from walltrack.progress import Progress, no_progress
from walltrack.reference import known_exchange_addresses
from walltrack.store import Database
from walltrack.store.cursors import CursorScope, HistoryCursor, HistoryCursorRepository
from walltrack.store.repositories import (
    FundingTransferRepository,
    WalletOriginRepository,
    WalletRepository,
)

log = get_logger(__name__)


class SiblingReport(DomainModel):
    funders_seen: int = 0
    funders_walked: int = 0
    exchange_like: int = 0
    failed: int = 0
    transfers_stored: int = 0
    new_wallets: int = 0
    funding_stored: int = 0  # the new siblings' own funding, collected right after
    seconds: float = 0.0
    skipped_reasons: dict[str, int] = Field(default_factory=dict)


def private_funders(
    transfers: pl.DataFrame, tracked: Sequence[str], clusters: ClusterConfig,
    exchanges: set[str],
) -> pl.DataFrame:
    """(funder, via): each tracked wallet's first meaningful funder, exchange-like ones out."""
    if transfers.is_empty():
        return pl.DataFrame(schema={"funder": pl.String, "via": pl.String})
    meaningful = transfers.filter(pl.col("sol_amount") >= clusters.funding_min_sol)
    fanout = meaningful.group_by("source").agg(pl.col("destination").n_unique().alias("fanout"))
    first = (
        meaningful.filter(pl.col("destination").is_in(pl.Series(list(tracked)).implode()))
        .sort(["destination", "timestamp", "signature"])
        .group_by("destination", maintain_order=True).first()
        .select(funder="source", via="destination")
    )
    return (
        first.join(fanout.rename({"source": "funder"}), on="funder", how="left")
        .filter(~pl.col("funder").is_in(pl.Series(sorted(exchanges)).implode())
                & (pl.col("fanout").fill_null(0) <= clusters.exchange_fanout_threshold))
        .select("funder", "via")
        .sort(["funder", "via"])
    )


async def discover_siblings(
    helius: HeliusClient,
    db: Database,
    config: WalletDiscoveryConfig,
    clusters: ClusterConfig,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> SiblingReport:
    progress = progress or no_progress
    started = time.perf_counter()
    report = SiblingReport()
    wallets_repo = WalletRepository(db)
    with db.connection() as conn:
        tracked = [r[0] for r in conn.execute(
            "SELECT address FROM wallets WHERE status <> 'blacklisted'").fetchall()]
        origin_of = dict(conn.execute(
            "SELECT DISTINCT ON (wallet) wallet, mint FROM wallet_origins "
            "ORDER BY wallet, found_at, rank").fetchall())
    exchanges = known_exchange_addresses()
    candidates = private_funders(FundingTransferRepository(db).frame(), tracked, clusters,
                                 exchanges)
    walked = HistoryCursorRepository(db).for_scope(CursorScope.funder)
    via = {f: v for f, v in candidates.group_by("funder", maintain_order=True)
           .agg(pl.col("via").first()).iter_rows()}
    todo = [f for f in via if f not in walked]
    report.funders_seen = len(via)
    kept: list[FundingTransfer] = []
    cursors: list[HistoryCursor] = []

    async def fetch(funder: str) -> HistoryWalk:
        return await walk_history(helius, funder, until=None,
                                  max_pages=config.sibling_max_pages, type="TRANSFER")

    def handle(funder: str, walk: HistoryWalk) -> None:
        out = [t for tx in walk.transactions for t in tx.sol_transfers(out_of=funder)
               if t.sol_amount >= clusters.funding_min_sol]
        cursors.append(HistoryCursor(address=funder, scope=CursorScope.funder,
                                     newest_signature=walk.newest_signature, complete=True,
                                     collected_at=now))
        if not walk.complete or len({t.destination for t in out}) > \
                clusters.exchange_fanout_threshold:
            report.exchange_like += 1  # too busy to be a private funder: never expanded
            return
        report.funders_walked += 1
        kept.extend(out)

    fanned = await fan_out(todo, fetch, handle, concurrency=config.concurrency,
                           stage="siblings", event="siblings_funder", progress=progress)
    report.failed = len(fanned.failed)
    report.transfers_stored = await asyncio.to_thread(
        FundingTransferRepository(db).copy_models, kept)
    known = set(tracked)
    new: dict[str, tuple[str, str]] = {}
    for t in sorted(kept, key=lambda t: (t.timestamp, t.signature)):
        if t.destination not in known and t.destination not in new:
            new[t.destination] = (t.source, via[t.source])
    report.new_wallets = wallets_repo.insert_new(
        Wallet(address=w, first_seen_at=now, updated_at=now) for w in new)
    WalletOriginRepository(db).insert_new(
        WalletOrigin(wallet=w, mint=origin_of[v], method=DiscoveryMethod.cluster_member,
                     rank=i, found_at=now, detail={"funder": f, "via": v})
        for i, (w, (f, v)) in enumerate(new.items(), start=1) if v in origin_of)
    HistoryCursorRepository(db).upsert_many(cursors)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("siblings_discovered", **report.model_dump())
    return report
