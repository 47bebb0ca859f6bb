"""Shared pieces of the live tests: a fixed token lookup and real-shaped deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from walltrack.models import TokenMarket, TokenSafety, TokenView
from walltrack.models.base import utcnow

SOL_MINT = "So11111111111111111111111111111111111111112"
AUTH = "test-webhook-secret-0123456789abcdef"


class FixedTokens:
    """Token data the test chooses (a stand-in for DexScreener/RPC/Jupiter, which are the
    outside world here; the real lookup is tested in test_token_data.py)."""

    def __init__(self, views: dict[str, TokenView] | None = None) -> None:
        self.views = views or {}
        self.calls = 0

    async def view(self, mint: str) -> TokenView:
        self.calls += 1
        return self.views.get(mint) or good_token(mint)


def good_token(mint: str, *, created: datetime | None = None) -> TokenView:
    return TokenView(
        mint=mint,
        market=TokenMarket(price_usd=0.001, price_sol=0.00001, liquidity_usd=200_000,
                           market_cap_usd=2_000_000, volume_24h_usd=500_000,
                           pair_created_at=created or datetime(2026, 11, 30, tzinfo=UTC),
                           fetched_at=utcnow()),
        safety=TokenSafety(score=0.95))


def swap_tx(signature: str, wallet: str, mint: str, *, sol: float = 1.0, tokens: float = 1e5,
            side: str = "buy", ts: int = 1_764_547_200, pool: str | None = None) -> dict[str, Any]:
    """An enhanced transaction shaped like Helius's (native SOL in/out, token transfer)."""
    pool = pool or "Poo1" + mint[4:]
    lamports = int(sol * 1e9)
    if side == "buy":
        native = [{"fromUserAccount": wallet, "toUserAccount": pool, "amount": lamports}]
        token = [{"fromUserAccount": pool, "toUserAccount": wallet, "mint": mint,
                  "tokenAmount": tokens, "fromTokenAccount": pool, "toTokenAccount": wallet}]
        wallet_delta = -lamports - 5000
    else:
        native = [{"fromUserAccount": pool, "toUserAccount": wallet, "amount": lamports}]
        token = [{"fromUserAccount": wallet, "toUserAccount": pool, "mint": mint,
                  "tokenAmount": tokens, "fromTokenAccount": wallet, "toTokenAccount": pool}]
        wallet_delta = lamports - 5000
    return {
        "signature": signature, "type": "SWAP", "source": "RAYDIUM", "timestamp": ts,
        "slot": 300_000_000, "fee": 5000, "feePayer": wallet, "transactionError": None,
        "description": "", "nativeTransfers": native, "tokenTransfers": token,
        "accountData": [{"account": wallet, "nativeBalanceChange": wallet_delta,
                         "tokenBalanceChanges": []}],
        "events": {}, "instructions": [],
    }
