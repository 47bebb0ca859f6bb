"""The main command's summary figures."""

from __future__ import annotations

from walltrack.lab.demo import helius_cost


def test_the_helius_cost_counts_only_helius_and_compares_with_the_plan() -> None:
    usage = {"helius@local": {"calls": 30, "credits": 3000},
             "helius_rpc@local": {"calls": 10, "credits": 100},
             "dexscreener@local": {"calls": 50, "credits": 0}}
    cost = helius_cost(usage, days=2, monthly_credits=60_000)
    assert (cost.calls, cost.credits) == (40, 3100)
    assert cost.per_day == 1550 and cost.plan_per_day == 2000
    assert cost.plan_share == 0.775
