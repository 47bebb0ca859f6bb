"""Apply pending migrations and seed missing config defaults (also done by every start).

    python jobs/migrate.py
"""

from __future__ import annotations

import sys

from walltrack.errors import WallTrackError
from walltrack.jobrunner import recorded_job
from walltrack.logging import configure_from_settings
from walltrack.settings import load_settings
from walltrack.store import open_database
from walltrack.store.migrations import apply_migrations, schema_version, seed_config


def main() -> int:
    try:
        settings = load_settings()
        configure_from_settings(settings)
        with open_database(settings, migrate=False) as db:
            applied = apply_migrations(db)
            seeded = seed_config(db)
            with recorded_job(db, "migrate") as stats:
                stats.update(applied=applied, seeded=seeded, schema_version=schema_version(db))
            print(f"schema version {schema_version(db)}; applied {applied or 'nothing'}; "
                  f"seeded {seeded or 'nothing'}")
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
