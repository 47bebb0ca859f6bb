"""Rebuild the wallet graph, its clusters and the amplification index (after profiling).

    python jobs/build_clusters.py
"""

from __future__ import annotations

from typing import Any

from walltrack.intel.clusters import build_clusters
from walltrack.jobrunner import run_job
from walltrack.models import utcnow
from walltrack.progress import log_progress
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository


def work(_settings: Settings, db: Database, stats: dict[str, Any]) -> str:
    config = ConfigRepository(db).load().clusters
    report = build_clusters(db, config, now=utcnow(), progress=log_progress("build_clusters"))
    stats.update(report.model_dump(mode="json", exclude={"computed_at"}))
    return (f"{report.clusters} clusters, {report.clustered_wallets} wallets, "
            f"edges {report.edges} in {report.seconds:.1f} s")


def main() -> int:
    return run_job("build_clusters", work)


if __name__ == "__main__":
    raise SystemExit(main())
