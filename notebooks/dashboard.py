import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="WallTrack — dashboard")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import WallTrackError
    from walltrack.store import store_status
    from walltrack.ui.session import open_notebook_db
    from walltrack.ui.status_view import row_count_rows, summary_items

    return (
        WallTrackError,
        mo,
        open_notebook_db,
        row_count_rows,
        store_status,
        summary_items,
    )


@app.cell
def _(open_notebook_db):
    db, db_error = open_notebook_db()
    return db, db_error


@app.cell
def _(mo):
    mo.md("""
    # WallTrack
    """)
    return


@app.cell
def _(mo):
    refresh = mo.ui.refresh(options=["10s", "30s", "1m"], default_interval="30s")
    refresh
    return (refresh,)


@app.cell
def _(WallTrackError, db, db_error, refresh, store_status):
    refresh
    status, status_error = None, db_error
    try:
        status = store_status(db) if db is not None else None
    except WallTrackError as exc:
        status_error = str(exc)
    return status, status_error


@app.cell
def _(mo, status, status_error, summary_items):
    mo.stop(
        status is None,
        mo.callout(mo.md(f"**Store unavailable.** {status_error}"), kind="danger"),
    )
    mo.hstack(
        [mo.stat(value=value, label=label) for label, value in summary_items(status)],
        justify="start",
        gap=2,
    )
    return


@app.cell
def _(mo, row_count_rows, status):
    mo.stop(status is None)
    mo.vstack(
        [
            mo.md(f"Store: `{status.url}`"),
            mo.ui.table(row_count_rows(status), selection=None, label="Rows per table",
                        page_size=25),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
