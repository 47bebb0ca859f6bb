"""Swaps that WallTrack sends: real solders transactions, settled against the live pools.

The transaction built for a quote carries one instruction to the Jupiter program whose data
says what to trade; the client signs it with its own Keypair; ``settle`` checks the
signature and the blockhash, trades against the pool (price impact and slippage limit
included) and records the result where every API can see it.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

import orjson
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from walltrack.errors import ValidationError
from walltrack.simulator import render
from walltrack.simulator.amm import out_for_in, price_impact
from walltrack.simulator.ids import derived_signature
from walltrack.simulator.market import BASE_FEE, RENT_ATA, SLOT0, SLOT_SECONDS
from walltrack.simulator.state import LiveTx, MarketState

SWAP_TAG = b"WTSIMSWP"
JUPITER_PROGRAM = Pubkey.from_string(render.JUPITER)
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string(render.COMPUTE_BUDGET)
CU_LIMIT = 180_000
BLOCKHASH_WINDOW = 150  # slots a blockhash stays valid
FAUCET = "SimFaucet1111111111111111111111111111111111"
SLIPPAGE_ERROR = {"InstructionError": [2, {"Custom": 6001}]}
FUNDS_ERROR = {"InstructionError": [2, {"Custom": 1}]}


class SettleError(ValidationError):
    """The transaction cannot be accepted at all (bad signature, unknown blockhash…)."""

    code = "settle_error"

    def __init__(self, message: str, *, rpc_code: int) -> None:
        self.rpc_code = rpc_code
        super().__init__(message)


@dataclass
class SwapIntent:
    mint: str
    buy: bool
    amount_in: int
    min_out: int


def blockhash_for(slot: int) -> Hash:
    window = (slot - SLOT0) // BLOCKHASH_WINDOW
    return Hash(hashlib.sha256(f"walltrack-sim-blockhash/{window}".encode()).digest())


def latest_blockhash(state: MarketState) -> tuple[str, int]:
    slot = state.clock.slot()
    return str(blockhash_for(slot)), slot + BLOCKHASH_WINDOW


def _blockhash_valid(blockhash: Hash, slot: int) -> bool:
    # Valid when issued for this window or the one before (≈ 60–120 s, like mainnet).
    return blockhash in (blockhash_for(slot), blockhash_for(slot - BLOCKHASH_WINDOW))


def swap_instructions(
    state: MarketState, user: str, intent: SwapIntent, priority_lamports: int
) -> list[Instruction]:
    """Compute budget + the swap instruction (what /swap/v2/build hands out)."""
    payer = Pubkey.from_string(user)
    pool = Pubkey.from_string(state.tokens[intent.mint]["pool"])
    mint = Pubkey.from_string(intent.mint)
    micro = priority_lamports * 1_000_000 // CU_LIMIT
    data = SWAP_TAG + struct.pack("<BQQ", 0 if intent.buy else 1, intent.amount_in, intent.min_out)
    metas = [
        AccountMeta(payer, True, True),
        AccountMeta(pool, False, True),
        AccountMeta(mint, False, False),
    ]
    return [
        set_compute_unit_limit(CU_LIMIT),
        set_compute_unit_price(micro),
        Instruction(JUPITER_PROGRAM, data, metas),
    ]


def build_swap_transaction(
    state: MarketState, user: str, intent: SwapIntent, priority_lamports: int
) -> tuple[str, int]:
    """Unsigned v0 transaction (base64) and its lastValidBlockHeight."""
    slot = state.clock.slot()
    ixs = swap_instructions(state, user, intent, priority_lamports)
    msg = MessageV0.try_compile(Pubkey.from_string(user), ixs, [], blockhash_for(slot))
    tx = VersionedTransaction.populate(msg, [Signature.default()])
    return base64.b64encode(bytes(tx)).decode(), slot + BLOCKHASH_WINDOW


def _decode(tx_b64: str) -> tuple[VersionedTransaction, str, SwapIntent | None, int]:
    try:
        tx = VersionedTransaction.from_bytes(base64.b64decode(tx_b64))
    except (ValueError, TypeError) as exc:
        raise SettleError(f"failed to deserialize transaction: {exc}", rpc_code=-32602) from exc
    if not all(tx.verify_with_results()):
        raise SettleError("Transaction signature verification failure", rpc_code=-32003)
    msg = tx.message
    keys = [str(k) for k in msg.account_keys]
    intent = None
    priority = 0
    for ix in msg.instructions:
        program = keys[ix.program_id_index]
        data = bytes(ix.data)
        if program == str(JUPITER_PROGRAM) and data.startswith(SWAP_TAG):
            side, amount_in, min_out = struct.unpack("<BQQ", data[len(SWAP_TAG) :])
            intent = SwapIntent(keys[ix.accounts[2]], side == 0, amount_in, min_out)
        elif program == str(COMPUTE_BUDGET_PROGRAM) and data[:1] == b"\x03":
            priority = struct.unpack("<Q", data[1:9])[0] * CU_LIMIT // 1_000_000
    return tx, keys[0], intent, priority


def simulate(state: MarketState, tx_b64: str) -> dict[str, Any]:
    _tx, payer, intent, priority = _decode(tx_b64)
    err: Any = None
    if intent is not None:
        err = _check(state, payer, intent, BASE_FEE + priority, state.pool(intent.mint))[0]
    return {"err": err, "logs": [f"Program {render.JUPITER} invoke [1]"], "unitsConsumed": 48_231}


def _check(
    state: MarketState, payer: str, intent: SwapIntent, fee: int, reserves: tuple[int, int]
) -> tuple[Any, int]:
    sol, token = reserves
    fee_bps = int(state.tokens[intent.mint]["fee_bps"])
    if intent.buy:
        rent = 0 if state.token_holdings(payer).get(intent.mint) else RENT_ATA
        if state.lamports(payer) < intent.amount_in + fee + rent:
            return FUNDS_ERROR, 0
        out = out_for_in(sol, token, intent.amount_in, fee_bps)
    else:
        if (
            state.lamports(payer) < fee
            or state.token_holdings(payer).get(intent.mint, 0) < intent.amount_in
        ):
            return FUNDS_ERROR, 0
        out = out_for_in(token, sol, intent.amount_in, fee_bps)
    if out <= 0 or out < intent.min_out:
        return SLIPPAGE_ERROR, out
    return None, out


def settle(state: MarketState, tx_b64: str, *, skip_preflight: bool = False) -> dict[str, Any]:
    """Land a signed swap: returns its recorded row (``err`` is None on success)."""
    tx, payer, intent, priority = _decode(tx_b64)
    signature = str(tx.signatures[0])
    if signature in state.ledger.by_sig:
        return state.ledger.by_sig[signature].row
    slot = state.clock.slot()
    if not _blockhash_valid(tx.message.recent_blockhash, slot):
        raise SettleError("Transaction simulation failed: Blockhash not found", rpc_code=-32002)
    if intent is None or intent.mint not in state.tokens:
        raise SettleError(
            "Transaction simulation failed: unknown swap instruction", rpc_code=-32002
        )
    fee = BASE_FEE * len(tx.signatures) + priority
    now = state.clock.now()
    with state.lock:
        ov = state.touch(intent.mint, now)
        err, out = _check(state, payer, intent, fee, (ov["sol"], ov["token"]))
        if err is not None and not skip_preflight:
            raise SettleError(f"Transaction simulation failed: {err}", rpc_code=-32002)
        tok = state.tokens[intent.mint]
        rent = 0
        lam = raw = 0
        if err is None:
            if intent.buy:
                rent = 0 if state.token_holdings(payer).get(intent.mint) else RENT_ATA
                lam, raw = intent.amount_in, out
                ov["sol"] += lam
                ov["token"] -= raw
                delta_sol, delta_tok = -(lam + fee + rent), raw
            else:
                lam, raw = out, intent.amount_in
                ov["token"] += raw
                ov["sol"] -= lam
                delta_sol, delta_tok = lam - fee, -raw
        else:
            delta_sol, delta_tok = -fee, 0
        ledger = state.ledger
        ledger.lamports[payer] = ledger.lamports.get(payer, 0) + delta_sol
        key = (payer, intent.mint)
        ledger.tokens[key] = ledger.tokens.get(key, 0) + delta_tok
        row = {
            "kind": "swap" if err is None else "failed",
            "signature": signature,
            "slot": slot,
            "ts": int(state.market.params.start.timestamp() + now),
            "t": now,
            "wallet": payer,
            "mint": intent.mint,
            "side": "buy" if intent.buy else "sell",
            "sol_amount": lam / 1e9,
            "token_amount": raw / 10 ** tok["decimals"],
            "source": "JUPITER",
            "venue": tok["venue"],
            "via_jupiter": True,
            "sol_lamports": lam,
            "token_raw": raw,
            "decimals": tok["decimals"],
            "fee_lamports": fee,
            "fee_sol": fee / 1e9,
            "tip_lamports": 0,
            "rent_lamports": rent,
            "pool": tok["pool"],
            "pool_sol_after": ov["sol"],
            "pool_token_after": ov["token"],
            "wallet_token_after": state.token_holdings(payer).get(intent.mint, 0),
            "wallet_lamports_after": state.lamports(payer),
            "payer_lamports_after": state.lamports(payer),
            "fee_payer": payer,
            "error": None if err is None else render_error(err),
            "err": err,
            "expected_out": out,
        }
        ledger.add(LiveTx(row, now, len(ledger.txs), (payer, intent.mint, tok["pool"])))
    return row


def render_error(err: Any) -> str:
    return orjson.dumps(err).decode()


def airdrop(state: MarketState, address: str, lamports: int) -> str:
    now = state.clock.now()
    with state.lock:
        n = len(state.ledger.txs)
        signature = derived_signature("airdrop", address, str(n), str(state.market.params.seed))
        state.ledger.lamports[address] = state.ledger.lamports.get(address, 0) + lamports
        row = {
            "kind": "transfer",
            "signature": signature,
            "slot": SLOT0 + int(now / SLOT_SECONDS),
            "ts": int(state.market.params.start.timestamp() + now),
            "t": now,
            "fee_lamports": BASE_FEE,
            "fee_payer": FAUCET,
            "source_addr": FAUCET,
            "destination": address,
            "lamports": lamports,
            "payer_lamports_after": 0,
            "destination_lamports_after": state.lamports(address),
            "err": None,
        }
        state.ledger.add(LiveTx(row, now, n, (address,)))
    return signature


def paper_fill(state: MarketState, intent: SwapIntent) -> tuple[int, float]:
    """Apply a paper trade to the live pool (no wallet, no transaction): the amount out.

    Paper mode fills at the quoted price; telling the simulator about the fill lets the pool
    feel it too, so a paper copy of a large size moves the price the next quote sees.
    """
    now = state.clock.now()
    fee_bps = int(state.tokens[intent.mint]["fee_bps"])
    with state.lock:
        ov = state.touch(intent.mint, now)
        r_in, r_out = (ov["sol"], ov["token"]) if intent.buy else (ov["token"], ov["sol"])
        out = out_for_in(r_in, r_out, intent.amount_in, fee_bps)
        impact = price_impact(r_in, r_out, intent.amount_in, fee_bps)
        if out <= 0:
            return 0, impact
        if intent.buy:
            ov["sol"] += intent.amount_in
            ov["token"] -= out
        else:
            ov["token"] += intent.amount_in
            ov["sol"] -= out
    return out, impact
