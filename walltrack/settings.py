"""Static settings from the environment and ``.env``.

Everything that differs between machines (URLs, keys, paths) is read here, once, and
validated. Secrets are ``SecretStr``: they print as ``**********`` and are registered with
the log redaction so their value can never reach a log line. Dynamic trading settings
(weights, thresholds, limits) are *not* here: they live in the ``config`` table
(``walltrack.models.config``) so the operator can edit them while WallTrack runs.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from walltrack.errors import ConfigurationError

ENV_PREFIX = "WALLTRACK_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class LogFormat(StrEnum):
    auto = "auto"  # JSON lines in production or when stdout is not a terminal
    json = "json"
    console = "console"


class SignalSourceMode(StrEnum):
    webhook = "webhook"  # Helius pushes deliveries to POST /webhooks/helius
    polling = "polling"  # the server walks getSignaturesForAddress (free; the default)
    both = "both"


class HeliusPlan(StrEnum):
    free = "free"
    developer = "developer"
    business = "business"
    professional = "professional"


class HeliusPlanLimits(BaseModel):
    """A Helius plan's published allowance."""

    model_config = ConfigDict(frozen=True)

    plan: HeliusPlan
    monthly_credits: int
    rpc_per_second: float  # the "RPC" rate-limit group
    enhanced_per_second: float  # the "DAS & Enhanced APIs" group (history, parse)


# Sources (read December 2026): https://www.helius.dev/docs/billing/credits (monthly credits
# per plan) and https://www.helius.dev/docs/billing/rate-limits (requests/s per group).
# Credits per call are in walltrack.clients.usage.HELIUS_CREDITS.
HELIUS_PLANS: dict[HeliusPlan, HeliusPlanLimits] = {
    plan: HeliusPlanLimits(plan=plan, monthly_credits=credits, rpc_per_second=rpc,
                           enhanced_per_second=enhanced)
    for plan, credits, rpc, enhanced in (
        (HeliusPlan.free, 1_000_000, 10.0, 2.0),
        (HeliusPlan.developer, 10_000_000, 50.0, 10.0),
        (HeliusPlan.business, 100_000_000, 200.0, 50.0),
        (HeliusPlan.professional, 200_000_000, 500.0, 100.0),
    )
}


class Settings(BaseSettings):
    """Every variable is documented in ``.env.example``; keep the two in step."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    env: Environment = Environment.development
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.auto

    data_dir: Path = PROJECT_ROOT / "data"
    # Empty → the embedded PostgreSQL server under data_dir/pg. Any PostgreSQL URL otherwise
    # (a Supabase project's connection string works).
    database_url: SecretStr | None = None
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=8, ge=1)
    db_connect_timeout_s: float = Field(default=10.0, gt=0)

    helius_api_key: SecretStr | None = None
    helius_api_url: AnyHttpUrl = AnyHttpUrl("https://api-mainnet.helius-rpc.com")
    # The Helius plan: sets the default rate limits and the monthly credits the status
    # command measures usage against (HELIUS_PLANS).
    helius_plan: HeliusPlan = HeliusPlan.free
    dexscreener_url: AnyHttpUrl = AnyHttpUrl("https://api.dexscreener.com")
    jupiter_api_key: SecretStr | None = None
    jupiter_url: AnyHttpUrl = AnyHttpUrl("https://lite-api.jup.ag")
    # Comma separated; tried in rotation with health tracking.
    solana_rpc_urls: Annotated[list[AnyHttpUrl], NoDecode] = Field(
        default_factory=lambda: [AnyHttpUrl("https://api.mainnet-beta.solana.com")]
    )

    # The value Helius puts in the Authorization header of every webhook delivery.
    webhook_auth_header: SecretStr | None = None
    # Where the live server hears watched wallets (docs/live.md).
    signal_source: SignalSourceMode = SignalSourceMode.polling
    # The public URL Helius posts to (…/webhooks/helius); the sync job registers it.
    webhook_url: AnyHttpUrl | None = None
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    inbox_workers: int = Field(default=2, ge=1, le=32)
    # The live server's request rates per API (your plan's; empty: the published free
    # limits — Jupiter keyless 0.5/s, DexScreener 5/s, RPC by WALLTRACK_HELIUS_PLAN).
    jupiter_rps: float | None = Field(default=None, gt=0)
    dexscreener_rps: float | None = Field(default=None, gt=0)
    rpc_rps: float | None = Field(default=None, gt=0)
    # Base58 secret key of the trading wallet; only needed for live trading.
    trading_private_key: SecretStr | None = None
    # Hard gate: live orders are impossible unless this is true (and never under tests).
    live_trading_allowed: bool = False

    server_host: str = "127.0.0.1"
    server_port: int = Field(default=8000, ge=1, le=65535)

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None

    @field_validator("solana_rpc_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL starting with postgresql:// (or empty)")
        return SecretStr(raw)

    @field_validator("trading_private_key")
    @classmethod
    def _check_private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        import base58  # local: only needed when a key is set

        try:
            raw = base58.b58decode(value.get_secret_value().strip())
        except ValueError:
            raise ValueError("is not valid base58") from None
        if len(raw) != 64:
            raise ValueError("must decode to a 64-byte Solana secret key")
        return value

    def secrets(self) -> list[str]:
        """The plain values of every secret that is set (for the log redaction)."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        return found

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def helius_limits(self) -> HeliusPlanLimits:
        """The configured Helius plan's monthly credits and rate limits."""
        return HELIUS_PLANS[self.helius_plan]


def _explain(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        var = ENV_PREFIX + field.upper()
        # Never echo the offending value: it may be a secret.
        lines.append(f"{var}: {item['msg']}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, or stop with a message naming each bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(
            f"invalid setting — {_explain(exc)}",
            hint="fix the variable in the environment or in .env (every variable is "
            "described in .env.example)",
        ) from None
    from walltrack.logging import register_secrets

    register_secrets(settings.secrets())
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()
