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
from urllib.parse import urlsplit

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
        # A rejected value may be a secret: pydantic's own error text must not echo it.
        hide_input_in_errors=True,
        # `WALLTRACK_X=` (as .env.example lists the optional ones) means "not set".
        env_ignore_empty=True,
    )

    env: Environment = Environment.development
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.auto
    # Empty: logs go to stderr (the container's and systemd's way). A path: JSON lines to
    # that file instead, rotated at log_max_bytes (0 = never: logrotate's job) keeping
    # log_backups old files; the server and the jobs may share it (walltrack.logging).
    log_file: Path | None = None
    log_max_bytes: int = Field(default=20_000_000, ge=0)
    log_backups: int = Field(default=5, ge=1, le=1000)

    data_dir: Path = PROJECT_ROOT / "data"
    # Empty → the embedded PostgreSQL server under data_dir/pg. Any PostgreSQL URL otherwise
    # (a Supabase project's connection string works).
    database_url: SecretStr | None = None
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=8, ge=1)
    db_connect_timeout_s: float = Field(default=10.0, gt=0)
    # `python -m walltrack backup`: where the dumps go (empty → data_dir/backups) and how
    # many of the newest are kept (older ones of ours are deleted after each backup).
    backup_dir: Path | None = None
    backup_retention: int = Field(default=14, ge=1)

    helius_api_key: SecretStr | None = None
    helius_api_url: AnyHttpUrl = AnyHttpUrl("https://api-mainnet.helius-rpc.com")
    # The Helius plan: sets the default rate limits and the monthly credits the status
    # command measures usage against (HELIUS_PLANS).
    helius_plan: HeliusPlan = HeliusPlan.free
    dexscreener_url: AnyHttpUrl = AnyHttpUrl("https://api.dexscreener.com")
    jupiter_api_key: SecretStr | None = None
    # The keyless lite-api.jup.ag host was retired on 31 January 2026: api.jup.ag wants a key.
    jupiter_url: AnyHttpUrl = AnyHttpUrl("https://api.jup.ag")
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
    # Secret key of the trading wallet (base58 64-byte key, solana-keygen's JSON array of 64
    # numbers, or a base58 32-byte seed); only needed for live trading.
    trading_private_key: SecretStr | None = None
    # Hard gate: live orders are impossible unless this is true (and never under tests).
    live_trading_allowed: bool = False
    # The trading engine in the server process (paper by default: the config's mode).
    trading_enabled: bool = True
    # The operator API's bearer token (POST /api/risk/…); without it the server refuses to
    # bind a non-loopback address and the operator actions answer 403.
    operator_token: SecretStr | None = None

    server_host: str = "127.0.0.1"
    server_port: int = Field(default=8000, ge=1, le=65535)
    # `python -m walltrack serve` (walltrack/service): how long a SIGTERM'd child may take
    # to stop before it is killed, and how often the supervisor writes its /health row.
    service_grace_seconds: float = Field(default=30.0, gt=0)
    service_heartbeat_seconds: float = Field(default=10.0, gt=0)

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None

    # Alerts (walltrack.trading.alerts): every alert is stored and logged; it is also sent to
    # a Telegram chat when both the bot token and the chat id are set, and POSTed as JSON to
    # the alert webhook when its URL is set.
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: SecretStr | None = None
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    # A URL may embed a token (Slack, Discord…): a secret.
    alert_webhook_url: SecretStr | None = None

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

    @field_validator("log_file", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL starting with postgresql:// (or empty)")
        return SecretStr(raw)

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _blank_backup_dir(cls, value: object) -> object:
        # WALLTRACK_BACKUP_DIR= (blank, as in .env.example) means the default, not ".".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trading_private_key")
    @classmethod
    def _check_private_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Only the form is checked here (the message never echoes the value); whether the
        # bytes are a real keypair is the trading wallet's ``key_parses`` check, so a bad key
        # refuses live trading without stopping paper trading and research.
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        decode_secret_key(raw)
        return SecretStr(raw)

    @field_validator("telegram_bot_token", "telegram_chat_id")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        if any(ch.isspace() or ch in "/?#" for ch in raw):
            raise ValueError("must not contain spaces or any of / ? # (copy it as given)")
        return SecretStr(raw)

    @field_validator("alert_webhook_url")
    @classmethod
    def _check_alert_webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        parts = urlsplit(raw)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL (or empty)")
        return SecretStr(raw)

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
    def backups_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def helius_limits(self) -> HeliusPlanLimits:
        """The configured Helius plan's monthly credits and rate limits."""
        return HELIUS_PLANS[self.helius_plan]


KEY_FORMS_TEXT = (  # what the key may look like (no secret here)
    "accepted: the 64-byte secret key in base58 as wallets export it, the JSON array of 64 "
    "numbers solana-keygen writes, or the 32-byte seed in base58"
)


def decode_secret_key(text: str) -> bytes:
    """The bytes of a trading key in any of its three forms: 64 (keypair) or 32 (seed).

    Raises ``ValueError`` with a message that never contains any part of ``text``.
    """
    text = text.strip()
    if text.startswith("["):
        import json

        try:
            numbers = json.loads(text)
        except ValueError:
            raise ValueError(f"is not a valid JSON array ({KEY_FORMS_TEXT})") from None
        if (not isinstance(numbers, list) or len(numbers) != 64
                or not all(type(n) is int and 0 <= n <= 255 for n in numbers)):
            raise ValueError("must be a JSON array of 64 numbers 0-255, a 64-byte Solana "
                             f"secret key ({KEY_FORMS_TEXT})")
        return bytes(numbers)
    import base58  # local: only needed when a key is set

    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise ValueError(f"is neither base58 nor a JSON array ({KEY_FORMS_TEXT})") from None
    if len(raw) not in (32, 64):
        raise ValueError("must decode to a 64-byte Solana secret key or a 32-byte seed "
                         f"({KEY_FORMS_TEXT})")
    return raw


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
