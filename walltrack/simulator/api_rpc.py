"""Solana JSON-RPC 2.0 (single calls and batches) over the market and the live ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route

from walltrack.simulator import execution, render, token_safety
from walltrack.simulator.execution import SettleError
from walltrack.simulator.http import JSON
from walltrack.simulator.state import MarketState

U64_MAX = 18_446_744_073_709_551_615


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _context(state: MarketState, api_version: bool = False) -> dict[str, Any]:
    # Only some methods carry apiVersion in their context (as in the documented answers).
    if api_version:
        return {"apiVersion": "2.0.15", "slot": state.clock.slot()}
    return {"slot": state.clock.slot()}


def _signature_info(state: MarketState, row: dict[str, Any]) -> dict[str, Any]:
    err = row.get("err")
    if err is None and row["kind"] == "failed":
        err = orjson.loads(row["error"])
    return {
        "blockTime": row["ts"],
        "confirmationStatus": "finalized",
        "err": err,
        "memo": None,
        "signature": row["signature"],
        "slot": row["slot"],
    }


def methods(state: MarketState) -> dict[str, Callable[[list[Any]], Any]]:
    def get_balance(params: list[Any]) -> Any:
        return {"context": _context(state), "value": state.lamports(str(params[0]))}

    def get_token_accounts_by_owner(params: list[Any]) -> Any:
        owner = str(params[0])
        flt = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        want = flt.get("mint")
        value = []
        for mint, amount in sorted(state.token_holdings(owner).items()):
            if want and mint != want:
                continue
            dec = int(state.tokens[mint]["decimals"])
            ui = amount / 10**dec
            value.append(
                {
                    "account": {
                        "data": {
                            "parsed": {
                                "info": {
                                    "isNative": False,
                                    "mint": mint,
                                    "owner": owner,
                                    "state": "initialized",
                                    "tokenAmount": {
                                        "amount": str(amount),
                                        "decimals": dec,
                                        "uiAmount": ui,
                                        "uiAmountString": render._fmt(ui) or "0",
                                    },
                                },
                                "type": "account",
                            },
                            "program": "spl-token",
                            "space": 165,
                        },
                        "executable": False,
                        "lamports": 2_039_280,
                        "owner": render.TOKEN_PROGRAM,
                        "rentEpoch": U64_MAX,
                        "space": 165,
                    },
                    "pubkey": render.derived_address("ata", owner, mint),
                }
            )
        return {"context": _context(state, api_version=True), "value": value}

    def get_signatures_for_address(params: list[Any]) -> Any:
        opts = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        limit = int(opts.get("limit", 1000))
        if not 1 <= limit <= 1000:
            raise RpcError(-32602, "Invalid limit; max 1000")
        rows: list[dict[str, Any]] = []
        before = opts.get("before")
        # The address index pages by 100; walk it until the limit is met.
        while len(rows) < limit:
            page = state.history(
                str(params[0]),
                limit=min(100, limit - len(rows)),
                before=before,
                until=opts.get("until"),
            )
            if not page:
                break
            rows.extend(page)
            before = page[-1]["signature"]
        return [_signature_info(state, r) for r in rows]

    def get_transaction(params: list[Any]) -> Any:
        opts = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if opts.get("encoding", "json") != "jsonParsed":
            raise RpcError(
                -32602, "the simulator serves getTransaction with encoding jsonParsed only"
            )
        row = state.find(str(params[0]))
        if row is None:
            return None
        return render.parsed_transaction(row, render.enhanced(row))

    def get_account_info(params: list[Any]) -> Any:
        address = str(params[0])
        value = token_safety.mint_account(state, address)
        if value is None:
            value = token_safety.parsed_token_account(state, address)
        return {"context": _context(state, True), "value": value}

    def get_multiple_accounts(params: list[Any]) -> Any:
        return {"context": _context(state, True), "value": [
            token_safety.mint_account(state, str(a))
            or token_safety.parsed_token_account(state, str(a)) for a in params[0]]}

    def get_token_largest_accounts(params: list[Any]) -> Any:
        mint = str(params[0])
        if mint not in state.tokens:
            raise RpcError(-32602, "Invalid param: not a Token mint")
        dec = int(state.tokens[mint]["decimals"])
        return {"context": _context(state, True), "value": [
            {"address": acc, "amount": str(amount), "decimals": dec,
             "uiAmount": amount / 10**dec, "uiAmountString": str(amount / 10**dec)}
            for acc, _owner, amount in token_safety.holders(state, mint)[:20]]}

    def get_token_supply(params: list[Any]) -> Any:
        mint = str(params[0])
        if mint not in state.tokens:
            raise RpcError(-32602, "Invalid param: not a Token mint")
        tok = state.tokens[mint]
        amount, dec = int(tok["supply_raw"]), int(tok["decimals"])
        return {"context": _context(state, True), "value": {
            "amount": str(amount), "decimals": dec, "uiAmount": amount / 10**dec,
            "uiAmountString": str(amount / 10**dec)}}

    def get_latest_blockhash(params: list[Any]) -> Any:
        blockhash, last_valid = execution.latest_blockhash(state)
        return {
            "context": _context(state),
            "value": {"blockhash": blockhash, "lastValidBlockHeight": last_valid},
        }

    def simulate_transaction(params: list[Any]) -> Any:
        try:
            result = execution.simulate(state, str(params[0]))
        except SettleError as exc:
            raise RpcError(exc.rpc_code, exc.message) from exc
        return {
            "context": _context(state),
            "value": {**result, "accounts": None, "returnData": None},
        }

    def send_transaction(params: list[Any]) -> Any:
        opts = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if opts.get("encoding", "base58") != "base64":
            raise RpcError(-32602, "the simulator accepts encoding base64 only")
        try:
            row = execution.settle(
                state, str(params[0]), skip_preflight=bool(opts.get("skipPreflight"))
            )
        except SettleError as exc:
            raise RpcError(exc.rpc_code, exc.message) from exc
        return row["signature"]

    def get_signature_statuses(params: list[Any]) -> Any:
        value: list[Any] = []
        for sig in params[0]:
            row = state.find(str(sig))
            if row is None:
                value.append(None)
                continue
            err = row.get("err")
            if err is None and row["kind"] == "failed":
                err = orjson.loads(row["error"])
            value.append(
                {
                    "slot": row["slot"],
                    "confirmations": None,
                    "err": err,
                    "confirmationStatus": "finalized",
                    "status": {"Ok": None} if err is None else {"Err": err},
                }
            )
        return {"context": _context(state, api_version=True), "value": value}

    def request_airdrop(params: list[Any]) -> Any:
        return execution.airdrop(state, str(params[0]), int(params[1]))

    return {
        "getBalance": get_balance,
        "getTokenAccountsByOwner": get_token_accounts_by_owner,
        "getSignaturesForAddress": get_signatures_for_address,
        "getTransaction": get_transaction,
        "getLatestBlockhash": get_latest_blockhash,
        "getAccountInfo": get_account_info,
        "getMultipleAccounts": get_multiple_accounts,
        "getTokenLargestAccounts": get_token_largest_accounts,
        "getTokenSupply": get_token_supply,
        "simulateTransaction": simulate_transaction,
        "sendTransaction": send_transaction,
        "getSignatureStatuses": get_signature_statuses,
        "requestAirdrop": request_airdrop,
        "getSlot": lambda params: state.clock.slot(),
        "getBlockHeight": lambda params: state.clock.slot(),
        "getHealth": lambda params: "ok",
    }


def routes(state: MarketState) -> list[Route]:
    table = methods(state)

    def call(req: Any) -> dict[str, Any]:
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or "method" not in req:
            return {
                "jsonrpc": "2.0",
                "error": {"code": -32600, "message": "Invalid request"},
                "id": None,
            }
        rid = req.get("id")
        fn = table.get(req["method"])
        if fn is None:
            return {
                "jsonrpc": "2.0",
                "error": {"code": -32601, "message": "Method not found"},
                "id": rid,
            }
        params = req.get("params") or []
        try:
            return {"jsonrpc": "2.0", "result": fn(params), "id": rid}
        except RpcError as exc:
            return {
                "jsonrpc": "2.0",
                "error": {"code": exc.code, "message": exc.message},
                "id": rid,
            }
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            return {
                "jsonrpc": "2.0",
                "error": {"code": -32602, "message": f"Invalid params: {exc}"},
                "id": rid,
            }

    async def rpc(request: Request) -> JSON:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSON(
                {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
            )
        if isinstance(body, list):
            return JSON([call(r) for r in body])
        return JSON(call(body))

    return [Route("/rpc", rpc, methods=["POST"]), Route("/", rpc, methods=["POST"])]
