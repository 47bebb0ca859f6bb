"""Helius enhanced transaction → ``Swap`` models (the webhook hot path).

Helius's ``type`` and ``events`` cannot be trusted (DESIGN.md section 4): PumpSwap swaps have
no ``events.swap``, Meteora bonding-curve trades arrive as ``TRANSFER``/``UNKNOWN`` with
``events = []``, Raydium's ``events.swap`` names the pool authority as receiver. So a trade is
derived from *who gave what and got what*; ``type`` is never read.

Rules (also in docs/clients.md):

1. ``transactionError`` set → no swap (the transaction changed nothing).
2. The trader is the fee payer when the fee payer is a party to a trade (it gives or gets a
   fungible non-SOL token against something). Otherwise: the ``wallet=`` the caller names;
   else the account ``events.swap`` names as input; else the only two-sided party whose own
   SOL balance moved (pool authorities are PDAs whose lamports do not move). Still ambiguous
   → no swap (never a guess).
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
   changes in ``accountData`` (programs that move lamports directly).
6. The pool's mirror-image flows are never a second trade: only the trader's view is built.
7. **Token-to-token swaps** (the trader gives one token and gets another, no SOL leg) yield
   **no swap**: a Swap is a trade against SOL, and a SOL amount is never invented.
8. Non-fungible tokens (NFT sales, compressed NFTs) are not swaps.
9. Payloads with only ``accountData`` (projections) use the balance changes: the trader's
   token delta per mint; counterparties are the owners whose balance of that mint moved the
   other way; SOL is their wrapped-SOL (else native) balance change.

Anything that is not a readable enhanced transaction raises ``PayloadShapeError`` naming the
signature — never another exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from walltrack.errors import PayloadShapeError, WallTrackError
from walltrack.models import LAMPORTS_PER_SOL, SOL_MINT, Swap, SwapSide

__all__ = ["to_swaps"]

_NON_FUNGIBLE = frozenset(
    {"NonFungible", "ProgrammableNonFungible", "NonFungibleEdition", "Compressed"}
)
_GENERIC_SOURCES = frozenset({"", "UNKNOWN", "SYSTEM_PROGRAM", "SOLANA_PROGRAM_LIBRARY"})
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
}
_EPSILON = 1e-12


class _Shape(ValueError):
    """Internal: the payload is not what an enhanced transaction looks like."""


def to_swaps(tx: Any, *, wallet: str | None = None) -> list[Swap]:
    """The swaps of one Helius enhanced transaction, from the trader's point of view.

    ``wallet`` names the trader when the caller knows it (history of an address); otherwise
    the rules in this module's docstring pick it. Returns ``[]`` for failed transactions,
    transfers, token-to-token swaps and anything that is not a trade against SOL. Raises
    ``PayloadShapeError`` (a ``WallTrackError``) naming the signature for an unknown or broken
    shape — never another exception.
    """
    try:
        return _to_swaps(tx, wallet)
    except WallTrackError:
        raise
    except Exception as exc:  # the contract: every failure becomes the typed error
        raise PayloadShapeError(
            f"unreadable enhanced transaction ({type(exc).__name__}: {exc})",
            signature=_signature_of(tx),
            hint="the payload is not a Helius enhanced transaction of a known shape",
        ) from exc


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


def _to_swaps(tx: Any, wallet: str | None) -> list[Swap]:
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

    __slots__ = ("counterparties", "mint", "net")

    def __init__(self, mint: str) -> None:
        self.mint = mint
        self.net = 0.0
        self.counterparties: set[str] = set()


def _derive(tx: Mapping[str, Any], signature: str, wallet: str | None) -> list[Swap]:
    if tx.get("transactionError") is not None:
        return []
    parsed = _Tx(tx)
    if parsed.nft_event:
        return []
    fee_payer = parsed.fee_payer
    trader = wallet or fee_payer or None
    legs = _legs_for(parsed, trader) if trader else {}
    if not legs and wallet is None:
        trader = _other_trader(parsed, fee_payer)
        legs = _legs_for(parsed, trader) if trader else {}
    if not legs or trader is None:
        return []

    swaps_out: list[tuple[_Leg, int]] = []
    for leg in legs.values():
        lamports = _sol_with(parsed, trader, leg)
        if lamports is None:
            continue
        swaps_out.append((leg, lamports))
    if not swaps_out:
        return []  # transfers, mints, token-to-token: no trade against SOL
    if len(swaps_out) > 1 and _shared_counterparties([leg for leg, _ in swaps_out]):
        # Several tokens settled against SOL through one shared account: the SOL cannot be
        # split honestly between them, so no amount is invented.
        return []

    slot = tx.get("slot")
    timestamp = tx.get("timestamp")
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise _Shape("'slot' must be an integer")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise _Shape("'timestamp' must be a number (unix seconds)")
    when = datetime.fromtimestamp(timestamp, UTC)
    fee_sol = parsed.fee / LAMPORTS_PER_SOL if trader == fee_payer and parsed.fee > 0 else 0.0
    source = _source_of(tx)
    return [
        Swap(
            signature=signature,
            slot=slot,
            timestamp=when,
            wallet=trader,
            mint=leg.mint,
            side=SwapSide.buy if leg.net > 0 else SwapSide.sell,
            sol_amount=lamports / LAMPORTS_PER_SOL,
            token_amount=abs(leg.net),
            source=source,
            fee_sol=fee_sol,
        )
        for leg, lamports in swaps_out
    ]


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


def _legs_for(parsed: _Tx, trader: str) -> dict[str, _Leg]:
    """Non-SOL fungible mints whose balance the trader changed, with their counterparties."""
    legs: dict[str, _Leg] = {}
    if parsed.tokens:
        own = _own_accounts(parsed, trader)
        for move in parsed.tokens:
            if not move.mint or move.mint == SOL_MINT:
                continue
            out = move.from_user == trader or (move.from_account in own and move.from_account)
            into = move.to_user == trader or (move.to_account in own and move.to_account)
            if out and not into:
                leg = legs.setdefault(move.mint, _Leg(move.mint))
                leg.net -= move.amount
                if move.to_user:
                    leg.counterparties.add(move.to_user)
            elif into and not out:
                leg = legs.setdefault(move.mint, _Leg(move.mint))
                leg.net += move.amount
                if move.from_user:
                    leg.counterparties.add(move.from_user)
    else:
        # Projection payloads: balance changes only.
        for change in parsed.balances:
            if change.user == trader and change.mint and change.mint != SOL_MINT:
                legs.setdefault(change.mint, _Leg(change.mint)).net += change.amount
        for leg in legs.values():
            for change in parsed.balances:
                if (
                    change.mint == leg.mint
                    and change.user != trader
                    and change.user
                    and change.amount * leg.net < 0
                ):
                    leg.counterparties.add(change.user)
    return {
        mint: leg
        for mint, leg in legs.items()
        if abs(leg.net) > _EPSILON * max(1.0, abs(leg.net)) and leg.counterparties
    }


def _sol_with(parsed: _Tx, trader: str, leg: _Leg) -> int | None:
    """Lamports the trader exchanged with the leg's counterparties, or None (no SOL leg)."""
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
    if not seen or flow == 0:
        flow = _sol_from_event(parsed, trader, leg) or _sol_from_balances(parsed, leg)
    if flow == 0 and not parsed.tokens:
        # Projection without transfers and a multi-hop route: the trader's own SOL change
        # (its wallet and token accounts; the network fee added back) is all there is.
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


def _other_trader(parsed: _Tx, fee_payer: str | None) -> str | None:
    """The trader when the fee payer is not a party (a relayer paid the fee)."""
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
            if isinstance(candidate, str) and candidate != fee_payer and _legs_for(
                parsed, candidate
            ):
                return candidate
    two_sided = [
        party
        for party in _parties(parsed)
        if party != fee_payer
        and any(_sol_with(parsed, party, leg) for leg in _legs_for(parsed, party).values())
    ]
    moved = [party for party in two_sided if parsed.native_change.get(party, 0) != 0]
    if len(moved) == 1:
        return moved[0]
    return None


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
