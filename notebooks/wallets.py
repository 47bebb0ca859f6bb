import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="WallTrack — wallets")


@app.cell
def _():
    import marimo as mo

    from walltrack.ui import wallets_view as wv
    from walltrack.ui.session import open_notebook_db

    return mo, open_notebook_db, wv


@app.cell
def _(open_notebook_db):
    db, db_error = open_notebook_db()
    return db, db_error


@app.cell
def _(mo):
    mo.md("""
    # Wallets
    Profiles, decay status, watchlist and blacklist. Pick a wallet in the table to see why
    it is here.
    """)
    return


@app.cell
def _(mo):
    get_version, set_version = mo.state(0)
    get_message, set_message = mo.state("")
    return get_message, get_version, set_message, set_version


@app.cell
def _(mo, wv):
    lifecycle_filter = mo.ui.multiselect(options=wv.LIFECYCLES, label="Lifecycle")
    status_filter = mo.ui.multiselect(options=wv.STATUSES, label="Decay status")
    watch_only = mo.ui.checkbox(label="Watchlist only")
    search = mo.ui.text(placeholder="address contains…", label="Search")
    mo.hstack([lifecycle_filter, status_filter, watch_only, search], justify="start", gap=2)
    return lifecycle_filter, search, status_filter, watch_only


@app.cell
def _(db, db_error, get_version, lifecycle_filter, mo, search, status_filter, watch_only,
      wv):
    get_version()
    mo.stop(db is None, mo.callout(mo.md(f"**The store cannot be opened.** {db_error}"),
                                   kind="danger"))
    table = wv.wallet_table(db, statuses=list(status_filter.value),
                            lifecycles=list(lifecycle_filter.value),
                            watchlist_only=watch_only.value, search=search.value)
    return (table,)


@app.cell
def _(mo, table, wv):
    wallets_ui = mo.ui.table(table.to_dicts(), selection="single", initial_selection=[0]
                             if table.height else None, page_size=15,
                             style_cell=wv.status_style, label=f"{table.height} wallets")
    mo.vstack([wallets_ui, mo.ui.altair_chart(wv.win_rate_pnl_chart(table))
               if table.height else mo.md("_No profiled wallet yet._")])
    return (wallets_ui,)


@app.cell
def _(wallets_ui):
    chosen = wallets_ui.value[0]["wallet"] if wallets_ui.value else None
    return (chosen,)


@app.cell
def _(chosen, mo):
    reason = mo.ui.text(placeholder="why (kept in the decay history)", label="Reason")
    blacklist_btn = mo.ui.run_button(label="Blacklist", kind="danger")
    unblacklist_btn = mo.ui.run_button(label="Lift blacklist")
    watch_add = mo.ui.run_button(label="Add to watchlist")
    watch_remove = mo.ui.run_button(label="Remove from watchlist")
    watch_auto = mo.ui.run_button(label="Watchlist: automatic")
    sim_clock = mo.ui.checkbox(label="clock = newest stored swap (simulated data)")
    reprofile_btn = mo.ui.run_button(label="Re-profile all")
    mo.stop(chosen is None)
    mo.vstack([
        mo.md(f"## Wallet `{chosen}`"),
        mo.hstack([reason, blacklist_btn, unblacklist_btn], justify="start"),
        mo.hstack([watch_add, watch_remove, watch_auto], justify="start"),
        mo.hstack([reprofile_btn, sim_clock], justify="start"),
    ])
    return (blacklist_btn, reason, reprofile_btn, sim_clock, unblacklist_btn, watch_add,
            watch_auto, watch_remove)


@app.cell
def _(blacklist_btn, chosen, db, reason, reprofile_btn, set_message, set_version,
      sim_clock, unblacklist_btn, watch_add, watch_auto, watch_remove, wv):
    done = None
    if blacklist_btn.value:
        wv.blacklist(db, chosen, reason.value)
        done = "Blacklisted."
    elif unblacklist_btn.value:
        wv.unblacklist(db, chosen)
        done = "Blacklist lifted."
    elif watch_add.value or watch_remove.value or watch_auto.value:
        choice = "add" if watch_add.value else "remove" if watch_remove.value else "none"
        on = wv.watchlist(db, chosen, choice)
        done = f"Watchlist override {choice}: {'on' if on else 'off'} the watchlist."
    elif reprofile_btn.value:
        summary = wv.reprofile(db, now=wv.data_clock(db) if sim_clock.value else None)
        done = f"Re-profiled:\n\n```\n{summary}\n```"
    if done:
        set_message(done)  # kept across the re-run the refresh below causes
        set_version(lambda v: v + 1)
    return


@app.cell
def _(get_message, mo):
    message = get_message()
    mo.callout(mo.md(message), kind="success") if message else None
    return


@app.cell
def _(chosen, db, get_version, mo, wv):
    get_version()
    mo.stop(chosen is None)
    story = wv.wallet_story(db, chosen)
    mo.ui.tabs({
        "Why it is here": mo.ui.table(story["origins"].to_dicts(), selection=None)
        if story["origins"].height else mo.md("_No discovery origin recorded._"),
        "Metrics": mo.ui.table(story["metrics"].to_dicts(), selection=None),
        "Lifecycle": mo.ui.table(story["lifecycle"].to_dicts(), selection=None)
        if story["lifecycle"].height else mo.md("_Discovered, not profiled yet._"),
        "Decay history": mo.ui.table(story["decay"].to_dicts(), selection=None)
        if story["decay"].height else mo.md("_No status change yet._"),
        "Recent trades": mo.ui.table(story["trades"].to_dicts(), selection=None),
    })
    return


if __name__ == "__main__":
    app.run()
