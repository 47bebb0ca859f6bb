import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="WallTrack — discovery")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import WallTrackError
    from walltrack.settings import get_settings
    from walltrack.store.repositories import ConfigRepository
    from walltrack.ui.discovery import (
        FILTER_FIELDS,
        market_now,
        run_discovery,
        snapshot_chart,
        token_rows,
    )
    from walltrack.ui.session import open_notebook_db

    return (
        ConfigRepository,
        FILTER_FIELDS,
        WallTrackError,
        get_settings,
        market_now,
        mo,
        open_notebook_db,
        run_discovery,
        snapshot_chart,
        token_rows,
    )


@app.cell
def _(mo):
    mo.md("""
    # Token discovery
    Candidates from DexScreener boosts, profiles and search, kept by the filters below.
    """)
    return


@app.cell
def _(ConfigRepository, WallTrackError, get_settings, open_notebook_db):
    db, store_error = open_notebook_db()
    settings, stored_config = None, None
    try:
        if db is not None:
            settings = get_settings()
            stored_config = ConfigRepository(db).load().token_discovery
    except WallTrackError as exc:
        store_error = str(exc)
    return db, settings, store_error, stored_config


@app.cell
def _(mo, store_error):
    mo.stop(
        store_error is not None,
        mo.callout(mo.md(f"**Store unavailable.** {store_error}"), kind="danger"),
    )
    return


@app.cell
def _(FILTER_FIELDS, mo, stored_config):
    mo.stop(stored_config is None)
    # One number per TokenDiscoveryConfig filter field, starting from the stored config.
    filters = mo.ui.dictionary(
        {
            name: mo.ui.number(value=getattr(stored_config, name), start=0, step=1,
                               label=name.replace("_", " "))
            for name in FILTER_FIELDS
        },
        label="Filters",
    )
    run_button = mo.ui.run_button(label="Run discovery")
    show_all = mo.ui.switch(value=False, label="show filtered-out tokens too")
    mo.vstack([filters, mo.hstack([run_button, show_all], justify="start")])
    return filters, run_button, show_all


@app.cell
def _(filters, mo, stored_config):
    config = stored_config.model_copy(update=dict(filters.value))
    get_runs, set_runs = mo.state(0)  # bumped by each run: the table re-reads the store
    return config, get_runs, set_runs


@app.cell
async def _(market_now, settings):
    now, clock_name = await market_now(settings)
    return clock_name, now


@app.cell
async def _(WallTrackError, config, db, mo, now, run_button, run_discovery, set_runs,
            settings):
    mo.stop(not run_button.value)
    with mo.status.progress_bar(total=100, title="Discovering tokens") as bar:
        state = {"pct": 0}

        def progress(stage, done, total):
            pct = int(100 * done / total) if total else state["pct"]
            if pct > state["pct"]:
                bar.update(increment=pct - state["pct"], subtitle=f"{stage}: {done}/{total}")
                state["pct"] = pct

        try:
            report = await run_discovery(settings, db, config, now, progress)
            set_runs(lambda n: n + 1)
            run_message = mo.callout(mo.md(
                f"**{report.kept} kept** of {report.candidates} candidates "
                f"({report.new_tokens} new); rejected: "
                + (", ".join(f"{k} {v}" for k, v in sorted(report.rejected.items())) or "none")
                + f" — {report.seconds:.1f}s"), kind="success")
        except WallTrackError as exc:
            report, run_message = None, mo.callout(mo.md(f"**Discovery failed.** {exc}"),
                                                   kind="danger")
    run_message
    return


@app.cell
def _(clock_name, config, db, get_runs, mo, now, show_all, token_rows):
    get_runs()  # re-read the store after a run
    rows = token_rows(db, config, now, only_kept=not show_all.value)
    table = mo.ui.table(rows, selection="single", page_size=15,
                        label=f"Tokens ({len(rows)}) — judged at {now:%Y-%m-%d %H:%M} UTC "
                              f"({clock_name})")
    table
    return (table,)


@app.cell
def _(db, mo, snapshot_chart, table):
    picked = table.value[0]["mint"] if table.value else None
    chart = snapshot_chart(db, picked) if picked else None
    mo.vstack([mo.md(f"### Snapshots of `{picked}`"), chart]) if chart else mo.md(
        "_Select a token to see its price and liquidity over its snapshots._")
    return


if __name__ == "__main__":
    app.run()
