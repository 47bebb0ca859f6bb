"""Turn market rows into the payloads Helius and Solana RPC serve, quirks included.

A row is a plain dict (one swap, failed swap or SOL transfer — generated or sent live).
Accounts that never appear in the market frames (token accounts, vaults, temporary wSOL
accounts) are derived from stable hashes, so the same transaction renders the same way.
"""

from __future__ import annotations

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


def _tt(fa: str, ta: str, fu: str, tu: str, amount: float, mint: str) -> dict[str, Any]:
    return {
        "fromTokenAccount": fa,
        "toTokenAccount": ta,
        "fromUserAccount": fu,
        "toUserAccount": tu,
        "tokenAmount": amount,
        "mint": mint,
        "tokenStandard": "Fungible",
    }


def _nt(fu: str, tu: str, amount: int) -> dict[str, Any]:
    return {"fromUserAccount": fu, "toUserAccount": tu, "amount": amount}


def _tbc(user: str, account: str, raw: int, decimals: int, mint: str) -> dict[str, Any]:
    return {
        "userAccount": user,
        "tokenAccount": account,
        "rawTokenAmount": {"tokenAmount": str(raw), "decimals": decimals},
        "mint": mint,
    }


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


def _compute_budget_ix(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "accounts": [],
            "data": "3QCwqmHZ4mdq",
            "programId": COMPUTE_BUDGET,
            "innerInstructions": [],
        },
        {"accounts": [], "data": "Fj2Eoy", "programId": COMPUTE_BUDGET, "innerInstructions": []},
    ]


def _swap_body(row: dict[str, Any]) -> dict[str, Any]:
    """tokenTransfers, nativeTransfers, accountData, events, type, source, description."""
    acc = Accounts(row)
    w, mint, dec = row["wallet"], row["mint"], row["decimals"]
    lam, raw = row["sol_lamports"], row["token_raw"]
    fee, tip, rent = row["fee_lamports"], row["tip_lamports"], row["rent_lamports"]
    venue, buy, jup = row["venue"], row["side"] == "buy", bool(row["via_jupiter"])
    sol_ui, tok_ui = lam / 1e9, _ui(raw, dec)
    if jup:
        # Through Jupiter: the program authority sits between the wallet and the venue.
        if buy:
            legs_in = [_tt(acc.wsol, acc.jup_sol, w, JUPITER_AUTHORITY, sol_ui, SOL_MINT)]
            inner_in = _tt(
                acc.jup_sol, acc.vault_sol, JUPITER_AUTHORITY, acc.owner, sol_ui, SOL_MINT
            )
            inner_out = _tt(acc.vault_tok, acc.jup_tok, acc.owner, JUPITER_AUTHORITY, tok_ui, mint)
            legs_out = [_tt(acc.jup_tok, acc.ata, JUPITER_AUTHORITY, w, tok_ui, mint)]
        else:
            legs_in = [_tt(acc.ata, acc.jup_tok, w, JUPITER_AUTHORITY, tok_ui, mint)]
            inner_in = _tt(acc.jup_tok, acc.vault_tok, JUPITER_AUTHORITY, acc.owner, tok_ui, mint)
            inner_out = _tt(
                acc.vault_sol, acc.jup_sol, acc.owner, JUPITER_AUTHORITY, sol_ui, SOL_MINT
            )
            legs_out = [_tt(acc.jup_sol, acc.wsol, JUPITER_AUTHORITY, w, sol_ui, SOL_MINT)]
        token_transfers = [legs_in[0], inner_in, inner_out, legs_out[0]]
    elif buy:
        token_transfers = [
            _tt(acc.wsol, acc.vault_sol, w, acc.owner, sol_ui, SOL_MINT),
            _tt(acc.vault_tok, acc.ata, acc.owner, w, tok_ui, mint),
        ]
        if venue in ("pump_amm", "meteora_dbc"):
            token_transfers.reverse()  # the order these programs emit them in
    else:
        token_transfers = [
            _tt(acc.ata, acc.vault_tok, w, acc.owner, tok_ui, mint),
            _tt(acc.vault_sol, acc.wsol, acc.owner, w, sol_ui, SOL_MINT),
        ]
    native: list[dict[str, Any]] = []
    if buy:
        native.append(_nt(w, acc.wsol, lam))  # wrap SOL
        if rent:
            native.append(_nt(w, acc.ata, rent))
    elif venue == "meteora_dbc":
        # The bonding curve sell opens a temporary wSOL account and closes it to the seller.
        native += [_nt(w, acc.wsol, RENT_ATA), _nt(acc.wsol, w, lam + RENT_ATA)]
    else:
        native.append(_nt(acc.wsol, w, lam))  # unwrap
    if tip:
        native.append(_nt(w, JITO_TIP, tip))
    wallet_change = (-(lam + rent) if buy else lam) - fee - tip
    tok_sign = 1 if buy else -1
    owner_pool = acc.owner  # the vaults' owner (pool, pool authority or Raydium authority)
    account_data = [
        {"account": w, "nativeBalanceChange": wallet_change, "tokenBalanceChanges": []},
        {"account": acc.wsol, "nativeBalanceChange": 0, "tokenBalanceChanges": []},
        {
            "account": acc.ata,
            "nativeBalanceChange": rent,
            "tokenBalanceChanges": [_tbc(w, acc.ata, tok_sign * raw, dec, mint)],
        },
        {
            "account": acc.vault_sol,
            "nativeBalanceChange": lam if buy else -lam,
            "tokenBalanceChanges": [
                _tbc(owner_pool, acc.vault_sol, lam if buy else -lam, 9, SOL_MINT)
            ],
        },
        {
            "account": acc.vault_tok,
            "nativeBalanceChange": 0,
            "tokenBalanceChanges": [_tbc(owner_pool, acc.vault_tok, -tok_sign * raw, dec, mint)],
        },
    ]
    if tip:
        account_data.append(
            {"account": JITO_TIP, "nativeBalanceChange": tip, "tokenBalanceChanges": []}
        )
    for program in (
        row["pool"],
        acc.program,
        JUPITER if jup else None,
        TOKEN_PROGRAM,
        SYSTEM,
        COMPUTE_BUDGET,
        mint,
        SOL_MINT,
    ):
        if program:
            account_data.append(
                {"account": program, "nativeBalanceChange": 0, "tokenBalanceChanges": []}
            )

    source = row["source"]
    kind = helius_type(row)
    if venue == "meteora_dbc":
        events: Any = []  # not parsed by Helius: an empty *array*
        source = "SYSTEM_PROGRAM" if buy else "UNKNOWN"
        description = f"{w} transferred {_fmt(sol_ui)} SOL to {acc.owner}." if buy else ""
    elif venue == "pump_amm" and not jup:
        events = {}  # PumpSwap: no events.swap
        description = ""
    else:
        user_in = {"account": w, "amount": str(lam)}
        tok_leg = _tbc(w, acc.ata, raw, dec, mint)
        if buy and venue == "raydium" and not jup:
            tok_leg = _tbc(RAYDIUM_AUTHORITY, acc.vault_tok, raw, dec, mint)  # Helius quirk
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
        description = (
            f"{w} swapped {_fmt(sol_ui)} SOL for {_fmt(tok_ui)} {mint}"
            if buy
            else f"{w} swapped {_fmt(tok_ui)} {mint} for {_fmt(sol_ui)} SOL"
        )
    instructions = [
        *_compute_budget_ix(row),
        {
            "accounts": [w, row["pool"], acc.ata, acc.vault_sol, acc.vault_tok, mint],
            "data": "5jRcjdixRUDRE5sS8E2YjWHs1c",
            "programId": JUPITER if jup else acc.program,
            "innerInstructions": [],
        },
    ]
    return {
        "description": description,
        "type": kind,
        "source": source,
        "tokenTransfers": token_transfers,
        "nativeTransfers": native,
        "accountData": account_data,
        "instructions": instructions,
        "events": events,
    }


def _fmt(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def enhanced(row: dict[str, Any]) -> dict[str, Any]:
    """One Helius enhanced transaction, keys in the order the REST API returns them."""
    kind = row["kind"]
    head = {
        "fee": row["fee_lamports"],
        "feePayer": row["fee_payer"],
        "signature": row["signature"],
        "slot": row["slot"],
        "timestamp": row["ts"],
    }
    if kind == "swap":
        body = _swap_body(row)
        error = None
    elif kind == "failed":
        w = row["wallet"]
        body = {
            "description": "",
            "type": "SWAP",
            "source": VENUE_INFO[row["venue"]][3] if row["venue"] != "meteora_dbc" else "UNKNOWN",
            "tokenTransfers": [],
            "nativeTransfers": [],
            "accountData": [
                {
                    "account": w,
                    "nativeBalanceChange": -row["fee_lamports"],
                    "tokenBalanceChanges": [],
                },
                {"account": row["pool"], "nativeBalanceChange": 0, "tokenBalanceChanges": []},
                {
                    "account": VENUE_INFO[row["venue"]][0],
                    "nativeBalanceChange": 0,
                    "tokenBalanceChanges": [],
                },
                {"account": COMPUTE_BUDGET, "nativeBalanceChange": 0, "tokenBalanceChanges": []},
            ],
            "instructions": [
                *_compute_budget_ix(row),
                {
                    "accounts": [w, row["pool"], row["mint"]],
                    "data": "5jRcjdixRUDRE5sS8E2YjWHs1c",
                    "programId": VENUE_INFO[row["venue"]][0],
                    "innerInstructions": [],
                },
            ],
            "events": {},
        }
        error = orjson.loads(row["error"])
    else:
        a, b, lam = row["source_addr"], row["destination"], row["lamports"]
        body = {
            "description": f"{a} transferred {_fmt(lam / 1e9)} SOL to {b}.",
            "type": "TRANSFER",
            "source": "SYSTEM_PROGRAM",
            "tokenTransfers": [],
            "nativeTransfers": [_nt(a, b, lam)],
            "accountData": [
                {
                    "account": a,
                    "nativeBalanceChange": -(lam + row["fee_lamports"]),
                    "tokenBalanceChanges": [],
                },
                {"account": b, "nativeBalanceChange": lam, "tokenBalanceChanges": []},
                {"account": COMPUTE_BUDGET, "nativeBalanceChange": 0, "tokenBalanceChanges": []},
                {"account": SYSTEM, "nativeBalanceChange": 0, "tokenBalanceChanges": []},
            ],
            "instructions": [
                *_compute_budget_ix(row),
                {
                    "accounts": [a, b],
                    "data": "3Bxs3zrfFUZbEPqZ",
                    "programId": SYSTEM,
                    "innerInstructions": [],
                },
            ],
            "events": {},
        }
        error = None
    return {
        "description": body["description"],
        "type": body["type"],
        "source": body["source"],
        **head,
        "tokenTransfers": body["tokenTransfers"],
        "nativeTransfers": body["nativeTransfers"],
        "accountData": body["accountData"],
        "transactionError": error,
        "instructions": body["instructions"],
        "events": body["events"],
    }


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
