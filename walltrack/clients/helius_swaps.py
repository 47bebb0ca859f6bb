"""Helius enhanced transaction → ``Swap`` models (the webhook hot path).

Helius's ``type`` and ``events`` cannot be trusted (DESIGN.md section 4): PumpSwap swaps have
no ``events.swap``, Meteora bonding-curve trades arrive as ``TRANSFER``/``UNKNOWN`` with
``events = []``, Raydium's ``events.swap`` names the pool authority as receiver. So a trade is
derived from *who gave what and got what*; ``type`` is never read.

Rules (also in docs/clients.md):

1. ``transactionError`` set → no swap (dropped: ``failed``).
2. **The trader**, first rule that applies:

   a. **keeper fills** belong to the order's owner, never to the keeper. A keeper fill runs a
      Jupiter order program (limit order v1/v2, DCA/Recurring, value averaging; found in the
      instructions, or in the account keys of ``accountData`` when instructions were cut)
      and its fee payer is lent or given a token by another party while it is no party
      itself or passes a token through (keeps a spread) — or its fee payer is a known
      Jupiter DCA keeper. The owner is the one wallet besides the keeper whose both legs show
      in the flows; else the wallet that receives most of the order's output while an escrow
      (a party that only gives) gave the input. Program accounts (PDAs, off the ed25519
      curve) are never owners. No owner in the flows → dropped ``keeper_fill_without_owner``.
      With ``wallet=``, the fill is the wallet's only if the wallet is the owner;
   b. the ``wallet=`` the caller names (history of an address);
   c. the fee payer when it is a party to a trade (it gives or gets a fungible non-SOL
      token) — unless it is a **relayer taking its fee in a token**: every token it moved
      came *in* from one other party, it paid that party no SOL, and that party traded the
      same token against SOL with third parties. Then that party is the trader, and its
      flows with the relayer (the fee, fronted rent) are not part of its trade; the
      relayer's own view (``wallet=`` the relayer) has no trade;
   d. the fee payer is not a party (a relayer paid the network fee, maybe fronted rent): the
      account ``events.swap`` names as input; else the only two-sided party that is not a
      program account (PDA); else the only one of those whose own SOL balance moved. Still
      ambiguous → dropped ``ambiguous_trader`` (never a guess).
3. The trader's *own accounts* are the wallet plus every token account it owns (seen in
   ``tokenTransfers`` and ``accountData``). Flows between own accounts (wrapping SOL, rent for
   a new token account, closing a wrapped-SOL account) are not trade flows.
4. Wrapped SOL (``So111…112``) counts as SOL. For each other fungible mint the trader's net
   flow gives the side (in → buy, out → sell) and the token amount; the *counterparties* are
   the accounts on the other end of those token transfers.
5. ``sol_amount`` is the SOL exchanged **with those counterparties** (wrapped-SOL transfers
   and native transfers). Fees the trader pays to third parties — aggregator platform fees,
   trading-bot fees, Jito tips, rent — are not part of the swap leg; the price
   ``sol_amount / token_amount`` is the execution price. ``fee_sol`` is the network fee when
   the trader paid it, else 0. If the transfers show no SOL leg, ``events.swap``
   (``nativeInput``/``nativeOutput`` of the trader) is used, then the counterparties' balance
   changes in ``accountData`` (programs that move lamports directly). A keeper fill's SOL is
   what the order's escrow gave (buy) or what the owner received (sell), without the
   order account's rent coming back to the owner.
6. The pool's mirror-image flows are never a second trade: only the trader's view is built.
7. **Token-to-token swaps** (the trader gives one token and gets another, no SOL leg) yield
   **no swap** (``token_to_token``): a Swap is a trade against SOL, and a SOL amount is never
   invented. Several tokens settled through one shared SOL flow cannot be split honestly
   either (``shared_sol_leg``).
8. Non-fungible tokens (NFT sales, compressed NFTs) are not swaps (``non_fungible``).
9. Payloads with only ``accountData`` (projections) use the balance changes: the trader's
   token delta per mint; counterparties are the owners whose balance of that mint moved the
   other way; SOL is their wrapped-SOL (else native) balance change.

Every transaction that yields no swap has exactly one ``DropReason``: ``failed``,
``non_fungible``, ``no_trade`` (transfers, mints, staking, order deposits: nothing traded
against anything), ``token_to_token``, ``shared_sol_leg``, ``ambiguous_trader``,
``keeper_fill_without_owner``, ``unreadable`` (``parse_swaps`` only). ``parse_swaps`` returns
it in a ``SwapParse``; ``to_swaps`` is the list-returning wrapper.

Anything that is not a readable enhanced transaction makes ``to_swaps`` raise
``PayloadShapeError`` naming the signature — never another exception; ``parse_swaps`` reports
it as ``unreadable`` with the message instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from solders.pubkey import Pubkey

from walltrack.errors import PayloadShapeError, WallTrackError
from walltrack.models import LAMPORTS_PER_SOL, SOL_MINT, Swap, SwapSide

__all__ = ["DropReason", "SwapParse", "TraderBasis", "parse_swaps", "to_swaps"]

_NON_FUNGIBLE = frozenset(
    {"NonFungible", "ProgrammableNonFungible", "NonFungibleEdition", "Compressed"}
)
_GENERIC_SOURCES = frozenset({"", "UNKNOWN", "SYSTEM_PROGRAM", "SOLANA_PROGRAM_LIBRARY"})
# Jupiter programs whose fills a keeper executes for an order's owner (program id → label).
_ORDER_PROGRAMS = {
    "jupoNjAxXgZ4rjzxzPMP4oxduvQsQtZzyknqvzYNrNu": "JUPITER_LIMIT_ORDER",
    "j1o2qRpjcyUwEvwtcfhEQefh773ZgjxcVRry7LDqg5X": "JUPITER_LIMIT_ORDER_V2",
    "DCA265Vj8a9CEuX1eb1LWRnDT7uK6q1xMipnNyatn23M": "JUPITER_DCA",
    "VALaaymxQh2mNy2trH9jUqHT1mTow76wpTcGmSWSwJe": "JUPITER_VALUE_AVERAGE",
}
# Jupiter's DCA keepers (signers that execute every DCA cycle): never a trader.
_KNOWN_KEEPERS = frozenset(
    {
        "DCAKxn5PFNN1mBREPWGdk1RXg5aVH9rPErLfBFEi2Emb",
        "DCAKuApAuZtVNYLk3KTAVW9GLWVvPbnb5CxxRRmVgcTr",
        "DCAK36VfExkPdAkYUQg6ewgxyinvcEyPLyHjRbmveKFw",
    }
)
# Program id → the label Helius uses (or would use) for it; only consulted when Helius gave a
# generic source (Meteora DBC trades arrive as SYSTEM_PROGRAM / UNKNOWN).
_PROGRAM_SOURCES = {
    "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8": "RAYDIUM",
    "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK": "RAYDIUM_CLMM",
    "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C": "RAYDIUM_CPMM",
    "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj": "RAYDIUM_LAUNCHLAB",
    "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P": "PUMP_FUN",
    "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA": "PUMP_AMM",
    "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo": "METEORA_DLMM",
    "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB": "METEORA",
    "cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG": "METEORA_DAMM_V2",
    "dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN": "METEORA_DBC",
    "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc": "ORCA_WHIRLPOOLS",
    "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4": "JUPITER",
    "MoonCVVNZFSYkqNXP6bxHLPL6QQJiMagDL3qcqUQTrG": "MOONSHOT",
    "boop8hVGQGqehUK2iVEMEnMrL5RbjywRzHKBmBE7ry4": "BOOP",
    **_ORDER_PROGRAMS,
}
_EPSILON = 1e-12
_NOTHING: frozenset[str] = frozenset()


class DropReason(StrEnum):
    """Why a transaction yields no swap (a closed set: callers count them)."""

    failed = "failed"  # transactionError set
    non_fungible = "non_fungible"  # NFT sale, compressed NFT
    no_trade = "no_trade"  # transfers, mints, staking, order deposits: no exchange
    token_to_token = "token_to_token"  # noqa: S105 (a label) — the legs have no SOL leg
    shared_sol_leg = "shared_sol_leg"  # several tokens against one SOL flow: not splittable
    ambiguous_trader = "ambiguous_trader"  # the flows do not single out one trader
    keeper_fill_without_owner = "keeper_fill_without_owner"  # the order's owner is not shown
    unreadable = "unreadable"  # not an enhanced transaction of a known shape


class TraderBasis(StrEnum):
    """How the trader was found (rule 2)."""

    wallet = "wallet"  # the caller named it
    fee_payer = "fee_payer"
    relayed = "relayed"  # the fee payer relayed it and took its fee in a token
    swap_event = "swap_event"  # events.swap named it
    flows = "flows"  # the only two-sided wallet in the flows
    order_owner = "order_owner"  # the owner of the order a keeper filled


class SwapParse(BaseModel):
    """One enhanced transaction parsed: its swaps, or the reason it has none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signature: str | None = None
    swaps: list[Swap] = Field(default_factory=list)
    dropped: DropReason | None = None  # set exactly when ``swaps`` is empty
    trader: str | None = None  # the account whose view was built (also when dropped)
    basis: TraderBasis | None = None
    error: str | None = None  # the shape problem, when ``unreadable``


class _Shape(ValueError):
    """Internal: the payload is not what an enhanced transaction looks like."""


# Plain tuples on the hot path (a NamedTuple costs a Python call per transaction):
# (signature, swaps, the reason there are none, trader, basis)
_Result = tuple[str, list[Swap], DropReason | None, str | None, TraderBasis | None]


def to_swaps(tx: Any, *, wallet: str | None = None) -> list[Swap]:
    """The swaps of one Helius enhanced transaction, from the trader's point of view.

    ``wallet`` names the trader when the caller knows it (history of an address); otherwise
    the rules in this module's docstring pick it. Returns ``[]`` for failed transactions,
    transfers, token-to-token swaps and anything that is not a trade against SOL. Raises
    ``PayloadShapeError`` (a ``WallTrackError``) naming the signature for an unknown or broken
    shape — never another exception.
    """
    try:
        return _checked(tx, wallet or None)[1]
    except WallTrackError:
        raise
    except Exception as exc:  # the contract: every failure becomes the typed error
        raise _unreadable(tx, exc) from exc


def parse_swaps(tx: Any, *, wallet: str | None = None) -> SwapParse:
    """Like ``to_swaps``, with the reason when there is no swap (``SwapParse.dropped``).

    Never raises for a broken payload: it comes back ``unreadable`` with the message in
    ``error``, so a batch can count it and go on.
    """
    try:
        signature, swaps, dropped, trader, basis = _checked(tx, wallet or None)
    except PayloadShapeError as exc:
        return SwapParse(signature=exc.signature or _signature_of(tx),
                         dropped=DropReason.unreadable, error=str(exc))
    except WallTrackError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: reported, never raised
        error = _unreadable(tx, exc)
        return SwapParse(signature=error.signature, dropped=DropReason.unreadable,
                         error=str(error))
    return SwapParse(
        signature=signature, swaps=swaps, dropped=dropped, trader=trader, basis=basis
    )


def _unreadable(tx: Any, exc: Exception) -> PayloadShapeError:
    return PayloadShapeError(
        f"unreadable enhanced transaction ({type(exc).__name__}: {exc})",
        signature=_signature_of(tx),
        hint="the payload is not a Helius enhanced transaction of a known shape",
    )


def _signature_of(tx: Any) -> str | None:
    if isinstance(tx, Mapping):
        sig = tx.get("signature")
        if isinstance(sig, str):
            return sig[:120]
        inner = tx.get("transaction")
        if isinstance(inner, Mapping):
            sigs = inner.get("signatures")
            if isinstance(sigs, list) and sigs and isinstance(sigs[0], str):
                return sigs[0][:120]
    return None


def _checked(tx: Any, wallet: str | None) -> _Result:
    if not isinstance(tx, Mapping):
        raise PayloadShapeError(
            f"an enhanced transaction must be a JSON object, not {type(tx).__name__}"
        )
    signature = tx.get("signature")
    if not isinstance(signature, str) or not signature:
        if "transaction" in tx and "meta" in tx:
            raise PayloadShapeError(
                "this is a raw transaction (getTransaction shape), not an enhanced one",
                signature=_signature_of(tx),
                hint="configure the webhook as 'enhanced', or parse it with the RPC parser",
            )
        raise PayloadShapeError("no 'signature' in the transaction")
    try:
        return _derive(tx, signature, wallet)
    except _Shape as exc:
        raise PayloadShapeError(str(exc), signature=signature) from None


# -- reading the payload ------------------------------------------------------------------


def _list(tx: Mapping[str, Any], key: str) -> list[Any]:
    value = tx.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Shape(f"'{key}' must be a list, not {type(value).__name__}")
    return value


def _str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Shape(f"'{key}' must be a string")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Shape(f"{what} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Shape(f"{what} must be finite")
    return number


def _lamports(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise _Shape(f"{what} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        number = _number(value, what)
        if number != int(number):
            raise _Shape(f"{what} must be a whole number of lamports")
        return int(number)
    raise _Shape(f"{what} must be an integer")


class _TokenMove:
    __slots__ = ("amount", "from_account", "from_user", "mint", "to_account", "to_user")

    def __init__(self, item: Any) -> None:
        if not isinstance(item, dict):
            raise _Shape("a tokenTransfers item must be an object")
        self.mint = _str(item, "mint")
        if not self.mint:
            raise _Shape("a token transfer has no mint")
        standard = item.get("tokenStandard")
        if standard in _NON_FUNGIBLE:
            self.mint = ""  # marks an NFT move: ignored
        self.from_user = _str(item, "fromUserAccount")
        self.to_user = _str(item, "toUserAccount")
        self.from_account = _str(item, "fromTokenAccount")
        self.to_account = _str(item, "toTokenAccount")
        self.amount = _number(item.get("tokenAmount"), "tokenAmount")
        if self.amount < 0:
            raise _Shape("tokenAmount must not be negative")


class _NativeMove:
    __slots__ = ("lamports", "source", "target")

    def __init__(self, item: Any) -> None:
        if not isinstance(item, dict):
            raise _Shape("a nativeTransfers item must be an object")
        self.source = _str(item, "fromUserAccount")
        self.target = _str(item, "toUserAccount")
        self.lamports = _lamports(item.get("amount"), "native transfer amount")
        if self.lamports < 0:
            raise _Shape("native transfer amount must not be negative")


class _BalanceChange:
    """One token balance change from ``accountData`` (exact raw amount)."""

    __slots__ = ("amount", "mint", "token_account", "user")

    def __init__(self, item: Any) -> None:
        if not isinstance(item, dict):
            raise _Shape("a tokenBalanceChanges item must be an object")
        self.mint = _str(item, "mint")
        self.user = _str(item, "userAccount")
        self.token_account = _str(item, "tokenAccount")
        raw = item.get("rawTokenAmount")
        if not isinstance(raw, Mapping):
            raise _Shape("rawTokenAmount must be an object")
        decimals = _lamports(raw.get("decimals"), "decimals")
        if not 0 <= decimals <= 30:
            raise _Shape("decimals out of range")
        self.amount = _lamports(raw.get("tokenAmount"), "rawTokenAmount.tokenAmount") / (
            10**decimals
        )
        if decimals == 0 and abs(self.amount) == 1:
            self.mint = ""  # a single indivisible unit: an NFT, not a fungible trade


class _Tx:
    """The parts of an enhanced transaction that the derivation reads, type-checked."""

    def __init__(self, tx: Mapping[str, Any]) -> None:
        self.tokens = [_TokenMove(item) for item in _list(tx, "tokenTransfers")]
        self.natives = [_NativeMove(item) for item in _list(tx, "nativeTransfers")]
        self._account_data = _list(tx, "accountData")
        self.own_cache: dict[str, set[str]] = {}
        self._native_change: dict[str, int] | None = None
        self._balances: list[_BalanceChange] | None = None
        events = tx.get("events")
        swap_event = events.get("swap") if isinstance(events, Mapping) else None
        self.swap_event: Mapping[str, Any] | None = (
            swap_event if isinstance(swap_event, Mapping) else None
        )
        fee_payer = tx.get("feePayer")
        if fee_payer is not None and not isinstance(fee_payer, str):
            raise _Shape("'feePayer' must be a string")
        self.fee_payer: str | None = fee_payer or None
        fee = tx.get("fee")
        self.fee = _lamports(fee, "fee") if fee is not None else 0
        self.nft_event = isinstance(events, dict) and bool(
            events.get("nft") or events.get("compressed")
        )

    # accountData is read only when the transfers do not settle the question (it is the
    # biggest part of a payload: parsing it eagerly halves the throughput).
    @property
    def native_change(self) -> dict[str, int]:
        if self._native_change is None:
            self._read_account_data()
        assert self._native_change is not None
        return self._native_change

    @property
    def balances(self) -> list[_BalanceChange]:
        if self._balances is None:
            self._read_account_data()
        assert self._balances is not None
        return self._balances

    def _read_account_data(self) -> None:
        native: dict[str, int] = {}
        balances: list[_BalanceChange] = []
        for entry in self._account_data:
            if not isinstance(entry, dict):
                raise _Shape("an accountData item must be an object")
            account = _str(entry, "account")
            change = entry.get("nativeBalanceChange")
            if change is not None:
                native[account] = native.get(account, 0) + _lamports(
                    change, "nativeBalanceChange"
                )
            changes = entry.get("tokenBalanceChanges")
            if changes:
                if not isinstance(changes, list):
                    raise _Shape("tokenBalanceChanges must be a list")
                balances.extend(_BalanceChange(item) for item in changes)
        self._native_change, self._balances = native, balances


# -- the derivation -----------------------------------------------------------------------


class _Leg:
    """One mint's trade from the trader's side."""

    __slots__ = ("counterparties", "gets", "gives", "mint", "net")

    def __init__(self, mint: str) -> None:
        self.mint = mint
        self.net = 0.0
        self.counterparties: set[str] = set()
        self.gets = False  # some of it came in from another party
        self.gives = False  # some of it went out to another party


# (mint, tokens: > 0 bought / < 0 sold, lamports exchanged for them)
_Trade = tuple[str, float, int]
# (trader, how it was found, its trades, or the reason there are none)
_Pick = tuple[str | None, TraderBasis | None, list[_Trade], DropReason | None]


def _dropped(reason: DropReason, trader: str | None = None) -> _Pick:
    return trader, None, [], reason


def _derive(tx: Mapping[str, Any], signature: str, wallet: str | None) -> _Result:
    if tx.get("transactionError") is not None:
        return signature, [], DropReason.failed, None, None
    parsed = _Tx(tx)
    if parsed.nft_event:
        return signature, [], DropReason.non_fungible, None, None
    trader, basis, trades, dropped = _pick(parsed, tx, wallet)
    if dropped is not None or trader is None:
        return signature, [], dropped or DropReason.no_trade, trader, basis

    slot = tx.get("slot")
    timestamp = tx.get("timestamp")
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise _Shape("'slot' must be an integer")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise _Shape("'timestamp' must be a number (unix seconds)")
    when = datetime.fromtimestamp(timestamp, UTC)
    fee_payer = parsed.fee_payer
    fee_sol = parsed.fee / LAMPORTS_PER_SOL if trader == fee_payer and parsed.fee > 0 else 0.0
    source = _source_of(tx)
    swaps = [
        Swap(
            signature=signature,
            slot=slot,
            timestamp=when,
            wallet=trader,
            mint=mint,
            side=SwapSide.buy if net > 0 else SwapSide.sell,
            sol_amount=lamports / LAMPORTS_PER_SOL,
            token_amount=abs(net),
            source=source,
            fee_sol=fee_sol,
        )
        for mint, net, lamports in trades
    ]
    return signature, swaps, None, trader, basis


def _pick(parsed: _Tx, tx: Mapping[str, Any], wallet: str | None) -> _Pick:
    """Rule 2: whose trade this is, and its trades (or why there is none)."""
    payer = parsed.fee_payer
    payer_legs = _legs_for(parsed, payer) if payer else {}
    # A fill moves tokens: transfers, staking, projections never are one.
    keeper_fill = payer is not None and bool(parsed.tokens) and _is_keeper_fill(
        parsed, tx, payer, payer_legs)
    if wallet is not None:
        if keeper_fill:
            assert payer is not None
            pick = _order_owner(parsed, payer)
            if pick[0] == wallet or pick[3] is not None:
                return pick
            return _dropped(DropReason.no_trade, wallet)  # someone else's order
        if wallet == payer:
            if payer_legs and _relayed_trader(parsed, payer, payer_legs) is not None:
                return _dropped(DropReason.no_trade, wallet)  # a relayer's fee is no trade
            return _pick_from(parsed, wallet, TraderBasis.wallet, payer_legs)
        relayer = payer is not None and bool(payer_legs) and (
            _relayed_trader(parsed, payer, payer_legs) == wallet)
        exclude = frozenset({payer}) if relayer and payer else _NOTHING
        return _pick_from(parsed, wallet, TraderBasis.wallet, exclude=exclude)
    if keeper_fill:
        assert payer is not None
        return _order_owner(parsed, payer)
    if payer_legs:
        assert payer is not None
        relayed = _relayed_trader(parsed, payer, payer_legs)
        if relayed is not None:
            return _pick_from(parsed, relayed, TraderBasis.relayed, exclude=frozenset({payer}))
        trades, reason = _trades(parsed, payer, payer_legs)  # the usual case, inlined
        if reason is not None:
            return _dropped(reason, payer)
        return payer, TraderBasis.fee_payer, trades, None
    return _other_trader(parsed, payer)


def _pick_from(
    parsed: _Tx,
    trader: str,
    basis: TraderBasis,
    legs: dict[str, _Leg] | None = None,
    *,
    exclude: frozenset[str] = _NOTHING,
) -> _Pick:
    if legs is None:
        legs = _legs_for(parsed, trader, exclude)
    trades, reason = _trades(parsed, trader, legs)
    if reason is not None:
        return _dropped(reason, trader)
    return trader, basis, trades, None


def _trades(
    parsed: _Tx, trader: str, legs: dict[str, _Leg], *, strict: bool = False
) -> tuple[list[_Trade], DropReason | None]:
    """The trader's trades against SOL, or why there are none."""
    if not legs:
        return [], DropReason.no_trade
    found: list[_Trade] = []
    for leg in legs.values():
        lamports = _sol_with(parsed, trader, leg, strict=strict)
        if lamports is not None:
            found.append((leg.mint, leg.net, lamports))
    if not found:
        # Gives one token and gets another: token-to-token; one-sided: a plain transfer.
        signs = {leg.net > 0 for leg in legs.values()}
        return [], DropReason.token_to_token if len(signs) == 2 else DropReason.no_trade
    if len(found) > 1 and _shared_counterparties([legs[mint] for mint, _, _ in found]):
        # Several tokens settled against SOL through one shared account: the SOL cannot be
        # split honestly between them, so no amount is invented.
        return [], DropReason.shared_sol_leg
    return found, None


def _own_accounts(parsed: _Tx, trader: str) -> set[str]:
    cached = parsed.own_cache.get(trader)
    if cached is not None:
        return cached
    own = {trader}
    parsed.own_cache[trader] = own
    for move in parsed.tokens:
        if move.from_user == trader and move.from_account:
            own.add(move.from_account)
        if move.to_user == trader and move.to_account:
            own.add(move.to_account)
    if not parsed.tokens:
        for change in parsed.balances:
            if change.user == trader and change.token_account:
                own.add(change.token_account)
    return own


def _legs_for(
    parsed: _Tx, trader: str, exclude: frozenset[str] = _NOTHING
) -> dict[str, _Leg]:
    """Non-SOL fungible mints whose balance the trader changed, with their counterparties
    (``exclude`` never counts as one)."""
    legs: dict[str, _Leg] = {}
    if parsed.tokens:
        own = _own_accounts(parsed, trader)
        for move in parsed.tokens:
            mint = move.mint
            if not mint or mint == SOL_MINT:
                continue
            out = move.from_user == trader or (move.from_account in own and move.from_account)
            into = move.to_user == trader or (move.to_account in own and move.to_account)
            if out and not into:
                leg = legs.get(mint)
                if leg is None:
                    leg = legs[mint] = _Leg(mint)
                leg.net -= move.amount
                leg.gives = True
                if move.to_user:
                    leg.counterparties.add(move.to_user)
            elif into and not out:
                leg = legs.get(mint)
                if leg is None:
                    leg = legs[mint] = _Leg(mint)
                leg.net += move.amount
                leg.gets = True
                if move.from_user:
                    leg.counterparties.add(move.from_user)
    else:
        # Projection payloads: balance changes only.
        for change in parsed.balances:
            if change.user == trader and change.mint and change.mint != SOL_MINT:
                leg = legs.get(change.mint)
                if leg is None:
                    leg = legs[change.mint] = _Leg(change.mint)
                leg.net += change.amount
        for leg in legs.values():
            for change in parsed.balances:
                if (
                    change.mint == leg.mint
                    and change.user != trader
                    and change.user
                    and change.amount * leg.net < 0
                ):
                    leg.counterparties.add(change.user)
    kept: dict[str, _Leg] = {}
    for mint, leg in legs.items():
        if exclude:
            leg.counterparties -= exclude
        if abs(leg.net) > _EPSILON * max(1.0, abs(leg.net)) and leg.counterparties:
            kept[mint] = leg
    return kept


def _sol_with(parsed: _Tx, trader: str, leg: _Leg, *, strict: bool = False) -> int | None:
    """Lamports the trader exchanged with the leg's counterparties, or None (no SOL leg).

    ``strict``: transfers only (no events, no balance changes) — for testing candidates.
    """
    own = _own_accounts(parsed, trader)
    parties = leg.counterparties
    flow = 0  # lamports into the trader's own accounts from the counterparties
    seen = False
    for move in parsed.tokens:
        if move.mint != SOL_MINT:
            continue
        from_own = move.from_user == trader or move.from_account in own
        to_own = move.to_user == trader or move.to_account in own
        if from_own and not to_own and move.to_user in parties:
            flow -= round(move.amount * LAMPORTS_PER_SOL)
            seen = True
        elif to_own and not from_own and move.from_user in parties:
            flow += round(move.amount * LAMPORTS_PER_SOL)
            seen = True
    for native in parsed.natives:
        from_own = native.source in own
        to_own = native.target in own
        if from_own and not to_own and native.target in parties:
            flow -= native.lamports
            seen = True
        elif to_own and not from_own and native.source in parties:
            flow += native.lamports
            seen = True
    if (not seen or flow == 0) and not strict:
        flow = _sol_from_event(parsed, trader, leg) or _sol_from_balances(parsed, leg)
        if flow == 0 and not parsed.tokens:
            # Projection without transfers and a multi-hop route: the trader's own SOL
            # change (its wallet and token accounts; the network fee added back) is all.
            flow = sum(parsed.native_change.get(account, 0) for account in own)
            if trader == parsed.fee_payer:
                flow += parsed.fee
    # A swap moves SOL the other way from the token: buy → SOL out (flow < 0).
    if flow == 0 or (flow > 0) == (leg.net > 0):
        return None
    return abs(flow)


def _sol_from_event(parsed: _Tx, trader: str, leg: _Leg) -> int:
    event = parsed.swap_event
    if event is None:
        return 0
    native_in = event.get("nativeInput")
    native_out = event.get("nativeOutput")
    if leg.net > 0 and isinstance(native_in, Mapping) and native_in.get("account") == trader:
        return -_lamports(native_in.get("amount"), "events.swap.nativeInput.amount")
    if leg.net < 0 and isinstance(native_out, Mapping) and native_out.get("account") == trader:
        return _lamports(native_out.get("amount"), "events.swap.nativeOutput.amount")
    return 0


def _sol_from_balances(parsed: _Tx, leg: _Leg) -> int:
    """Counterparties' SOL change, seen from the trader (their gain is the trader's loss)."""
    wrapped = 0.0
    found = False
    for change in parsed.balances:
        if change.mint == SOL_MINT and change.user in leg.counterparties:
            wrapped += change.amount
            found = True
    if found:
        return -round(wrapped * LAMPORTS_PER_SOL)
    native = sum(parsed.native_change.get(party, 0) for party in leg.counterparties)
    return -native


def _shared_counterparties(legs: list[_Leg]) -> bool:
    seen: set[str] = set()
    for leg in legs:
        if seen & leg.counterparties:
            return True
        seen |= leg.counterparties
    return False


def _parties(parsed: _Tx) -> list[str]:
    users: dict[str, None] = {}
    for move in parsed.tokens:
        if move.mint and move.mint != SOL_MINT:
            for user in (move.from_user, move.to_user):
                if user:
                    users[user] = None
    if not parsed.tokens:
        for change in parsed.balances:
            if change.mint and change.mint != SOL_MINT and change.user:
                users[change.user] = None
    return list(users)


def _is_program_account(address: str) -> bool:
    """A PDA (off the ed25519 curve): a program's account, which no trader can be.

    Unreadable addresses are not known to be PDAs."""
    try:
        return not Pubkey.from_string(address).is_on_curve()
    except ValueError:
        return False


# -- rule 2d: a relayer paid, the fee payer is not a party ---------------------------------


def _other_trader(parsed: _Tx, fee_payer: str | None) -> _Pick:
    event = parsed.swap_event
    if event is not None:
        named: list[Any] = []
        native_in = event.get("nativeInput")
        if isinstance(native_in, Mapping):
            named.append(native_in.get("account"))
        for item in event.get("tokenInputs") or ():
            if isinstance(item, dict):
                named.append(item.get("userAccount"))
        native_out = event.get("nativeOutput")
        if isinstance(native_out, Mapping):
            named.append(native_out.get("account"))
        for candidate in named:
            if isinstance(candidate, str) and candidate != fee_payer:
                legs = _legs_for(parsed, candidate)
                if legs:
                    return _pick_from(parsed, candidate, TraderBasis.swap_event, legs)
    parties = [party for party in _parties(parsed) if party != fee_payer]
    if not parties:
        for move in parsed.tokens:
            if not move.mint:
                return _dropped(DropReason.non_fungible)
        return _dropped(DropReason.no_trade)
    two_sided: list[tuple[str, list[_Trade]]] = []
    reasons: set[DropReason] = set()
    for party in parties:
        trades, reason = _trades(parsed, party, _legs_for(parsed, party))
        if trades:
            two_sided.append((party, trades))
        elif reason is not None:
            reasons.add(reason)
    if not two_sided:
        # Nobody traded against SOL: a transfer, or a token-to-token swap someone relayed.
        return _dropped(
            DropReason.token_to_token if DropReason.token_to_token in reasons
            else DropReason.no_trade)
    wallets = [(p, t) for p, t in two_sided if not _is_program_account(p)]
    if len(wallets) > 1:
        # Pool authorities are PDAs, but not every pool account is: the wallet whose own
        # SOL balance moved is the trader.
        wallets = [(p, t) for p, t in wallets if parsed.native_change.get(p, 0) != 0]
    if len(wallets) == 1:
        party, trades = wallets[0]
        return party, TraderBasis.flows, trades, None
    return _dropped(DropReason.ambiguous_trader)


# -- rule 2c: a relayer that takes its fee in a token --------------------------------------


def _relayed_trader(parsed: _Tx, payer: str, payer_legs: dict[str, _Leg]) -> str | None:
    """The party a fee-paying relayer served, when the relayer's only token flows are with
    it (its fee, received) and that party traded against SOL with third parties; else None."""
    other = None
    for leg in payer_legs.values():
        if leg.gives or len(leg.counterparties) != 1:
            return None
        (party,) = leg.counterparties
        if other is None:
            other = party
        elif party != other:
            return None
    if other is None:
        return None
    # One pass: the fee payer paying ``other`` SOL for it is an ordinary trade; ``other``
    # moving the same token with third parties is what a relayer's customer does.
    elsewhere = False
    for move in parsed.tokens:
        mint = move.mint
        if mint == SOL_MINT:
            if move.from_user == payer and move.to_user == other:
                return None
        elif mint in payer_legs and not elsewhere:
            if move.from_user == other:
                elsewhere = move.to_user not in ("", other, payer)
            elif move.to_user == other:
                elsewhere = move.from_user not in ("", other, payer)
    if not elsewhere:
        return None  # the usual case: a pool that traded with the fee payer only
    for native in parsed.natives:
        if native.source == payer and native.target == other:
            return None
    trades, _ = _trades(parsed, other, _legs_for(parsed, other, frozenset({payer})),
                        strict=True)
    return other if trades else None


# -- rule 2b: keeper fills of Jupiter orders -----------------------------------------------


def _is_keeper_fill(
    parsed: _Tx, tx: Mapping[str, Any], payer: str, payer_legs: dict[str, _Leg]
) -> bool:
    """A Jupiter order program ran and the fee payer only relayed its flows."""
    if payer in _KNOWN_KEEPERS:
        return True
    if payer_legs:
        for leg in payer_legs.values():
            if leg.gets and leg.gives:
                break  # it passed a token through
        else:
            return False  # an ordinary trade of the fee payer (the hot path stops here)
    for move in parsed.tokens:
        if move.to_user == payer and move.from_user and move.from_user != payer:
            break  # a keeper is lent the order's input (or takes it)
    else:
        return False
    instructions = tx.get("instructions")
    if isinstance(instructions, list) and instructions:
        for ix in instructions:
            if not isinstance(ix, dict):
                continue
            if ix.get("programId") in _ORDER_PROGRAMS:
                return True
            for inner in ix.get("innerInstructions") or ():
                if isinstance(inner, dict) and inner.get("programId") in _ORDER_PROGRAMS:
                    return True
        return False
    for entry in tx.get("accountData") or ():  # instructions cut: every account key is here
        if isinstance(entry, dict) and entry.get("account") in _ORDER_PROGRAMS:
            return True
    return False


def _order_owner(parsed: _Tx, keeper: str) -> _Pick:
    """The trade of the order a keeper filled, seen from the order's owner."""
    # Both legs map to the owner: the one wallet besides the keeper that gives and gets.
    owners: list[tuple[str, list[_Trade]]] = []
    for party in _parties(parsed):
        if party == keeper:
            continue
        trades, _ = _trades(parsed, party, _legs_for(parsed, party), strict=True)
        if trades and not _is_program_account(party):
            owners.append((party, trades))
    if len(owners) == 1:
        owner, trades = owners[0]
        return owner, TraderBasis.order_owner, trades, None
    if owners:
        return _dropped(DropReason.ambiguous_trader)
    return _owner_receives(parsed, keeper)


def _owner_receives(parsed: _Tx, keeper: str) -> _Pick:
    """The owner receives the order's output; an escrow (it only gives) gave the input."""
    holder: dict[str, str] = {}  # token account → its owner
    for move in parsed.tokens:
        if move.from_account and move.from_user:
            holder[move.from_account] = move.from_user
        if move.to_account and move.to_user:
            holder[move.to_account] = move.to_user
    net: dict[str, dict[str, float]] = {}  # party → asset (SOL_MINT for SOL) → net UI amount

    def add(source: str, target: str, asset: str, amount: float) -> None:
        if source == target or not source or not target:
            return
        flows = net.setdefault(source, {})
        flows[asset] = flows.get(asset, 0.0) - amount
        flows = net.setdefault(target, {})
        flows[asset] = flows.get(asset, 0.0) + amount

    for move in parsed.tokens:
        if move.mint:
            add(move.from_user or move.from_account, move.to_user or move.to_account,
                move.mint, move.amount)
    for native in parsed.natives:
        add(holder.get(native.source, native.source), holder.get(native.target, native.target),
            SOL_MINT, native.lamports / LAMPORTS_PER_SOL)
    net.pop(keeper, None)
    if not any(asset != SOL_MINT for flows in net.values() for asset in flows):
        return _dropped(DropReason.no_trade)  # an order opened, cancelled or topped up

    def tiny(value: float) -> bool:
        return abs(value) <= 1e-9 * max(1.0, abs(value))

    outputs: dict[str, list[str]] = {}  # owner → the assets it is the main receiver of
    for asset in {asset for flows in net.values() for asset in flows}:
        top, best = None, 0.0
        for party, flows in net.items():
            if flows.get(asset, 0.0) > best:
                top, best = party, flows[asset]
        if top is None or any(v < 0 and not tiny(v) for v in net[top].values()):
            continue  # nobody received it, or its main receiver also gave (a pool, escrow)
        if not _is_program_account(top):
            outputs.setdefault(top, []).append(asset)
    if not outputs:
        return _dropped(DropReason.keeper_fill_without_owner)
    if len(outputs) > 1 or len(next(iter(outputs.values()))) > 1:
        return _dropped(DropReason.ambiguous_trader)
    ((owner, (output,)),) = outputs.items()
    wanted = SOL_MINT if output != SOL_MINT else None  # the input asset
    escrows = [
        (party, asset, -value)
        for party, flows in net.items()
        if party != owner and all(v <= 0 or tiny(v) for v in flows.values())
        for asset, value in flows.items()
        if value < 0 and not tiny(value) and asset != output
        and (asset == wanted if wanted else asset != SOL_MINT)
    ]
    if not escrows:
        gave_tokens = any(
            asset not in (SOL_MINT, output) and value < 0
            for party, flows in net.items() if party != owner for asset, value in flows.items())
        return _dropped(DropReason.token_to_token if gave_tokens and wanted
                        else DropReason.keeper_fill_without_owner, owner)
    if len(escrows) > 1:
        return _dropped(DropReason.ambiguous_trader, owner)
    escrow, asset, given = escrows[0]
    # Lamports leaving the escrow's accounts other than wrapped-SOL ones are rent (an order
    # or reserve account closing), not the order's input or output.
    wrapped = {account for move in parsed.tokens if move.mint == SOL_MINT
               for account in (move.from_account, move.to_account)}
    rent = [native for native in parsed.natives
            if holder.get(native.source, native.source) == escrow
            and native.source not in wrapped]
    if output == SOL_MINT:
        rent_to_owner = sum(native.lamports for native in rent
                            if holder.get(native.target, native.target) == owner)
        lamports = round(net[owner][SOL_MINT] * LAMPORTS_PER_SOL) - rent_to_owner
        trade = (asset, -given, lamports)
    else:
        lamports = round(given * LAMPORTS_PER_SOL) - sum(native.lamports for native in rent)
        trade = (output, net[owner][output], lamports)
    if lamports <= 0:
        return _dropped(DropReason.keeper_fill_without_owner, owner)
    return owner, TraderBasis.order_owner, [trade], None


def _source_of(tx: Mapping[str, Any]) -> str:
    source = tx.get("source")
    label = source if isinstance(source, str) else ""
    if label not in _GENERIC_SOURCES:
        return label
    for item in tx.get("instructions") or ():
        if isinstance(item, dict):
            found = _PROGRAM_SOURCES.get(item.get("programId"))  # type: ignore[arg-type]
            if found:
                return found
    for entry in tx.get("accountData") or ():
        if isinstance(entry, Mapping):
            found = _PROGRAM_SOURCES.get(entry.get("account"))  # type: ignore[arg-type]
            if found:
                return found
    return label or "UNKNOWN"
