"""Turn market rows into the payloads Helius and Solana RPC serve, quirks included.

A row is a plain dict (one swap, failed swap or SOL transfer — generated or sent live).
Accounts that never appear in the market frames (token accounts, vaults, temporary wSOL
accounts) are derived from stable hashes, so the same transaction renders the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from walltrack.simulator.ids import derived_address
from walltrack.simulator.market import RENT_ATA

SOL_MINT = "So11111111111111111111111111111111111111112"
SYSTEM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 (a program id)
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
JUPITER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
JUPITER_AUTHORITY = "69yhtoJR4JYPPABZcSNkzuqbaFbwHsCkja1sP1Q2aVT5"
RAYDIUM_AUTHORITY = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
JITO_TIP = "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5"

# venue → (program id, Helius programName, Jupiter route label, Helius source)
VENUE_INFO: dict[str, tuple[str, str, str, str]] = {
    "pump_amm": (
        "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA",
        "PUMP_AMM",
        "Pump.fun Amm",
        "PUMP_AMM",
    ),
    "raydium": (
        "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
        "RAYDIUM_AMM",
        "Raydium",
        "RAYDIUM",
    ),
    "meteora_dbc": (
        "dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN",
        "METEORA_DBC",
        "Meteora DBC",
        "UNKNOWN",
    ),
    "orca": ("whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc", "ORCA_WHIRLPOOLS", "Whirlpool", "ORCA"),
    "meteora": (
        "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
        "METEORA_DLMM",
        "Meteora DLMM",
        "METEORA",
    ),
}


def helius_type(row: dict[str, Any]) -> str:
    if row["kind"] == "transfer":
        return "TRANSFER"
    if row["venue"] == "meteora_dbc" and row["kind"] == "swap":
        return "TRANSFER" if row["side"] == "buy" else "UNKNOWN"
    return "SWAP"


def _ui(raw: int, decimals: int) -> float:
    return raw / 10**decimals


def _fmt(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


# ----- shapes and leaves --------------------------------------------------------------------
# A transaction is rendered in two steps: its *shape* (what the JSON looks like: venue, side,
# routing…) and its *leaves* (the values that differ from one transaction to the next). The
# structure functions below build the JSON from a shape and a mapping of leaves and never
# compute anything from a leaf, so the bulk renderer (``bulk.py``) feeds them column
# placeholders instead of values and gets one template per shape.

Leaves = Mapping[str, Any]


@dataclass(frozen=True)
class SwapShape:
    venue: str
    buy: bool
    jup: bool
    rent: bool
    tip: bool

    @classmethod
    def of(cls, row: dict[str, Any]) -> SwapShape:
        return cls(
            venue=row["venue"],
            buy=row["side"] == "buy",
            jup=bool(row["via_jupiter"]),
            rent=bool(row["rent_lamports"]),
            tip=bool(row["tip_lamports"]),
        )


def _tt(fa: Any, ta: Any, fu: Any, tu: Any, amount: Any, mint: Any) -> dict[str, Any]:
    return {
        "fromTokenAccount": fa,
        "toTokenAccount": ta,
        "fromUserAccount": fu,
        "toUserAccount": tu,
        "tokenAmount": amount,
        "mint": mint,
        "tokenStandard": "Fungible",
    }


def _nt(fu: Any, tu: Any, amount: Any) -> dict[str, Any]:
    return {"fromUserAccount": fu, "toUserAccount": tu, "amount": amount}


def _tbc(user: Any, account: Any, amount_text: Any, decimals: Any, mint: Any) -> dict[str, Any]:
    return {
        "userAccount": user,
        "tokenAccount": account,
        "rawTokenAmount": {"tokenAmount": amount_text, "decimals": decimals},
        "mint": mint,
    }


def _acct(account: Any, change: Any = 0, tokens: list[Any] | None = None) -> dict[str, Any]:
    return {"account": account, "nativeBalanceChange": change, "tokenBalanceChanges": tokens or []}


class Accounts:
    """The accounts one swap touches."""

    def __init__(self, row: dict[str, Any]) -> None:
        w, mint, pool, venue = row["wallet"], row["mint"], row["pool"], row["venue"]
        self.wallet = w
        self.ata = derived_address("ata", w, mint)
        self.wsol = derived_address("wsol", row["signature"])
        self.owner = (
            RAYDIUM_AUTHORITY
            if venue == "raydium"
            else (derived_address("authority", pool) if venue == "meteora_dbc" else pool)
        )
        self.vault_sol = derived_address("vault", pool, SOL_MINT)
        self.vault_tok = derived_address("vault", pool, mint)
        self.jup_sol = derived_address("jupiter", SOL_MINT)
        self.jup_tok = derived_address("jupiter", mint)
        self.program = VENUE_INFO[venue][0]


def swap_description(
    shape: SwapShape, wallet: str, owner: str, mint: str, sol_ui: float, tok_ui: float
) -> str:
    if shape.venue == "meteora_dbc":
        return f"{wallet} transferred {_fmt(sol_ui)} SOL to {owner}." if shape.buy else ""
    if shape.venue == "pump_amm" and not shape.jup:
        return ""
    if shape.buy:
        return f"{wallet} swapped {_fmt(sol_ui)} SOL for {_fmt(tok_ui)} {mint}"
    return f"{wallet} swapped {_fmt(tok_ui)} {mint} for {_fmt(sol_ui)} SOL"


def swap_leaves(row: dict[str, Any]) -> dict[str, Any]:
    """Every value a swap's JSON holds, computed from its row (``bulk.py`` mirrors this)."""
    shape = SwapShape.of(row)
    acc = Accounts(row)
    lam, raw, dec = row["sol_lamports"], row["token_raw"], row["decimals"]
    fee, tip, rent = row["fee_lamports"], row["tip_lamports"], row["rent_lamports"]
    sol_ui, tok_ui = lam / 1e9, _ui(raw, dec)
    return {
        "signature": row["signature"],
        "slot": row["slot"],
        "ts": row["ts"],
        "fee": fee,
        "fee_payer": row["fee_payer"],
        "source": row["source"],
        "wallet": acc.wallet,
        "mint": row["mint"],
        "pool": row["pool"],
        "ata": acc.ata,
        "wsol": acc.wsol,
        "owner": acc.owner,
        "vault_sol": acc.vault_sol,
        "vault_tok": acc.vault_tok,
        "jup_sol": acc.jup_sol,
        "jup_tok": acc.jup_tok,
        "decimals": dec,
        "lam": lam,
        "neg_lam": -lam,
        "lam_text": str(lam),
        "neg_lam_text": str(-lam),
        "raw_text": str(raw),
        "neg_raw_text": str(-raw),
        "lam_plus_rent_ata": lam + RENT_ATA,
        "rent": rent,
        "tip": tip,
        "wallet_change": (-(lam + rent) if shape.buy else lam) - fee - tip,
        "sol_ui": sol_ui,
        "tok_ui": tok_ui,
        "description": swap_description(shape, acc.wallet, acc.owner, row["mint"], sol_ui, tok_ui),
    }


def _compute_budget_ix() -> list[dict[str, Any]]:
    return [
        {
            "accounts": [],
            "data": "3QCwqmHZ4mdq",
            "programId": COMPUTE_BUDGET,
            "innerInstructions": [],
        },
        {"accounts": [], "data": "Fj2Eoy", "programId": COMPUTE_BUDGET, "innerInstructions": []},
    ]


def swap_tx(shape: SwapShape, v: Leaves) -> dict[str, Any]:
    """A successful swap, quirks included, from its shape and leaves."""
    w, mint, dec = v["wallet"], v["mint"], v["decimals"]
    buy, jup, venue = shape.buy, shape.jup, shape.venue
    sol_ui, tok_ui = v["sol_ui"], v["tok_ui"]
    wsol, ata, owner = v["wsol"], v["ata"], v["owner"]  # owner: the vaults' owner
    vault_sol, vault_tok, jup_sol, jup_tok = (
        v["vault_sol"],
        v["vault_tok"],
        v["jup_sol"],
        v["jup_tok"],
    )
    program = VENUE_INFO[venue][0]
    if jup:
        # Through Jupiter: the program authority sits between the wallet and the venue.
        if buy:
            leg_in = _tt(wsol, jup_sol, w, JUPITER_AUTHORITY, sol_ui, SOL_MINT)
            inner_in = _tt(jup_sol, vault_sol, JUPITER_AUTHORITY, owner, sol_ui, SOL_MINT)
            inner_out = _tt(vault_tok, jup_tok, owner, JUPITER_AUTHORITY, tok_ui, mint)
            leg_out = _tt(jup_tok, ata, JUPITER_AUTHORITY, w, tok_ui, mint)
        else:
            leg_in = _tt(ata, jup_tok, w, JUPITER_AUTHORITY, tok_ui, mint)
            inner_in = _tt(jup_tok, vault_tok, JUPITER_AUTHORITY, owner, tok_ui, mint)
            inner_out = _tt(vault_sol, jup_sol, owner, JUPITER_AUTHORITY, sol_ui, SOL_MINT)
            leg_out = _tt(jup_sol, wsol, JUPITER_AUTHORITY, w, sol_ui, SOL_MINT)
        token_transfers = [leg_in, inner_in, inner_out, leg_out]
    elif buy:
        token_transfers = [
            _tt(wsol, vault_sol, w, owner, sol_ui, SOL_MINT),
            _tt(vault_tok, ata, owner, w, tok_ui, mint),
        ]
        if venue in ("pump_amm", "meteora_dbc"):
            token_transfers.reverse()  # the order these programs emit them in
    else:
        token_transfers = [
            _tt(ata, vault_tok, w, owner, tok_ui, mint),
            _tt(vault_sol, wsol, owner, w, sol_ui, SOL_MINT),
        ]
    native: list[dict[str, Any]] = []
    if buy:
        native.append(_nt(w, wsol, v["lam"]))  # wrap SOL
        if shape.rent:
            native.append(_nt(w, ata, v["rent"]))
    elif venue == "meteora_dbc":
        # The bonding curve sell opens a temporary wSOL account and closes it to the seller.
        native += [_nt(w, wsol, RENT_ATA), _nt(wsol, w, v["lam_plus_rent_ata"])]
    else:
        native.append(_nt(wsol, w, v["lam"]))  # unwrap
    if shape.tip:
        native.append(_nt(w, JITO_TIP, v["tip"]))
    account_data = [
        _acct(w, v["wallet_change"]),
        _acct(wsol),
        _acct(ata, v["rent"], [_tbc(w, ata, v["raw_text" if buy else "neg_raw_text"], dec, mint)]),
        _acct(
            vault_sol,
            v["lam" if buy else "neg_lam"],
            [_tbc(owner, vault_sol, v["lam_text" if buy else "neg_lam_text"], 9, SOL_MINT)],
        ),
        _acct(
            vault_tok,
            0,
            [_tbc(owner, vault_tok, v["neg_raw_text" if buy else "raw_text"], dec, mint)],
        ),
    ]
    if shape.tip:
        account_data.append(_acct(JITO_TIP, v["tip"]))
    programs = [v["pool"], program, *([JUPITER] if jup else [])]
    programs += [TOKEN_PROGRAM, SYSTEM, COMPUTE_BUDGET, mint, SOL_MINT]
    account_data += [_acct(p) for p in programs]

    events: Any
    if venue == "meteora_dbc":
        events = []  # not parsed by Helius: an empty *array*
        source: Any = "SYSTEM_PROGRAM" if buy else "UNKNOWN"
    elif venue == "pump_amm" and not jup:
        events = {}  # PumpSwap: no events.swap
        source = v["source"]
    else:
        source = v["source"]
        user_in = {"account": w, "amount": v["lam_text"]}
        tok_leg = _tbc(w, ata, v["raw_text"], dec, mint)
        if buy and venue == "raydium" and not jup:
            tok_leg = _tbc(RAYDIUM_AUTHORITY, vault_tok, v["raw_text"], dec, mint)  # Helius quirk
        swap: dict[str, Any] = {
            "nativeInput": user_in if buy else None,
            "nativeOutput": None if buy else user_in,
            "tokenInputs": [] if buy else [tok_leg],
            "tokenOutputs": [tok_leg] if buy else [],
            "nativeFees": [],
            "tokenFees": [],
            "innerSwaps": [],
        }
        if jup:
            info = VENUE_INFO[venue]
            swap["innerSwaps"] = [
                {
                    "tokenInputs": [token_transfers[1]],
                    "tokenOutputs": [token_transfers[2]],
                    "tokenFees": [],
                    "nativeFees": [],
                    "programInfo": {
                        "source": info[3],
                        "account": info[0],
                        "programName": info[1],
                        "instructionName": "SwapEvent",
                    },
                }
            ]
        events = {"swap": swap}
    instructions = [
        *_compute_budget_ix(),
        {
            "accounts": [w, v["pool"], ata, vault_sol, vault_tok, mint],
            "data": "5jRcjdixRUDRE5sS8E2YjWHs1c",
            "programId": JUPITER if jup else program,
            "innerInstructions": [],
        },
    ]
    kind = ("TRANSFER" if buy else "UNKNOWN") if venue == "meteora_dbc" else "SWAP"
    return _envelope(
        v,
        v["description"],
        kind,
        source,
        token_transfers,
        native,
        account_data,
        None,
        instructions,
        events,
    )


def _envelope_leaves(row: dict[str, Any]) -> dict[str, Any]:
    """The leaves every transaction's envelope takes from its row."""
    return {"signature": row["signature"], "slot": row["slot"], "ts": row["ts"],
            "fee": row["fee_lamports"], "fee_payer": row["fee_payer"]}


def failed_leaves(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **_envelope_leaves(row),
        "wallet": row["wallet"],
        "pool": row["pool"],
        "mint": row["mint"],
        "neg_fee": -row["fee_lamports"],
        "error": orjson.loads(row["error"]),
    }


def failed_tx(venue: str, v: Leaves) -> dict[str, Any]:
    """A failed swap attempt: the fee paid, nothing moved."""
    program = VENUE_INFO[venue][0]
    w = v["wallet"]
    account_data = [_acct(w, v["neg_fee"]), _acct(v["pool"]), _acct(program), _acct(COMPUTE_BUDGET)]
    instructions = [
        *_compute_budget_ix(),
        {
            "accounts": [w, v["pool"], v["mint"]],
            "data": "5jRcjdixRUDRE5sS8E2YjWHs1c",
            "programId": program,
            "innerInstructions": [],
        },
    ]
    source = VENUE_INFO[venue][3] if venue != "meteora_dbc" else "UNKNOWN"
    return _envelope(v, "", "SWAP", source, [], [], account_data, v["error"], instructions, {})


def transfer_leaves(row: dict[str, Any]) -> dict[str, Any]:
    a, b, lam = row["source_addr"], row["destination"], row["lamports"]
    return {
        **_envelope_leaves(row),
        "source_addr": a,
        "destination": b,
        "lamports": lam,
        "source_change": -(lam + row["fee_lamports"]),
        "description": f"{a} transferred {_fmt(lam / 1e9)} SOL to {b}.",
    }


def transfer_tx(v: Leaves) -> dict[str, Any]:
    """A plain SOL transfer."""
    a, b = v["source_addr"], v["destination"]
    account_data = [
        _acct(a, v["source_change"]),
        _acct(b, v["lamports"]),
        _acct(COMPUTE_BUDGET),
        _acct(SYSTEM),
    ]
    instructions = [
        *_compute_budget_ix(),
        {
            "accounts": [a, b],
            "data": "3Bxs3zrfFUZbEPqZ",
            "programId": SYSTEM,
            "innerInstructions": [],
        },
    ]
    native = [_nt(a, b, v["lamports"])]
    return _envelope(
        v,
        v["description"],
        "TRANSFER",
        "SYSTEM_PROGRAM",
        [],
        native,
        account_data,
        None,
        instructions,
        {},
    )


def _envelope(
    v: Leaves,
    description: Any,
    kind: str,
    source: Any,
    token_transfers: list[Any],
    native: list[Any],
    account_data: list[Any],
    error: Any,
    instructions: list[Any],
    events: Any,
) -> dict[str, Any]:
    """Keys in the order the REST API returns them."""
    return {
        "description": description,
        "type": kind,
        "source": source,
        "fee": v["fee"],
        "feePayer": v["fee_payer"],
        "signature": v["signature"],
        "slot": v["slot"],
        "timestamp": v["ts"],
        "tokenTransfers": token_transfers,
        "nativeTransfers": native,
        "accountData": account_data,
        "transactionError": error,
        "instructions": instructions,
        "events": events,
    }


def enhanced(row: dict[str, Any]) -> dict[str, Any]:
    """One Helius enhanced transaction."""
    kind = row["kind"]
    if kind == "swap":
        return swap_tx(SwapShape.of(row), swap_leaves(row))
    if kind == "failed":
        return failed_tx(row["venue"], failed_leaves(row))
    return transfer_tx(transfer_leaves(row))


def parsed_transaction(row: dict[str, Any], tx: dict[str, Any]) -> dict[str, Any]:
    """getTransaction (jsonParsed, version 0) built from the enhanced form of the same row."""
    keys: list[str] = []
    for item in tx["accountData"]:
        if item["account"] not in keys:
            keys.append(item["account"])
    payer = tx["feePayer"]
    if payer in keys:
        keys.remove(payer)
    keys.insert(0, payer)
    change = {d["account"]: d["nativeBalanceChange"] for d in tx["accountData"]}
    payer_after = row.get("payer_lamports_after", 0)
    post = [payer_after] + [_rest_balance(k, row) for k in keys[1:]]
    pre = [post[0] - change.get(payer, 0)] + [
        max(0, post[i] - change.get(k, 0)) for i, k in enumerate(keys) if i > 0
    ]
    pre_tb, post_tb = [], []
    for d in tx["accountData"]:
        for c in d["tokenBalanceChanges"]:
            idx = keys.index(c["tokenAccount"])
            dec = c["rawTokenAmount"]["decimals"]
            delta = int(c["rawTokenAmount"]["tokenAmount"])
            after = _token_after(c, row)
            for target, amount in ((pre_tb, after - delta), (post_tb, after)):
                target.append(
                    {
                        "accountIndex": idx,
                        "mint": c["mint"],
                        "owner": c["userAccount"],
                        "programId": TOKEN_PROGRAM,
                        "uiTokenAmount": {
                            "amount": str(max(0, amount)),
                            "decimals": dec,
                            "uiAmount": max(0, amount) / 10**dec if amount else None,
                            "uiAmountString": _fmt(max(0, amount) / 10**dec) or "0",
                        },
                    }
                )
    instructions: list[dict[str, Any]] = []
    for ix in tx["instructions"]:
        if ix["programId"] == SYSTEM and row["kind"] == "transfer":
            instructions.append(
                {
                    "parsed": {
                        "info": {
                            "destination": row["destination"],
                            "lamports": row["lamports"],
                            "source": row["source_addr"],
                        },
                        "type": "transfer",
                    },
                    "program": "system",
                    "programId": SYSTEM,
                    "stackHeight": None,
                }
            )
        else:
            instructions.append(
                {
                    "accounts": ix["accounts"],
                    "data": ix["data"],
                    "programId": ix["programId"],
                    "stackHeight": None,
                }
            )
    err = tx["transactionError"]
    program_logs = [f"Program {ix['programId']} invoke [1]" for ix in tx["instructions"]]
    return {
        "blockTime": tx["timestamp"],
        "meta": {
            "computeUnitsConsumed": 48_231 if row["kind"] != "transfer" else 450,
            "err": err,
            "fee": tx["fee"],
            "innerInstructions": [],
            "logMessages": program_logs,
            "postBalances": post,
            "postTokenBalances": post_tb,
            "preBalances": pre,
            "preTokenBalances": pre_tb,
            "rewards": [],
            "status": {"Ok": None} if err is None else {"Err": err},
        },
        "slot": tx["slot"],
        "transaction": {
            "message": {
                "accountKeys": [
                    {"pubkey": k, "signer": i == 0, "source": "transaction", "writable": i < 6}
                    for i, k in enumerate(keys)
                ],
                "addressTableLookups": [],
                "instructions": instructions,
                "recentBlockhash": derived_address("blockhash", str(tx["slot"] // 150)),
            },
            "signatures": [tx["signature"]],
        },
        "version": 0,
    }


def _rest_balance(key: str, row: dict[str, Any]) -> int:
    if row["kind"] == "transfer" and key == row.get("destination"):
        return int(row.get("destination_lamports_after", 0))
    if row["kind"] == "swap" and key == derived_address("vault", row["pool"], SOL_MINT):
        return int(row["pool_sol_after"]) + RENT_ATA  # wSOL vault: the SOL reserve + rent
    if key in (SYSTEM, COMPUTE_BUDGET, TOKEN_PROGRAM, ATA_PROGRAM, JUPITER):
        return 1
    return RENT_ATA


def _token_after(change: dict[str, Any], row: dict[str, Any]) -> int:
    if row["kind"] != "swap":
        return 0
    if change["userAccount"] == row["wallet"]:
        return int(row["wallet_token_after"])
    if change["mint"] == SOL_MINT:
        return int(row["pool_sol_after"])
    return int(row["pool_token_after"])
