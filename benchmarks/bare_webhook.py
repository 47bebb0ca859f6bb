"""The floor for the webhook benchmarks: a bare Starlette route that reads the body and
answers 200, served exactly like server.py (uvicorn, no access log). Not part of WallTrack.

    .venv/bin/python benchmarks/bare_webhook.py --port P
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"accepted": 0, "duplicates": 0})


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/webhooks/helius", hook, methods=["POST"]),
                        Route("/health", health)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_config=None,
                access_log=False)
