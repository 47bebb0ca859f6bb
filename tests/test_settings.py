from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from walltrack.errors import ConfigurationError, WallTrackError
from walltrack.settings import ENV_PREFIX, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


def test_defaults_need_no_account_and_no_key() -> None:
    settings = load_settings(_env_file=None)
    assert settings.database_url is None  # → embedded store
    assert settings.helius_api_key is None
    assert settings.live_trading_allowed is False


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("WALLTRACK_SERVER_PORT", "not-a-port", "WALLTRACK_SERVER_PORT"),
        ("WALLTRACK_SERVER_PORT", "70000", "WALLTRACK_SERVER_PORT"),
        ("WALLTRACK_LOG_LEVEL", "LOUD", "WALLTRACK_LOG_LEVEL"),
        ("WALLTRACK_DATABASE_URL", "mysql://x@y/z", "WALLTRACK_DATABASE_URL"),
        ("WALLTRACK_SOLANA_RPC_URLS", "not a url", "WALLTRACK_SOLANA_RPC_URLS"),
        ("WALLTRACK_TRADING_PRIVATE_KEY", "0OIl-not-base58", "WALLTRACK_TRADING_PRIVATE_KEY"),
        ("WALLTRACK_ENV", "staging", "WALLTRACK_ENV"),
    ],
)
def test_an_invalid_setting_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert fragment in message
    assert ".env.example" in message
    assert isinstance(info.value, WallTrackError)


def test_a_bad_private_key_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "3" * 60  # valid base58, wrong length
    monkeypatch.setenv("WALLTRACK_TRADING_PRIVATE_KEY", secret)
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    assert "64-byte" in str(info.value)
    assert secret not in str(info.value)


def test_settings_come_from_a_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WALLTRACK_SERVER_PORT=9123\nWALLTRACK_HELIUS_API_KEY=abc-123-key\n")
    settings = load_settings(_env_file=env_file)
    assert settings.server_port == 9123
    assert isinstance(settings.helius_api_key, SecretStr)
    assert "abc-123-key" not in repr(settings)
    assert "abc-123-key" not in str(settings.model_dump())


def test_rpc_urls_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLTRACK_SOLANA_RPC_URLS", "http://127.0.0.1:1/rpc, http://127.0.0.1:2/rpc")
    settings = load_settings(_env_file=None)
    assert [str(u) for u in settings.solana_rpc_urls] == [
        "http://127.0.0.1:1/rpc", "http://127.0.0.1:2/rpc"]


def test_every_secret_is_a_secret_type() -> None:
    secret_like = re.compile(r"(key|password|secret|auth|database_url)")
    for name, field in Settings.model_fields.items():
        if secret_like.search(name) and name != "live_trading_allowed":
            assert "SecretStr" in repr(field.annotation), name


def test_every_variable_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^(WALLTRACK_[A-Z0-9_]+)=", (REPO / ".env.example").read_text(),
                                re.MULTILINE))
    expected = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert documented == expected
