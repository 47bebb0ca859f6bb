"""One repository per entity (see ``walltrack.store.repository`` for the shared mechanics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import polars as pl
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from walltrack.errors import ConfigurationError
from walltrack.models import (
    Alert,
    Cluster,
    ClusterMember,
    DecayEvent,
    DynamicConfig,
    FundingTransfer,
    JobRun,
    LifecycleEvent,
    Order,
    Position,
    RiskEvent,
    RiskState,
    Signal,
    Swap,
    Token,
    TokenSnapshot,
    Trade,
    TradeDecision,
    Wallet,
    WalletCopyMode,
    WalletEdge,
    WalletMetrics,
    WalletOrigin,
)
from walltrack.store.database import Database
from walltrack.store.frames import UTC_US
from walltrack.store.repository import BulkRepository, Repository


class TokenRepository(Repository[Token]):
    table, model, key = "tokens", Token, ("mint",)


class TokenSnapshotRepository(Repository[TokenSnapshot]):
    table, model, key = "token_snapshots", TokenSnapshot, ("mint", "taken_at")

    def history(self, mint: str) -> list[TokenSnapshot]:
        return self.list(where={"mint": mint}, order_by="taken_at")


class SwapRepository(BulkRepository[Swap]):
    table, model, key = "swaps", Swap, ("signature", "wallet", "mint")
    polars_schema: ClassVar[dict[str, Any]] = {
        "signature": pl.String,
        "slot": pl.Int64,
        "timestamp": UTC_US,
        "wallet": pl.String,
        "mint": pl.String,
        "side": pl.String,
        "sol_amount": pl.Float64,
        "token_amount": pl.Float64,
        "source": pl.String,
        "fee_sol": pl.Float64,
    }

    def for_wallet(self, wallet: str, limit: int = 100) -> list[Swap]:
        return self.list(where={"wallet": wallet}, order_by="timestamp", descending=True,
                         limit=limit)

    def frame_since(self, since: datetime) -> pl.DataFrame:
        return self.frame(sql.SQL("timestamp >= %s"), [since])


class FundingTransferRepository(BulkRepository[FundingTransfer]):
    table, model, key = "funding_transfers", FundingTransfer, ("signature", "source", "destination")
    polars_schema: ClassVar[dict[str, Any]] = {
        "signature": pl.String,
        "slot": pl.Int64,
        "timestamp": UTC_US,
        "source": pl.String,
        "destination": pl.String,
        "sol_amount": pl.Float64,
    }


class WalletRepository(Repository[Wallet]):
    table, model, key = "wallets", Wallet, ("address",)

    def watchlist(self) -> list[Wallet]:
        return self.list(where={"on_watchlist": True}, order_by="score", descending=True)


class WalletOriginRepository(Repository[WalletOrigin]):
    table, model, key = "wallet_origins", WalletOrigin, ("wallet", "mint", "method")


class WalletMetricsRepository(Repository[WalletMetrics]):
    table, model, key = "wallet_metrics", WalletMetrics, ("wallet",)


class DecayEventRepository(Repository[DecayEvent]):
    table, model, key = "decay_events", DecayEvent, ("id",)


class LifecycleEventRepository(Repository[LifecycleEvent]):
    table, model, key = "lifecycle_events", LifecycleEvent, ("id",)


class WalletEdgeRepository(Repository[WalletEdge]):
    table, model, key = "wallet_edges", WalletEdge, ("src", "dst", "kind")


class ClusterRepository(Repository[Cluster]):
    table, model, key = "clusters", Cluster, ("id",)


class ClusterMemberRepository(Repository[ClusterMember]):
    table, model, key = "cluster_members", ClusterMember, ("cluster_id", "wallet")


class SignalRepository(Repository[Signal]):
    table, model, key = "signals", Signal, ("id",)


class PositionRepository(Repository[Position]):
    table, model, key = "positions", Position, ("id",)


class OrderRepository(Repository[Order]):
    table, model, key = "orders", Order, ("id",)


class TradeRepository(Repository[Trade]):
    table, model, key = "trades", Trade, ("id",)


class TradeDecisionRepository(Repository[TradeDecision]):
    table, model, key = "trade_decisions", TradeDecision, ("signal_id",)


class WalletCopyModeRepository(Repository[WalletCopyMode]):
    table, model, key = "wallet_copy_modes", WalletCopyMode, ("wallet",)


class RiskStateRepository(Repository[RiskState]):
    table, model, key = "risk_state", RiskState, ("id",)

    def current(self) -> RiskState:
        """The persisted risk state, or a fresh default one (not yet stored)."""
        return self.get("global") or RiskState()


class RiskEventRepository(Repository[RiskEvent]):
    table, model, key = "risk_events", RiskEvent, ("id",)


class AlertRepository(Repository[Alert]):
    table, model, key = "alerts", Alert, ("id",)


class JobRunRepository(Repository[JobRun]):
    table, model, key = "job_runs", JobRun, ("id",)

    def last_runs(self) -> list[JobRun]:
        """The latest run of each job, for the status bar."""
        with self.db.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT ON (job) * FROM job_runs ORDER BY job, started_at DESC"
            )
            return [self._model(row) for row in cur.fetchall()]


class ConfigRepository:
    """The ``config`` table: one JSON row per section of :class:`DynamicConfig`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self) -> DynamicConfig:
        """Stored sections over the defaults; an invalid stored value names its section."""
        with self.db.connection() as conn:
            rows = dict(conn.execute("SELECT key, value FROM config").fetchall())
        known = {k: v for k, v in rows.items() if k in DynamicConfig.model_fields}
        try:
            return DynamicConfig.model_validate(known)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
            raise ConfigurationError(
                f"the config table holds an invalid value at {where}",
                hint="fix it in the config notebook, or delete the row to restore its default",
            ) from None

    def save_section(self, name: str, value: BaseModel | dict[str, Any]) -> None:
        if name not in DynamicConfig.model_fields:
            raise ConfigurationError(f"unknown config section {name!r}",
                                     hint=f"use one of {DynamicConfig.section_names()}")
        data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        # Validate the whole config before storing, so a bad edit never lands.
        current = self.load().model_dump(mode="json")
        current[name] = data
        try:
            DynamicConfig.model_validate(current)
        except ValidationError as exc:
            raise ConfigurationError(
                f"invalid value for config section {name!r}: {exc.errors()[0]['msg']}",
                hint="correct the value; nothing was saved",
            ) from None
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO config (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (name, Jsonb(data)),
            )

    def count(self) -> int:
        with self.db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM config").fetchone()
        return int(row[0]) if row else 0


ENTITY_REPOSITORIES: tuple[type[Repository[Any]], ...] = (
    TokenRepository,
    TokenSnapshotRepository,
    SwapRepository,
    FundingTransferRepository,
    WalletRepository,
    WalletOriginRepository,
    WalletMetricsRepository,
    DecayEventRepository,
    LifecycleEventRepository,
    WalletEdgeRepository,
    ClusterRepository,
    ClusterMemberRepository,
    SignalRepository,
    PositionRepository,
    OrderRepository,
    TradeRepository,
    TradeDecisionRepository,
    WalletCopyModeRepository,
    RiskStateRepository,
    RiskEventRepository,
    AlertRepository,
    JobRunRepository,
)
