"""Persistence: PostgreSQL (embedded or hosted), migrations, one repository per entity."""

from walltrack.store.database import Database, StoreMode, open_database, redact_url
from walltrack.store.status import StoreStatus, store_status

__all__ = ["Database", "StoreMode", "StoreStatus", "open_database", "redact_url", "store_status"]
