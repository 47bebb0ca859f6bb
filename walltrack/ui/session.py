"""The store for a notebook: opened by one cell, passed to the others as a value."""

from __future__ import annotations

from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings
from walltrack.settings import Settings, load_settings
from walltrack.store import Database, open_database


def open_notebook_db(settings: Settings | None = None) -> tuple[Database | None, str | None]:
    """(the configured store, None) — or (None, the message naming the problem and fix).

    Starts the embedded server if needed; the notebook's first cell holds the result, so
    every other cell reuses the same pool instead of opening its own.
    """
    try:
        settings = settings or load_settings()
        configure_from_settings(settings)
        return open_database(settings), None
    except WallTrackError as exc:
        return None, str(exc)
