"""server.py under a real uvicorn process, and a job script as a real process."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.harness.processes import REPO_ROOT, run_server
from walltrack.models import DynamicConfig, JobOutcome
from walltrack.store import Database
from walltrack.store.migrations import available_migrations
from walltrack.store.repositories import JobRunRepository

LATEST = max(m.version for m in available_migrations())


def test_server_answers_health_and_status_with_json(db: Database, db_url: str) -> None:
    with run_server([sys.executable, "server.py", "--port", "{port}"], ready_path="/health",
                    env={"WALLTRACK_DATABASE_URL": db_url}) as srv:
        health = httpx.get(srv.url + "/health")
        assert health.status_code == 200
        body = health.json()
        assert (body["ok"], body["store"], body["source"]) == (True, "hosted", "polling")
        assert (body["inbox_pending"], body["oldest_pending_seconds"]) == (0, None)
        status = httpx.get(srv.url + "/api/status").json()
        assert status["schema_version"] == LATEST
        assert status["row_counts"]["swaps"] == 0
        assert status["config_sections"] == len(DynamicConfig.section_names())
        missing = httpx.get(srv.url + "/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"code": "http_404", "message": "Not Found"}}


def test_job_script_records_its_run(db: Database, db_url: str) -> None:
    result = subprocess.run([sys.executable, "jobs/migrate.py"], cwd=REPO_ROOT,
                            env={**os.environ, "WALLTRACK_DATABASE_URL": db_url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"schema version {LATEST}" in result.stdout
    runs = JobRunRepository(db).last_runs()
    assert [(r.job, r.outcome) for r in runs] == [("migrate", JobOutcome.succeeded)]
    assert runs[0].stats["schema_version"] == LATEST
    assert runs[0].finished_at is not None


def test_a_failing_job_is_recorded_as_failed_with_a_redacted_message(db: Database) -> None:
    import pytest

    from walltrack.jobrunner import recorded_job

    with pytest.raises(RuntimeError), recorded_job(db, "refresh_tokens") as stats:
        stats["tokens"] = 4
        raise RuntimeError("GET https://x.example/?api-key=sekrit-123 failed")
    (run,) = JobRunRepository(db).last_runs()
    assert run.outcome is JobOutcome.failed
    assert run.stats == {"tokens": 4}
    assert "sekrit-123" not in (run.message or "")
    assert "RuntimeError" in (run.message or "")
