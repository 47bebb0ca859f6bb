"""Shared building blocks for the domain models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    # Naive datetimes are taken as UTC: every timestamp in WallTrack is UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""A datetime that is always timezone-aware and in UTC."""

Address = Annotated[str, Field(min_length=32, max_length=44, pattern=r"^[1-9A-HJ-NP-Za-km-z]+$")]
"""A base58 Solana address (public key, mint, program id)."""

Signature = Annotated[str, Field(min_length=32, max_length=100)]
"""A transaction signature (base58, usually 87-88 characters)."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class DomainModel(BaseModel):
    """Base of every model that crosses a boundary (store, API, notebook)."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        use_enum_values=False,
        ser_json_inf_nan="constants",
    )
