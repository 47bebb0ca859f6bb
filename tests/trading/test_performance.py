"""Per-source-wallet copy performance over a real store, and the per-wallet copy mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from tests.factories import address, signature
from walltrack.models import (
    DecisionReason,
    Position,
    PositionStatus,
    Signal,
    SignalDecision,
    SignalFactors,
    SwapSide,
    TradingMode,
    Wallet,
)
from walltrack.store import Database
from walltrack.store.repositories import PositionRepository, SignalRepository, WalletRepository
from walltrack.trading.performance import (
    COLUMNS,
    MODES_SCHEMA,
    POSITIONS_SCHEMA,
    SIGNALS_SCHEMA,
    WATCHED_SCHEMA,
    performance_frame,
    set_copy_mode,
    wallet_performance,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
W1, W2, W3, W4 = (address(f"perf-wallet-{i}") for i in range(1, 5))


def position(wallet: str, n: int, status: PositionStatus, pnl: float = 0.0) -> Position:
    return Position(id=f"pos-{wallet[:6]}-{n}", signal_id=f"sig-{wallet[:6]}-{n}",
                    wallet=wallet, mint=address(f"mint-{wallet}-{n}"), status=status,
                    size_sol=0.1, token_amount=1000.0, remaining_tokens=0.0,
                    realized_pnl_sol=pnl, opened_at=NOW - timedelta(days=n),
                    closed_at=NOW if status is PositionStatus.closed else None)


def signal(wallet: str, n: int, observed_at: datetime, *, eligible: bool = True) -> Signal:
    sig = signature(f"perf-{wallet}-{n}")
    return Signal(id=f"s-{wallet[:6]}-{n}", signature=sig, wallet=wallet,
                  mint=address(f"mint-{n}"), side=SwapSide.buy, sol_amount=1.0,
                  observed_at=observed_at, swap_at=observed_at - timedelta(seconds=1),
                  factors=SignalFactors(wallet=0.5, cluster=0.5, token=0.5, context=0.5),
                  weights={"wallet": 1.0}, score=0.7,
                  decision=SignalDecision.eligible if eligible else SignalDecision.log_only,
                  reason=DecisionReason.above_threshold if eligible
                  else DecisionReason.below_threshold)


@pytest.fixture
def book(db: Database) -> Database:
    """W1, W2 watched; W3 only has positions (no wallets row); W4 is neither."""
    WalletRepository(db).upsert_many([
        Wallet(address=W1, on_watchlist=True), Wallet(address=W2, on_watchlist=True),
        Wallet(address=W4, on_watchlist=False)])
    PositionRepository(db).upsert_many([
        position(W1, 1, PositionStatus.closed, 0.5),
        position(W1, 2, PositionStatus.closed, -0.2),
        position(W1, 3, PositionStatus.closed, 0.0),  # break-even: not a win
        position(W1, 4, PositionStatus.open, 0.1),  # a partial take profit
        position(W1, 5, PositionStatus.failed),  # the entry never filled: no copy
        position(W3, 1, PositionStatus.opening),
        position(W3, 2, PositionStatus.closing, -0.05),
    ])
    SignalRepository(db).upsert_many([
        signal(W1, 1, NOW - timedelta(hours=1)),
        signal(W1, 2, NOW - timedelta(hours=23, minutes=59)),
        signal(W1, 3, NOW - timedelta(hours=24)),  # the 24 h window excludes its start
        signal(W1, 4, NOW - timedelta(days=2), eligible=False),
        signal(W1, 5, NOW - timedelta(days=8)),
        signal(W1, 6, NOW - timedelta(days=31), eligible=False),
        signal(W1, 7, NOW + timedelta(hours=1)),  # after ``now``: in no window
        signal(W3, 1, NOW - timedelta(days=6), eligible=False),
        signal(W4, 1, NOW - timedelta(hours=2)),  # neither watched nor copied: no row
    ])
    return db


def by_wallet(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["wallet"]: r for r in frame.to_dicts()}


def test_every_column_of_every_wallet(book: Database) -> None:
    set_copy_mode(book, W1, TradingMode.live, "forty closed paper copies, most of them won")
    frame = wallet_performance(book, now=NOW)
    assert frame.columns == list(COLUMNS)
    assert frame["wallet"].to_list() == [W1, W2, W3]  # best realized PnL first
    rows = by_wallet(frame)
    w1 = rows[W1]
    assert w1["copy_mode"] == "live" and w1["watched"] is True
    assert (w1["positions"], w1["open_positions"], w1["closed"], w1["wins"]) == (4, 1, 3, 1)
    assert w1["win_rate"] == pytest.approx(1 / 3)
    assert w1["realized_pnl_sol"] == pytest.approx(0.4)
    assert (w1["signals_24h"], w1["signals_7d"], w1["signals_30d"], w1["signals_all"],
            w1["eligible_all"]) == (2, 4, 5, 7, 5)
    assert w1["last_signal_at"] == NOW + timedelta(hours=1)

    w2 = rows[W2]
    assert w2["copy_mode"] == "paper" and w2["watched"] is True
    assert [w2[c] for c in ("positions", "open_positions", "closed", "wins", "signals_all",
                            "eligible_all")] == [0] * 6
    assert w2["win_rate"] is None and w2["realized_pnl_sol"] == 0.0
    assert w2["last_signal_at"] is None

    w3 = rows[W3]
    assert w3["copy_mode"] == "paper" and w3["watched"] is False
    assert (w3["positions"], w3["open_positions"], w3["closed"], w3["wins"]) == (2, 2, 0, 0)
    assert w3["win_rate"] is None
    assert w3["realized_pnl_sol"] == pytest.approx(-0.05)
    assert (w3["signals_24h"], w3["signals_7d"], w3["signals_30d"], w3["signals_all"],
            w3["eligible_all"]) == (0, 1, 1, 1, 0)


def test_the_windows_move_with_now(book: Database) -> None:
    later = by_wallet(wallet_performance(book, now=NOW + timedelta(days=1)))[W1]
    # now+1 d: the signal of NOW+1 h enters every window, those of NOW-1 h and NOW-23:59
    # leave the 24 h one; the 31-day-old one is still out of the 30-day window.
    assert (later["signals_24h"], later["signals_7d"], later["signals_30d"]) == (1, 5, 6)


def test_an_empty_store_gives_an_empty_typed_frame(db: Database) -> None:
    frame = wallet_performance(db, now=NOW)
    assert frame.is_empty() and frame.columns == list(COLUMNS)
    assert frame.schema["win_rate"] == pl.Float64
    assert frame.schema["last_signal_at"] == pl.Datetime("us", "UTC")


def test_the_pure_function_on_hand_made_frames() -> None:
    frame = performance_frame(
        pl.DataFrame({"wallet": ["a"]}, schema=WATCHED_SCHEMA),
        pl.DataFrame({"wallet": ["b"], "positions": [3], "open_positions": [0], "closed": [3],
                      "wins": [2], "realized_pnl_sol": [1.5]}, schema=POSITIONS_SCHEMA),
        pl.DataFrame({"wallet": ["a"], "signals_24h": [1], "signals_7d": [2],
                      "signals_30d": [3], "signals_all": [4], "eligible_all": [2],
                      "last_signal_at": [NOW]}, schema=SIGNALS_SCHEMA),
        pl.DataFrame({"wallet": ["b"], "mode": ["live"]}, schema=MODES_SCHEMA))
    rows = by_wallet(frame)
    assert rows["b"]["win_rate"] == pytest.approx(2 / 3) and rows["b"]["copy_mode"] == "live"
    assert rows["b"]["signals_all"] == 0 and rows["b"]["watched"] is False
    assert rows["a"]["signals_30d"] == 3 and rows["a"]["positions"] == 0


def test_set_copy_mode_needs_a_note_and_leaves_an_alert(db: Database) -> None:
    for note in ("", "   "):
        with pytest.raises(ValueError, match="note"):
            set_copy_mode(db, W1, TradingMode.live, note)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM wallet_copy_modes")
        assert cur.fetchone()["n"] == 0  # type: ignore[index]
        cur.execute("SELECT count(*) AS n FROM alerts")
        assert cur.fetchone()["n"] == 0  # type: ignore[index]

    row = set_copy_mode(db, W1, TradingMode.live, "  convinced by paper  ", now=NOW)
    assert row.mode is TradingMode.live and row.note == "convinced by paper"
    set_copy_mode(db, W1, TradingMode.paper, "two losses in a row", now=NOW + timedelta(hours=1))
    with db.cursor() as cur:
        cur.execute("SELECT * FROM wallet_copy_modes")
        modes = cur.fetchall()
        cur.execute("SELECT * FROM alerts ORDER BY at")
        alerts = cur.fetchall()
    assert [(m["wallet"], m["mode"], m["note"]) for m in modes] == [
        (W1, "paper", "two losses in a row")]
    assert [(a["level"], a["source"], a["acknowledged"]) for a in alerts] == [
        ("info", "operator", False)] * 2
    assert [(a["detail"]["previous"], a["detail"]["mode"]) for a in alerts] == [
        ("paper", "live"), ("live", "paper")]
    assert alerts[0]["detail"]["note"] == "convinced by paper" and W1 in alerts[0]["message"]
    assert by_wallet(wallet_performance(db, now=NOW)) == {}  # W1 is neither watched nor copied
