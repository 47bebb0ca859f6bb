"""Profile metrics on hand-made histories, with the arithmetic written out."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests import factories
from walltrack import models as m
from walltrack.intel.profiling import compute_profiles, profile_wallets
from walltrack.intel.wallet_score import score_expr
from walltrack.models.config import ProfilingConfig
from walltrack.store import Database
from walltrack.store.repositories import SwapRepository, WalletMetricsRepository, WalletRepository

W, OTHER = factories.WALLET, factories.OTHER
MINT, MINT2, MINT3 = factories.MINT, factories.address("mint-2"), factories.address("mint-3")
NOW = factories.T0 + timedelta(days=1)
CFG = ProfilingConfig()


def frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (minute, wallet, mint, side, sol, tokens, fee[, slot])."""
    return pl.DataFrame(
        [
            {
                "signature": factories.signature(f"{i}"), "slot": r[7] if len(r) > 7 else 1000 + i,
                "timestamp": factories.T0 + timedelta(minutes=r[0]), "wallet": r[1],
                "mint": r[2], "side": r[3], "sol_amount": r[4], "token_amount": r[5],
                "source": "RAYDIUM", "fee_sol": r[6],
            }
            for i, r in enumerate(rows)
        ],
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


def profile(rows: list[tuple], **kw: object) -> dict:
    (row,) = compute_profiles(frame(rows), CFG, now=NOW, wallets=[W], **kw).to_dicts()
    return row


def test_partial_sells_fees_and_several_tokens() -> None:
    p = profile([
        (0, W, MINT, "buy", 1.0, 100.0, 0.01),
        (1, W, MINT, "buy", 3.0, 100.0, 0.01),
        (2, W, MINT, "sell", 3.0, 150.0, 0.02),   # 100 @0.01 + 50 @0.03 → cost 2.5
        (3, W, MINT, "sell", 2.0, 50.0, 0.02),    # 50 @0.03 → cost 1.5: closed, gross +1.0
        (4, W, MINT2, "buy", 2.0, 10.0, 0.0),
        (65, W, MINT2, "sell", 1.0, 10.0, 0.0),   # closed, −1.0, held 61 min
        (5, W, MINT3, "buy", 1.0, 10.0, 0.0),     # open: not a win nor a loss
    ])
    assert p["swaps"] == 7 and p["tokens_traded"] == 3
    assert (p["closed_trades"], p["wins"], p["losses"]) == (2, 1, 1)
    # MINT: +1.0 − fees (0.02 + 0.02 + 0.02 buys, all sold) = 0.94 ; MINT2: −1.0
    assert p["realized_pnl_sol"] == pytest.approx(0.94 - 1.0)
    assert p["invested_sol"] == pytest.approx(7.0)
    # ROI on the cost of what was sold (4.0 + 2.0 + 0.06 fees)
    assert p["roi"] == pytest.approx(-0.06 / 6.06)
    assert p["raw_win_rate"] == pytest.approx(0.5)
    assert p["win_rate"] == pytest.approx((1 + 2) / (2 + 4))
    assert p["profit_ratio"] == pytest.approx(0.94 / 1.0)
    assert p["avg_hold_seconds"] == pytest.approx((180 + 61 * 60) / 2)
    assert p["avg_buy_sol"] == pytest.approx(7.0 / 4)
    assert p["size_style"] == "medium"  # median buy 1.5 SOL
    assert sum(p["activity_hours"]) == 7 and p["activity_hours"][12] == 6
    assert p["activity_hours"][13] == 1  # 13:05 UTC
    assert p["is_bot"] is False


def test_a_one_trade_wallet_has_no_win_rate_evidence_and_a_low_score() -> None:
    p = profile([(0, W, MINT, "buy", 1.0, 10.0, 0.001)])
    assert p["closed_trades"] == 0 and p["wins"] == 0
    assert p["win_rate"] == pytest.approx(0.5)  # the prior alone
    assert p["profit_ratio"] is None and p["avg_hold_seconds"] is None
    assert p["score"] == 0.0  # no closed trade: no confidence


def test_lucky_three_of_three_ranks_below_a_steady_edge() -> None:
    lucky = [(i * 10, W, factories.address(f"l{i}"), side, sol, 10.0, 0.0)
             for i in range(3) for side, sol in (("buy", 0.2), ("sell", 0.4))]
    steady = []
    for i in range(30):  # 60 % wins of +1.0, losses of −0.4 on 1 SOL
        mint = factories.address(f"s{i}")
        steady += [(i * 10, OTHER, mint, "buy", 1.0, 10.0, 0.0),
                   (i * 10 + 5, OTHER, mint, "sell", 2.0 if i % 5 < 3 else 0.6, 10.0, 0.0)]
    out = compute_profiles(frame(lucky + steady), CFG, now=NOW)
    scores = dict(zip(out["wallet"], out["score"], strict=True))
    raw = dict(zip(out["wallet"], out["raw_win_rate"], strict=True))
    assert raw[W] == 1.0 and raw[OTHER] == pytest.approx(0.6)
    assert scores[OTHER] > 2 * scores[W]


def test_timing_percentile_and_the_launch_slot_bot() -> None:
    rows = []
    for t in range(4):  # 4 tokens, 12 buyers each; W buys first, in the launch slot
        mint = factories.address(f"tok{t}")
        for b in range(12):
            who = W if b == 0 else factories.address(f"crowd{b}")
            rows.append((t * 100 + b, who, mint, "buy", 0.5, 10.0, 0.0, 5000 + t * 1000 + b * 10))
        rows.append((t * 100 + 1, W, mint, "sell", 0.6, 10.0, 0.0, 5000 + t * 1000 + 1))
    p = profile(rows)
    assert p["timing_percentile"] == 0.0
    assert p["is_bot"] is True and "launch" in p["bot_reason"]
    # a human who buys second (10 slots later) is ranked but not a bot
    later = [(r[0] + 1.5, *r[1:7], r[7] + 20) if r[1] == W else r for r in rows]
    p2 = profile(later)
    assert p2["is_bot"] is False
    assert p2["timing_percentile"] == pytest.approx(1 / 11)


def test_inhuman_holds_make_a_bot() -> None:
    rows = []
    for i in range(4):
        mint = factories.address(f"fast{i}")
        rows += [(i * 10, W, mint, "buy", 1.0, 10.0, 0.0),
                 (i * 10, W, mint, "sell", 1.1, 10.0, 0.0)]
    p = profile(rows)
    assert p["is_bot"] is True and p["bot_reason"].startswith("median hold 0")


def test_window_excludes_old_swaps() -> None:
    rows = [(-CFG.window_days * 24 * 60 - 10, W, MINT, "buy", 1.0, 10.0, 0.0),
            (0, W, MINT2, "buy", 1.0, 10.0, 0.0)]
    assert profile(rows)["swaps"] == 1


def test_profile_wallets_round_trip_through_the_store(db: Database) -> None:
    swaps = frame([
        (0, W, MINT, "buy", 1.0, 100.0, 0.0), (5, W, MINT, "sell", 2.0, 100.0, 0.0),
        (0, OTHER, MINT, "buy", 1.0, 100.0, 0.0),
    ])
    SwapRepository(db).copy_frame(swaps)
    WalletRepository(db).upsert(m.Wallet(address=W, first_seen_at=factories.T0))
    report = profile_wallets(db, m.DynamicConfig(), now=NOW)
    assert (report.wallets, report.swaps) == (1, 3)  # OTHER is not tracked
    metrics = WalletMetricsRepository(db).get(W)
    assert metrics.wins == 1 and metrics.realized_pnl_sol == pytest.approx(1.0)
    assert len(metrics.activity_hours) == 24
    wallet = WalletRepository(db).get(W)
    assert wallet.raw_score == pytest.approx(metrics.score)
    assert wallet.score is None  # the score after decay: written by the decay stage
    assert wallet.last_activity_at == factories.T0 + timedelta(minutes=5)
    profile_wallets(db, m.DynamicConfig(), now=NOW)  # idempotent re-run
    assert WalletMetricsRepository(db).count() == 1


def test_a_wallet_that_dumps_within_minutes_on_most_trades_is_a_flipper() -> None:
    """A bait: early buys, 80 % sold 2 minutes later, the rest an hour later — a fine record
    of its own that no copier can follow, so its score keeps flip_score_factor of itself."""
    def trades(wallet: str, dump_minute: float) -> list[tuple]:
        rows = []
        for i in range(6):
            mint = factories.address(f"{wallet}{i}")
            rows += [(i * 100, wallet, mint, "buy", 1.0, 100.0, 0.0),
                     (i * 100 + dump_minute, wallet, mint, "sell", 1.0, 80.0, 0.0),
                     (i * 100 + 60, wallet, mint, "sell", 0.3, 20.0, 0.0)]
        return rows

    out = compute_profiles(frame(trades(W, 2) + trades(OTHER, 30)), CFG, now=NOW)
    by = {r["wallet"]: r for r in out.to_dicts()}
    assert by[W]["raw_win_rate"] == by[OTHER]["raw_win_rate"] == 1.0
    assert by[W]["is_bot"] is False  # not a bot: a human-speed flip
    assert by[W]["score"] == pytest.approx(CFG.flip_score_factor * by[OTHER]["score"])


def test_a_late_buyer_keeps_late_score_factor_of_its_score() -> None:
    """Same record, first buys outside the earliest 40 % of each token's buyers (timing
    percentile 0.5 > 0.4): whatever it wins, a copier buys later still — half the score.
    Unknown timing (counted as 0.5 in the timing term) is not late."""
    base = {"closed_trades": 20, "wins": 12, "realized_pnl_sol": 8.0, "cost_sold": 20.0,
            "is_bot": False, "is_flipper": False}
    rows = pl.DataFrame([{**base, "timing_percentile": t} for t in (0.3, 0.4, 0.5, None)])
    early, edge, late, unknown = rows.select(score=score_expr(CFG))["score"].to_list()
    timing_gap = 0.20 * 0.2 * 20 / 25  # 0.20 weight × (0.7 → 0.5 of timing) × confidence
    assert late == pytest.approx(CFG.late_score_factor * (early - timing_gap))
    assert edge == pytest.approx(early - timing_gap / 2)  # at the limit: not late
    assert unknown == pytest.approx(late / CFG.late_score_factor)  # 0.5, no penalty


def test_a_wallet_that_buys_behind_many_of_the_best_is_an_alert_follower() -> None:
    """W buys each of six tokens a minute after a different good wallet bought it: an alert
    follower, whatever its record (score × follow_score_factor). M buys six tokens a minute
    after one same wallet each time — a cluster's member, not a follower — and keeps its
    score. Each is compared with its own score with the rule off."""
    rows: list[tuple] = []
    leaders = [factories.address(f"leader{i}") for i in range(6)]
    member, boss = factories.address("member"), leaders[0]
    for i, leader in enumerate(leaders):
        mint = factories.address(f"alert{i}")
        rows += [(i * 100, leader, mint, "buy", 1.0, 100.0, 0.0),
                 (i * 100 + 30, leader, mint, "sell", 2.0, 100.0, 0.0),
                 (i * 100 + 1, W, mint, "buy", 1.0, 90.0, 0.0),
                 (i * 100 + 30, W, mint, "sell", 1.5, 90.0, 0.0)]
        own = factories.address(f"boss{i}")
        rows += [(i * 100 + 50, boss, own, "buy", 1.0, 100.0, 0.0),
                 (i * 100 + 80, boss, own, "sell", 2.0, 100.0, 0.0),
                 (i * 100 + 51, member, own, "buy", 1.0, 90.0, 0.0),
                 (i * 100 + 80, member, own, "sell", 1.5, 90.0, 0.0)]
    off = CFG.model_copy(update={"follow_max_share": 1.0})
    on_, off_ = ({r["wallet"]: r for r in compute_profiles(frame(rows), c, now=NOW).to_dicts()}
                 for c in (CFG, off))
    assert on_[W]["score"] == pytest.approx(CFG.follow_score_factor * off_[W]["score"])
    assert off_[W]["score"] > 0 and "follows the research's best" in on_[W]["bot_reason"]
    assert on_[W]["is_bot"] is False
    assert off_[member]["score"] > 0
    assert on_[member]["score"] == pytest.approx(off_[member]["score"])
    assert on_[member]["bot_reason"] is None
    for leader in leaders:
        assert on_[leader]["score"] == pytest.approx(off_[leader]["score"])
    # The window is two minutes: three minutes behind is no longer following.
    late = [(r[0] + 2 if r[1] == W and r[3] == "buy" else r[0], *r[1:]) for r in rows]
    late_on = {r["wallet"]: r for r in compute_profiles(frame(late), CFG, now=NOW).to_dicts()}
    assert late_on[W]["bot_reason"] is None
