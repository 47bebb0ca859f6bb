"""Acquisition cursors (migration 0002): how far each address's history was collected.

A re-run of wallet discovery or history collection asks Helius only for what is newer than
``newest_signature`` (its ``until`` parameter), so nothing is fetched twice.
"""

from __future__ import annotations

from enum import StrEnum

from walltrack.models.base import DomainModel, UtcDatetime
from walltrack.store.repository import Repository


class CursorScope(StrEnum):
    mint = "mint"  # a token's whole swap history
    wallet = "wallet"  # a wallet's own swaps since a date
    funding = "funding"  # a wallet's first incoming SOL transfers
    funder = "funder"  # a funder's outgoing SOL transfers (sibling discovery, migration 0003)


class HistoryCursor(DomainModel):
    address: str
    scope: CursorScope
    newest_signature: str | None = None
    newest_at: UtcDatetime | None = None
    since: UtcDatetime | None = None  # None = from the very start
    complete: bool = True  # False when a page limit cut the walk short
    collected_at: UtcDatetime


class HistoryCursorRepository(Repository[HistoryCursor]):
    table, model, key = "history_cursors", HistoryCursor, ("address", "scope")

    def for_scope(self, scope: CursorScope) -> dict[str, HistoryCursor]:
        return {c.address: c for c in self.list(where={"scope": scope})}
