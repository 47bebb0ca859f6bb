"""Rebuild the wallet graph, its clusters and the amplification index (after profiling).

    python jobs/build_clusters.py
"""

from __future__ import annotations

import sys

from walltrack.errors import WallTrackError
from walltrack.intel.clusters import build_clusters
from walltrack.jobrunner import recorded_job
from walltrack.logging import configure_from_settings
from walltrack.models import utcnow
from walltrack.progress import log_progress
from walltrack.settings import load_settings
from walltrack.store import open_database
from walltrack.store.repositories import ConfigRepository


def main() -> int:
    try:
        settings = load_settings()
        configure_from_settings(settings)
        with open_database(settings) as db, recorded_job(db, "build_clusters") as stats:
            config = ConfigRepository(db).load().clusters
            report = build_clusters(db, config, now=utcnow(),
                                    progress=log_progress("build_clusters"))
            stats.update(report.model_dump(mode="json", exclude={"computed_at"}))
        print(f"{report.clusters} clusters, {report.clustered_wallets} wallets, "
              f"edges {report.edges} in {report.seconds:.1f} s")
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
