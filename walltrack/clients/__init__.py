"""The only doors to the outside world: Helius, DexScreener, Jupiter and Solana RPC.

Every client sits on ``walltrack.clients.base.ApiClient`` (retries, breaker, rate limit,
usage metering, key-free logging); see docs/clients.md. Usage is counted in a
``UsageMeter`` passed as ``meter=`` (``walltrack.clients.usage``).
"""

from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.helius import HeliusClient, parse_delivery, parse_swaps, to_swaps
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.clients.usage import UsageMeter
from walltrack.models.usage import ApiUsage

__all__ = [
    "ApiUsage",
    "ClientPolicy",
    "DexScreenerClient",
    "HeliusClient",
    "JupiterClient",
    "RetryPolicy",
    "SolanaRpcClient",
    "UsageMeter",
    "parse_delivery",
    "parse_swaps",
    "to_swaps",
]
