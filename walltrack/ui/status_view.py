"""The store status as rows for a table (used by the dashboard)."""

from __future__ import annotations

from walltrack.store import StoreStatus


def row_count_rows(status: StoreStatus) -> list[dict[str, object]]:
    return [{"table": table, "rows": count} for table, count in status.row_counts.items()]


def summary_items(status: StoreStatus) -> list[tuple[str, str]]:
    return [
        ("Store mode", status.mode),
        ("Schema version", str(status.schema_version)),
        ("Config sections", str(status.config_sections)),
        ("Swaps", f"{status.row_counts.get('swaps', 0):,}"),
        ("Wallets", f"{status.row_counts.get('wallets', 0):,}"),
    ]
