import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="WallTrack — config")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import ValidationError, WallTrackError
    from walltrack.models import TradingMode
    from walltrack.store.repositories import ConfigRepository
    from walltrack.trading import mode_switch as ms
    from walltrack.ui import config_form as cf
    from walltrack.ui import config_view as cv
    from walltrack.ui.operator_client import OperatorClient
    from walltrack.ui.session import open_notebook_db

    return (ConfigRepository, OperatorClient, TradingMode, ValidationError, WallTrackError,
            cf, cv, mo, ms, open_notebook_db)


@app.cell
def _(cv, open_notebook_db):
    settings, settings_error = cv.notebook_settings()
    db, db_error = open_notebook_db(settings) if settings is not None else (None,
                                                                            settings_error)
    return db, db_error, settings


@app.cell
def _(mo):
    mo.md("""
    # Config
    Every dynamic setting (saved to the `config` table: the running server reloads it at
    once), the exit strategies, the trading wallet and mode, and the operator's actions.
    """)
    return


@app.cell
def _(mo):
    # Config version: bumped by every write that changes the config table.
    get_version, set_version = mo.state(0)
    # Data version: bumped by every other write (risk, alerts, wallets, webhooks).
    get_data, set_data = mo.state(0)
    get_outcomes, set_outcomes = mo.state({})
    get_notices, set_notices = mo.state({})
    get_check, set_check = mo.state(None)
    return (get_check, get_data, get_notices, get_outcomes, get_version, set_check, set_data,
            set_notices, set_outcomes, set_version)


@app.cell
def _(ConfigRepository, WallTrackError, db, db_error, get_version, mo):
    get_version()
    mo.stop(db is None, mo.callout(mo.md(f"**The store cannot be opened.** {db_error}"),
                                   kind="danger"))
    try:
        config, config_error = ConfigRepository(db).load(), None
    except WallTrackError as exc:
        config, config_error = None, str(exc)
    mo.callout(mo.md(f"**The config cannot be read.** {config_error}"),
               kind="danger") if config_error else None
    return (config,)


@app.cell
def _(cf, config, cv, get_outcomes, mo):
    mo.stop(config is None)
    # Editors and their layout in one cell: typing in a field re-runs nothing; a Save
    # re-creates them (a refused section from what was typed, with its errors beside).
    outcomes = get_outcomes()
    editors = mo.ui.dictionary(cf.all_editors(config, outcomes))
    saves = mo.ui.dictionary({s: mo.ui.run_button(label=f"Save {s}")
                              for s in config.section_names()})

    def _section(name):
        return cf.render_section(name, editors, saves[name], outcomes.get(name))

    _last = next(reversed(outcomes), None)
    _groups = {g: mo.vstack([_section(s) for s in sections], gap=1.5)
               for g, sections in cv.MAIN_GROUPS.items()}
    _groups["Advanced"] = mo.accordion({s: _section(s) for s in cv.ADVANCED_SECTIONS},
                                       multiple=True)
    _open = next((g for g, sections in cv.MAIN_GROUPS.items() if _last in sections),
                 "Advanced" if _last in cv.ADVANCED_SECTIONS else None)
    mo.vstack([mo.md("## Settings"),
               mo.ui.tabs(_groups, value=_open or next(iter(_groups)))])
    return editors, saves


@app.cell
def _(cf, db, editors, mo, saves, set_outcomes, set_version):
    _pressed = [s for s, clicked in saves.value.items() if clicked]
    mo.stop(not _pressed)
    _outcome = cf.save_values(db, _pressed[0], cf.values_of(editors.value, _pressed[0]))
    set_outcomes(lambda old: {**{k: v for k, v in old.items() if k != _outcome.section},
                              _outcome.section: _outcome})
    if _outcome.saved:
        set_version(lambda v: v + 1)
    return


@app.cell
def _(mo):
    mo.md("""
    ## Exit strategies
    Built-in strategies and your own (a JSON list of rules, each `{"kind", "params"}`), the
    global default and per-wallet defaults.
    """)
    return


@app.cell
def _(config, cv, mo):
    mo.stop(config is None)
    strategy_names = cv.strategy_names(config)
    mo.vstack([
        mo.ui.table(cv.strategy_rows(config), selection=None, label="Strategies"),
        mo.ui.table(cv.wallet_strategy_rows(config), selection=None,
                    label="Per-wallet strategies")
        if config.exits.wallet_strategies else mo.md("_No per-wallet strategy._"),
    ])
    return (strategy_names,)


@app.cell
def _(mo, strategy_names):
    edit_pick = mo.ui.dropdown(options=strategy_names, value=strategy_names[0],
                               label="Start from strategy")
    edit_pick
    return (edit_pick,)


@app.cell
def _(config, cv, edit_pick, mo, strategy_names):
    _custom = edit_pick.value in config.exits.strategies
    strategy_name = mo.ui.text(value=edit_pick.value if _custom else f"my-{edit_pick.value}",
                               label="Strategy name")
    strategy_rules = mo.ui.text_area(value=cv.strategy_json(config, edit_pick.value),
                                     label="Rules (JSON list)", rows=9, full_width=True)
    strategy_check = mo.ui.run_button(label="Validate strategy")
    strategy_save = mo.ui.run_button(label="Save strategy")
    strategy_delete = mo.ui.run_button(label="Delete strategy", kind="danger")
    default_pick = mo.ui.dropdown(options=strategy_names,
                                  value=config.execution.default_strategy,
                                  label="Default strategy")
    default_save = mo.ui.run_button(label="Set default strategy")
    wallet_for_strategy = mo.ui.text(placeholder="source wallet address", label="Wallet")
    wallet_strategy = mo.ui.dropdown(options=["(global default)", *strategy_names],
                                     value="(global default)", label="Wallet strategy")
    wallet_strategy_save = mo.ui.run_button(label="Set wallet strategy")
    mo.vstack([
        mo.hstack([strategy_name, strategy_check, strategy_save, strategy_delete],
                  justify="start"),
        strategy_rules,
        mo.hstack([default_pick, default_save], justify="start"),
        mo.hstack([wallet_for_strategy, wallet_strategy, wallet_strategy_save],
                  justify="start"),
    ])
    return (default_pick, default_save, strategy_check, strategy_delete, strategy_name,
            strategy_rules, strategy_save, wallet_for_strategy, wallet_strategy,
            wallet_strategy_save)


@app.cell
def _(WallTrackError, cv, db, default_pick, default_save, set_notices, set_version,
      strategy_check, strategy_delete, strategy_name, strategy_rules, strategy_save,
      wallet_for_strategy, wallet_strategy, wallet_strategy_save):
    _notice, _changed = None, False
    try:
        if strategy_check.value:
            _s = cv.parse_plan(strategy_name.value, strategy_rules.value)
            _notice = (True, f"Strategy {_s.name!r} is valid: "
                             f"{', '.join(r.kind for r in _s.rules)}.")
        elif strategy_save.value:
            _s = cv.save_strategy(db, strategy_name.value, strategy_rules.value)
            _notice, _changed = (True, f"Saved strategy {_s.name!r}."), True
        elif strategy_delete.value:
            cv.delete_strategy(db, strategy_name.value.strip())
            _notice, _changed = (True, f"Deleted strategy {strategy_name.value!r}."), True
        elif default_save.value:
            cv.set_default_strategy(db, default_pick.value)
            _notice, _changed = (True, f"Default strategy: {default_pick.value}."), True
        elif wallet_strategy_save.value:
            _name = None if wallet_strategy.value == "(global default)" else wallet_strategy.value
            cv.set_wallet_strategy(db, wallet_for_strategy.value, _name)
            _notice = (True, f"Strategy of {wallet_for_strategy.value.strip()}: "
                             f"{_name or 'the global default'}.")
            _changed = True
    except WallTrackError as exc:
        _notice = (False, str(exc))
    if _notice is not None:
        set_notices(lambda old: {**old, "exits": _notice})
    if _changed:
        set_version(lambda v: v + 1)
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("exits")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


@app.cell
def _(cv, mo, settings):
    mo.stop(settings is None)
    wallet = cv.wallet_summary(settings)
    validate_btn = mo.ui.run_button(label="Validate wallet")
    mo.vstack([
        mo.md("## Trading wallet"),
        mo.md(f"Public key: `{wallet.public_key}`") if wallet.public_key
        else mo.callout(mo.md(wallet.problem or ""), kind="warn"),
        validate_btn,
    ])
    return validate_btn, wallet


@app.cell
def _(WallTrackError, config, cv, mo, set_check, settings, validate_btn):
    mo.stop(not validate_btn.value)
    with mo.status.spinner(title="Validating the trading wallet against the RPC…"):
        try:
            set_check((cv.check_wallet(settings, config), None))
        except WallTrackError as exc:
            set_check((None, str(exc)))
    return


@app.cell
def _(cv, get_check, mo):
    _state = get_check()
    mo.stop(_state is None, mo.md("_Not validated yet in this session._"))
    _result, _error = _state
    mo.stop(_result is None, mo.callout(mo.md(f"**Validation failed to run.** {_error}"),
                                        kind="danger"))
    _v = _result.validation
    _parts = [
        mo.callout(mo.md("**The wallet validates.**" if _v.ok else
                         f"**The wallet does not validate:** {_v.failure.message}"),
                   kind="success" if _v.ok else "danger"),
        mo.ui.table(cv.check_rows(_v), selection=None, label="Checks"),
    ]
    if _result.balances is not None:
        _parts.append(mo.md(f"SOL balance: **{_result.balances.sol:.6f} SOL** "
                            f"(needed {_v.required_sol:.6f})"))
        _tokens = cv.token_rows(_result.balances)
        _parts.append(mo.ui.table(_tokens, selection=None, label="Token balances")
                      if _tokens else mo.md("_No token balance._"))
    if _result.balance_error:
        _parts.append(mo.callout(mo.md(_result.balance_error), kind="warn"))
    mo.vstack(_parts)
    return


@app.cell
def _(config, mo, ms, wallet):
    mo.stop(config is None)
    live_confirm = mo.ui.checkbox(label="I have read this and want live orders")
    mode_note = mo.ui.text(placeholder="why (kept as an operator alert)", label="Mode note")
    to_live = mo.ui.run_button(label="Switch to live", kind="danger")
    to_paper = mo.ui.run_button(label="Switch to paper")
    mo.vstack([
        mo.md(f"## Mode\nThe execution mode is **{config.execution.mode.value}**."),
        mo.callout(mo.md(ms.live_confirmation_text(config, wallet.public_key)), kind="warn"),
        mo.hstack([live_confirm, mode_note], justify="start"),
        mo.hstack([to_live, to_paper], justify="start"),
    ])
    return live_confirm, mode_note, to_live, to_paper


@app.cell
def _(TradingMode, WallTrackError, db, get_check, live_confirm, mo, mode_note, ms,
      set_notices, set_version, settings, to_live, to_paper):
    mo.stop(not (to_live.value or to_paper.value))
    _target = TradingMode.live if to_live.value else TradingMode.paper
    _check = get_check()
    _validation = _check[0].validation if _check and _check[0] is not None else None
    try:
        _mode = ms.switch_mode(db, settings, _target, _validation, live_confirm.value,
                               note=mode_note.value)
        _notice = (True, f"Mode is now {_mode.value}.")
        set_version(lambda v: v + 1)
    except ms.ModeSwitchRefused as exc:
        _notice = (False, "**Live mode refused**\n\n" + "\n".join(f"- {r}" for r in exc.reasons))
    except WallTrackError as exc:
        _notice = (False, str(exc))
    set_notices(lambda old: {**old, "mode": _notice})
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("mode")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


@app.cell
def _(config, cv, db, get_data, mo, strategy_names):
    get_data()
    mo.stop(config is None)
    operator_note = mo.ui.text(placeholder="why (required, kept with the action)",
                               label="Operator note", full_width=True)
    pause_btn = mo.ui.run_button(label="Pause trading")
    resume_btn = mo.ui.run_button(label="Resume trading")
    reset_btn = mo.ui.run_button(label="Reset protections", kind="danger")
    _positions = cv.open_positions(db)
    override_position = mo.ui.dropdown(
        options={f"{p['position']} · {p['mint'][:8]}… · {p['strategy']}": p["position"]
                 for p in _positions}, label="Open position")
    override_strategy = mo.ui.dropdown(options=strategy_names, value=strategy_names[0],
                                       label="Exit strategy")
    override_btn = mo.ui.run_button(label="Override strategy")
    mo.vstack([
        mo.md("## Operator actions\nSent to the running server (`python server.py`), "
              "which owns the risk state; each needs a note."),
        mo.hstack([
            mo.ui.table(cv.risk_rows(db), selection=None, label="Risk state (stored)"),
            mo.vstack([operator_note,
                       mo.hstack([pause_btn, resume_btn, reset_btn], justify="start")]),
        ], widths=[1, 1], align="start"),
        mo.md("### Per-position strategy override"),
        mo.hstack([override_position, override_strategy, override_btn], justify="start")
        if _positions else mo.md("_No open position._"),
    ])
    return (operator_note, override_btn, override_position, override_strategy, pause_btn,
            reset_btn, resume_btn)


@app.cell
def _(OperatorClient, WallTrackError, mo, operator_note, override_btn, override_position,
      override_strategy, pause_btn, reset_btn, resume_btn, set_data, set_notices,
      settings):
    _action = ("pause" if pause_btn.value else "resume" if resume_btn.value
               else "reset" if reset_btn.value else None)
    mo.stop(_action is None and not override_btn.value)
    if not operator_note.value.strip():
        _notice = (False, "**Refused: the Operator note is empty.** Say why before acting.")
    else:
        _client = OperatorClient.from_settings(settings)
        try:
            with mo.status.spinner(title=f"Asking the server at {_client.base_url}…"):
                if _action is not None:
                    _body = _client.action(_action, operator_note.value)
                    _notice = (True, f"Done: {_action} ({_body['note']}).")
                else:
                    _body = _client.override_strategy(override_position.value or "",
                                                      override_strategy.value,
                                                      operator_note.value)
                    _notice = (True, f"Position {_body['position_id']} now follows "
                                     f"{_body['strategy']}.")
            set_data(lambda v: v + 1)
        except WallTrackError as exc:
            _notice = (False, str(exc))
    set_notices(lambda old: {**old, "operator": _notice})
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("operator")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


@app.cell
def _(cv, db, get_data, mo):
    get_data()
    _perf = cv.copy_performance(db)
    copy_table = mo.ui.table(_perf.to_dicts(), selection="single", page_size=10,
                             label="Copy performance per source wallet")
    copy_mode = mo.ui.dropdown(options=["paper", "live"], value="paper", label="Copy mode")
    copy_note = mo.ui.text(placeholder="why (the paper record that convinced you)",
                           label="Copy mode note")
    copy_btn = mo.ui.run_button(label="Set copy mode")
    mo.vstack([mo.md("## Copy mode per wallet\nA wallet's copies go live only when both the "
                     "execution mode and its own copy mode are live."),
               copy_table if _perf.height else mo.md("_No watched or copied wallet yet._"),
               mo.hstack([copy_mode, copy_note, copy_btn], justify="start")])
    return copy_btn, copy_mode, copy_note, copy_table


@app.cell
def _(WallTrackError, copy_btn, copy_mode, copy_note, copy_table, cv, db, mo, set_data,
      set_notices):
    mo.stop(not copy_btn.value)
    _wallet = copy_table.value[0]["wallet"] if copy_table.value else ""
    try:
        _notice = (True, cv.set_wallet_copy_mode(db, _wallet, copy_mode.value,
                                                 copy_note.value))
        set_data(lambda v: v + 1)
    except WallTrackError as exc:
        _notice = (False, str(exc))
    set_notices(lambda old: {**old, "copy": _notice})
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("copy")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


@app.cell
def _(cv, db, get_data, mo):
    get_data()
    _rows = cv.webhook_rows(db)
    sync_btn = mo.ui.run_button(label="Sync now")
    mo.vstack([mo.md("## Helius webhooks"),
               mo.ui.table(_rows, selection=None, label="Webhook status") if _rows
               else mo.md("_Never synced: `python jobs/sync_webhooks.py` or Sync now._"),
               sync_btn])
    return (sync_btn,)


@app.cell
def _(WallTrackError, cv, db, mo, set_data, set_notices, settings, sync_btn):
    mo.stop(not sync_btn.value)
    with mo.status.spinner(title="Syncing the Helius webhooks with the watchlist…"):
        try:
            _notice = (True, "Synced: " + cv.sync_webhooks_now(settings, db))
        except WallTrackError as exc:
            _notice = (False, f"Sync failed: {exc}")
    set_notices(lambda old: {**old, "webhooks": _notice})
    set_data(lambda v: v + 1)
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("webhooks")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


@app.cell
def _(cv, db, get_data, mo):
    get_data()
    _alerts = cv.unacknowledged_alerts(db)
    alerts_table = mo.ui.table(_alerts.to_dicts(), selection="multi", page_size=10,
                               label=f"{_alerts.height} unacknowledged alerts")
    ack_btn = mo.ui.run_button(label="Acknowledge")
    mo.vstack([mo.md("## Alerts"),
               alerts_table if _alerts.height else mo.md("_No unacknowledged alert._"),
               ack_btn])
    return ack_btn, alerts_table


@app.cell
def _(ack_btn, alerts_table, cv, db, mo, set_data, set_notices):
    mo.stop(not ack_btn.value)
    _count = cv.acknowledge_alerts(db, [row["id"] for row in alerts_table.value])
    set_notices(lambda old: {**old, "alerts": (_count > 0, f"Acknowledged {_count} alert(s)."
                                               if _count else "Select alerts first.")})
    set_data(lambda v: v + 1)
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("alerts")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "warn") if _n else None
    return


@app.cell
def _(cv, db, get_data, mo):
    get_data()
    _wallets = cv.wallet_choices(db)
    _clusters = cv.cluster_choices(db)
    list_wallet = mo.ui.dropdown(options=_wallets, label="Wallet", searchable=True)
    list_reason = mo.ui.text(placeholder="why (kept in the history)", label="Reason")
    watch_add = mo.ui.run_button(label="Add to watchlist")
    watch_remove = mo.ui.run_button(label="Remove from watchlist")
    watch_auto = mo.ui.run_button(label="Watchlist: automatic")
    black_wallet = mo.ui.run_button(label="Blacklist wallet", kind="danger")
    unblack_wallet = mo.ui.run_button(label="Lift blacklist")
    list_cluster = mo.ui.dropdown(options=_clusters, label="Cluster")
    black_cluster = mo.ui.run_button(label="Blacklist cluster", kind="danger")
    mo.vstack([
        mo.md("## Watchlist and blacklist"),
        mo.hstack([list_wallet, list_reason], justify="start"),
        mo.hstack([watch_add, watch_remove, watch_auto, black_wallet, unblack_wallet],
                  justify="start"),
        mo.hstack([list_cluster, black_cluster], justify="start")
        if _clusters else mo.md("_No cluster yet._"),
    ])
    return (black_cluster, black_wallet, list_cluster, list_reason, list_wallet,
            unblack_wallet, watch_add, watch_auto, watch_remove)


@app.cell
def _(ValidationError, WallTrackError, black_cluster, black_wallet, cv, db, list_cluster,
      list_reason, list_wallet, mo, set_data, set_notices, unblack_wallet, watch_add,
      watch_auto, watch_remove):
    _clicked = (watch_add.value or watch_remove.value or watch_auto.value
                or black_wallet.value or unblack_wallet.value or black_cluster.value)
    mo.stop(not _clicked)
    try:
        if black_cluster.value:
            mo.stop(not list_cluster.value)
            _text = cv.blacklist_cluster(db, list_cluster.value, list_reason.value)
        elif not list_wallet.value:
            raise ValidationError("choose a wallet first")
        elif black_wallet.value:
            _text = cv.blacklist_wallet(db, list_wallet.value, list_reason.value)
        elif unblack_wallet.value:
            _text = cv.unblacklist_wallet(db, list_wallet.value)
        else:
            _choice = "add" if watch_add.value else "remove" if watch_remove.value else "none"
            _text = cv.watchlist_wallet(db, list_wallet.value, _choice)
        _notice = (True, _text)
        set_data(lambda v: v + 1)
    except WallTrackError as exc:
        _notice = (False, str(exc))
    set_notices(lambda old: {**old, "lists": _notice})
    return


@app.cell
def _(get_notices, mo):
    _n = get_notices().get("lists")
    mo.callout(mo.md(_n[1]), kind="success" if _n[0] else "danger") if _n else None
    return


if __name__ == "__main__":
    app.run()
