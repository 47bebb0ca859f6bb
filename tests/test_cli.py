"""The README's main command, as a real process on a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.processes import REPO_ROOT


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "walltrack", *args], cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=180)


def test_main_job_starts_the_embedded_store_and_prints_its_status(tmp_path: Path) -> None:
    env = {"WALLTRACK_DATA_DIR": str(tmp_path / "data"), "WALLTRACK_LOG_FORMAT": "json"}
    first = _run(["run"], env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "mode            embedded" in first.stdout
    assert "schema version  1" in first.stdout
    assert "config sections 11" in first.stdout
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    # Again on the same data: nothing migrated twice, same answer.
    second = _run(["status"], env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "schema version  1" in second.stdout
    assert "store_migration_applied" not in second.stderr


def test_a_bad_setting_stops_the_main_job_with_a_clear_message(tmp_path: Path) -> None:
    result = _run(["run"], {"WALLTRACK_DATA_DIR": str(tmp_path), "WALLTRACK_DB_POOL_MAX": "0"})
    assert result.returncode == 2
    assert "WALLTRACK_DB_POOL_MAX" in result.stderr
    assert "Traceback" not in result.stderr
