"""The store, opened once per notebook process and shared by its cells."""

from __future__ import annotations

import threading

from walltrack.logging import configure_from_settings
from walltrack.settings import get_settings
from walltrack.store import Database, open_database

_lock = threading.Lock()
_db: Database | None = None


def notebook_db() -> Database:
    """Open the configured store on first use (starting the embedded server if needed)."""
    global _db
    with _lock:
        if _db is None:
            settings = get_settings()
            configure_from_settings(settings)
            _db = open_database(settings)
        return _db
