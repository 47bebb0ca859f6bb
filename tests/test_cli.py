"""The README's main command, as a real process on a fresh data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness.processes import REPO_ROOT
from walltrack.models import DynamicConfig
from walltrack.store.migrations import available_migrations

LATEST = max(m.version for m in available_migrations())
SMALL = ["--wallets", "800", "--tokens", "80", "--days", "5", "--clusters", "4",
         "--live-hours", "2", "--live-seconds", "5"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "walltrack", *args], cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)


def test_main_job_runs_the_research_pipeline_on_the_embedded_store(tmp_path: Path) -> None:
    env = {"WALLTRACK_DATA_DIR": str(tmp_path / "data"), "WALLTRACK_LOG_FORMAT": "json"}
    first = _run(["run", *SMALL], env)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "mode            embedded" in out
    assert f"schema version  {LATEST}" in out
    assert f"config sections {len(DynamicConfig.section_names())}" in out
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    assert "Simulated market: seed 7, 800 wallets" in out
    assert "Top wallets" in out and "Clusters found:" in out
    # What the research's Helius calls would cost, from the jobs' own meters (never zero:
    # every history read is priced at 100 credits).
    cost = re.search(r"Helius calls ([\d,]+) = ([\d,]+) credits", out)
    assert cost is not None and int(cost[1].replace(",", "")) > 0
    assert int(cost[2].replace(",", "")) >= 100 * int(cost[1].replace(",", "")) // 2
    for metric in ("top50_smart_precision", "cluster_pairwise_f1", "exchange_merges"):
        assert metric in out
    assert "marimo run notebooks/wallets.py" in out
    # The store kept the research: the status command sees it, nothing migrated twice.
    second = _run(["status"], env)
    assert second.returncode == 0, second.stderr[-2000:]
    swaps_line = next(line for line in second.stdout.splitlines() if " swaps " in f" {line} ")
    assert int(swaps_line.split()[-1].replace(",", "")) > 0
    assert "store_migration_applied" not in second.stderr
    # Another market on the same store is refused, with the fix named; --fresh starts over.
    other = _run(["run", *SMALL, "--seed", "8"], env)
    assert other.returncode == 2
    assert "--fresh" in other.stderr and "Traceback" not in other.stderr
    fresh = _run(["run", *SMALL, "--seed", "8", "--fresh"], env)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "Simulated market: seed 8" in fresh.stdout


def test_a_bad_setting_stops_the_main_job_with_a_clear_message(tmp_path: Path) -> None:
    result = _run(["run"], {"WALLTRACK_DATA_DIR": str(tmp_path), "WALLTRACK_DB_POOL_MAX": "0"})
    assert result.returncode == 2
    assert "WALLTRACK_DB_POOL_MAX" in result.stderr
    assert "Traceback" not in result.stderr
