"""Apply pending migrations and seed missing config defaults (also done by every start).

    python jobs/migrate.py
"""

from __future__ import annotations

from typing import Any

from walltrack.jobrunner import run_job
from walltrack.settings import Settings
from walltrack.store import Database
from walltrack.store.migrations import apply_migrations, schema_version, seed_config


def work(_settings: Settings, db: Database, stats: dict[str, Any]) -> str:
    # Opening the store already migrates; these calls make the job's record say so.
    applied, seeded = apply_migrations(db), seed_config(db)
    stats.update(applied=applied, seeded=seeded, schema_version=schema_version(db))
    return f"schema version {schema_version(db)}; applied {applied or 'nothing'} this run"


def main() -> int:
    return run_job("migrate", work)


if __name__ == "__main__":
    raise SystemExit(main())
