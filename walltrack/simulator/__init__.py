"""Simulated Solana memecoin market with known truth, served in the real APIs' formats.

In-process use::

    from walltrack.simulator import SimParams, generate_market
    market = generate_market(SimParams(seed=1, wallets=600, tokens=40, days=5, clusters=4))
    market.swaps, market.transfers, market.tokens, market.truth_wallets, market.truth_tokens
"""

from walltrack.simulator.market import Market, generate_market
from walltrack.simulator.params import PRESETS, SimParams

__all__ = ["PRESETS", "Market", "SimParams", "generate_market"]
