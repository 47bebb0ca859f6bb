"""JSON errors for every route: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from walltrack.errors import ConfigurationError, StoreError, ValidationError, WallTrackError
from walltrack.logging import get_logger, redact_text

log = get_logger(__name__)

_STATUS: dict[type[WallTrackError], int] = {
    ValidationError: 400,
    ConfigurationError: 500,
    StoreError: 503,
}


def error_body(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": redact_text(message)}},
                        status_code=status)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_body(f"http_{exc.status_code}", str(exc.detail), exc.status_code)


async def walltrack_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WallTrackError)
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
    log.warning("api_error", path=request.url.path, code=exc.code, error=str(exc))
    return error_body(exc.code, str(exc), status)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("api_unexpected_error", path=request.url.path, error=repr(exc))
    return error_body("internal_error", "unexpected server error (see the server log)", 500)


EXCEPTION_HANDLERS = {
    HTTPException: http_error,
    WallTrackError: walltrack_error,
    Exception: unexpected_error,
}
