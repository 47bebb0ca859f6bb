"""The wallet lifecycle: discovered → profiled → watchlisted | ignored → flagged → removed."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tests import factories
from walltrack import models as m
from walltrack.intel.lifecycle import STATE_SCHEMA, apply_lifecycle, decide_lifecycle
from walltrack.models.config import WatchlistConfig
from walltrack.store import Database
from walltrack.store.repositories import (
    LifecycleEventRepository,
    WalletMetricsRepository,
    WalletRepository,
)

RULE = WatchlistConfig(min_trades=5, min_win_rate=0.55, min_roi=0.1, min_score=0.6)
T0 = factories.T0


def _state(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=STATE_SCHEMA, orient="row")


def _row(wallet: str, before: str, *, status: str = "ok", on: bool = False,
         override: str = "none", bot: bool = False, profiled: bool = True, trades: int = 10,
         win: float = 0.7, roi: float = 0.5, score: float | None = 0.8) -> tuple:
    return (wallet, before, status, on, override, bot, profiled, trades if profiled else None,
            win if profiled else None, roi if profiled else None, score)


def _decide(state: pl.DataFrame, *, judged: bool) -> dict[str, tuple[str, str]]:
    out = decide_lifecycle(state, RULE, judged=judged)
    return {r["wallet"]: (r["after"], r["reason"]) for r in out.iter_rows(named=True)}


def test_before_the_watchlist_rule_only_profiling_and_blacklisting_move_a_wallet() -> None:
    got = _decide(_state(
        _row("a", "discovered"),
        _row("b", "discovered", profiled=False),
        _row("c", "ignored"),
        _row("d", "watchlisted", status="blacklisted"),
    ), judged=False)
    assert got["a"] == ("profiled", "profiled")
    assert got["b"][0] == "discovered"
    assert got["c"][0] == "ignored"  # stays until the rule judges it again
    assert got["d"] == ("removed", "blacklisted by the operator")


def test_the_watchlist_rule_sorts_profiled_wallets_and_names_the_unmet_criteria() -> None:
    got = _decide(_state(
        _row("in", "profiled", on=True, score=0.81),
        _row("manual", "ignored", on=True, override="add", score=0.1),
        _row("weak", "profiled", trades=3, win=0.5, score=0.4),
        _row("bot", "profiled", bot=True),
        _row("decayed", "watchlisted", on=True, status="downgraded"),
        _row("dropped", "watchlisted", status="dormant"),
        _row("vetoed", "flagged", override="remove"),
        _row("new", "discovered", profiled=False),
    ), judged=True)
    assert got["in"] == ("watchlisted", "meets the watchlist criteria (score 0.81)")
    assert got["manual"] == ("watchlisted", "added by the operator")
    assert got["weak"] == ("ignored", "watchlist criteria not met: closed trades 3 < 5; "
                           "win rate 0.5 < 0.55; score 0.4 < 0.6")
    assert got["bot"] == ("ignored", "watchlist criteria not met: bot")
    assert got["decayed"] == ("flagged", "decay status downgraded")
    assert got["dropped"] == ("removed", "watchlist criteria not met: dormant")
    assert got["vetoed"] == ("removed", "removed by the operator")
    assert got["new"][0] == "discovered"


def test_apply_lifecycle_moves_wallets_and_stores_one_event_per_change(db: Database) -> None:
    wallets = WalletRepository(db)
    good, weak = factories.WALLET, factories.OTHER
    for address in (good, weak):
        wallets.upsert(m.Wallet(address=address, first_seen_at=T0))
    for address, trades, score in ((good, 12, 0.9), (weak, 2, 0.3)):
        WalletMetricsRepository(db).upsert(m.WalletMetrics(
            wallet=address, closed_trades=trades, wins=trades, win_rate=0.8, roi=0.6,
            score=score))
    with db.connection() as conn:
        conn.execute("UPDATE wallets SET score = raw_score")
        conn.execute("UPDATE wallets SET score = 0.9, on_watchlist = true WHERE address = %s",
                     (good,))
    first = apply_lifecycle(db, RULE, now=T0, judged=False)
    assert first.changed == 2 and first.by_lifecycle == {"profiled": 2}
    second = apply_lifecycle(db, RULE, now=T0 + timedelta(hours=1), judged=True)
    assert second.changed == 2
    assert wallets.get(good).lifecycle is m.Lifecycle.watchlisted
    assert wallets.get(weak).lifecycle is m.Lifecycle.ignored
    assert wallets.get(weak).lifecycle_reason.startswith("watchlist criteria not met: closed")
    assert apply_lifecycle(db, RULE, now=T0 + timedelta(hours=2), judged=True).changed == 0
    with db.connection() as conn:
        conn.execute("UPDATE wallets SET on_watchlist = false WHERE address = %s", (good,))
    apply_lifecycle(db, RULE, now=T0 + timedelta(hours=3), judged=True)
    assert wallets.get(good).lifecycle is m.Lifecycle.removed
    events = [(e.before, e.after) for e in LifecycleEventRepository(db).list(
        where={"wallet": good}, order_by="at")]
    assert events == [(m.Lifecycle.discovered, m.Lifecycle.profiled),
                      (m.Lifecycle.profiled, m.Lifecycle.watchlisted),
                      (m.Lifecycle.watchlisted, m.Lifecycle.removed)]
