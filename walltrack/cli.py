"""``python -m walltrack``: the main job and small operator commands.

``run`` is what the README's main command calls: it starts the embedded store (or connects
to the hosted one), applies migrations, seeds the config, prints the store's status, then
runs the whole product on a simulated market served over HTTP on 127.0.0.1: the research
pipeline (token discovery → surveillance → wallet discovery → histories → funding →
profiling → decay → watchlist → clusters), the watchlist registered as Helius webhooks, a
live phase where ``server.py`` hears the watched wallets' swaps and paper-trades them, and a
summary (accuracy against the truth, signals, trades, PnL, net return).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings, get_logger
from walltrack.models.usage import UsageSummary, is_local_usage
from walltrack.progress import print_progress
from walltrack.settings import Settings, load_settings
from walltrack.store import open_database, store_status
from walltrack.store.usage import UsageRepository

log = get_logger(__name__)


def _print_status(status_obj: object, seconds: float) -> None:
    from walltrack.store import StoreStatus

    assert isinstance(status_obj, StoreStatus)
    st = status_obj
    print("WallTrack store")
    print(f"  mode            {st.mode}")
    print(f"  url             {st.url}")
    print(f"  schema version  {st.schema_version}")
    print(f"  config sections {st.config_sections}")
    print(f"  opened in       {seconds:.2f} s")
    width = max(len(t) for t in st.row_counts)
    print("  rows:")
    for table, count in st.row_counts.items():
        print(f"    {table.ljust(width)}  {count:>10,}")


def _print_usage(summary: UsageSummary, settings: Settings) -> None:
    print("\nAPI usage (UTC days; calls = requests sent, retries included)")
    if not summary.apis:
        print("  no API calls recorded yet")
    else:
        width = max(24, *(len(a.api) for a in summary.apis))
        heads = ("calls today", "credits today", "calls 7 d", "credits 7 d", "calls 30 d",
                 "credits 30 d")
        print(f"  {'api'.ljust(width)}" + "".join(f"  {h:>13}" for h in heads))
        for a in summary.apis:
            cells = (a.today.calls, a.today.credits, a.last_7_days.calls,
                     a.last_7_days.credits, a.last_30_days.calls, a.last_30_days.credits)
            print(f"  {a.api.ljust(width)}" + "".join(f"  {c:>13,}" for c in cells))
        if any(is_local_usage(a.api) for a in summary.apis):
            print("  (@local: a simulator or test server on this machine — shown, never "
                  "counted against the plan)")
    limits = settings.helius_limits
    print(f"Helius plan {limits.plan.value}: {limits.monthly_credits:,} credits/month, "
          f"enhanced API {limits.enhanced_per_second:g} req/s, "
          f"RPC {limits.rpc_per_second:g} req/s (WALLTRACK_HELIUS_PLAN)")
    plan = summary.credits
    if plan is None:
        return
    print(f"  used {plan.used:,} of {plan.monthly_credits:,} credits this month "
          f"({100 * plan.used_share:.1f} %)")
    print(f"  projected {plan.projected:,} by {plan.month_end.isoformat()} at "
          f"{plan.daily_pace:,.0f} credits/day (last {plan.pace_days} "
          f"day{'s' if plan.pace_days != 1 else ''})")
    warning = plan.warning()
    if warning:
        print(f"  {warning}")


def cmd_status(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_from_settings(settings)
    started = time.perf_counter()
    with open_database(settings) as db:
        _print_status(store_status(db), time.perf_counter() - started)
        limits = settings.helius_limits
        usage = UsageRepository(db).summary(plan=limits.plan.value,
                                            monthly_credits=limits.monthly_credits)
        _print_usage(usage, settings)
    return 0


def _print_credits(result: Any) -> None:
    """What the research would have cost on Helius: the operator's plan in view."""
    cost = result.helius_cost
    print(f"  Helius calls {cost.calls:,} = {cost.credits:,} credits if they had gone to "
          f"Helius: {cost.per_day:,.0f} a simulated day against {cost.plan_per_day:,.0f} a "
          f"day on the configured plan ({100 * cost.plan_share:.0f} %)")


def _print_research(result: Any) -> None:
    acc, counts = result.accuracy, result.counts
    p = result.params
    print(f"\nSimulated market: seed {p['seed']}, {p['wallets']:,} wallets, "
          f"{p['tokens']:,} tokens, {p['days']} days, {p['clusters']} planted clusters")
    print("Research (" + ", ".join(f"{k} {v:.0f} s" for k, v in result.stage_seconds.items())
          + f"; {result.seconds:.0f} s in all)")
    print("  " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()))
    _print_credits(result)
    print("\nTop wallets (score after decay; archetype from the simulator's truth):")
    print(f"  {'wallet':<44} {'score':>5} {'trades':>6} {'win %':>5} {'PnL SOL':>8} "
          f"{'status':<10} {'truth':<12} cluster")
    for w in result.top_wallets:
        print(f"  {w['wallet']:<44} {w['score']:>5.2f} {w['closed_trades']:>6} "
              f"{100 * w['win_rate']:>5.0f} {w['realized_pnl_sol']:>8.2f} {w['status']:<10} "
              f"{(w.get('archetype') or '?'):<12} {w['cluster_id'] or ''}")
    print(f"\nClusters found: {counts['clusters']}")
    for c in result.clusters:
        score = f"{c['mean_score']:.2f}" if c["mean_score"] is not None else "  – "
        print(f"  {c['id']}  size {c['size']:>2}  leader {c['leader']}  mean score {score}"
              f"  shared tokens {c['shared_tokens']}")
    print("\nAccuracy against the simulator's truth:")
    for key in ("top50_smart_precision", "top50_bot_share", "lucky_retail_in_top50",
                "fading_detected_share", "cluster_pairwise_f1", "leader_accuracy",
                "exchange_merges"):
        print(f"  {key:<24} {acc.get(key)}")


def _print_registration(reg: Any) -> None:
    print(f"\nWebhook registration (jobs/sync_webhooks.py against the simulator's Helius API):"
          f"\n  {reg.summary}", flush=True)
    print("Live phase: the simulator delivers the watched wallets' swaps to server.py "
          "(webhook source, paper trading) …", flush=True)


def _money(value: float) -> str:
    return f"{value:+.4f} SOL"


def _print_live(live: Any) -> None:
    hours = f"{live.sim_hours:g} h"
    print(f"\nLive phase: {hours} of market time after the research "
          f"({live.window_start:%Y-%m-%d %H:%M} → {live.window_end:%Y-%m-%d %H:%M} UTC) in "
          f"{live.wall_seconds:.0f} s ({live.acceleration:,.0f}× the real pace); "
          f"{live.watched_wallets} watched wallets, {live.deliveries:,} webhook deliveries, "
          f"{live.inbox:,} transactions in the inbox")
    decisions = ", ".join(f"{k} {v:,}" for k, v in live.signals_by_decision.items()) or "none"
    print(f"  signals {live.signals:,}: {decisions}")
    actions = ", ".join(f"{k} {v:,}" for k, v in live.trade_actions.items()) or "none"
    print(f"  trade decisions: {actions}")
    win = "–" if live.win_rate is None else f"{100 * live.win_rate:.0f} %"
    print(f"  paper positions {live.positions_opened} (open {live.open_positions}, closed "
          f"{live.closed_positions}); fills {live.fills}; win rate {win} "
          f"({live.wins} of {live.closed_positions})")
    print(f"  PnL realized {_money(live.realized_pnl_sol)}, unrealized "
          f"{_money(live.unrealized_pnl_sol)}; net {_money(live.net_pnl_sol)} = "
          f"{100 * live.net_return:+.2f} % of the {live.capital_sol:g} SOL starting capital")
    print("  (for the accelerated clock: " + "; ".join(
        f"{section}.{key} = {value}" for section, values in live.overrides.items()
        for key, value in values.items()) + " — put back afterwards)")
    if live.baselines:
        print("\nNet return against the baselines (the same window replayed through the live "
              "path, 5 s copy delay; the oracle copies the simulator's truly smart wallets):")
        print(f"  {'book':<28} {'trades':>7} {'win %':>6} {'net return %':>13}")
        rows = [("WallTrack (live, paper)", {"trades": live.trades, "win_rate": live.win_rate,
                                             "net_return": live.net_return}),
                *live.baselines.items()]
        for name, f in rows:
            trades = f.get("trades")
            wr, net = f.get("win_rate"), f.get("net_return")
            print(f"  {name:<28} {'–' if trades is None else trades:>7} "
                  f"{'–' if wr is None else f'{100 * wr:.0f}':>6} "
                  f"{'–' if net is None else f'{100 * net:+.2f}':>13}")


def cmd_run(args: argparse.Namespace) -> int:
    # The lab (simulator, truth) is loaded by this command only: `status` never needs it.
    from walltrack.lab.edge import live_baselines
    from walltrack.lab.main_command import SIZES, LivePlan, run_main

    settings = load_settings()
    configure_from_settings(settings)
    log.info("main_started")
    started = time.perf_counter()
    size = SIZES["full" if args.full else "quick"]
    size = size.model_copy(update={k: v for k, v in {
        "seed": args.seed, "wallets": args.wallets, "tokens": args.tokens, "days": args.days,
        "clusters": args.clusters}.items() if v is not None})
    plan = LivePlan(hours=args.live_hours if args.live_hours is not None
                    else 24.0,
                    wall_seconds=args.live_seconds)
    with open_database(settings) as db:
        _print_status(store_status(db), time.perf_counter() - started)
        print(f"\nRunning the research pipeline on a simulated market (seed {size.seed}, "
              f"{'full' if args.full else 'quick'} size, {size.days} days, then {plan.hours:g} "
              "h live) over HTTP on 127.0.0.1 …", flush=True)
        result = run_main(settings, db, size, plan=plan, fresh=args.fresh,
                          progress=print_progress(), on_research=_print_research,
                          on_registration=_print_registration,
                          baselines=lambda window: live_baselines(
                              window, progress=print_progress()))
        _print_live(result.live)
        print("\nStages: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.stage_seconds.items())
              + f"; {time.perf_counter() - started:.0f} s in all")
    print("\nOpen the notebooks (they read the same store):")
    for name in ("dashboard", "explorer", "discovery", "wallets", "clusters"):
        print(f"  .venv/bin/marimo run notebooks/{name}.py")
    log.info("main_finished", seconds=round(time.perf_counter() - started, 3))
    return 0


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def cmd_calibration(args: argparse.Namespace) -> int:
    from walltrack.live.outcomes import score_buckets

    settings = load_settings()
    configure_from_settings(settings)
    with open_database(settings) as db:
        table = score_buckets(db, args.horizon, args.bucket)
    print(f"Shadow outcomes at {args.horizon} s by score bucket (buy signals; return = "
          "price then / market price at scoring − 1)")
    if table.is_empty():
        print("  no signals yet")
        return 0
    heads = ("bucket", "signals", "measured", "hit %", "mean %", "median %", "eligible %")
    print("  " + "  ".join(f"{h:>10}" for h in heads))
    for row in table.iter_rows(named=True):
        cells = (f"{row['bucket']:.2f}", f"{row['signals']:,}", f"{row['measured']:,}",
                 _pct(row["hit_rate"]), _pct(row["mean_return"]), _pct(row["median_return"]),
                 _pct(row["eligible_share"]))
        print("  " + "  ".join(f"{c:>10}" for c in cells))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from walltrack.store.backup import BackupMethod, write_backup

    settings = load_settings()
    configure_from_settings(settings)
    keep = settings.backup_retention if args.keep is None else args.keep
    # migrate=False: a backup taken before an upgrade must hold the store as it was.
    with open_database(settings, migrate=False) as db:
        result = write_backup(db, args.dir or settings.backups_dir, keep=keep,
                              method=BackupMethod(args.method))
    print(f"backup written: {result.path}")
    print(f"  {result.size_bytes / 1e6:,.2f} MB in {result.seconds:.2f} s, schema version "
          f"{result.schema_version}, {sum(result.rows.values()):,} rows, "
          f"{result.method.value}" + (f" with {result.tool}" if result.tool else ""))
    for path in result.deleted:
        print(f"  deleted (retention {keep}): {path.name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from walltrack.store.backup import restore_backup

    settings = load_settings()
    configure_from_settings(settings)
    with open_database(settings, migrate=False) as db:
        result = restore_backup(db, args.file)
    upgraded = f", then upgraded by {result.upgraded}" if result.upgraded else ""
    print(f"restored {result.path} ({result.method.value}, schema version "
          f"{result.backup_version}{upgraded}) into {db.display_url}")
    print(f"  {sum(result.rows.values()):,} rows in {result.seconds:.2f} s; schema version "
          f"now {result.schema_version}")
    return 0


def _add_backup_parsers(sub: Any) -> None:
    from pathlib import Path

    backup = sub.add_parser("backup", help="write a consistent dump of the store")
    backup.add_argument("--dir", type=Path, help="directory (default WALLTRACK_BACKUP_DIR or "
                        "data/backups)")
    backup.add_argument("--keep", type=int, help="how many of the newest backups to keep "
                        "(default WALLTRACK_BACKUP_RETENTION)")
    backup.add_argument("--method", choices=["auto", "pg_dump", "copy"], default="auto",
                        help="pg_dump (custom format) or copy (COPY of every table); auto = "
                        "pg_dump when a recent enough one is installed")
    restore = sub.add_parser("restore", help="restore a backup into an empty store")
    restore.add_argument("file", type=Path, help="a file written by `backup`")


def cmd_serve(args: argparse.Namespace) -> int:
    from walltrack.service.supervisor import ServeOptions, serve

    return serve(ServeOptions(
        host=args.host, port=args.port, server=not args.no_server,
        scheduler=not args.no_scheduler, grace_seconds=args.grace,
        heartbeat_seconds=args.heartbeat, healthy_seconds=args.healthy_after,
        backoff_cap_seconds=args.backoff_cap, server_args=tuple(args.server_arg),
        scheduler_args=tuple(args.scheduler_arg)))


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the server and the scheduler under one supervisor")
    serve.add_argument("--host", help="the server's address (WALLTRACK_SERVER_HOST)")
    serve.add_argument("--port", type=int, help="the server's port (WALLTRACK_SERVER_PORT)")
    serve.add_argument("--no-server", action="store_true", help="run the scheduler only")
    serve.add_argument("--no-scheduler", action="store_true", help="run the server only")
    serve.add_argument("--grace", type=float, default=None,
                       help="seconds a child may take to stop (WALLTRACK_SERVICE_GRACE_SECONDS)")
    serve.add_argument("--heartbeat", type=float, default=None,
                       help="seconds between status rows (WALLTRACK_SERVICE_HEARTBEAT_SECONDS)")
    serve.add_argument("--healthy-after", type=float, default=60.0,
                       help="a child running this long resets its back-off")
    serve.add_argument("--backoff-cap", type=float, default=60.0,
                       help="the longest wait before a restart")
    serve.add_argument("--server-arg", action="append", default=[],
                       help="one more argument for server.py (repeatable)")
    serve.add_argument("--scheduler-arg", action="append", default=[],
                       help="one more argument for jobs/scheduler.py, e.g. "
                       "--scheduler-arg=--sim-clock (repeatable)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="walltrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="the whole product on a simulated market: research, "
                         "webhook registration, a live phase with paper trading (default)")
    size = run.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="3 000 wallets, 160 tokens, 20 days, then 24 h live (the default)")
    size.add_argument("--full", action="store_true",
                      help="5 000 wallets, 300 tokens, 30 days, then 24 h live")
    run.add_argument("--seed", type=int)
    run.add_argument("--wallets", type=int)
    run.add_argument("--tokens", type=int)
    run.add_argument("--days", type=int, help="days of research (the live window follows)")
    run.add_argument("--clusters", type=int)
    run.add_argument("--live-hours", type=float,
                     help="market hours of the live phase, after the research's end")
    run.add_argument("--live-seconds", type=float, default=45.0,
                     help="wall seconds the live phase takes (the clock is accelerated)")
    run.add_argument("--fresh", action="store_true",
                     help="empty the research and live tables first (needed to switch markets)")
    sub.add_parser("status", help="print the store's status")
    calibration = sub.add_parser(
        "calibration", help="hit rate and returns of the signals by score bucket")
    calibration.add_argument("--horizon", type=int, default=3600,
                             help="seconds after the swap (one of sources."
                             "outcome_horizons_seconds)")
    calibration.add_argument("--bucket", type=float, default=0.1, help="bucket width")
    _add_backup_parsers(sub)
    _add_serve(sub)
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "status": cmd_status, "calibration": cmd_calibration}
    handlers["serve"] = cmd_serve
    handlers |= {"backup": cmd_backup, "restore": cmd_restore}
    if args.command is None:  # bare `python -m walltrack` = `run` with its defaults
        args = parser.parse_args(["run", *(argv or [])])
    try:
        return handlers[args.command](args)
    except WallTrackError as exc:
        # A clear message naming the problem and the fix, not a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
