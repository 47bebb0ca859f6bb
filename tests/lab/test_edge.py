"""``jobs/replay.py`` end to end at a small size: a fresh market, the research walk-forward,
every book at every delay through the replay, one JSON line whose figures are the runs'."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {"trades", "win_rate", "profit_ratio", "mean_return", "median_return", "net_return",
           "net_return_ci", "max_drawdown"}

pytestmark = pytest.mark.slow


def test_the_replay_job_prints_the_delay_sweep_and_the_baselines(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "jobs/replay.py", "--seed", "3", "--wallets", "600", "--tokens", "40",
         "--days", "10", "--clusters", "4", "--warmup-days", "2", "--delays", "0,60",
         "--top-scored", "20", "--calibration-delays", "0,60",
         "--chart", str(tmp_path / "net.svg")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "WALLTRACK_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "replay runs" in out.stderr  # progress on the terminal
    chart = (tmp_path / "net.svg").read_text()
    assert chart.startswith("<svg") and chart.count("<polyline") == 5  # a line per book
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["seed"] == 3 and report["seconds"] > 0
    assert {"top50_smart_precision", "cluster_pairwise_f1"} <= set(report["research"])
    # 8 trading days: the sweep chose on the first 4, everything reported traded the last 4.
    sweep = report["sweep"]
    assert len(sweep["train_days"]) == 4 and len(report["trading_days"]) == 4
    assert max(sweep["train_days"]) < min(report["trading_days"])
    assert sweep["chosen"] in sweep["train"] and len(sweep["train"]) == 12
    assert set(report["delays"]) == {"0", "60"}
    assert set(report["baselines"]) == {"all_discovered", "random_watchlist", "oracle"}
    assert set(report["others"]) == {"top20_scored"}
    # The calibration: the informed wallets followed buy for buy at each of its delays.
    assert set(report["calibration"]) == {"0", "60"}
    books = [report["delays"], *report["baselines"].values(), *report["others"].values(),
             report["calibration"]]
    for book in books:
        for figures in book.values():
            assert set(figures) == FIGURES
            low, high = figures["net_return_ci"]
            assert low <= figures["net_return"] <= high or figures["trades"] == 0
    # Positions were opened and closed through the whole path (the oracle's wallets and the
    # discovered ones trade in every market).
    traded = {f"{b}@{d}": f["trades"] for b, by in report["baselines"].items()
              for d, f in by.items()}
    assert sum(traded.values()) > 0, traded
    # Threshold 0, no position cap: every eligible buy of an informed wallet is copied.
    for delay, figures in report["calibration"].items():
        signals = report["signals"][f"follow_1h@{delay}"]
        assert figures["trades"] > 0 and signals.get("eligible", 0) >= figures["trades"]
    for label, trades in traded.items():
        assert report["signals"][label].get("eligible", 0) >= trades
    # The same swaps at either delay: as many signals (their decisions may differ).
    assert sum(report["signals"]["oracle@0"].values()) == \
        sum(report["signals"]["oracle@60"].values()) > 0
