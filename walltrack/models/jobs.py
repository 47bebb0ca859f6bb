"""Records of job runs, for the status bar."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from walltrack.models.base import DomainModel, UtcDatetime, new_id, utcnow


class JobOutcome(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobRun(DomainModel):
    id: str = Field(default_factory=new_id)
    job: str
    started_at: UtcDatetime = Field(default_factory=utcnow)
    finished_at: UtcDatetime | None = None
    outcome: JobOutcome = JobOutcome.running
    message: str | None = None
    stats: dict[str, Any] = Field(default_factory=dict)
