"""Every decay transition, on hand-made trade sequences through the store."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests import factories
from walltrack import models as m
from walltrack.intel.blacklist import set_blacklisted
from walltrack.intel.decay import apply_decay, decay_timeline
from walltrack.intel.profiling import profile_wallets
from walltrack.models.config import DecayConfig
from walltrack.store import Database
from walltrack.store.repositories import DecayEventRepository, SwapRepository, WalletRepository

W = factories.WALLET
CONFIG = m.DynamicConfig()


def trades_frame(results: str, *, start_minute: int = 0) -> pl.DataFrame:
    """One closed round trip per character: W = win (+0.5 SOL), L = loss (−0.5 SOL)."""
    rows = []
    for i, r in enumerate(results):
        mint = factories.address(f"mint-{start_minute}-{i}")
        t = factories.T0 + timedelta(minutes=start_minute + i * 10)
        for k, (side, sol) in enumerate((("buy", 1.0), ("sell", 1.5 if r == "W" else 0.5))):
            rows.append({"signature": factories.signature(f"{start_minute}-{i}-{k}"),
                         "slot": 1000 + start_minute + i * 10 + k,
                         "timestamp": t + timedelta(minutes=k), "wallet": W, "mint": mint,
                         "side": side, "sol_amount": sol, "token_amount": 100.0,
                         "source": "RAYDIUM", "fee_sol": 0.0})
    return pl.DataFrame(rows, schema_overrides={"timestamp": pl.Datetime("us", "UTC")})


def run(db: Database, results: str, *, now_days: float = 1.0, start_minute: int = 0) -> m.Wallet:
    SwapRepository(db).copy_frame(trades_frame(results, start_minute=start_minute))
    if WalletRepository(db).get(W) is None:
        WalletRepository(db).upsert(m.Wallet(address=W, first_seen_at=factories.T0))
    now = factories.T0 + timedelta(days=now_days)
    profile_wallets(db, CONFIG, now=now)
    apply_decay(db, CONFIG, now=now)
    return WalletRepository(db).get(W)


def events(db: Database) -> list[tuple[str, str]]:
    evs = sorted(DecayEventRepository(db).list(), key=lambda e: (e.at, e.before != "ok"))
    return [(e.before.value, e.after.value) for e in evs]


def test_three_losses_downgrade_and_halve_the_score_until_a_win(db: Database) -> None:
    wallet = run(db, "WWWWLLL")
    assert wallet.status is m.DecayStatus.downgraded
    raw = db.connection  # the metrics keep the score before decay
    with raw() as conn:
        (metric_score,) = conn.execute("SELECT score FROM wallet_metrics").fetchone()
    assert wallet.score == pytest.approx(metric_score * 0.5)
    (event,) = DecayEventRepository(db).list()
    assert (event.before, event.after) == (m.DecayStatus.ok, m.DecayStatus.downgraded)
    assert event.reason == "3 consecutive losses"
    # a win ends the downgrade; applying decay twice never halves twice
    wallet = run(db, "W", start_minute=500)
    assert wallet.status is m.DecayStatus.ok
    apply_decay(db, CONFIG, now=factories.T0 + timedelta(days=1))
    assert events(db) == [("ok", "downgraded"), ("downgraded", "ok")]


def test_a_low_rolling_win_rate_flags(db: Database) -> None:
    wallet = run(db, "WLLWLWLLWLLW")  # 5/12 wins ≥ 40 %: ok
    assert wallet.status is m.DecayStatus.ok
    wallet = run(db, "LWLLWLLW", start_minute=200)  # 8/20 = 40 %: not below, still ok
    assert wallet.status is m.DecayStatus.ok
    wallet = run(db, "L", start_minute=400)  # the window slides: 7/20 = 35 % → flagged
    assert wallet.status is m.DecayStatus.flagged
    assert DecayEventRepository(db).list()[-1].reason.startswith("rolling win rate 35%")


def test_few_trades_are_never_flagged() -> None:
    trades = pl.DataFrame({"wallet": [W] * 4, "mint": list("abcd"),
                           "closed_at": [factories.T0 + timedelta(minutes=i) for i in range(4)],
                           "win": [False, True, False, True]})
    timeline = decay_timeline(trades, DecayConfig())
    assert timeline["status"].to_list() == ["ok"] * 4
    assert timeline["rolling_win_rate"].to_list() == pytest.approx([0, 0.5, 1 / 3, 0.5])


def test_thirty_days_without_activity_is_dormant_and_activity_wakes_it(db: Database) -> None:
    wallet = run(db, "WW", now_days=31)
    assert wallet.status is m.DecayStatus.dormant
    wallet = run(db, "W", start_minute=31 * 24 * 60, now_days=32)
    assert wallet.status is m.DecayStatus.ok
    assert events(db) == [("ok", "dormant"), ("dormant", "ok")]


def test_decay_never_touches_a_blacklisted_wallet(db: Database) -> None:
    WalletRepository(db).upsert(m.Wallet(address=W, first_seen_at=factories.T0))
    set_blacklisted(db, [W], "operator", now=factories.T0)
    wallet = run(db, "LLLL", now_days=40)
    assert wallet.status is m.DecayStatus.blacklisted
    assert events(db) == [("ok", "blacklisted")]
