"""The live server's API clients, at the request rates the settings allow, all counting
into the service's one usage meter (flushed to ``api_usage`` every minute)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from walltrack.clients.base import ClientPolicy
from walltrack.clients.dexscreener import DEXSCREENER_POLICY, DexScreenerClient
from walltrack.clients.jupiter import JUPITER_KEYLESS_POLICY, JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.clients.usage import UsageMeter
from walltrack.settings import Settings


def _at(policy: ClientPolicy, rps: float) -> ClientPolicy:
    return dataclasses.replace(policy, rate_per_second=rps, burst=max(1, math.ceil(rps)))


def rpc_client(settings: Settings, meter: UsageMeter) -> SolanaRpcClient:
    options: dict[str, Any] = {"meter": meter}
    if settings.rpc_rps:
        policy = _at(ClientPolicy(), settings.rpc_rps)
        options |= {"policy": policy, "helius_policy": policy}
    return SolanaRpcClient.from_settings(settings, **options)


def dexscreener_client(settings: Settings, meter: UsageMeter) -> DexScreenerClient:
    if settings.dexscreener_rps:
        return DexScreenerClient.from_settings(
            settings, policy=_at(DEXSCREENER_POLICY, settings.dexscreener_rps), meter=meter)
    return DexScreenerClient.from_settings(settings, meter=meter)


def jupiter_client(settings: Settings, meter: UsageMeter) -> JupiterClient:
    if settings.jupiter_rps:
        return JupiterClient.from_settings(
            settings, policy=_at(JUPITER_KEYLESS_POLICY, settings.jupiter_rps), meter=meter)
    return JupiterClient.from_settings(settings, meter=meter)
