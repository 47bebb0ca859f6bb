"""Score one swap of a watched wallet: gather the inputs, call the factors, decide."""

from __future__ import annotations

import hashlib
from datetime import datetime

from walltrack.live.scoring.cluster import cluster_factor
from walltrack.live.scoring.context import context_factor
from walltrack.live.scoring.decision import DecisionInputs, decide
from walltrack.live.scoring.token import token_factor
from walltrack.live.scoring.wallet import wallet_factor
from walltrack.live.state import LiveState, TokenLookup
from walltrack.live.watchset import WatchedWallet
from walltrack.models import Signal, SignalFactors, SignalSource, Swap, SwapSide


def signal_id(signature: str, wallet: str, mint: str) -> str:
    """Deterministic: the same swap always gives the same id (one signal per swap)."""
    return hashlib.sha256(f"{signature}:{wallet}:{mint}".encode()).hexdigest()[:32]


def independent_confirmations(state: LiveState, wallet: str, cluster_id: str | None,
                              mint: str, at: datetime, window_s: float) -> int:
    """Watched wallets outside this wallet's cluster that bought the mint in the window."""
    others = state.recent.buyers(mint, at, window_s) - {wallet}
    if cluster_id is None:
        return len(others)
    return sum(1 for w in others if state.index.cluster_of(w) != cluster_id)


async def score_swap(state: LiveState, tokens: TokenLookup, swap: Swap,
                     wallet: WatchedWallet, *, observed_at: datetime,
                     source: SignalSource) -> Signal:
    cfg = state.config
    sig_cfg = cfg.signals
    if swap.side is SwapSide.buy:
        # Recorded before any await, so concurrent workers see each other's buys.
        state.recent.record(swap.mint, swap.wallet, swap.timestamp, swap.signature)
        state.index.record_buy(swap.wallet, swap.mint, swap.timestamp)
    view = await tokens.view(swap.mint)

    amp = state.index.lookup(swap.wallet, swap.mint, swap.timestamp,
                             sig_cfg.amplification_window_seconds)
    cluster_id = amp.cluster_id or wallet.cluster_id
    independent = independent_confirmations(state, swap.wallet, amp.cluster_id, swap.mint,
                                            swap.timestamp, sig_cfg.amplification_window_seconds)
    factors = {
        "wallet": wallet_factor(wallet.score, wallet.status),
        "cluster": cluster_factor(amp, independent,
                                  members_saturate=sig_cfg.members_saturate,
                                  confirmations_saturate=sig_cfg.confirmations_saturate),
        "token": token_factor(view),
        "context": context_factor(swap.timestamp,
                                  view.market.pair_created_at if view.market else None,
                                  wallet.timing_percentile, swap.sol_amount, wallet.avg_buy_sol,
                                  half_life_hours=sig_cfg.early_half_life_hours),
    }
    weights = cfg.scoring.weights.model_dump()
    score = min(1.0, max(0.0, sum(weights[k] * f.value for k, f in factors.items())))
    delay = (observed_at - swap.timestamp).total_seconds()
    failed = tuple(c.value for c in view.safety.failed)
    decision = decide(DecisionInputs(
        side=swap.side, blacklisted=wallet.blacklisted, delay_seconds=delay,
        stale_after_seconds=sig_cfg.stale_after_seconds,
        earlier_buy_within_window=swap.side is SwapSide.buy and state.recent.earlier_by(
            swap.wallet, swap.mint, swap.timestamp, swap.signature,
            sig_cfg.duplicate_window_seconds),
        failed_checks=failed, score=score, threshold=cfg.scoring.threshold,
        high_conviction=cfg.scoring.high_conviction))
    detail = {name: f.inputs for name, f in factors.items()}
    detail["cluster"]["cluster_id"] = cluster_id
    detail["safety"] = view.safety.inputs
    return Signal(
        id=signal_id(swap.signature, swap.wallet, swap.mint),
        signature=swap.signature, wallet=swap.wallet, mint=swap.mint, side=swap.side,
        sol_amount=swap.sol_amount, token_amount=swap.token_amount,
        price_sol=swap.sol_amount / swap.token_amount if swap.token_amount > 0 else None,
        price_usd=view.market.price_usd if view.market else None,
        slot=swap.slot, source=source, observed_at=observed_at, swap_at=swap.timestamp,
        delay_seconds=round(delay, 3),
        factors=SignalFactors(wallet=round(factors["wallet"].value, 6),
                              cluster=round(factors["cluster"].value, 6),
                              token=round(factors["token"].value, 6),
                              context=round(factors["context"].value, 6), detail=detail),
        weights=weights, score=round(score, 6), high_conviction=decision.high_conviction,
        decision=decision.decision, reason=decision.reason, failed_checks=list(failed),
        message=decision.message)
