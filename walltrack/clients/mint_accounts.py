"""Parsed token facts from plain Solana RPC (``jsonParsed``): mints, holders, token accounts.

Shapes (documented answers of ``getAccountInfo``, ``getTokenLargestAccounts``,
``getTokenSupply`` and ``getMultipleAccounts`` with ``encoding: jsonParsed``; faithfully
shaped fixtures in tests/fixtures/shaped/solana_rpc with their sources in its MANIFEST):
a mint's ``value.data.parsed`` is ``{"type": "mint", "info": {"mintAuthority",
"freezeAuthority", "supply", "decimals", "isInitialized", "extensions"?}}`` where
``extensions`` (Token-2022 only) is a list of ``{"extension": name, "state": {...}}``;
a token account's is ``{"type": "account", "info": {"mint", "owner", "tokenAmount", …}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from walltrack.clients.models import ApiModel
from walltrack.errors import ExternalAPIError

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - a program id
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - a program id


class MintExtension(ApiModel):
    name: str
    state: dict[str, Any] = Field(default_factory=dict)


class MintInfo(ApiModel):
    mint: str
    program: str  # the owning token program id
    decimals: int
    supply: int  # raw units
    mint_authority: str | None = None
    freeze_authority: str | None = None
    extensions: list[MintExtension] = Field(default_factory=list)

    @property
    def token_2022(self) -> bool:
        return self.program == TOKEN_2022_PROGRAM

    def extension(self, name: str) -> MintExtension | None:
        return next((e for e in self.extensions if e.name == name), None)

    @property
    def transfer_fee_bps(self) -> int:
        """The newer transfer fee's basis points (0 without the extension)."""
        ext = self.extension("transferFeeConfig")
        if ext is None:
            return 0
        fee = ext.state.get("newerTransferFee") or ext.state.get("olderTransferFee") or {}
        return int(fee.get("transferFeeBasisPoints", 0))

    @property
    def default_frozen(self) -> bool:
        ext = self.extension("defaultAccountState")
        return ext is not None and ext.state.get("accountState") == "frozen"


class LargestAccount(ApiModel):
    address: str
    amount: int  # raw units


class TokenAccountInfo(ApiModel):
    address: str
    mint: str
    owner: str  # the wallet (or program-derived authority) that controls it
    amount: int


def _bad(method: str, why: str) -> ExternalAPIError:
    return ExternalAPIError(f"{method}: unexpected shape ({why})", api="solana_rpc")


def parse_mint(mint: str, value: Any) -> MintInfo | None:
    """``getAccountInfo(mint, jsonParsed).value`` → MintInfo; ``None`` when no account."""
    if value is None:
        return None
    try:
        data = value["data"]
        if not isinstance(data, dict) or data.get("parsed", {}).get("type") != "mint":
            raise _bad("getAccountInfo", "not a mint account")
        info = data["parsed"]["info"]
        return MintInfo(
            mint=mint, program=value["owner"], decimals=int(info["decimals"]),
            supply=int(info["supply"]), mint_authority=info.get("mintAuthority"),
            freeze_authority=info.get("freezeAuthority"),
            extensions=[MintExtension(name=e["extension"], state=e.get("state") or {})
                        for e in info.get("extensions") or []])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("getAccountInfo", repr(exc)) from None


def parse_largest(value: Any) -> list[LargestAccount]:
    try:
        return [LargestAccount(address=v["address"], amount=int(v["amount"])) for v in value]
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("getTokenLargestAccounts", repr(exc)) from None


def parse_supply(value: Any) -> int:
    try:
        return int(value["amount"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("getTokenSupply", repr(exc)) from None


def parse_token_accounts(addresses: list[str], values: Any) -> dict[str, TokenAccountInfo]:
    """``getMultipleAccounts(jsonParsed).value`` (same order as asked) → parsed token
    accounts by address; missing or non-token accounts are left out."""
    if not isinstance(values, list) or len(values) != len(addresses):
        raise _bad("getMultipleAccounts", "value is not a list of the asked length")
    out: dict[str, TokenAccountInfo] = {}
    for address, value in zip(addresses, values, strict=True):
        try:
            parsed = value["data"]["parsed"] if value else None
            if not parsed or parsed.get("type") != "account":
                continue
            info = parsed["info"]
            out[address] = TokenAccountInfo(address=address, mint=info["mint"],
                                            owner=info["owner"],
                                            amount=int(info["tokenAmount"]["amount"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad("getMultipleAccounts", repr(exc)) from None
    return out
