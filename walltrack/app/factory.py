"""Build the Starlette app around one store and the live service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from walltrack.app.api import api_signals, api_status, health
from walltrack.app.errors import EXCEPTION_HANDLERS
from walltrack.app.trading_api import trading_routes
from walltrack.app.webhooks import make_webhook_route
from walltrack.clients.usage import UsageMeter
from walltrack.errors import ConfigurationError
from walltrack.live.inbox import InboxWriter
from walltrack.live.service import LiveService, TokensFactory
from walltrack.live.state import TokenLookup
from walltrack.models.config import SafetyConfig
from walltrack.settings import Settings, SignalSourceMode
from walltrack.store import Database


def check_webhook_settings(settings: Settings) -> bytes | None:
    """The webhook secret, or None when webhooks are off; refuses a webhook mode without it."""
    secret = settings.webhook_auth_header
    if secret is None or not secret.get_secret_value():
        if settings.signal_source is not SignalSourceMode.polling:
            raise ConfigurationError(
                f"WALLTRACK_SIGNAL_SOURCE={settings.signal_source.value} needs "
                "WALLTRACK_WEBHOOK_AUTH_HEADER: the webhook route refuses to start without "
                "the secret Helius sends in the Authorization header",
                hint="set WALLTRACK_WEBHOOK_AUTH_HEADER (a long random string, the same one "
                "jobs/sync_webhooks.py registers), or WALLTRACK_SIGNAL_SOURCE=polling")
        return None
    return secret.get_secret_value().encode()


def create_app(settings: Settings, open_db: Callable[[], Database], *,
               tokens: TokensFactory | None = None, live: bool = True) -> Starlette:
    """``open_db`` is called once at start-up; the store is closed at shutdown.

    ``live=False`` serves the API alone (no inbox writer, workers or sources).
    """
    secret = check_webhook_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.db = await run_in_threadpool(open_db)
        app.state.live = None
        try:
            if live:
                service = LiveService(app.state.db, settings, tokens or default_tokens)
                await service.start()
                app.state.live = service
            yield
        finally:
            if app.state.live is not None:
                await app.state.live.stop()
            await run_in_threadpool(app.state.db.close)

    def writer_of(request: Request) -> InboxWriter:
        return request.app.state.live.writer  # type: ignore[no-any-return]

    def meter_of(request: Request) -> UsageMeter:
        return request.app.state.live.meter  # type: ignore[no-any-return]

    routes = [
        Route("/health", health),
        Route("/api/status", api_status),
        Route("/api/signals", api_signals),
        *trading_routes(settings),
    ]
    if secret is not None and live:
        routes.append(Route("/webhooks/helius",
                            make_webhook_route(secret, writer_of, meter_of,
                                               settings.webhook_max_body_bytes),
                            methods=["POST"]))
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                     lifespan=lifespan)


def default_tokens(settings: Settings, db: Database, meter: UsageMeter,
                   config: Callable[[], SafetyConfig]) -> TokenLookup:
    from walltrack.live.token_data import build_token_data

    return build_token_data(settings, db, meter, config)
