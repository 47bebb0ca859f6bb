"""A job process told to stop (SIGTERM from the scheduler or the service) records its run as
failed — never a run left ``running`` forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from walltrack.store import Database
from walltrack.store.repositories import JobRunRepository

SCRIPT = """
import time
from walltrack.jobrunner import run_job

def work(settings, db, stats):
    time.sleep(60)
    return "never"

raise SystemExit(run_job("sleepy", work))
"""


def test_sigterm_records_the_run_as_failed(db: Database, db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "sleepy.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DATA_DIR": str(tmp_path),
           "WALLTRACK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not [r for r in JobRunRepository(db).last_runs() if r.job == "sleepy"]:
            assert time.monotonic() < deadline and proc.poll() is None, "the job never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    (run,) = [r for r in JobRunRepository(db).last_runs() if r.job == "sleepy"]
    assert run.outcome.value == "failed" and run.finished_at is not None
    assert "SystemExit" in (run.message or "")
