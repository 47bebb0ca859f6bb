"""Progress reporting for long work, shared by jobs (log lines) and notebooks (progress bars).

Long functions take an optional ``progress`` callback and call it as
``progress(stage, done, total)``; ``total`` may be 0 when unknown. Callers decide how to show
it: :func:`log_progress` logs at most every few seconds, a notebook updates ``mo.status``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from walltrack.logging import get_logger

Progress = Callable[[str, int, int], None]


def no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


def _throttled(emit: Callable[[str, int, int], None], every_seconds: float) -> Progress:
    """``emit`` at most every few seconds per stage, and always when a stage finishes."""
    last: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if finished or now - last.get(stage, 0.0) >= every_seconds:
            last[stage] = now
            emit(stage, done, total)

    return report


def log_progress(job: str, every_seconds: float = 5.0) -> Progress:
    """A progress callback that logs ``job_progress`` events, throttled."""
    log = get_logger("walltrack.progress", job=job)

    def emit(stage: str, done: int, total: int) -> None:
        log.info("job_progress", stage=stage, done=done, total=total,
                 percent=round(100 * done / total, 1) if total else None)

    return _throttled(emit, every_seconds)


def print_progress(stream: TextIO | None = None, every_seconds: float = 5.0) -> Progress:
    """Progress for a terminal: a line per stage every few seconds and when it finishes."""

    def emit(stage: str, done: int, total: int) -> None:
        share = f" ({100 * done / total:.0f} %)" if total else ""
        print(f"  … {stage}: {done:,}/{total:,}{share}" if total else f"  … {stage}: {done:,}",
              file=stream or sys.stdout, flush=True)

    return _throttled(emit, every_seconds)
