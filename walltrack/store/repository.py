"""A generic repository: one table ↔ one pydantic model, columns named like the fields.

Entity repositories (``walltrack.store.repositories``) are small subclasses that name their
table, model and key; anything entity-specific (queries by wallet, COPY for swaps…) lives in
the subclass. Values are bound, never formatted into SQL; identifiers come from the class
definitions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

import polars as pl
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from walltrack.store.database import Database
from walltrack.store.frames import copy_out, stage_frame

M = TypeVar("M", bound=BaseModel)


def to_db_value(value: Any) -> Any:
    """Python value of a model field → what psycopg should bind."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return Jsonb(value.model_dump(mode="json"))
    if isinstance(value, dict | list | tuple):
        return Jsonb(_jsonable(value))
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Repository(Generic[M]):
    """CRUD for one entity. Subclasses set ``table``, ``model`` and ``key``."""

    table: ClassVar[str]
    model: ClassVar[type[BaseModel]]
    key: ClassVar[tuple[str, ...]]

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def columns(cls) -> list[str]:
        return list(cls.model.model_fields)

    # -- writing -------------------------------------------------------------------------
    def _row(self, item: M) -> list[Any]:
        return [to_db_value(getattr(item, col)) for col in self.columns()]

    def _insert_sql(self, *, update: bool) -> sql.Composed:
        cols = self.columns()
        stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) ").format(
            sql.Identifier(self.table),
            sql.SQL(", ").join(map(sql.Identifier, cols)),
            sql.SQL(", ").join(sql.Placeholder() * len(cols)),
            sql.SQL(", ").join(map(sql.Identifier, self.key)),
        )
        others = [c for c in cols if c not in self.key]
        if update and others:
            return stmt + sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                    for c in others
                )
            )
        return stmt + sql.SQL("DO NOTHING")

    def upsert(self, item: M) -> None:
        self.upsert_many([item])

    def upsert_many(self, items: Iterable[M]) -> int:
        rows = [self._row(item) for item in items]
        if not rows:
            return 0
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.executemany(self._insert_sql(update=True), rows)
        return len(rows)

    def insert_new(self, items: Iterable[M]) -> int:
        """Insert rows whose key is not there yet; return how many were new."""
        rows = [self._row(item) for item in items]
        if not rows:
            return 0
        inserted = 0
        with self.db.connection() as conn, conn.cursor() as cur:
            stmt = self._insert_sql(update=False)
            for row in rows:
                cur.execute(stmt, row)
                inserted += cur.rowcount
        return inserted

    # -- reading -------------------------------------------------------------------------
    def _where_key(self) -> sql.Composed:
        return sql.SQL(" AND ").join(
            sql.SQL("{} = %s").format(sql.Identifier(k)) for k in self.key
        )

    def get(self, *key: Any) -> M | None:
        if len(key) != len(self.key):
            raise TypeError(f"{self.table} key is {self.key}")
        query = sql.SQL("SELECT * FROM {} WHERE ").format(sql.Identifier(self.table))
        with self.db.cursor() as cur:
            cur.execute(query + self._where_key(), [to_db_value(k) for k in key])
            row = cur.fetchone()
        return self._model(row) if row else None

    def list(
        self,
        *,
        where: dict[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[M]:
        query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.table))
        params: list[Any] = []
        if where:
            self._check_columns(where)
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in where
            )
            params.extend(to_db_value(v) for v in where.values())
        if order_by:
            self._check_columns([order_by])
            query += sql.SQL(" ORDER BY {} {}").format(
                sql.Identifier(order_by), sql.SQL("DESC" if descending else "ASC")
            )
        if limit is not None:
            query += sql.SQL(" LIMIT %s")
            params.append(int(limit))
        with self.db.cursor() as cur:
            cur.execute(query, params)
            return [self._model(row) for row in cur.fetchall()]

    def count(self) -> int:
        with self.db.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.table))
            ).fetchone()
        return int(row[0]) if row else 0

    def delete(self, *key: Any) -> int:
        query = sql.SQL("DELETE FROM {} WHERE ").format(sql.Identifier(self.table))
        with self.db.connection() as conn:
            return conn.execute(query + self._where_key(), list(key)).rowcount

    def _model(self, row: dict[str, Any]) -> M:
        return self.model.model_validate(row)  # type: ignore[return-value]

    def _check_columns(self, names: Iterable[str]) -> None:
        unknown = set(names) - set(self.columns())
        if unknown:
            raise ValueError(f"unknown column(s) for {self.table}: {sorted(unknown)}")


class BulkRepository(Repository[M]):
    """A repository for high-volume rows: COPY in through a staging table, COPY out to polars.

    Bulk inserts are idempotent: rows whose key already exists are skipped, so re-running an
    import never stores a swap twice.
    """

    polars_schema: ClassVar[dict[str, Any]]

    def copy_models(self, items: Sequence[M]) -> int:
        if not items:
            return 0
        frame = pl.DataFrame(
            [{c: to_db_value(getattr(i, c)) for c in self.columns()} for i in items],
            schema=self.polars_schema,
            orient="row",
        )
        return self.copy_frame(frame)

    def copy_frame(self, frame: pl.DataFrame) -> int:
        """COPY a polars frame (columns named like the model) in; return rows inserted."""
        cols = self.columns()
        missing = set(cols) - set(frame.columns)
        if missing:
            raise ValueError(f"{self.table}: frame lacks column(s) {sorted(missing)}")
        col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
        with self.db.connection() as conn, conn.cursor() as cur:
            staging = stage_frame(cur, frame.select(cols), like=self.table)
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                    sql.Identifier(self.table), col_list, col_list, sql.Identifier(staging)
                )
            )
            return cur.rowcount

    def frame(
        self, where_sql: sql.Composable | None = None, params: Sequence[Any] = ()
    ) -> pl.DataFrame:
        """The table (optionally filtered) as a polars frame, pulled with COPY."""
        query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.table))
        if where_sql is not None:
            query += sql.SQL(" WHERE ") + where_sql
        return copy_out(self.db, query, params, schema=self.polars_schema)


def dict_rows(
    db: Database, query: sql.Composable | str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Run a read query and return rows as dicts (for status pages and reports)."""
    with db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, list(params))  # type: ignore[arg-type]
        return cur.fetchall()
