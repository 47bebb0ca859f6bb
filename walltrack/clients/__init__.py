"""The only doors to the outside world: Helius, DexScreener, Jupiter and Solana RPC.

Every client sits on ``walltrack.clients.base.ApiClient`` (retries, breaker, rate limit,
metrics, key-free logging); see docs/clients.md.
"""

from walltrack.clients.base import ApiMetrics, ClientPolicy, RetryPolicy, api_metrics
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient, parse_delivery, parse_swaps, to_swaps
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient

__all__ = [
    "ApiMetrics",
    "ClientPolicy",
    "DexScreenerClient",
    "HeliusClient",
    "JupiterClient",
    "RetryPolicy",
    "SolanaRpcClient",
    "api_metrics",
    "parse_delivery",
    "parse_swaps",
    "to_swaps",
]
