"""Watchlist: the automatic rule, manual overrides that win, and the blacklist over all."""

from __future__ import annotations

import pytest

from tests import factories
from walltrack import models as m
from walltrack.intel.blacklist import set_blacklisted
from walltrack.intel.watchlist import UnknownWalletError, apply_watchlist, set_watchlist_override
from walltrack.store import Database
from walltrack.store.repositories import WalletMetricsRepository, WalletRepository

CONFIG = m.DynamicConfig()
NOW = factories.T0


def add(db: Database, name: str, *, trades: int = 20, win_rate: float = 0.7, roi: float = 0.5,
        score: float = 0.8, bot: bool = False,
        status: m.DecayStatus = m.DecayStatus.ok) -> str:
    address = factories.address(name)
    WalletRepository(db).upsert(m.Wallet(address=address, first_seen_at=NOW, score=score,
                                         is_bot=bot, status=status))
    WalletMetricsRepository(db).upsert(m.WalletMetrics(
        wallet=address, computed_at=NOW, closed_trades=trades, win_rate=win_rate, roi=roi,
        score=score, is_bot=bot))
    return address


def on(db: Database) -> set[str]:
    return {w.address for w in WalletRepository(db).watchlist()}


def test_automatic_rule_checks_every_criterion(db: Database) -> None:
    good = add(db, "good")
    add(db, "few-trades", trades=3)
    add(db, "low-win-rate", win_rate=0.5)
    add(db, "low-roi", roi=0.05)
    add(db, "low-score", score=0.4)
    add(db, "bot", bot=True)
    add(db, "dormant", status=m.DecayStatus.dormant)
    flagged = add(db, "flagged", status=m.DecayStatus.flagged)  # flagged still qualifies
    report = apply_watchlist(db, CONFIG, now=NOW)
    assert on(db) == {good, flagged}
    assert (report.size, report.added, report.removed) == (2, 2, 0)
    # a wallet that stops qualifying leaves; re-running changes nothing
    WalletRepository(db).upsert(WalletRepository(db).get(flagged).model_copy(
        update={"score": 0.3}))
    report = apply_watchlist(db, CONFIG, now=NOW)
    assert on(db) == {good} and report.removed == 1
    assert apply_watchlist(db, CONFIG, now=NOW).added == 0


def test_max_size_keeps_the_best_scores(db: Database) -> None:
    wallets = [add(db, f"w{i}", score=0.6 + i / 100) for i in range(5)]
    config = CONFIG.model_copy(update={"watchlist": CONFIG.watchlist.model_copy(
        update={"max_size": 2})})
    apply_watchlist(db, config, now=NOW)
    assert on(db) == set(wallets[-2:])


def test_manual_overrides_win_over_the_rule(db: Database) -> None:
    weak, strong = add(db, "weak", trades=1), add(db, "strong")
    assert set_watchlist_override(db, weak, "add") is True
    assert set_watchlist_override(db, strong, m.WatchlistOverride.remove) is False
    apply_watchlist(db, CONFIG, now=NOW)
    assert on(db) == {weak}
    # back to the rule
    assert set_watchlist_override(db, strong, "none", config=CONFIG, now=NOW) is True
    assert on(db) == {weak, strong}
    with pytest.raises(UnknownWalletError):
        set_watchlist_override(db, factories.address("nobody"), "add")


def test_a_blacklisted_wallet_is_never_on_the_watchlist(db: Database) -> None:
    w = add(db, "crook")
    apply_watchlist(db, CONFIG, now=NOW)
    assert on(db) == {w}
    set_blacklisted(db, [w], "rug", now=NOW)
    assert set_watchlist_override(db, w, "add") is False  # even a manual add
    apply_watchlist(db, CONFIG, now=NOW)
    assert on(db) == set()
