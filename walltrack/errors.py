"""The WallTrack error hierarchy.

Every error the package raises on purpose is a ``WallTrackError``. Each carries a message that
names the problem and, where there is one, the fix (``hint``), so that a caller can show it
as is. Messages must never contain secrets: they pass through the log redaction anyway, but
callers should not rely on that.
"""

from __future__ import annotations


class WallTrackError(Exception):
    """Base of every error WallTrack raises on purpose."""

    code: str = "walltrack_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} — {hint}" if hint else message)


class ConfigurationError(WallTrackError):
    """A setting is missing or invalid (environment, .env or the config table)."""

    code = "configuration_error"


class StoreError(WallTrackError):
    """The database cannot be reached, migrated, read or written."""

    code = "store_error"


class ExternalAPIError(WallTrackError):
    """An outside service (Helius, DexScreener, Jupiter, Solana RPC) failed or answered badly."""

    code = "external_api_error"

    def __init__(
        self,
        message: str,
        *,
        api: str,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.api = api
        self.status = status
        super().__init__(f"[{api}] {message}", hint=hint)


class RateLimitedError(ExternalAPIError):
    """The service answered 429 (or our own limiter refused) and retries are spent."""

    code = "rate_limited"


class CircuitOpenError(ExternalAPIError):
    """The circuit breaker of an API is open: calls are refused without touching the network."""

    code = "circuit_open"


class ValidationError(WallTrackError):
    """Input does not have the expected shape (a payload, a model, a user value)."""

    code = "validation_error"


class PayloadShapeError(ValidationError):
    """An outside payload (e.g. a Helius transaction) has an unknown or broken shape."""

    code = "payload_shape_error"

    def __init__(self, message: str, *, signature: str | None = None, hint: str | None = None):
        self.signature = signature
        prefix = f"transaction {signature}: " if signature else ""
        super().__init__(prefix + message, hint=hint)


class RiskError(WallTrackError):
    """A risk rule refuses an action (breaker open, limit reached, trading paused)."""

    code = "risk_error"


class ExecutionError(WallTrackError):
    """An order could not be executed (quote, sign, simulate, send or confirm failed)."""

    code = "execution_error"
