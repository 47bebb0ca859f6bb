"""What the store holds right now: mode, schema version, row counts."""

from __future__ import annotations

from pydantic import BaseModel

from walltrack.store.database import Database
from walltrack.store.migrations import schema_version
from walltrack.store.repositories import ENTITY_REPOSITORIES, ConfigRepository


class StoreStatus(BaseModel):
    mode: str
    url: str  # password redacted
    schema_version: int
    row_counts: dict[str, int]
    config_sections: int


def store_status(db: Database) -> StoreStatus:
    counts = {repo.table: repo(db).count() for repo in ENTITY_REPOSITORIES}
    return StoreStatus(
        mode=db.mode.value,
        url=db.display_url,
        schema_version=schema_version(db),
        row_counts=counts,
        config_sections=ConfigRepository(db).count(),
    )
