import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="WallTrack — explorer")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import WallTrackError
    from walltrack.ui import explorer_view as ev
    from walltrack.ui.session import open_notebook_db

    return WallTrackError, ev, mo, open_notebook_db


@app.cell
def _(open_notebook_db):
    db, db_error = open_notebook_db()
    return db, db_error


@app.cell
def _(mo):
    mo.md("""
    # Explorer
    Follow any number back to its reason: trade → signal → score breakdown → wallet →
    cluster. Open with `?trade=<id>`, `?signal=<id>`, `?position=<id>`, `?wallet=<address>`
    or `?cluster=<id>`, or pick a row below.
    """)
    return


@app.cell
def _(mo):
    get_version, set_version = mo.state(0)
    get_message, set_message = mo.state("")
    return get_message, get_version, set_message, set_version


@app.cell
def _(mo):
    params = mo.query_params()
    return (params,)


@app.cell
def _(db, db_error, mo):
    mo.stop(db is None, mo.callout(mo.md(f"**The store cannot be opened.** {db_error}"),
                                   kind="danger"))
    pick_kind = mo.ui.radio(options={"Trades": "trade", "Positions": "position",
                                     "Signals": "signal"},
                            value="Trades", inline=True, label="Pick from the newest")
    pick_kind
    return (pick_kind,)


@app.cell
def _(db, ev, get_version, mo, pick_kind):
    get_version()
    recent = ev.recent(db, pick_kind.value, limit=50)
    picker = mo.ui.table(recent.to_dicts(), selection="single", page_size=8,
                         label=f"{recent.height} newest {pick_kind.value}s — pick one")
    picker if recent.height else mo.callout(mo.md(
        f"**{ev.NOTHING_YET}**" if ev.store_is_empty(db)
        else f"No {pick_kind.value} stored yet."), kind="info")
    return (picker,)


@app.cell
def _(ev, params, pick_kind, picker):
    entry = ev.choose_entry(params, pick_kind.value, picker.value)
    return (entry,)


@app.cell
def _(WallTrackError, db, entry, ev, get_version):
    get_version()
    exploration, explore_error = None, None
    if entry:
        try:
            exploration = ev.explore(db, **entry)
        except WallTrackError as exc:
            explore_error = str(exc)
    return exploration, explore_error


@app.cell
def _(explore_error, exploration, mo):
    if explore_error:
        _out = mo.callout(mo.md(f"**Cannot explore.** {explore_error}"), kind="danger")
    elif exploration is None:
        _out = mo.callout(mo.md("Pick a trade, position or signal above, or open this "
                                "page with `?trade=<id>`."), kind="info")
    else:
        _out = mo.md(f"## Exploring {exploration.title}")
    _out
    return


@app.cell
def _(ev, exploration, mo):
    mo.stop(exploration is None or exploration.position is None)
    _p = exploration.position
    mo.vstack([
        mo.md(f"### Position `{_p.id}` — {_p.status.value}, "
              f"{_p.realized_pnl_sol:+.4f} SOL realized"),
        mo.ui.tabs({
            "Position": mo.ui.table(ev.position_frame(_p).to_dicts(), selection=None,
                                    page_size=25),
            "Sizing": mo.ui.table(ev.sizing_frame(_p).to_dicts(), selection=None),
            "Exit plan": mo.ui.table(ev.exit_plan_frame(_p).to_dicts(), selection=None),
            "Trades": mo.ui.table(ev.trades_frame(exploration.trades,
                                                  exploration.focus_trade_id).to_dicts(),
                                  selection=None),
            "Orders": mo.ui.table(ev.orders_frame(exploration.orders).to_dicts(),
                                  selection=None),
            "Order history": mo.ui.table(
                ev.order_history_frame(exploration.orders).to_dicts(), selection=None),
        }),
    ])
    return


@app.cell
def _(db, ev, exploration, mo):
    mo.stop(exploration is None or exploration.signal is None)
    _s = exploration.signal
    _threshold, _high = ev.thresholds(db)
    mo.vstack([
        mo.md(f"### Signal `{_s.id}` — score breakdown"),
        mo.md(ev.signal_verdict(_s, _threshold, _high)),
        mo.md(f"Trade decision: {ev.decision_text(exploration)}"),
        mo.ui.table(ev.breakdown_frame(_s).to_dicts(), selection=None, label="Breakdown"),
        # two views of one legend: marimo's selections would clash, and none is needed
        mo.ui.altair_chart(ev.breakdown_chart(_s, _threshold), chart_selection=False,
                           legend_selection=False),
        mo.accordion({"Signal details": mo.ui.table(ev.signal_frame(_s).to_dicts(),
                                                    selection=None, page_size=20)}),
    ])
    return


@app.cell
def _(db, ev, exploration, get_version, mo):
    get_version()
    mo.stop(exploration is None or exploration.wallet_address is None)
    _w = exploration.wallet_address
    _story = ev.wallet_profile(db, _w)

    def _table(frame, empty):
        return mo.ui.table(frame.to_dicts(), selection=None) if frame.height else mo.md(empty)

    mo.vstack([
        mo.md(f"### Wallet `{_w}`"),
        mo.ui.tabs({
            "Why it is here": _table(_story["origins"], "_No discovery origin recorded._"),
            "Standing": _table(_story["standing"], ""),
            "Copy performance": _table(_story["performance"],
                                       "_Not watched and never copied._"),
            "Metrics": _table(_story["metrics"], "_Not profiled yet._"),
            "Lifecycle": _table(_story["lifecycle"], "_Discovered, not profiled yet._"),
            "Decay history": _table(_story["decay"], "_No status change yet._"),
            "Recent trades": _table(_story["trades"], "_No stored swap._"),
        }),
    ])
    return


@app.cell
def _(exploration, mo):
    mo.stop(exploration is None)
    reason = mo.ui.text(placeholder="why (kept in the decay history)", label="Reason")
    blacklist_wallet_btn = mo.ui.run_button(
        label="Blacklist this wallet", kind="danger",
        disabled=exploration.wallet_address is None)
    blacklist_cluster_btn = mo.ui.run_button(
        label="Blacklist this cluster", kind="danger", disabled=exploration.cluster_id is None)
    mo.hstack([reason, blacklist_wallet_btn, blacklist_cluster_btn], justify="start")
    return blacklist_cluster_btn, blacklist_wallet_btn, reason


@app.cell
def _(WallTrackError, blacklist_cluster_btn, blacklist_wallet_btn, db, ev, exploration,
      reason, set_message, set_version):
    _done = None
    try:
        if blacklist_wallet_btn.value:
            _done = ev.blacklist_wallet_action(db, exploration.wallet_address, reason.value)
        elif blacklist_cluster_btn.value:
            _done = ev.blacklist_cluster_action(db, exploration.cluster_id, reason.value)
    except WallTrackError as exc:
        _done = f"Blacklisting failed: {exc}"
    if _done:
        set_message(_done)  # kept across the re-run the refresh below causes
        set_version(lambda v: v + 1)
    return


@app.cell
def _(get_message, mo):
    _message = get_message()
    mo.callout(mo.md(_message), kind="success") if _message else None
    return


@app.cell
def _(db, ev, exploration, get_version, mo):
    get_version()
    mo.stop(exploration is None or exploration.cluster is None)
    _members, _edges, _chart = ev.cluster_picture(db, exploration.cluster_id)
    mo.vstack([
        mo.md("### Its cluster"),
        mo.md(ev.cluster_text(exploration.cluster, _members, exploration.wallet_address)),
        mo.ui.altair_chart(_chart),
        mo.ui.table(_members, selection=None, label="Members", page_size=20),
    ])
    return


@app.cell
def _(db, ev, exploration, mo):
    mo.stop(exploration is None or (exploration.wallet_address is None
                                    and exploration.cluster_id is None))
    _horizons = ev.horizons(db)
    _groups = {}
    if exploration.wallet_address:
        _groups["This wallet"] = [exploration.wallet_address]
    if exploration.cluster_id:
        _groups["Its cluster"] = ev.cluster_wallets(db, exploration.cluster_id)

    def _view(wallets):
        frame = ev.shadow_frame(db, wallets, _horizons)
        skipped = ev.not_taken_rows(frame)
        return mo.vstack([
            mo.md(f"**{ev.shadow_summary(frame).text()}**"),
            mo.ui.altair_chart(ev.shadow_chart(frame)) if frame.height
            else mo.md("_No buy signal stored yet._"),
            mo.ui.table(skipped.to_dicts(), selection=None, label="Signals not taken",
                        page_size=10) if skipped.height else mo.md("_Every signal was taken._"),
        ])

    mo.vstack([
        mo.md("### Signals not taken: what the filters cost or saved"),
        mo.ui.tabs({name: _view(wallets) for name, wallets in _groups.items()}),
    ])
    return


if __name__ == "__main__":
    app.run()
