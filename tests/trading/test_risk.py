"""Risk protections (table-driven, one table each) and the manager that combines them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walltrack.models.config import RiskConfig, SizingConfig
from walltrack.models.trading import RiskEvent, RiskEventKind, RiskState
from walltrack.trading.risk import (
    ClosedTrade,
    DailyLossLimit,
    DrawdownPause,
    Lock,
    LockKind,
    LossStreak,
    ManualPause,
    MaxPositions,
    ProtectionConfig,
    ProtectionSnapshot,
    ProtectionState,
    RiskManager,
    RiskObservation,
    WinRateHalt,
    is_max_loss,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, tzinfo=UTC)


def snap(**overrides: Any) -> ProtectionSnapshot:
    values: dict[str, Any] = {"now": NOW, "equity_sol": 10.0, "peak_equity_sol": 10.0,
                              "capital_sol": 10.0}
    values.update(overrides)
    return ProtectionSnapshot(**values)


def trade(pnl: float, minutes_ago: float = 60.0, size: float = 1.0,
          reason: str | None = None, at: datetime | None = None) -> ClosedTrade:
    return ClosedTrade(size_sol=size, pnl_sol=pnl, exit_reason=reason,
                       closed_at=at or NOW - timedelta(minutes=minutes_ago))


def series(pattern: str, size: float = 1.0) -> tuple[ClosedTrade, ...]:
    """W win, M max loss (−50 %), S stop-loss exit (−10 %), L small loss (−5 %), E even."""
    pnl = {"W": (0.5, None), "M": (-0.5, None), "S": (-0.1, "stop_loss"),
           "L": (-0.05, None), "E": (0.0, None)}
    n = len(pattern)
    return tuple(trade(pnl[c][0] * size, minutes_ago=n - i, size=size, reason=pnl[c][1])
                 for i, c in enumerate(pattern))


def lock(kind: LockKind, until: datetime | None = None) -> Lock:
    return Lock(kind=kind, reason=kind.value, since=NOW - timedelta(hours=2), until=until)


# -- drawdown pause ----------------------------------------------------------------------------

@pytest.mark.parametrize(("equity", "peak", "max_dd", "held", "locked", "evented"), [
    (10.0, 10.0, 0.20, False, False, False),
    (8.01, 10.0, 0.20, False, False, False),
    (8.0, 10.0, 0.20, False, True, True),    # exactly 20 %: pauses
    (7.0, 10.0, 0.20, False, True, True),
    (0.0, 10.0, 0.20, False, True, True),
    (9.5, 10.0, 0.05, False, True, True),
    (9.51, 10.0, 0.05, False, False, False),
    (10.0, 10.0, 0.20, True, True, False),   # held: kept whatever equity does, no new event
    (12.0, 10.0, 0.20, True, True, False),
    (0.0, 0.0, 0.20, False, False, False),   # no peak, no drawdown
    (5.0, 10.0, 0.0, False, True, True),
    (10.0, 10.0, 0.0, False, True, True),    # max 0: any equity ≤ peak pauses
])
def test_drawdown_pause(equity: float, peak: float, max_dd: float, held: bool, locked: bool,
                        evented: bool) -> None:
    locks = (lock(LockKind.drawdown_pause),) if held else ()
    v = DrawdownPause(max_drawdown=max_dd).evaluate(
        snap(equity_sol=equity, peak_equity_sol=peak, locks=locks))
    assert (v.lock is not None) is locked
    assert [e.kind for e in v.events] == ([RiskEventKind.drawdown_pause] if evented else [])
    if locked:
        assert v.lock is not None and v.lock.kind is LockKind.drawdown_pause
        assert v.lock.until is None and v.lock.sticky
    if held:
        assert v.lock == locks[0]
    assert v.size_multiplier == 1.0


# -- win-rate halt -----------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "window", "rate", "halted"), [
    ("", 5, 0.4, False),
    ("MMMM", 5, 0.4, False),             # fewer than the window: never judged
    ("MMMMM", 5, 0.4, True),             # 0/5
    ("WMMMM", 5, 0.4, True),             # 1/5 = 20 %
    ("WWMMM", 5, 0.4, False),            # 2/5 = 40 %: not below
    ("WWWMMMM", 5, 0.4, True),           # only the last 5 count: 1/5
    ("MMMMWWW", 5, 0.4, False),          # last 5 = MMWWW: 3/5
    ("EEEEE", 5, 0.4, True),             # breakeven is not a win
    ("W" * 20 + "M" * 30, 50, 0.4, False),  # 20/50 = 40 %
    ("W" * 19 + "M" * 31, 50, 0.4, True),
    ("M" * 49, 50, 0.4, False),
    ("M", 1, 0.4, True),
    ("W", 1, 1.0, False),
    ("WWWWM", 5, 1.0, True),
])
def test_win_rate_halt(pattern: str, window: int, rate: float, halted: bool) -> None:
    v = WinRateHalt(halt_win_rate=rate, window=window).evaluate(
        snap(closed_trades=series(pattern)))
    assert (v.lock is not None) is halted
    assert [e.kind for e in v.events] == ([RiskEventKind.win_rate_halt] if halted else [])


def test_win_rate_halt_is_sticky_and_counts_only_trades_after_the_reset() -> None:
    held = lock(LockKind.win_rate_halt)
    v = WinRateHalt(window=5).evaluate(snap(closed_trades=series("WWWWW"), locks=(held,)))
    assert v.lock == held and not v.events
    trades = (*series("MMMMM"), trade(0.1, minutes_ago=0.5))
    reset_at = NOW - timedelta(minutes=3)  # three of the losses were before the reset
    v = WinRateHalt(window=5).evaluate(snap(closed_trades=trades, last_reset_at=reset_at))
    assert v.lock is None and v.metrics["trades"] == 3


# -- loss streak -------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "before", "multiplier", "count", "event"), [
    ("", 1.0, 1.0, 0, None),
    ("MM", 1.0, 1.0, 2, None),
    ("MMM", 1.0, 0.5, 3, RiskEventKind.size_reduced),
    ("SSS", 1.0, 0.5, 3, RiskEventKind.size_reduced),     # stop-loss exits count
    ("MSM", 1.0, 0.5, 3, RiskEventKind.size_reduced),
    ("MMMM", 0.5, 0.5, 4, None),                         # already reduced: no new event
    ("MMLM", 1.0, 1.0, 1, None),                         # a small loss breaks the run
    ("MMEM", 1.0, 1.0, 1, None),                         # so does breakeven
    ("MMML", 0.5, 0.5, 0, None),                         # …but does not restore the size
    ("MMMLLM", 0.5, 0.5, 1, None),
    ("MMMW", 0.5, 1.0, 0, RiskEventKind.size_restored),  # a win restores it
    ("MMMWMM", 0.5, 1.0, 2, RiskEventKind.size_restored),
    ("MMMWMMM", 1.0, 0.5, 3, RiskEventKind.size_reduced),
    ("WWW", 1.0, 1.0, 0, None),
    ("LLLLL", 1.0, 1.0, 0, None),                        # small losses are not max losses
])
def test_loss_streak(pattern: str, before: float, multiplier: float, count: int,
                     event: RiskEventKind | None) -> None:
    v = LossStreak(max_loss_streak=3, reduced_multiplier=0.5, stop_distance=0.3).evaluate(
        snap(closed_trades=series(pattern), size_multiplier=before))
    assert v.size_multiplier == multiplier
    assert v.metrics["consecutive_max_losses"] == count
    assert [e.kind for e in v.events] == ([event] if event else [])
    assert v.lock is None  # entries stay allowed, only smaller


@pytest.mark.parametrize(("pnl", "size", "reason", "distance", "expected"), [
    (-0.3, 1.0, None, 0.3, True),          # exactly the stop distance
    (-0.2999, 1.0, None, 0.3, False),
    (-0.6, 2.0, None, 0.3, True),
    (-0.59, 2.0, None, 0.3, False),
    (-0.01, 1.0, "stop_loss", 0.3, True),  # closed by the stop loss, whatever the loss
    (0.2, 1.0, "stop_loss", 0.3, True),
    (-1.0, 0.0, None, 0.3, False),         # no size known: only the reason can tell
    (-0.5, 1.0, "trailing_stop", 0.3, True),
    (-0.1, 1.0, "trailing_stop", 0.3, False),
    (-0.1, 1.0, None, 0.1, True),
])
def test_max_loss_definition(pnl: float, size: float, reason: str | None, distance: float,
                             expected: bool) -> None:
    assert is_max_loss(trade(pnl, size=size, reason=reason), distance) is expected


def test_stop_loss_reasons_are_a_parameter() -> None:
    t = trade(-0.01, reason="hard_stop")
    assert not is_max_loss(t, 0.3)
    assert is_max_loss(t, 0.3, ("hard_stop",))


# -- max positions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("open_count", "limit", "locked"), [
    (0, 5, False), (4, 5, False), (5, 5, True), (7, 5, True), (1, 1, True), (0, 1, False),
])
def test_max_positions(open_count: int, limit: int, locked: bool) -> None:
    v = MaxPositions(max_concurrent_positions=limit).evaluate(snap(open_positions=open_count))
    assert (v.lock is not None) is locked
    assert not v.events


def test_max_positions_keeps_its_lock_and_lifts_itself() -> None:
    held = lock(LockKind.max_positions)
    assert MaxPositions(2).evaluate(snap(open_positions=2, locks=(held,))).lock == held
    assert MaxPositions(2).evaluate(snap(open_positions=1, locks=(held,))).lock is None


# -- daily loss limit --------------------------------------------------------------------------

YESTERDAY = MIDNIGHT - timedelta(minutes=1)


@pytest.mark.parametrize(("pnls", "limit", "held", "locked", "event"), [
    ([], 0.10, False, False, None),
    ([-0.5], 0.10, False, False, None),
    ([-1.0], 0.10, False, True, RiskEventKind.daily_loss_pause),  # exactly 10 % of 10
    ([-0.6, -0.4], 0.10, False, True, RiskEventKind.daily_loss_pause),
    ([-1.5, 0.6], 0.10, False, False, None),            # net, not gross
    ([-2.0], 0.10, True, True, None),                   # held: kept, no new event
    ([-0.2], 0.10, True, False, RiskEventKind.daily_loss_resume),
    ([-5.0], None, False, False, None),                 # off
    ([-0.01], 0.0, False, True, RiskEventKind.daily_loss_pause),
    ([0.0], 0.0, False, False, None),                   # no loss, no pause even at cap 0
    ([-1.0], 0.2, False, False, None),
])
def test_daily_loss_limit(pnls: list[float], limit: float | None, held: bool, locked: bool,
                          event: RiskEventKind | None) -> None:
    trades = tuple(trade(p, minutes_ago=30 + i) for i, p in enumerate(pnls))
    locks = (lock(LockKind.daily_loss, until=MIDNIGHT + timedelta(days=1)),) if held else ()
    v = DailyLossLimit(limit=limit).evaluate(snap(closed_trades=trades, locks=locks))
    assert (v.lock is not None) is locked
    assert [e.kind for e in v.events] == ([event] if event else [])
    if locked:
        assert v.lock is not None and v.lock.until == MIDNIGHT + timedelta(days=1)


@pytest.mark.parametrize(("closed_at", "counts"), [
    (YESTERDAY, False),
    (MIDNIGHT, True),
    (NOW, True),
    (NOW + timedelta(seconds=1), False),  # not closed yet as of `now`
])
def test_daily_loss_counts_only_today_utc(closed_at: datetime, counts: bool) -> None:
    v = DailyLossLimit(limit=0.1).evaluate(snap(closed_trades=(trade(-3.0, at=closed_at),)))
    assert (v.lock is not None) is counts


def test_daily_loss_lifts_itself_the_next_utc_day() -> None:
    trades = (trade(-3.0, at=NOW),)
    first = DailyLossLimit(limit=0.1).evaluate(snap(closed_trades=trades))
    assert first.lock is not None
    tomorrow = MIDNIGHT + timedelta(days=1, minutes=1)
    later = DailyLossLimit(limit=0.1).evaluate(snap(now=tomorrow, closed_trades=trades,
                                                    locks=(first.lock,)))
    assert later.lock is None
    assert [e.kind for e in later.events] == [RiskEventKind.daily_loss_resume]
    assert isinstance(later.events[0], RiskEvent)


# -- manual pause ------------------------------------------------------------------------------

@pytest.mark.parametrize(("locks", "locked"), [
    ((), False),
    ((lock(LockKind.manual_pause),), True),
    ((lock(LockKind.drawdown_pause),), False),
])
def test_manual_pause_only_keeps_its_own_lock(locks: tuple[Lock, ...], locked: bool) -> None:
    v = ManualPause().evaluate(snap(locks=locks))
    assert (v.lock is not None) is locked


# -- the manager -------------------------------------------------------------------------------

MANAGER = RiskManager(RiskConfig(halt_window_trades=5), SizingConfig(), ProtectionConfig())


def observe(equity: float = 10.0, now: datetime = NOW, **overrides: Any) -> RiskObservation:
    return RiskObservation(now=now, equity_sol=equity, **overrides)


def test_the_protections_run_in_the_documented_order() -> None:
    assert [p.name for p in MANAGER.protections] == [
        "manual_pause", "drawdown_pause", "win_rate_halt", "daily_loss_limit",
        "max_positions", "loss_streak"]


def test_a_clean_book_allows_entries() -> None:
    out = MANAGER.evaluate(MANAGER.initial_state(), observe())
    assert out.entries_allowed and out.exits_allowed
    assert out.events == () and out.state.size_multiplier == 1.0
    assert [v.protection for v in out.verdicts] == [p.name for p in MANAGER.protections]


def test_everything_at_once_locks_in_order_and_events_in_order() -> None:
    state = MANAGER.pause(MANAGER.initial_state(), "going to lunch", NOW).state
    trades = series("MMMMM")  # 5 max losses today: −2.5 SOL
    out = MANAGER.evaluate(state, observe(equity=7.5, open_positions=5, closed_trades=trades))
    assert [lock.kind for lock in out.state.locks] == [
        LockKind.manual_pause, LockKind.drawdown_pause, LockKind.win_rate_halt,
        LockKind.daily_loss, LockKind.max_positions]
    assert [e.kind for e in out.events] == [
        RiskEventKind.drawdown_pause, RiskEventKind.win_rate_halt,
        RiskEventKind.daily_loss_pause, RiskEventKind.size_reduced]
    assert out.state.size_multiplier == 0.5
    assert out.state.consecutive_max_losses == 5
    assert not out.entries_allowed and out.exits_allowed
    row = out.state.to_risk_state()
    assert row.paused and row.halted
    assert row.pause_reason is not None and row.pause_reason.startswith("manual_pause: going")


def test_the_peak_follows_equity_up_and_the_drawdown_is_from_it() -> None:
    state = MANAGER.initial_state()
    state = MANAGER.evaluate(state, observe(equity=15.0)).state
    assert state.peak_equity_sol == 15.0
    out = MANAGER.evaluate(state, observe(equity=12.0))
    assert out.state.lock(LockKind.drawdown_pause) is not None  # 20 % below 15
    assert out.state.drawdown == pytest.approx(0.2)


def test_drawdown_pause_survives_until_reset() -> None:
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(equity=7.9))
    assert not out.entries_allowed
    # Persist the way the store does (the risk_state row), and as JSON; restart; evaluate again
    # with equity back above the line: still paused.
    row = RiskState.model_validate_json(out.state.to_risk_state().model_dump_json())
    for restored in (ProtectionState.from_risk_state(row),
                     ProtectionState.model_validate_json(out.state.model_dump_json())):
        again = MANAGER.evaluate(restored, observe(equity=9.9, now=NOW + timedelta(hours=1)))
        assert again.state.lock(LockKind.drawdown_pause) is not None
        assert not again.entries_allowed and again.exits_allowed
        assert again.events == ()  # kept, not set again
        # `resume` does not lift it…
        resumed = MANAGER.resume(again.state, "back", NOW + timedelta(hours=2))
        assert not resumed.state.entries_allowed
        # …only `reset` does, and the peak starts again from the equity of that moment.
        reset = MANAGER.reset(again.state, "reviewed the losses", NOW + timedelta(hours=2))
        assert reset.state.entries_allowed
        assert reset.state.peak_equity_sol == 9.9
        assert [e.kind for e in reset.events] == [RiskEventKind.reset]
        assert reset.events[0].detail["lifted"] == ["drawdown_pause"]
        after = MANAGER.evaluate(reset.state, observe(equity=9.9, now=NOW + timedelta(hours=3)))
        assert after.entries_allowed


def test_the_halt_needs_a_reset_and_the_reset_starts_a_new_window() -> None:
    trades = series("MMMMM")
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(closed_trades=trades))
    assert out.state.halted
    restored = ProtectionState.from_risk_state(out.state.to_risk_state())
    assert restored.halted
    later = NOW + timedelta(days=1)  # the daily loss is over; the halt is not
    again = MANAGER.evaluate(restored, observe(now=later, closed_trades=trades))
    assert again.state.halted and not again.entries_allowed
    reset = MANAGER.reset(again.state, "new wallets", later)
    after = MANAGER.evaluate(reset.state, observe(now=later + timedelta(minutes=1),
                                                  closed_trades=trades))
    assert not after.state.halted and after.entries_allowed


@pytest.mark.parametrize("note", ["", "   ", "\n"])
def test_operator_actions_need_a_note(note: str) -> None:
    state = MANAGER.initial_state()
    for action in (MANAGER.reset, MANAGER.pause, MANAGER.resume):
        with pytest.raises(ValueError, match="note"):
            action(state, note, NOW)


def test_manual_pause_and_resume() -> None:
    state = MANAGER.initial_state()
    paused = MANAGER.pause(state, "maintenance", NOW)
    assert not paused.entries_allowed and paused.exits_allowed
    assert [e.kind for e in paused.events] == [RiskEventKind.manual_pause]
    assert MANAGER.pause(paused.state, "again", NOW).events == ()  # idempotent
    kept = MANAGER.evaluate(paused.state, observe(now=NOW + timedelta(hours=1)))
    assert not kept.entries_allowed and kept.events == ()
    restored = ProtectionState.from_risk_state(kept.state.to_risk_state())
    assert restored.lock(LockKind.manual_pause) is not None
    resumed = MANAGER.resume(restored, "done", NOW + timedelta(hours=2))
    assert resumed.entries_allowed
    assert [e.kind for e in resumed.events] == [RiskEventKind.manual_resume]
    assert MANAGER.resume(resumed.state, "done", NOW).events == ()
    # A reset does not lift a manual pause.
    assert not MANAGER.reset(paused.state, "reset", NOW).entries_allowed


def test_non_sticky_locks_are_not_rebuilt_from_the_row_but_come_back_on_evaluation() -> None:
    trades = (trade(-2.0, at=NOW - timedelta(minutes=5)),)
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(equity=9.0, open_positions=5,
                                                            closed_trades=trades))
    assert {lock.kind for lock in out.state.locks} == {LockKind.daily_loss,
                                                       LockKind.max_positions}
    row = out.state.to_risk_state()
    assert row.paused and not row.halted
    restored = ProtectionState.from_risk_state(row)
    assert restored.locks == ()
    again = MANAGER.evaluate(restored, observe(equity=9.0, open_positions=5,
                                               closed_trades=trades))
    assert {lock.kind for lock in again.state.locks} == {LockKind.daily_loss,
                                                         LockKind.max_positions}


def test_an_unknown_pause_in_the_row_stays_paused_until_the_operator_resumes() -> None:
    row = RiskState(paused=True, pause_reason="paused by hand in SQL")
    restored = ProtectionState.from_risk_state(row)
    assert restored.lock(LockKind.manual_pause) is not None
    out = MANAGER.evaluate(restored, observe())
    assert not out.entries_allowed


def test_loss_streak_reduces_size_through_the_manager_then_restores() -> None:
    trades = series("MMM", size=0.2)  # −0.3 SOL today: under the daily loss limit
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(equity=10.0, closed_trades=trades))
    assert out.state.size_reduced and out.entries_allowed
    row = out.state.to_risk_state()
    assert row.size_multiplier == 0.5 and row.consecutive_max_losses == 3
    win = (*trades, trade(1.0, minutes_ago=0.1))
    back = MANAGER.evaluate(ProtectionState.from_risk_state(row), observe(closed_trades=win))
    assert back.state.size_multiplier == 1.0
    assert [e.kind for e in back.events] == [RiskEventKind.size_restored]


def test_events_are_risk_events_for_known_kinds() -> None:
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(equity=5.0))
    assert all(isinstance(e, RiskEvent) for e in out.events)
    assert out.events[0].at == NOW


KIND = st.sampled_from(list(LockKind))


@settings(max_examples=150, deadline=None)
@given(equities=st.lists(st.floats(0.0, 100.0, allow_nan=False), min_size=1, max_size=20),
       open_counts=st.lists(st.integers(0, 10), min_size=20, max_size=20))
def test_properties_exits_always_allowed_and_the_drawdown_pause_never_lifts_alone(
        equities: list[float], open_counts: list[int]) -> None:
    state = MANAGER.initial_state()
    paused_once = False
    for i, (equity, count) in enumerate(zip(equities, open_counts, strict=False)):
        out = MANAGER.evaluate(state, observe(equity=equity, open_positions=count,
                                              now=NOW + timedelta(minutes=i)))
        state = ProtectionState.model_validate_json(out.state.model_dump_json())
        assert out.exits_allowed
        assert state.peak_equity_sol >= equity
        paused_once = paused_once or state.lock(LockKind.drawdown_pause) is not None
        if paused_once:
            assert state.lock(LockKind.drawdown_pause) is not None
            assert not out.entries_allowed
        assert out.entries_allowed is (not state.locks)


def test_the_pure_flow_state_then_gates_then_sizing() -> None:
    from walltrack.trading.gates import EntryContext, GateReason, check_entry
    from walltrack.trading.sizing import SizingInputs, size_position

    mint = "So11111111111111111111111111111111111111112"
    trades = series("MMM", size=0.2)
    out = MANAGER.evaluate(MANAGER.initial_state(), observe(closed_trades=trades))
    ctx = EntryContext(now=NOW, signal_id="s", mint=mint, score=0.9, high_conviction=True,
                       balance_sol=5.0, locks=out.state.locks)
    assert check_entry(ctx).allowed
    size = size_position(SizingInputs(capital_sol=out.state.capital_sol, high_conviction=True,
                                      reduced=out.state.size_reduced, pool_liquidity_sol=500.0,
                                      balance_sol=ctx.balance_sol,
                                      exposure_headroom_sol=ctx.exposure_headroom_sol),
                         MANAGER.sizing)
    assert size.size_sol == pytest.approx(10.0 * 0.02 * 1.5 * 0.5)
    paused = MANAGER.pause(out.state, "stop", NOW).state
    blocked = check_entry(ctx.model_copy(update={"locks": paused.locks}))
    assert blocked.reason is GateReason.protection_lock
