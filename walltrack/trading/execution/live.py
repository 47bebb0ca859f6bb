"""Live execution: quote → swap transaction → sign (solders, the key from the environment)
→ ``simulateTransaction`` → ``sendTransaction`` → ``getSignatureStatuses`` → the amounts
read from the landed transaction's ``meta`` (never the quote); ``meta.err`` fails the attempt.

Every send first asks the live guard (``walltrack.trading.live_guard``): without
``WALLTRACK_LIVE_TRADING_ALLOWED=true``, the config's mode ``live`` and a validated wallet,
nothing is sent.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from solders.transaction import VersionedTransaction

from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.errors import ExecutionError, ExternalAPIError
from walltrack.models import SwapSide, TradingMode
from walltrack.models.config import ExecutionConfig
from walltrack.trading.execution.base import Fill, Prepared, SendRejected, SwapRequest
from walltrack.trading.execution.quotes import quote
from walltrack.trading.orders import ChainState, Observation
from walltrack.trading.wallet import TradingWallet

# Returns the reasons live sending is refused (empty: allowed).
LiveCheck = Callable[[], Awaitable[list[str]]]


def _token_raw(balances: list[dict[str, Any]] | None, owner: str, mint: str) -> int:
    for item in balances or []:
        if item.get("owner") == owner and item.get("mint") == mint:
            return int(item.get("uiTokenAmount", {}).get("amount") or 0)
    return 0


def fill_from_transaction(tx: dict[str, Any], signature: str, owner: str, mint: str,
                          side: SwapSide, amount_in: int) -> Fill | None:
    """The fill of a landed transaction from its meta; None when it failed (``meta.err``)."""
    meta = tx.get("meta") or {}
    if meta.get("err") is not None:
        return None
    keys = tx.get("transaction", {}).get("message", {}).get("accountKeys", [])
    index = next((i for i, k in enumerate(keys)
                  if (k.get("pubkey") if isinstance(k, dict) else k) == owner), 0)
    fee = int(meta.get("fee") or 0)
    sol_delta = int(meta["postBalances"][index]) - int(meta["preBalances"][index])
    tok_delta = (_token_raw(meta.get("postTokenBalances"), owner, mint)
                 - _token_raw(meta.get("preTokenBalances"), owner, mint))
    if side is SwapSide.buy:
        sol, rent = amount_in, max(0, -sol_delta - fee - amount_in)
        tokens = max(0, tok_delta)
    else:
        sol, rent, tokens = max(0, sol_delta + fee), 0, max(0, -tok_delta)
    base = min(fee, 5_000)
    return Fill(signature=signature, side=side, sol_lamports=sol, token_raw=tokens,
                network_fee_lamports=base, priority_fee_lamports=fee - base,
                rent_lamports=rent, slot=tx.get("slot"))


class LiveExecutor:
    def __init__(self, jupiter: JupiterClient, rpc: SolanaRpcClient, wallet: TradingWallet,
                 config: Callable[[], ExecutionConfig], allowed: LiveCheck) -> None:
        self._jupiter = jupiter
        self._rpc = rpc
        self._wallet = wallet
        self._config = config
        self._allowed = allowed

    @property
    def mode(self) -> TradingMode:
        return TradingMode.live

    async def prepare(self, request: SwapRequest) -> Prepared:
        cfg = self._config()
        q = await quote(self._jupiter, request, cfg, taker=self._wallet.public_key)
        if q.transaction is None:
            raise ExecutionError("Jupiter returned no transaction for the taker")
        signed = self._wallet.sign(q.transaction)
        signature = str(VersionedTransaction.from_bytes(base64.b64decode(signed)).signatures[0])
        last_valid = q.last_valid_block_height
        return Prepared(signature=signature, request=request, quoted_out=q.out_amount,
                        price_impact_pct=q.price_impact_pct, platform_fee_bps=q.platform_fee_bps,
                        priority_fee_lamports=cfg.priority_fee_lamports,
                        last_valid_block_height=last_valid, transaction=signed, quote=q.raw)

    async def send(self, prepared: Prepared) -> None:
        refused = await self._allowed()
        if refused:
            raise SendRejected("live order refused: " + "; ".join(refused))
        assert prepared.transaction is not None
        sim = await self._rpc.simulate_transaction(prepared.transaction)
        if sim.err is not None:
            raise SendRejected(f"simulation failed: {sim.err}")
        # From here the transaction may land: a network error leaves it submitted.
        await self._rpc.send_transaction(prepared.transaction, skip_preflight=True)

    async def observe(self, signature: str, last_valid_block_height: int | None) -> Observation:
        try:
            statuses = await self._rpc.get_signature_statuses([signature])
        except ExternalAPIError:
            return Observation()  # no answer: wait
        status = statuses[0] if statuses else None
        if status is None:
            expired = False
            if last_valid_block_height is not None:
                try:
                    expired = await self._rpc.get_block_height() > last_valid_block_height
                except ExternalAPIError:
                    expired = False
            return Observation(chain=ChainState.not_found, blockhash_expired=expired)
        if status.err is not None:
            return Observation(chain=ChainState.failed, error=str(status.err))
        if status.confirmation_status in ("confirmed", "finalized"):
            return Observation(chain=ChainState.succeeded)
        return Observation(chain=ChainState.processed)

    async def fill(self, signature: str, request: SwapRequest) -> Fill | None:
        tx = await self._rpc.get_transaction(signature)
        if tx is None:
            raise ExecutionError(f"the landed transaction {signature} cannot be read yet")
        return fill_from_transaction(tx, signature, self._wallet.public_key, request.mint,
                                     request.side, request.amount_in)

    async def aclose(self) -> None:
        return None

