import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="WallTrack — dashboard")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import WallTrackError
    from walltrack.store import store_status
    from walltrack.ui import charts
    from walltrack.ui import dashboard_view as dv
    from walltrack.ui.session import open_notebook_db
    from walltrack.ui.status_view import row_count_rows, summary_items

    return (
        WallTrackError,
        charts,
        dv,
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
def _(dv, mo):
    # `marimo run notebooks/dashboard.py -- --explorer http://host:port/` when the explorer
    # runs apart; by default it is the explorer beside this notebook (`marimo run notebooks/`).
    explorer = str(mo.cli_args().get("explorer") or dv.DEFAULT_EXPLORER)
    return (explorer,)


@app.cell
def _(mo):
    refresh = mo.ui.refresh(options=["10s", "30s", "1m", "5m"], default_interval="30s")
    mo.hstack([mo.md("# WallTrack"), refresh], justify="space-between", align="center")
    return (refresh,)


@app.cell
def _(db, db_error, dv, explorer, refresh):
    refresh
    snap, snap_error = dv.load_snapshot(db, db_error, explorer=explorer)
    return snap, snap_error


@app.cell
def _(dv, mo, snap, snap_error):
    mo.stop(
        snap is None,
        mo.callout(mo.md(f"**Store unavailable.** {snap_error}"), kind="danger"),
    )
    mo.vstack([
        mo.md(f"## Status\n_as of {snap.now:%Y-%m-%d %H:%M:%S} UTC_"),
        mo.hstack([mo.stat(**s.model_dump()) for s in dv.status_items(snap.status)],
                  justify="start", gap=2, wrap=True),
    ])
    return


@app.cell
def _(dv, mo, snap):
    mo.stop(snap is None)
    mo.ui.table(snap.jobs, selection=None, style_cell=dv.level_style, label="Jobs: last run",
                page_size=10, show_download=False) if snap.jobs.height else mo.md(
        "_No job has run yet._")
    return


@app.cell
def _(dv, mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md("## Performance"),
        mo.hstack([mo.stat(**s.model_dump()) for s in dv.kpi_items(snap.kpis)],
                  justify="start", gap=2, wrap=True),
    ])
    return


@app.cell
def _(charts, mo, snap):
    mo.stop(snap is None)
    mo.ui.altair_chart(charts.equity_chart(snap.equity), chart_selection=False,
                       legend_selection=False) if snap.kpis.trades_all else mo.md(
        "_No trades yet: the equity curve starts with the first fill._")
    return


@app.cell
def _(charts, mo, snap):
    mo.stop(snap is None)
    mo.ui.altair_chart(charts.daily_pnl_chart(snap.daily_pnl), chart_selection=False,
                       legend_selection=False) if snap.daily_pnl.height else mo.md(
        "_No realized PnL yet._")
    return


@app.cell
def _(charts, mo, snap):
    mo.stop(snap is None)
    mo.ui.altair_chart(charts.signals_chart(snap.signals_per_day), chart_selection=False,
                       legend_selection=False) if snap.signals_per_day.height else mo.md(
        "_No signals in the last 30 days._")
    return


@app.cell
def _(explorer, mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md(f"## Open positions\n_The `explore` column opens the explorer on a row "
              f"(`{explorer}`)._"),
        mo.ui.table(snap.positions, selection=None, page_size=10,
                    label=f"{snap.positions.height} open")
        if snap.positions.height else mo.md("_No open position._"),
    ])
    return


@app.cell
def _(mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md("## Latest signals\n_Factors `f_*` ∈ [0, 1]; weights wallet/cluster/token/"
              "context; score = Σ weight × factor._"),
        mo.ui.table(snap.signals, selection=None, page_size=10,
                    label=f"newest {snap.signals.height}")
        if snap.signals.height else mo.md("_No signals yet._"),
    ])
    return


@app.cell
def _(mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md("## Trade history"),
        mo.ui.table(snap.trades, selection=None, page_size=10,
                    label=f"newest {snap.trades.height} fills")
        if snap.trades.height else mo.md("_No trades yet._"),
    ])
    return


@app.cell
def _(dv, mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md("## Alerts\n_Newest first; acknowledge them in the config notebook._"),
        mo.ui.table(snap.alerts, selection=None, page_size=10, style_cell=dv.level_style,
                    label=f"newest {snap.alerts.height}")
        if snap.alerts.height else mo.md("_No alerts._"),
    ])
    return


@app.cell
def _(mo, snap):
    mo.stop(snap is None)
    mo.vstack([
        mo.md("## Per-wallet performance"),
        mo.ui.table(snap.wallets, selection=None, page_size=15,
                    label=f"{snap.wallets.height} wallets (sortable)")
        if snap.wallets.height else mo.md("_No watched wallet and no copied position yet._"),
    ])
    return


@app.cell
def _(WallTrackError, db, refresh, snap, store_status):
    refresh
    status = None
    if snap is not None:
        try:
            status = store_status(db)
        except WallTrackError:
            status = None  # the snapshot's callout already says what is wrong
    return (status,)


@app.cell
def _(mo, row_count_rows, status, summary_items):
    mo.stop(status is None)
    mo.vstack([
        mo.md("## Store"),
        mo.hstack([mo.stat(value=value, label=label) for label, value in summary_items(status)],
                  justify="start", gap=2),
        mo.md(f"Store: `{status.url}`"),
        mo.ui.table(row_count_rows(status), selection=None, label="Rows per table",
                    page_size=25),
    ])
    return


@app.cell
def _(mo, snap):
    mo.stop(snap is None)
    mo.md(f"_Computed in {snap.timings.get('total', 0.0) * 1000:.0f} ms._")
    return


if __name__ == "__main__":
    app.run()
