"""Wallet graph: edges between wallets, clusters and their members."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from walltrack.models.base import Address, DomainModel, Fraction, UtcDatetime, utcnow


class EdgeKind(StrEnum):
    funded_by = "FUNDED_BY"  # src was funded by dst
    synced_buy = "SYNCED_BUY"  # both bought the same token within the window
    early_on = "EARLY_ON"  # both early buyers on several discovered tokens


class WalletEdge(DomainModel):
    src: Address
    dst: Address
    kind: EdgeKind
    weight: float = Field(default=1.0, ge=0.0)
    # For SYNCED_BUY: how often src bought first / dst bought first.
    src_first: int = Field(default=0, ge=0)
    dst_first: int = Field(default=0, ge=0)
    tokens: list[str] = Field(default_factory=list)
    first_at: UtcDatetime | None = None
    computed_at: UtcDatetime = Field(default_factory=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict)


class ClusterRole(StrEnum):
    leader = "leader"
    member = "member"
    funder = "funder"


class Cluster(DomainModel):
    id: str  # stable while membership is unchanged
    size: int = Field(ge=1)
    leader: Address | None = None
    funder: Address | None = None
    mean_score: Fraction | None = None
    shared_tokens: list[str] = Field(default_factory=list)
    computed_at: UtcDatetime = Field(default_factory=utcnow)


class ClusterMember(DomainModel):
    cluster_id: str
    wallet: Address
    role: ClusterRole = ClusterRole.member
    leads: int = Field(default=0, ge=0)  # times this wallet bought first in synced buys
