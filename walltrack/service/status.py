"""The supervisor's ``live_status`` row (key ``supervisor``): its shape and how it is read.

The supervisor writes the row on every change of a child and on a heartbeat; ``/health``
adds it with its age (the store's clock, so no skew between processes) and ``stale`` when
the heartbeat is older than :data:`STALE_HEARTBEATS` intervals of a running supervisor.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from walltrack.models.base import DomainModel
from walltrack.store import Database

STATUS_KEY = "supervisor"
STALE_HEARTBEATS = 3


class ChildState(StrEnum):
    running = "running"
    restarting = "restarting"  # exited on its own; waiting out the back-off
    stopping = "stopping"  # SIGTERM sent, inside the grace period
    stopped = "stopped"


class ChildStatus(DomainModel):
    name: str
    command: list[str]
    pid: int | None = None
    state: ChildState = ChildState.stopped
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: datetime | None = None
    next_restart_at: datetime | None = None


class SupervisorStatus(DomainModel):
    pid: int
    state: ChildState  # the supervisor's own: running, stopping, stopped
    started_at: datetime
    heartbeat_seconds: float
    grace_seconds: float
    children: list[ChildStatus]


def read_supervisor_status(db: Database) -> dict[str, Any] | None:
    """The row as JSON with ``age_seconds`` and ``stale`` added; None when there is none."""
    with db.connection() as conn:
        row = conn.execute(
            "SELECT value, extract(epoch FROM now() - updated_at) FROM live_status "
            "WHERE key = %s", (STATUS_KEY,)).fetchone()
    if row is None:
        return None
    value, age = dict(row[0]), round(float(row[1]), 3)
    interval = float(value.get("heartbeat_seconds") or 0.0)
    running = value.get("state") != ChildState.stopped.value
    return {**value, "age_seconds": age,
            "stale": running and age > STALE_HEARTBEATS * interval}
