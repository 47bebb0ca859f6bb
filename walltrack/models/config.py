"""Dynamic configuration: every default of the domain rules (DESIGN.md section 5).

Stored in the ``config`` table, one row per section (key = section name, value = JSON), so
the operator can edit any of it while WallTrack runs. The defaults here are the single source
of truth: migrations seed the table from ``DynamicConfig()``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from walltrack.models.base import DomainModel, Fraction
from walltrack.models.trading import ExitRule, TradingMode


class ScoringWeights(DomainModel):
    wallet: Fraction = 0.30
    cluster: Fraction = 0.25
    token: Fraction = 0.25
    context: Fraction = 0.20

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        total = self.wallet + self.cluster + self.token + self.context
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"scoring weights must sum to 1.0, not {total:.4f}")
        return self


class ScoringConfig(DomainModel):
    weights: ScoringWeights = Field(default_factory=ScoringWeights)
    threshold: Fraction = 0.70
    high_conviction: Fraction = 0.85

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high_conviction < self.threshold:
            raise ValueError("high_conviction must be at least the trade threshold")
        return self


class RiskConfig(DomainModel):
    max_drawdown: Fraction = 0.20  # from peak equity → pause until the operator resets
    halt_win_rate: Fraction = 0.40  # over the last `halt_window_trades` → halt
    halt_window_trades: int = Field(default=50, ge=1)
    max_concurrent_positions: int = Field(default=5, ge=1)
    starting_capital_sol: float = Field(default=10.0, gt=0)


class SizingConfig(DomainModel):
    risk_per_trade: Fraction = 0.02  # of capital
    high_conviction_multiplier: float = Field(default=1.5, gt=0)
    standard_multiplier: float = Field(default=1.0, gt=0)
    reduced_multiplier: float = Field(default=0.5, gt=0)  # after consecutive max losses
    max_loss_streak: int = Field(default=3, ge=1)
    max_position_sol: float = Field(default=1.0, gt=0)
    max_liquidity_share: Fraction = 0.02  # of the pool's SOL liquidity
    fee_reserve_sol: float = Field(default=0.05, ge=0)
    slippage_bps: int = Field(default=300, ge=0, le=10_000)


class DecayConfig(DomainModel):
    rolling_trades: int = Field(default=20, ge=1)
    min_rolling_win_rate: Fraction = 0.40  # below → flagged
    consecutive_losses: int = Field(default=3, ge=1)  # → downgraded
    downgrade_factor: Fraction = 0.5  # score × factor until a win
    dormant_days: int = Field(default=30, ge=1)
    min_rolling_trades: int = Field(default=10, ge=1)  # fewer closed trades: never flagged


class ProfilingConfig(DomainModel):
    window_days: int = Field(default=90, ge=1)
    prior_wins: float = Field(default=2.0, ge=0)  # win rate = (wins + 2) / (n + 4)
    prior_trades: float = Field(default=4.0, ge=0)
    bot_launch_slot_share: Fraction = 0.8  # buys in the launch slot of nearly every token
    bot_min_hold_seconds: float = Field(default=5.0, ge=0)  # faster than a human
    bot_launch_slots: int = Field(default=3, ge=0)  # "launch slot": within this many slots
    bot_min_tokens: int = Field(default=3, ge=1)  # evidence needed before calling a bot
    timing_min_buyers: int = Field(default=10, ge=2)  # tokens with fewer known buyers: no rank
    # Wallet score (formula in walltrack/intel/wallet_score.py and docs/profiling.md).
    score_base_win_rate: float = Field(default=0.35, gt=0, lt=1)  # the crowd's win rate
    score_prior_trades: float = Field(default=8.0, ge=0)  # pseudo-trades at the base rate
    score_prior_cost_sol: float = Field(default=5.0, ge=0)  # pseudo cost basis for ROI
    score_confidence_trades: float = Field(default=5.0, ge=0)  # n / (n + k)
    bot_score_factor: Fraction = 0.1
    # Flippers: most of the position sold within minutes of the buy, on most trades — the
    # pattern of a wallet that dumps on its followers; a copier arrives into the pump and
    # leaves after the dump, so the record cannot be copied (docs/profiling.md).
    flip_seconds: float = Field(default=240.0, ge=0)
    flip_sold_share: Fraction = 0.5  # of the bought tokens, sold within flip_seconds
    flip_max_share: Fraction = 0.5  # closed trades that are flips, at most, before the penalty
    flip_score_factor: Fraction = 0.1
    # Late buyers: first buys outside the earliest 40 % of a token's known buyers, on average.
    # Whatever such a wallet wins, a copier (later still, by its delay) buys after the move.
    late_timing_percentile: Fraction = 0.4
    late_score_factor: Fraction = 0.5
    # Alert followers (docs/profiling.md): most of a wallet's first buys come 1 s to
    # follow_lag_seconds after one of the research's follow_leaders best wallets bought the
    # token, behind many different ones (no single leader: not a cluster's member). It buys
    # on their alerts: a copier at one remove, whatever its record.
    follow_leaders: int = Field(default=100, ge=1)
    follow_lag_seconds: float = Field(default=120.0, gt=1.0)
    follow_max_share: Fraction = 0.7  # followed first buys above this share → penalised
    follow_max_leader_share: Fraction = 0.5  # unless one leader accounts for more of them
    follow_score_factor: Fraction = 0.1


class WatchlistConfig(DomainModel):
    min_trades: int = Field(default=5, ge=0)
    min_win_rate: Fraction = 0.55
    min_roi: float = 0.10
    min_score: Fraction = 0.60
    max_size: int = Field(default=500, ge=1)


class TokenDiscoveryConfig(DomainModel):
    min_liquidity_usd: float = Field(default=10_000, ge=0)
    min_market_cap_usd: float = Field(default=50_000, ge=0)
    min_volume_24h_usd: float = Field(default=10_000, ge=0)
    min_age_hours: float = Field(default=0.0, ge=0)
    max_age_hours: float = Field(default=24 * 14, gt=0)
    search_terms: list[str] = Field(default_factory=lambda: ["pump", "sol"])
    dead_liquidity_usd: float = Field(default=1_000, ge=0)  # below → dead
    rug_liquidity_drop: Fraction = 0.80  # liquidity falls this share between snapshots → rugged
    # "No volume" marks a token dead only once its pair is this old (a fresh launch may
    # simply not have traded yet).
    dead_no_volume_after_hours: float = Field(default=24.0, ge=0)
    concurrency: int = Field(default=8, ge=1, le=64)  # DexScreener calls in flight


class WalletDiscoveryConfig(DomainModel):
    early_share: Fraction = 0.10  # first part of a token's run (share of its buyers)
    max_early_buyers: int = Field(default=100, ge=1)
    min_profit_sol: float = Field(default=0.0)
    concurrency: int = Field(default=8, ge=1, le=64)  # Helius histories in flight
    max_history_pages: int = Field(default=500, ge=1)  # per address and run (100 tx a page)
    funding_first: int = Field(default=5, ge=1, le=50)  # oldest incoming transfers kept
    funding_max_pages: int = Field(default=5, ge=1)  # TRANSFER pages walked per wallet
    funder_hop: bool = True  # also collect the funders' own funding (one hop up)
    siblings: bool = True  # the other wallets a tracked wallet's private funder funded
    sibling_max_pages: int = Field(default=3, ge=1)  # a funder with more is too busy
    # Tokens bought by at least this many tracked (non-bot) wallets are discovered too;
    # 0 turns the expansion off.
    expand_min_wallets: int = Field(default=2, ge=0)
    # A wallet's own history is read again at most this often (hours): a second collection
    # in the same run reads only the wallets new since the first…
    history_refresh_hours: float = Field(default=20.0, ge=0)
    # …and wallets the watchlist rule ignores (or removed) only every this many days: each
    # read costs Helius credits, and their trades move nothing until they qualify.
    ignored_refresh_days: float = Field(default=7.0, ge=0)


class ClusterConfig(DomainModel):
    synced_buy_window_seconds: int = Field(default=300, ge=1)
    min_cluster_size: int = Field(default=3, ge=2)
    early_cooccurrence_min_tokens: int = Field(default=2, ge=1)
    funding_min_sol: float = Field(default=0.05, ge=0)  # "meaningful" incoming transfer
    exchange_fanout_threshold: int = Field(default=50, ge=2)  # funds more → exchange-like
    seed: int = 42
    # Issue 6 (docs/clusters.md): evidence thresholds and weights of the clustering graph.
    synced_min_tokens: int = Field(default=2, ge=1)  # a SYNCED_BUY edge needs this many tokens
    min_lift: float = Field(default=4.0, ge=0)  # co-buys must beat chance by this factor
    funding_edge_weight: float = Field(default=3.0, ge=0)  # FUNDED_BY in community detection
    early_edge_weight: float = Field(default=0.0, ge=0)  # EARLY_ON in clustering (0: shown only)
    early_max_rank: int = Field(default=100, ge=1)  # early buyer when origins are missing
    resolution: float = Field(default=1.0, gt=0)  # Louvain resolution (per component)
    min_edge_weight: float = Field(default=2.5, ge=0)  # weaker pairs stay out of the graph
    # Copy bots (docs/clusters.md): a wallet whose first buys come 1–copy_lag_seconds after
    # one same wallet's, on ≥ copy_min_tokens tokens and ≥ copy_min_share of that wallet's
    # tokens, copies it; it does not act *with* anyone, so its co-buys leave the clustering.
    copy_lag_seconds: int = Field(default=5, ge=1)
    copy_min_tokens: int = Field(default=4, ge=1)
    copy_min_share: float = Field(default=0.5, ge=0, le=1)


class JobIntervals(DomainModel):
    """Minutes between scheduled runs.

    ``research`` is the research chain (discover wallets → expand tokens → profile →
    clusters, walltrack/intel/research.py); daily by default because each run reads every
    tracked wallet's new history — Helius credits, see ``python -m walltrack status``.
    """

    discover_tokens: int = Field(default=30, ge=1)
    refresh_tokens: int = Field(default=5, ge=1)
    research: int = Field(default=1440, ge=1)
    sync_webhooks: int = Field(default=10, ge=1)
    shadow_outcomes: int = Field(default=5, ge=1)


class SignalConfig(DomainModel):
    """Live scoring (walltrack/live/scoring, docs/live.md)."""

    # A swap older than this when it reaches us is stored but never traded (copying late
    # costs what it costs: DESIGN.md section 5, "what the evidence says").
    stale_after_seconds: float = Field(default=120.0, gt=0)
    # The same wallet buying the same mint again within this window is one decision.
    duplicate_window_seconds: float = Field(default=300.0, gt=0)
    # Cluster amplification and independent confirmation look back this far.
    amplification_window_seconds: float = Field(default=300.0, gt=0)
    members_saturate: int = Field(default=2, ge=1)  # other members that give the full part
    confirmations_saturate: int = Field(default=2, ge=1)  # other clusters' wallets, same
    early_half_life_hours: float = Field(default=6.0, gt=0)  # pair age halving earliness


class SafetyConfig(DomainModel):
    """Token safety checks (walltrack/live/safety.py, docs/live.md)."""

    require_mint_authority_revoked: bool = True
    require_freeze_authority_revoked: bool = True
    forbidden_extensions: list[str] = Field(default_factory=lambda: [
        "permanentDelegate", "transferHook", "defaultAccountState"])
    max_transfer_fee_bps: int = Field(default=100, ge=0, le=10_000)
    max_top10_share: Fraction = 0.50  # of supply, pool vaults excluded
    min_liquidity_usd: float = Field(default=5_000.0, ge=0)
    max_round_trip_loss: Fraction = 0.25  # buy then sell back: more lost → honeypot-like
    honeypot_probe_sol: float = Field(default=0.01, gt=0)
    min_safety_score: Fraction = 0.5  # below → unsafe even when no single check failed
    market_ttl_seconds: float = Field(default=60.0, gt=0)
    holders_ttl_seconds: float = Field(default=600.0, gt=0)
    authority_ttl_seconds: float = Field(default=600.0, gt=0)  # when not yet revoked
    round_trip_ttl_seconds: float = Field(default=120.0, gt=0)
    concurrency: int = Field(default=8, ge=1, le=64)


class SourceConfig(DomainModel):
    """Where swaps come from (WALLTRACK_SIGNAL_SOURCE picks webhook, polling or both)."""

    poll_interval_seconds: float = Field(default=10.0, gt=0)
    poll_concurrency: int = Field(default=4, ge=1, le=64)
    poll_rate_per_second: float = Field(default=5.0, gt=0)
    poll_signatures_limit: int = Field(default=50, ge=1, le=1000)
    # No webhook delivery for this long while polling sees watched wallets trade → alert
    # and polling switched on.
    deadman_seconds: float = Field(default=600.0, gt=0)
    inbox_max_attempts: int = Field(default=5, ge=1)
    inbox_retry_seconds: float = Field(default=5.0, ge=0)
    outcome_horizons_seconds: list[int] = Field(default_factory=lambda: [300, 3600, 21600])


class EntryGateConfig(DomainModel):
    """Entry gates of the trading engine (walltrack/trading/gates, docs/risk.md) beyond what
    ``RiskConfig`` and ``SizingConfig`` hold."""

    max_total_exposure_sol: float = Field(default=3.0, gt=0)  # SOL in open positions
    cooldown_seconds: float = Field(default=1800.0, ge=0)  # per mint, after an exit
    confirmation_window_seconds: float = Field(default=300.0, ge=0)  # same mint, after opening
    min_trade_sol: float = Field(default=0.01, gt=0)  # less than this is not worth the fees


class ProtectionConfig(DomainModel):
    """Risk protections (walltrack/trading/risk, docs/risk.md) beyond ``RiskConfig``."""

    daily_loss_limit: Fraction | None = 0.10  # of capital, per UTC day; None = off
    stop_distance: Fraction = 0.30  # a loss ≥ this share of the size is a max-loss trade
    stop_loss_reasons: tuple[str, ...] = ("stop_loss",)  # exit reasons that are max losses


class JupiterApi(StrEnum):
    v2 = "v2"  # /swap/v2/order (quote + transaction for the taker): Jupiter's current flow
    v1 = "v1"  # /swap/v1/quote + /swap/v1/swap: the older paths, still answered


class ExecutionConfig(DomainModel):
    """How orders are executed (walltrack/trading/execution, docs/trading.md)."""

    mode: TradingMode = TradingMode.paper
    max_order_attempts: int = Field(default=3, ge=1)
    quote_cache_seconds: float = Field(default=2.0, ge=0)
    default_strategy: str = "balanced"
    jupiter_api: JupiterApi = JupiterApi.v2
    priority_fee_lamports: int = Field(default=100_000, ge=0, le=100_000_000)
    network_fee_lamports: int = Field(default=5_000, ge=0)  # base fee per signature
    # A submitted order is asked about this often, and left to the reconciler after this
    # long without an answer (it is never sent again before the chain answers).
    confirm_poll_seconds: float = Field(default=0.5, gt=0)
    confirm_timeout_seconds: float = Field(default=60.0, gt=0)


class ExitsConfig(DomainModel):
    """Exit strategies beyond the built-in ones (walltrack/trading/exits, docs/exits.md).

    ``strategies`` holds the operator's own named strategies as stored exit plans (kind +
    params per rule, validated by ``walltrack.trading.exits.strategy_from_plan``);
    ``wallet_strategies`` maps a source wallet to the strategy its copies use by default.
    The global default is ``execution.default_strategy``.
    """

    strategies: dict[str, list[ExitRule]] = Field(default_factory=dict)
    wallet_strategies: dict[str, str] = Field(default_factory=dict)
    price_interval_seconds: float = Field(default=10.0, gt=0)  # the price watch's period
    max_price_age_seconds: float = Field(default=120.0, gt=0)  # older: stale, nothing sold


class DynamicConfig(DomainModel):
    """All editable settings; each attribute is one row of the ``config`` table."""

    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    sizing: SizingConfig = Field(default_factory=SizingConfig)
    decay: DecayConfig = Field(default_factory=DecayConfig)
    profiling: ProfilingConfig = Field(default_factory=ProfilingConfig)
    watchlist: WatchlistConfig = Field(default_factory=WatchlistConfig)
    token_discovery: TokenDiscoveryConfig = Field(default_factory=TokenDiscoveryConfig)
    wallet_discovery: WalletDiscoveryConfig = Field(default_factory=WalletDiscoveryConfig)
    clusters: ClusterConfig = Field(default_factory=ClusterConfig)
    jobs: JobIntervals = Field(default_factory=JobIntervals)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    signals: SignalConfig = Field(default_factory=SignalConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    sources: SourceConfig = Field(default_factory=SourceConfig)
    gates: EntryGateConfig = Field(default_factory=EntryGateConfig)
    protections: ProtectionConfig = Field(default_factory=ProtectionConfig)
    exits: ExitsConfig = Field(default_factory=ExitsConfig)

    @classmethod
    def section_names(cls) -> list[str]:
        return list(cls.model_fields)
