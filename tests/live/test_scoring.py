"""Scoring on hand-made cases: amplification, confirmation, unsafe tokens, the decision order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.factories import address, signature
from tests.live.helpers import FixedTokens, good_token
from walltrack.intel.amplification import AmplificationIndex
from walltrack.live.recent_buys import RecentBuys
from walltrack.live.scoring.scorer import score_swap, signal_id
from walltrack.live.state import LiveState
from walltrack.live.watchset import WatchedWallet, WatchSet
from walltrack.models import (
    DecisionReason,
    DynamicConfig,
    SafetyCheck,
    SignalDecision,
    SignalSource,
    Swap,
    SwapSide,
    TokenSafety,
    TokenView,
)

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LEADER, M1, M2, M3, LONER = (address(n) for n in ("leader", "m1", "m2", "m3", "loner"))
MINT = address("mint")


def state(buys: list[tuple[str, datetime]], *, config: DynamicConfig | None = None) -> LiveState:
    members = pl.DataFrame({"cluster_id": ["c1"] * 4, "wallet": [LEADER, M1, M2, M3],
                            "role": ["leader", "member", "member", "member"]})
    frame = pl.DataFrame({"wallet": [w for w, _ in buys], "mint": [MINT] * len(buys),
                          "ts": [t for _, t in buys]},
                         schema={"wallet": pl.String, "mint": pl.String,
                                 "ts": pl.Datetime("us", "UTC")})
    wallets = {
        w: WatchedWallet(w, 0.8, "ok", "c1" if w != LONER else None, 0.2, 1.0, False)
        for w in (LEADER, M1, M2, M3, LONER)
    }
    return LiveState(config=config or DynamicConfig(), watch=WatchSet(wallets),
                     index=AmplificationIndex(members, frame, window_s=300),
                     recent=RecentBuys(keep_seconds=3600))


def swap(wallet: str, at: datetime = T, *, side: SwapSide = SwapSide.buy, sol: float = 1.0,
         sig: str = "s") -> Swap:
    return Swap(signature=signature(sig + wallet), slot=1, timestamp=at, wallet=wallet,
                mint=MINT, side=side, sol_amount=sol, token_amount=1e5)


async def score(st: LiveState, s: Swap, tokens: FixedTokens | None = None,
                observed: datetime | None = None):
    return await score_swap(st, tokens or FixedTokens(), s, st.watch.get(s.wallet),
                            observed_at=observed or s.timestamp + timedelta(seconds=2),
                            source=SignalSource.webhook)


async def test_leader_and_two_members_within_the_window_amplify() -> None:
    st = state([(LEADER, T - timedelta(seconds=200)), (M1, T - timedelta(seconds=100))])
    sig = await score(st, swap(M2))
    cluster = sig.factors.detail["cluster"]
    assert (cluster["members_bought"], cluster["leader_bought"]) == (2, True)
    assert sig.factors.cluster == pytest.approx(0.30 + 0.35 + 0.15)

    # Outside the window the leader no longer counts.
    st = state([(LEADER, T - timedelta(seconds=400)), (M1, T - timedelta(seconds=100))])
    sig = await score(st, swap(M2))
    assert sig.factors.detail["cluster"]["members_bought"] == 1
    assert sig.factors.cluster == pytest.approx(0.30 + 0.35 * 0.5)


async def test_other_clusters_confirm_separately() -> None:
    st = state([])
    await score(st, swap(LONER, T - timedelta(seconds=30)))
    sig = await score(st, swap(M1))
    assert sig.factors.detail["cluster"]["independent"] == 1
    assert sig.factors.detail["cluster"]["members_bought"] == 0
    assert sig.factors.cluster == pytest.approx(0.30 + 0.20 * 0.5)
    alone = await score(state([]), swap(LONER))
    assert alone.factors.cluster == pytest.approx(0.30)


@pytest.mark.parametrize("check", [SafetyCheck.freeze_authority, SafetyCheck.no_sell_route])
async def test_an_unsafe_token_is_never_eligible(check: SafetyCheck) -> None:
    unsafe = good_token(MINT).model_copy(update={"safety": TokenSafety(score=0.4, failed=[check])})
    st = state([(LEADER, T - timedelta(seconds=10)), (M1, T - timedelta(seconds=5))])
    sig = await score(st, swap(M2), FixedTokens({MINT: unsafe}))
    assert sig.factors.token == 0.0
    assert (sig.decision, sig.reason) == (SignalDecision.log_only, DecisionReason.token_unsafe)
    assert sig.failed_checks == [check.value]
    assert check.value in (sig.message or "")


async def test_the_decision_order() -> None:
    strong = state([(LEADER, T - timedelta(seconds=10)), (M1, T - timedelta(seconds=5))])
    fresh = good_token(MINT, created=T - timedelta(minutes=30))
    tokens = FixedTokens({MINT: fresh})
    sig = await score(strong, swap(M2, sol=4.0), tokens)
    assert sig.decision is SignalDecision.eligible and sig.score >= 0.70
    assert sig.high_conviction == (sig.score >= 0.85)
    assert sig.id == signal_id(sig.signature, M2, MINT)
    assert sig.delay_seconds == pytest.approx(2.0)
    # The same wallet again within the window: duplicate.
    again = await score(strong, swap(M2, T + timedelta(seconds=20), sig="again"), tokens)
    assert again.reason is DecisionReason.duplicate
    # A sell is stored for the mirror exits, never bought.
    sold = await score(strong, swap(M1, side=SwapSide.sell), tokens)
    assert (sold.decision, sold.reason) == (SignalDecision.log_only, DecisionReason.source_sold)
    # Late: stale, whatever the score.
    late = await score(strong, swap(M3), tokens, observed=T + timedelta(seconds=600))
    assert late.reason is DecisionReason.stale
    # A lone wallet with an old pair stays below the threshold.
    low = await score(state([]), swap(LONER), FixedTokens())
    assert (low.decision, low.reason) == (SignalDecision.log_only,
                                          DecisionReason.below_threshold)


async def test_weights_and_threshold_come_from_the_config() -> None:
    cfg = DynamicConfig()
    base = await score(state([], config=cfg), swap(LONER))
    cfg2 = DynamicConfig.model_validate({"scoring": {
        "weights": {"wallet": 1.0, "cluster": 0.0, "token": 0.0, "context": 0.0},
        "threshold": 0.5, "high_conviction": 0.9}})
    heavy = await score(state([], config=cfg2), swap(LONER))
    assert heavy.score == pytest.approx(0.8)
    assert heavy.weights["wallet"] == 1.0 and base.weights["wallet"] == 0.30
    assert heavy.decision is SignalDecision.eligible


async def test_missing_market_data_scores_low_and_names_it() -> None:
    unknown = TokenView(mint=MINT, safety=TokenSafety(score=0.0, failed=[SafetyCheck.unknown]))
    sig = await score(state([]), swap(LONER), FixedTokens({MINT: unknown}))
    assert sig.reason is DecisionReason.token_unsafe
    assert sig.factors.detail["token"]["liquidity_usd"] is None


async def test_the_worked_example_of_docs_live_md() -> None:
    st = state([(LEADER, T - timedelta(seconds=200)), (M1, T - timedelta(seconds=100))])
    tokens = FixedTokens({MINT: good_token(MINT, created=T - timedelta(minutes=30))})
    sig = await score(st, swap(M2, sol=4.0), tokens)
    assert (sig.factors.wallet, sig.factors.cluster) == (0.8, pytest.approx(0.8))
    assert sig.factors.token == pytest.approx(0.884, abs=5e-4)
    assert sig.factors.context == pytest.approx(0.922, abs=5e-4)
    assert sig.score == pytest.approx(0.845, abs=5e-4)
    assert sig.reason is DecisionReason.above_threshold
    lone = await score(state([]), swap(LONER, sol=4.0), tokens)
    assert lone.score == pytest.approx(0.720, abs=5e-4)
