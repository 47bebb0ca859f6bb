"""Markdown tables for docs/edge.md from the last JSON lines of ``jobs/replay.py`` runs.

    python benchmarks/edge_summary.py /tmp/edge-7.json /tmp/edge-11.json …
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:+.{digits}f} %"


def ci(f: dict[str, Any]) -> str:
    low, high = f["net_return_ci"]
    return f"[{100 * low:+.1f}, {100 * high:+.1f}]"


def load(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text().strip().splitlines()[-1])


def by_delay(reports: list[dict[str, Any]], key: str, title: str,
             cell: Callable[[dict[str, Any]], str]) -> None:
    """One row per seed, one column per delay of ``report[key]``."""
    if not reports:
        return
    print()
    print(title)
    print()
    delays = list(reports[0][key])
    print("| seed | " + " | ".join(f"{d} s" for d in delays) + " |")
    print("|---|" + "---|" * len(delays))
    for r in reports:
        print(f"| {r['seed']} | " + " | ".join(cell(f) for f in r[key].values()) + " |")


def main(paths: list[str]) -> None:
    reports = [load(p) for p in paths]
    print("| seed | top-50 precision | cluster F1 | watchlist | its smart share | chosen "
          "setting (train) | research s | replay s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in reports:
        a = r["research"]
        print(f"| {r['seed']} | {a['top50_smart_precision']:.2f} | "
              f"{a['cluster_pairwise_f1']:.3f} | {a['watchlist_size']} | "
              f"{a.get('watchlist_smart_precision') or 0:.2f} | {r['sweep'].get('chosen', '–')} "
              f"| {r['research_seconds']:.0f} | {r['replay_seconds']:.0f} |")
    by_delay(reports, "delays", "Copier (test days, chosen setting): net return on capital "
             "[95 % CI], trades, mean / median return per trade, by delay",
             lambda f: f"{pct(f['net_return'])} {ci(f)}, {f['trades']} tr, "
                       f"{pct(f['mean_return'], 0)} / {pct(f['median_return'], 0)}")
    print()
    print("At 5 s: the copier against each baseline (net return, margin = copier − baseline)")
    print()
    print("| seed | copier | all discovered | random watchlist | oracle (truth) | "
          "research's top N | configured setting |")
    print("|---|---|---|---|---|---|---|")
    for r in reports:
        c = r["delays"]["5"]
        cells = [f"{pct(c['net_return'])} {ci(c)} ({c['trades']} tr)"]
        for book in ("all_discovered", "random_watchlist", "oracle"):
            b = r["baselines"][book]["5"]
            cells.append(f"{pct(b['net_return'])} ({b['trades']} tr), margin "
                         f"{pct(c['net_return'] - b['net_return'])}")
        others = [f"{book}: {pct(by['5']['net_return'])} ({by['5']['trades']} tr)"
                  for book, by in r.get("others", {}).items()]
        cells.append(", ".join(others) or "not run")
        d = r["sweep"].get("default_test")
        cells.append(f"{pct(d['net_return'])} ({d['trades']} tr)" if d else "= chosen")
        print(f"| {r['seed']} | " + " | ".join(cells) + " |")
    by_delay([r for r in reports if r.get("calibration")], "calibration",
             "Calibration through the engine (the informed wallets followed: every buy, out "
             "with the leader or after 1 h): trades, mean / median return per trade, by delay",
             lambda f: f"{f['trades']} tr, {pct(f['mean_return'])} / "
                       f"{pct(f['median_return'])}")

if __name__ == "__main__":
    main(sys.argv[1:])
