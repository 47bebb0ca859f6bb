"""The config notebook's client of the running server's operator API.

The running engine owns the risk state, so pause / resume / reset and the per-position
strategy override go through ``server.py`` (walltrack/app/trading_api.py) with the bearer
token ``WALLTRACK_OPERATOR_TOKEN``. The token is a ``SecretStr`` held here and only ever put
in the ``Authorization`` header: never in a message, a log or a repr. Every failure is an
:class:`OperatorApiError` whose message names the problem and the fix.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from walltrack.errors import WallTrackError
from walltrack.logging import get_logger
from walltrack.settings import Settings

__all__ = ["OPERATOR_ACTIONS", "OperatorApiError", "OperatorClient", "server_base_url"]

log = get_logger(__name__)

OPERATOR_ACTIONS = ("pause", "resume", "reset")
_ANY_ADDRESS = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - bind-all: reach it on loopback


class OperatorApiError(WallTrackError):
    """The operator API refused or could not be reached; ``status`` is the HTTP status."""

    code = "operator_api_error"

    def __init__(self, message: str, *, status: int | None = None, api_code: str | None = None,
                 hint: str | None = None) -> None:
        self.status = status
        self.api_code = api_code
        super().__init__(message, hint=hint)


def server_base_url(settings: Settings) -> str:
    host = settings.server_host.strip()
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.server_port}"


class OperatorClient:
    """A small synchronous client: one request per call, its own short-lived connection."""

    def __init__(self, base_url: str, token: SecretStr | None, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> OperatorClient:
        return cls(server_base_url(settings), settings.operator_token, **options)

    def __repr__(self) -> str:
        token = "set" if self.has_token else "unset"
        return f"OperatorClient(base_url={self.base_url!r}, token={token})"

    @property
    def has_token(self) -> bool:
        return self._token is not None and bool(self._token.get_secret_value().strip())

    def _headers(self) -> dict[str, str]:
        token = self._token.get_secret_value().strip() if self._token is not None else ""
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                response = client.request(method, url, json=body, headers=self._headers())
        except httpx.TransportError as exc:
            raise OperatorApiError(
                f"the WallTrack server is not reachable at {self.base_url} "
                f"({type(exc).__name__})",
                hint="start it with `python server.py` (WALLTRACK_SERVER_HOST / "
                "WALLTRACK_SERVER_PORT say where the notebook looks for it)") from None
        if response.status_code < 400:
            return response.json()
        raise self._error(response)

    def _error(self, response: httpx.Response) -> OperatorApiError:
        status = response.status_code
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        server_says = f" (the server says: {message})" if message else ""
        if status in (401, 403):
            if not self.has_token:
                hint = ("set WALLTRACK_OPERATOR_TOKEN for the notebook to the server's token "
                        "and restart the notebook")
                what = "the notebook has no operator token"
            elif code == "operator_token_missing":
                hint = ("set WALLTRACK_OPERATOR_TOKEN for server.py (the same value as the "
                        "notebook's) and restart the server")
                what = "the server has no operator token configured"
            else:
                hint = ("set WALLTRACK_OPERATOR_TOKEN for the notebook to the same value as "
                        "the server's")
                what = "the server refused the operator token"
            return OperatorApiError(f"{what}{server_says}", status=status, api_code=code,
                                    hint=hint)
        if status == 409:
            return OperatorApiError(
                f"trading is disabled in the running server{server_says}", status=status,
                api_code=code, hint="start server.py with WALLTRACK_TRADING_ENABLED=true")
        if status == 400 and code == "note_required":
            return OperatorApiError("an operator action needs a note saying why",
                                    status=status, api_code=code,
                                    hint="fill the operator note")
        return OperatorApiError(f"the server answered {status}{server_says}", status=status,
                                api_code=code)

    # -- the calls ------------------------------------------------------------------------

    def risk(self) -> dict[str, Any]:
        """``GET /api/risk``: the stored risk state and the engine's status."""
        return dict(self._request("GET", "/api/risk"))

    def action(self, action: str, note: str) -> dict[str, Any]:
        """``POST /api/risk/<pause|resume|reset>`` with the operator's note."""
        if action not in OPERATOR_ACTIONS:
            raise OperatorApiError(f"unknown operator action {action!r}",
                                   hint=f"use one of {', '.join(OPERATOR_ACTIONS)}")
        text = _note(note)
        body = dict(self._request("POST", f"/api/risk/{action}", {"note": text}))
        log.info("operator_action_sent", action=action)
        return body

    def pause(self, note: str) -> dict[str, Any]:
        return self.action("pause", note)

    def resume(self, note: str) -> dict[str, Any]:
        return self.action("resume", note)

    def reset(self, note: str) -> dict[str, Any]:
        return self.action("reset", note)

    def override_strategy(self, position_id: str, strategy: str, note: str) -> dict[str, Any]:
        """``POST /api/positions/<id>/strategy``: the open position's exits follow
        ``strategy`` from the next price update."""
        text = _note(note)
        if not strategy.strip():
            raise OperatorApiError("choose the strategy the position should follow")
        body = dict(self._request("POST", f"/api/positions/{position_id}/strategy",
                                  {"strategy": strategy.strip(), "note": text}))
        log.info("operator_override_sent", position=position_id, strategy=strategy)
        return body


def _note(note: str) -> str:
    text = (note or "").strip()
    if not text:
        raise OperatorApiError("an operator action needs a note saying why",
                               hint="fill the operator note")
    return text
