"""Build the Starlette app around one store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from walltrack.app.errors import EXCEPTION_HANDLERS
from walltrack.store import Database, store_status


def create_app(open_db: Callable[[], Database]) -> Starlette:
    """``open_db`` is called once at start-up; the store is closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = await run_in_threadpool(open_db)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.db.close)

    async def health(request: Request) -> JSONResponse:
        status = await run_in_threadpool(store_status, request.app.state.db)
        return JSONResponse({"ok": True, "store": status.mode,
                             "schema_version": status.schema_version})

    async def api_status(request: Request) -> JSONResponse:
        status = await run_in_threadpool(store_status, request.app.state.db)
        return JSONResponse(status.model_dump())

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/api/status", api_status),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
