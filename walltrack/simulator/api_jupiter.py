"""Jupiter: quotes from live pool state, swap transactions that settle, prices."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route

from walltrack.simulator import execution
from walltrack.simulator.amm import out_for_in, price_impact
from walltrack.simulator.execution import SettleError, SwapIntent
from walltrack.simulator.http import JSON, error
from walltrack.simulator.render import SOL_MINT, VENUE_INFO
from walltrack.simulator.state import MarketState

DEFAULT_PRIORITY = 100_000  # lamports


def quote(state: MarketState, params: dict[str, str]) -> dict[str, Any] | str:
    input_mint, output_mint = params.get("inputMint", ""), params.get("outputMint", "")
    try:
        amount = int(params.get("amount", ""))
        slippage = int(params.get("slippageBps", "50"))
    except ValueError:
        return "amount and slippageBps must be integers"
    if params.get("swapMode", "ExactIn") != "ExactIn":
        return "only swapMode=ExactIn is simulated"
    if amount <= 0:
        return "amount must be positive"
    if input_mint == SOL_MINT and output_mint in state.tokens:
        mint, buy = output_mint, True
    elif output_mint == SOL_MINT and input_mint in state.tokens:
        mint, buy = input_mint, False
    else:
        return "TOKEN_NOT_TRADABLE: one side must be SOL and the other a simulated token"
    if not buy and state.traits.get(mint) == "one_way":
        return "COULD_NOT_FIND_ANY_ROUTE"  # a honeypot: buys route, sells never do
    started = time.perf_counter()
    tok = state.tokens[mint]
    if tok["launch_t"] > state.clock.now():
        return "TOKEN_NOT_TRADABLE: no pool yet"
    sol, token = state.pool(mint)
    fee_bps = int(tok["fee_bps"])
    r_in, r_out = (sol, token) if buy else (token, sol)
    out = out_for_in(r_in, r_out, amount, fee_bps)
    if out <= 0:
        return "COULD_NOT_FIND_ANY_ROUTE"
    impact = price_impact(r_in, r_out, amount, fee_bps)
    return {
        "inputMint": input_mint,
        "inAmount": str(amount),
        "outputMint": output_mint,
        "outAmount": str(out),
        "otherAmountThreshold": str(out * (10_000 - slippage) // 10_000),
        "swapMode": "ExactIn",
        "slippageBps": slippage,
        "platformFee": None,
        "priceImpactPct": f"{impact:.10f}".rstrip("0").rstrip(".") if impact else "0",
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": tok["pool"],
                    "label": VENUE_INFO[tok["venue"]][2],
                    "inputMint": input_mint,
                    "outputMint": output_mint,
                    "inAmount": str(amount),
                    "outAmount": str(out),
                    "feeAmount": str(amount * fee_bps // 10_000),
                    "feeMint": input_mint,
                },
                "percent": 100,
            }
        ],
        "contextSlot": state.clock.slot(),
        "timeTaken": round(time.perf_counter() - started, 9),
    }


def intent_of(q: dict[str, Any]) -> SwapIntent:
    buy = q["inputMint"] == SOL_MINT
    return SwapIntent(
        mint=q["outputMint"] if buy else q["inputMint"],
        buy=buy,
        amount_in=int(q["inAmount"]),
        min_out=int(q["otherAmountThreshold"]),
    )


def routes(state: MarketState) -> list[Route]:
    orders: dict[str, dict[str, Any]] = {}

    async def get_quote(request: Request) -> JSON:
        q = quote(state, dict(request.query_params))
        return (
            error(400, q, errorCode="COULD_NOT_FIND_ANY_ROUTE") if isinstance(q, str) else JSON(q)
        )

    async def post_swap(request: Request) -> JSON:
        try:
            body = orjson.loads(await request.body())
            q = body["quoteResponse"]
            user = str(body["userPublicKey"])
            intent = intent_of(q)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return error(400, "body needs quoteResponse and userPublicKey")
        if intent.mint not in state.tokens:
            return error(400, "unknown token")
        fee = body.get("prioritizationFeeLamports")
        priority = fee if isinstance(fee, int) else DEFAULT_PRIORITY
        try:
            tx, last_valid = execution.build_swap_transaction(state, user, intent, priority)
        except ValueError as exc:
            return error(400, f"invalid userPublicKey: {exc}")
        micro = priority * 1_000_000 // execution.CU_LIMIT
        return JSON(
            {
                "swapTransaction": tx,
                "lastValidBlockHeight": last_valid,
                "prioritizationFeeLamports": priority,
                "computeUnitLimit": execution.CU_LIMIT,
                "prioritizationType": {
                    "computeBudget": {"microLamports": micro, "estimatedMicroLamports": micro}
                },
                "simulationSlot": state.clock.slot(),
                "dynamicSlippageReport": None,
                "simulationError": None,
                "addressesByLookupTableAddress": None,
            }
        )

    async def order(request: Request) -> JSON:
        params = dict(request.query_params)
        q = quote(state, params)
        if isinstance(q, str):
            return JSON({"errorCode": 1, "errorMessage": q, "error": q}, status_code=400)
        request_id = str(uuid.uuid4())
        taker = params.get("taker")
        sol_usd = state.sol_usd
        buy = q["inputMint"] == SOL_MINT
        mint = q["outputMint"] if buy else q["inputMint"]
        price = state.price_sol(mint) * sol_usd
        dec = state.tokens[mint]["decimals"]
        in_usd = int(q["inAmount"]) / 1e9 * sol_usd if buy else int(q["inAmount"]) / 10**dec * price
        out_usd = (
            int(q["outAmount"]) / 10**dec * price if buy else int(q["outAmount"]) / 1e9 * sol_usd
        )
        resp: dict[str, Any] = {
            "mode": "ultra",
            "inputMint": q["inputMint"],
            "outputMint": q["outputMint"],
            "inAmount": q["inAmount"],
            "outAmount": q["outAmount"],
            "inUsdValue": round(in_usd, 6),
            "outUsdValue": round(out_usd, 6),
            "priceImpact": -float(q["priceImpactPct"]) * 100,
            "swapUsdValue": round(in_usd, 6),
            "otherAmountThreshold": q["otherAmountThreshold"],
            "swapMode": "ExactIn",
            "slippageBps": q["slippageBps"],
            "priceImpactPct": q["priceImpactPct"],
            "routePlan": [{**q["routePlan"][0], "bps": 10_000, "usdValue": round(in_usd, 6)}],
            "feeMint": SOL_MINT,
            "feeBps": 0,
            "signatureFeeLamports": 5000,
            "signatureFeePayer": taker,
            "prioritizationFeeLamports": DEFAULT_PRIORITY,
            "prioritizationFeePayer": taker,
            "rentFeeLamports": 0,
            "rentFeePayer": taker,
            "swapType": "aggregator",
            "router": "iris",
            "transaction": None,
            "lastValidBlockHeight": None,
            "gasless": False,
            "requestId": request_id,
            "totalTime": q["timeTaken"],
            "taker": taker,
            "quoteId": request_id,
            "expireAt": None,
        }
        if taker:
            try:
                tx, last_valid = execution.build_swap_transaction(
                    state, taker, intent_of(q), DEFAULT_PRIORITY
                )
            except ValueError as exc:
                return JSON(
                    {"errorCode": 2, "errorMessage": f"invalid taker: {exc}"}, status_code=400
                )
            resp["transaction"] = tx
            resp["lastValidBlockHeight"] = str(last_valid)
            resp["expireAt"] = datetime.now(UTC).isoformat()
        orders[request_id] = resp
        return JSON(resp)

    async def build(request: Request) -> JSON:
        params = dict(request.query_params)
        q = quote(state, params)
        if isinstance(q, str):
            return JSON({"errorCode": 1, "errorMessage": q, "error": q}, status_code=400)
        taker = params.get("taker")
        if not taker:
            return JSON({"errorCode": 2, "errorMessage": "taker is required"}, status_code=400)
        try:
            ixs = execution.swap_instructions(state, taker, intent_of(q), DEFAULT_PRIORITY)
        except ValueError as exc:
            return JSON({"errorCode": 2, "errorMessage": f"invalid taker: {exc}"}, status_code=400)

        def as_json(ix: Any) -> dict[str, Any]:
            return {
                "programId": str(ix.program_id),
                "accounts": [
                    {"pubkey": str(a.pubkey), "isSigner": a.is_signer, "isWritable": a.is_writable}
                    for a in ix.accounts
                ],
                "data": base64.b64encode(bytes(ix.data)).decode(),
            }

        blockhash, last_valid = execution.latest_blockhash(state)
        return JSON(
            {
                **{
                    k: q[k]
                    for k in (
                        "inputMint",
                        "outputMint",
                        "inAmount",
                        "outAmount",
                        "otherAmountThreshold",
                        "swapMode",
                        "slippageBps",
                        "priceImpactPct",
                        "routePlan",
                    )
                },
                "computeBudgetInstructions": [as_json(ix) for ix in ixs[:2]],
                "setupInstructions": [],
                "swapInstruction": as_json(ixs[2]),
                "cleanupInstruction": None,
                "otherInstructions": [],
                "addressesByLookupTableAddress": {},
                "blockhashWithMetadata": {
                    "blockhash": blockhash,
                    "lastValidBlockHeight": last_valid,
                },
            }
        )

    async def execute(request: Request) -> JSON:
        try:
            body = orjson.loads(await request.body())
            signed = str(body["signedTransaction"])
            request_id = str(body["requestId"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return JSON({"status": "Failed", "code": -2, "error": "invalid body"}, status_code=400)
        placed = orders.pop(request_id, None)
        if placed is None:
            return JSON(
                {"status": "Failed", "code": -1, "error": "missing cached order"}, status_code=400
            )
        try:
            row = execution.settle(state, signed, skip_preflight=True)
        except SettleError as exc:
            return JSON({"status": "Failed", "code": -2, "error": exc.message}, status_code=400)
        ok = row["err"] is None
        buy = row["side"] == "buy"
        in_amt = row["sol_lamports"] if buy else row["token_raw"]
        out_amt = row["token_raw"] if buy else row["sol_lamports"]
        in_mint, out_mint = (SOL_MINT, row["mint"]) if buy else (row["mint"], SOL_MINT)
        result: dict[str, Any] = {
            "status": "Success" if ok else "Failed",
            "signature": row["signature"],
            "slot": str(row["slot"]),
            "code": 0 if ok else -1005,
            "totalInputAmount": str(in_amt),
            "totalOutputAmount": str(out_amt),
            "inputAmountResult": str(in_amt),
            "outputAmountResult": str(out_amt),
            "swapEvents": [
                {
                    "inputMint": in_mint,
                    "inputAmount": str(in_amt),
                    "outputMint": out_mint,
                    "outputAmount": str(out_amt),
                }
            ]
            if ok
            else [],
        }
        if not ok:
            result["error"] = f"transaction failed: {row['error']}"
        return JSON(result)

    async def price_v3(request: Request) -> JSON:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i][:50]
        now = state.clock.now()
        out: dict[str, Any] = {}
        start = state.market.params.start.timestamp()
        for mint in ids:
            if mint == SOL_MINT:
                out[mint] = {
                    "createdAt": "2024-06-05T08:55:25.527Z",
                    "liquidity": 621679197.67,
                    "usdPrice": state.sol_usd,
                    "blockId": state.clock.slot(),
                    "decimals": 9,
                    "priceChange24h": 0.0,
                }
                continue
            tok = state.tokens.get(mint)
            if tok is None or tok["launch_t"] > now:
                continue
            price = state.price_sol(mint, now) * state.sol_usd
            before = (
                state.price_sol(mint, now - 86400) * state.sol_usd
                if now - 86400 > tok["launch_t"]
                else 0
            )
            sol, _ = state.pool(mint, now)
            created = datetime.fromtimestamp(start + tok["launch_t"], UTC)
            out[mint] = {
                "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{created.microsecond // 1000:03d}Z",
                "liquidity": round(2 * sol / 1e9 * state.sol_usd, 2),
                "usdPrice": price,
                "blockId": state.clock.slot(),
                "decimals": int(tok["decimals"]),
                "priceChange24h": round((price / before - 1) * 100, 2) if before else None,
            }
        return JSON(out)

    return [
        Route("/swap/v1/quote", get_quote),
        Route("/swap/v1/swap", post_swap, methods=["POST"]),
        Route("/swap/v2/order", order),
        Route("/swap/v2/execute", execute, methods=["POST"]),
        Route("/swap/v2/build", build),
        Route("/price/v3", price_v3),
    ]
