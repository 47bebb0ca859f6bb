"""Polars frames in and out of PostgreSQL: the one place that knows how.

- :func:`query_frame` — a read query's rows as a typed frame (small and medium results);
- :func:`copy_out` — the same through ``COPY … TO STDOUT`` (large results: every swap of a
  window), timestamps as epoch microseconds so no DateStyle setting can bend them;
- :func:`copy_in` — a frame into a table through ``COPY … FROM STDIN`` (usually a temp
  staging table that one statement then merges).

``UTC_US`` is the timestamp type of every frame column that holds a time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from psycopg import ClientCursor, Cursor, sql

from walltrack.store.database import Database

UTC_US = pl.Datetime("us", "UTC")
Schema = Mapping[str, Any]  # column → polars dtype

__all__ = ["UTC_US", "copy_in", "copy_out", "query_frame", "stage_frame"]


def query_frame(db: Database, query: str | sql.Composable, params: Sequence[Any] = (), *,
                schema: Schema | None = None) -> pl.DataFrame:
    """Run a read query; its columns, in order, get the names and types of ``schema``
    (without one: the query's own column names, types inferred from every row)."""
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(query, list(params))  # type: ignore[arg-type]
        names = [d.name for d in cur.description or []]
        rows = cur.fetchall()
    if schema is None:
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def copy_out(db: Database, query: sql.Composable, params: Sequence[Any] = (), *,
             schema: Schema) -> pl.DataFrame:
    """A large read through COPY; ``query`` selects exactly the columns of ``schema``
    (timestamps are converted to epoch microseconds on the way, and back)."""
    times = [c for c, t in schema.items() if t == UTC_US]
    select = sql.SQL(", ").join(
        sql.SQL("(extract(epoch FROM {c}) * 1000000)::bigint AS {c}").format(c=sql.Identifier(c))
        if c in times else sql.Identifier(c)
        for c in schema)
    wrapped = sql.SQL("SELECT {} FROM ({}) AS q").format(select, query)
    buffer = io.BytesIO()
    with db.connection() as conn, conn.cursor() as cur:
        copy_sql: sql.Composable = sql.SQL(
            "COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(wrapped)
        if params:
            # COPY cannot take bound parameters: let psycopg quote them client side.
            copy_sql = sql.SQL(ClientCursor(conn).mogrify(copy_sql.as_string(conn),
                                                          list(params)))
        with cur.copy(copy_sql) as copy:
            for block in copy:
                buffer.write(block)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=dict(schema))
    buffer.seek(0)
    wire = {c: (pl.Int64 if c in times else t) for c, t in schema.items()}
    frame = pl.read_csv(buffer, schema=wire)
    return frame.with_columns(
        pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for c in times)


def copy_in(cur: Cursor[Any], table: str, frame: pl.DataFrame) -> None:
    """COPY every row of ``frame`` into ``table`` (columns by the frame's names). Lists
    become PostgreSQL array/JSON text ``[a,b]``; times are written with their offset."""
    wire = frame.with_columns(
        pl.format("[{}]", pl.col(c).cast(pl.List(pl.String)).list.join(",")).alias(c)
        for c, t in frame.schema.items() if isinstance(t, pl.List))
    buffer = io.BytesIO()
    wire.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    cols = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            sql.Identifier(table), cols)) as copy:
        copy.write(buffer.getvalue())


def stage_frame(cur: Cursor[Any], frame: pl.DataFrame, *, like: str,
                name: str | None = None) -> str:
    """A temp table shaped like ``like`` (dropped at commit) holding ``frame``; its name."""
    staging = name or f"_stage_{like}"
    cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP")
                .format(sql.Identifier(staging), sql.Identifier(like)))
    copy_in(cur, staging, frame)
    return staging
