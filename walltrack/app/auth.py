"""Operator authentication: a bearer token from the environment (WALLTRACK_OPERATOR_TOKEN).

Without a token every operator action answers 403 and the server binds loopback only
(:func:`check_bind`); with one, an action needs ``Authorization: Bearer <token>``, compared
in constant time.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from walltrack.app.errors import error_body
from walltrack.errors import ConfigurationError
from walltrack.logging import get_logger
from walltrack.settings import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

Endpoint = Callable[[Request], Awaitable[Response]]

log = get_logger(__name__)


def operator_token(settings: Settings) -> bytes | None:
    """The configured token, or None when it is unset or blank."""
    secret = settings.operator_token
    if secret is None or not secret.get_secret_value().strip():
        return None
    return secret.get_secret_value().strip().encode()


def bearer_matches(presented: str | None, token: bytes) -> bool:
    """Constant-time check of an ``Authorization: Bearer <token>`` header value."""
    if presented is None:
        return False
    scheme, _, value = presented.strip().partition(" ")
    same = hmac.compare_digest(value.strip().encode("utf-8", "surrogateescape"), token)
    return same and scheme.lower() == "bearer"


class OperatorGuard:
    """``check(request)`` is None when the request may act, else the JSON error to answer;
    called on an endpoint, it returns the endpoint behind the check."""

    def __init__(self, token: bytes | None) -> None:
        self._token = token

    @property
    def configured(self) -> bool:
        return self._token is not None

    def check(self, request: Request) -> JSONResponse | None:
        if self._token is None:
            return error_body(
                "operator_token_missing",
                "operator actions are disabled: no operator token is configured; set "
                "WALLTRACK_OPERATOR_TOKEN (a long random string) and restart the server", 403)
        presented = request.headers.get("authorization")
        if bearer_matches(presented, self._token):
            return None
        message = ("operator actions need the header 'Authorization: Bearer "
                   "<WALLTRACK_OPERATOR_TOKEN>'" if presented is None
                   else "the bearer token does not match WALLTRACK_OPERATOR_TOKEN")
        # Who knocked and where, never what they presented (it may be a near-miss token).
        log.warning("api_operator_refused", path=request.url.path,
                    client=request.client.host if request.client else None,
                    header_present=presented is not None)
        response = error_body("unauthorized", message, 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def __call__(self, endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            denied = self.check(request)
            return denied if denied is not None else await endpoint(request)

        return guarded


def operator_guard(settings: Settings) -> OperatorGuard:
    """The guard of the operator actions, for the token of ``settings``."""
    return OperatorGuard(operator_token(settings))


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to serve a non-loopback address while no operator token is set."""
    if is_loopback(host) or operator_token(settings) is not None:
        return
    raise ConfigurationError(
        f"refusing to bind {host!r} without an operator token: the operator API "
        "(pause, resume, reset) would be reachable beyond this machine",
        hint="set WALLTRACK_OPERATOR_TOKEN (a long random string), or bind loopback only "
        "(WALLTRACK_SERVER_HOST=127.0.0.1 or --host 127.0.0.1)")
