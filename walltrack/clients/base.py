"""The one HTTP base under every external API client.

Every call goes: circuit breaker → token-bucket rate limit → httpx (keep-alive, connection
limits, a timeout on every call) → typed error or parsed JSON, with tenacity retrying what is
safe to repeat and one structured ``{api}_call`` event per call (latency, outcome, attempts,
path *without* its query string — keys never reach a log line). Usage (calls, retries,
failures, credits, waits) is counted in the ``UsageMeter`` the client was given
(``meter=``; ``walltrack.clients.usage``).

Defaults (docs/clients.md explains each):

* retries: 3 retries after the first attempt, waits 1 s, 2 s, 4 s, each ±25 % jitter; a
  ``Retry-After`` header wins when it asks for longer (capped at 60 s);
* what is retried: timeouts, connection errors, 429, 408, 5xx, malformed or truncated JSON —
  and only for calls marked idempotent. A non-idempotent call (``sendTransaction``,
  Jupiter ``execute``) is retried only when the connection was refused, i.e. the request
  provably never left this machine;
* circuit breaker per API: 5 consecutive failed attempts → open for 30 s → one probe;
* 4xx other than 408/429 is the caller's mistake: no retry, no breaker failure.
"""

from __future__ import annotations

import asyncio
import email.utils
import gc
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson
from pydantic import TypeAdapter, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from walltrack.clients.usage import (
    ApiCounters,
    Pricing,
    UsageMeter,
    no_credits,
    usage_name_for,
)
from walltrack.errors import CircuitOpenError, ExternalAPIError, RateLimitedError
from walltrack.logging import get_logger
from walltrack.models.usage import BreakerState

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

__all__ = [
    "ApiClient",
    "BreakerState",
    "CircuitBreaker",
    "ClientPolicy",
    "MalformedResponseError",
    "RetryPolicy",
    "TokenBucket",
    "parse_model",
    "request_was_sent",
]


class MalformedResponseError(ExternalAPIError):
    """The service answered, but not with the JSON shape we rely on (bad or truncated)."""

    code = "malformed_response"


class _RetryableError(ExternalAPIError):
    """Internal: a failed attempt that may be retried (carries Retry-After if any)."""

    def __init__(
        self,
        message: str,
        *,
        api: str,
        status: int | None = None,
        retry_after: float | None = None,
        refused: bool = False,
        final: ExternalAPIError | None = None,
    ) -> None:
        super().__init__(message, api=api, status=status)
        self.retry_after = retry_after
        self.refused = refused  # the request never left this machine
        self.final = final  # what the caller gets if retries are spent


# -- policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # after the first attempt
    waits: tuple[float, ...] = (1.0, 2.0, 4.0)  # before retry 1, 2, 3
    jitter: float = 0.25  # ± share of each wait
    max_retry_after: float = 60.0  # a longer Retry-After is capped to this

    def wait_for(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        base = self.waits[min(retry_number, len(self.waits)) - 1] if self.waits else 0.0
        wait = base * (1.0 + rng.uniform(-self.jitter, self.jitter)) if base else 0.0
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return max(wait, 0.0)


@dataclass(frozen=True)
class ClientPolicy:
    """Everything tunable about one API's client; defaults are the specified ones."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0
    rate_per_second: float = 10.0
    burst: int = 10
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_connections: int = 20
    max_keepalive: int = 10
    keepalive_expiry: float = 30.0

    def with_(self, **changes: Any) -> ClientPolicy:
        return replace(self, **changes)


# -- circuit breaker and rate limit -------------------------------------------------------


class CircuitBreaker:
    """closed → (N consecutive failures) → open → (after T) half-open: one probe decides."""

    def __init__(
        self,
        api: str,
        *,
        failures: int = 5,
        open_seconds: float = 30.0,
        clock: Clock = time.monotonic,
        counters: ApiCounters | None = None,
    ) -> None:
        self.api = api
        self.counters = counters  # where breaker_state / breaker_opened are reported
        self.threshold = failures
        self.open_seconds = open_seconds
        self.clock = clock
        self.state = BreakerState.closed
        self.consecutive_failures = 0
        self.opened_at = 0.0
        self._probe_in_flight = False

    def before_attempt(self) -> None:
        """Raise CircuitOpenError unless this attempt may go out."""
        if self.state is BreakerState.open:
            remaining = self.opened_at + self.open_seconds - self.clock()
            if remaining > 0:
                raise CircuitOpenError(
                    f"circuit open after {self.consecutive_failures} consecutive failures; "
                    f"next probe in {remaining:.1f}s",
                    api=self.api,
                    hint="the service is failing; WallTrack will probe it again by itself",
                )
            self._set(BreakerState.half_open)
        if self.state is BreakerState.half_open:
            if self._probe_in_flight:
                raise CircuitOpenError(
                    "circuit half-open: a probe call is already testing the service", api=self.api
                )
            self._probe_in_flight = True

    def record_success(self) -> None:
        self._probe_in_flight = False
        self.consecutive_failures = 0
        if self.state is not BreakerState.closed:
            self._set(BreakerState.closed)

    def record_failure(self) -> None:
        was_probe = self._probe_in_flight
        self._probe_in_flight = False
        self.consecutive_failures += 1
        if was_probe or self.consecutive_failures >= self.threshold:
            if self.state is not BreakerState.open and self.counters is not None:
                self.counters.breaker_opened += 1
            self.opened_at = self.clock()
            self._set(BreakerState.open)

    def record_neutral(self) -> None:
        """An answer that says nothing about the service's health (a 4xx)."""
        if self._probe_in_flight:
            self.record_success()

    def _set(self, state: BreakerState) -> None:
        self.state = state
        if self.counters is not None:
            self.counters.breaker_state = state


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` banked; ``acquire`` waits its turn."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.sleep = sleep
        self.tokens = float(capacity)
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self) -> float:
        """Take one token; returns the seconds spent waiting."""
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return waited
                delay = (1.0 - self.tokens) / self.rate
                waited += delay
                await self.sleep(delay)


# -- the client ---------------------------------------------------------------------------

# Timeouts that happen before the request is written: nothing reached the service.
_NOT_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout)


def _parse_retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


class ApiClient:
    """Async JSON-over-HTTP client for one API, with every safety on.

    ``secret_params`` / ``secret_headers`` carry keys (Helius ``api-key``, Jupiter
    ``x-api-key``); they are sent, never logged. ``buckets`` maps a bucket name to its token
    bucket (DexScreener has two limits); ``request(bucket=...)`` picks one.

    Usage: ``meter`` (a :class:`~walltrack.clients.usage.UsageMeter`, shared by the clients
    of one job; a private one when not given) counts every call under ``usage_name``
    (default: ``api``; either gets ``@local`` appended when ``base_url`` is a loopback host,
    i.e. the simulator or a test server); ``pricing`` gives the credits of each sent
    request (default: none).
    ``self.metrics`` is this API's live counters in the meter.
    """

    def __init__(
        self,
        api: str,
        base_url: str,
        *,
        policy: ClientPolicy | None = None,
        secret_params: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        buckets: Mapping[str, TokenBucket] | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        meter: UsageMeter | None = None,
        pricing: Pricing = no_credits,
        usage_name: str | None = None,
    ) -> None:
        self.api = api
        self.meter = meter if meter is not None else UsageMeter()
        self.usage_name = usage_name_for(usage_name or api, base_url)
        self.pricing = pricing
        self.metrics: ApiCounters = self.meter.counters(self.usage_name)
        self.last_latency_ms: float | None = None  # this client's own, for health views
        self.base_url = base_url.rstrip("/")
        self.policy = policy or ClientPolicy()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.breaker = breaker or CircuitBreaker(
            api,
            failures=self.policy.breaker_failures,
            open_seconds=self.policy.breaker_open_seconds,
            clock=clock,
            counters=self.metrics,
        )
        if self.breaker.counters is None:
            self.breaker.counters = self.metrics
        self.buckets: dict[str, TokenBucket] = dict(buckets or {})
        self.buckets.setdefault(
            "default",
            TokenBucket(self.policy.rate_per_second, self.policy.burst, clock=clock, sleep=sleep),
        )
        self._secret_params = dict(secret_params or {})
        self.log = get_logger("walltrack.clients", api=api)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"accept": "application/json", **dict(secret_headers or {})},
            timeout=httpx.Timeout(
                self.policy.read_timeout, connect=self.policy.connect_timeout
            ),
            limits=httpx.Limits(
                max_connections=self.policy.max_connections,
                max_keepalive_connections=self.policy.max_keepalive,
                keepalive_expiry=self.policy.keepalive_expiry,
            ),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- the one entry point --------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        bucket: str = "default",
        allow_empty: bool = False,
    ) -> Any:
        """Send one call; returns the decoded JSON body (``None`` for an allowed empty one)."""
        started = self.clock()
        attempts = 0
        outcome = "ok"
        status: int | None = None
        error: ExternalAPIError | None = None
        policy = self.policy.retry
        max_attempts = 1 + policy.retries

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, _RetryableError):
                return False
            return idempotent or exc.refused

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, _RetryableError) else None
            return policy.wait_for(state.attempt_number, retry_after, self.rng)

        def before_sleep(state: RetryCallState) -> None:
            upcoming = state.next_action.sleep if state.next_action else 0.0
            self.meter.add(self.usage_name, retries=1, retry_wait_seconds=upcoming)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    result, status = await self._attempt(
                        method, path, params, json, bucket, allow_empty
                    )
            return result
        except _RetryableError as exc:
            error = exc.final or ExternalAPIError(exc.message, api=self.api, status=exc.status)
            error.request_sent = not exc.refused  # type: ignore[attr-defined]
            outcome = error.code
            status = exc.status
            raise error from None
        except ExternalAPIError as exc:
            error = exc
            # A breaker refusal never touched the network; a 4xx reached the server.
            exc.request_sent = not isinstance(exc, CircuitOpenError)  # type: ignore[attr-defined]
            outcome = exc.code
            status = exc.status
            raise
        finally:
            latency_ms = (self.clock() - started) * 1000.0
            self.meter.add(self.usage_name, operations=1, errors=int(error is not None))
            self.last_latency_ms = self.metrics.last_latency_ms = latency_ms
            self.metrics.last_outcome = outcome
            if error is not None:
                self.metrics.last_error = error.message
            # One event per call; successes at debug (a research run makes thousands of
            # calls), failures at warning so they always show.
            log = self.log.warning if error is not None else self.log.debug
            log(
                f"{self.api}_call",
                method=method,
                path=path.split("?", 1)[0],  # never the query: keys travel there
                status=status,
                outcome=outcome,
                attempts=attempts,
                latency_ms=round(latency_ms, 2),
                breaker=self.breaker.state.value,
            )

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        bucket: str,
        allow_empty: bool,
    ) -> tuple[Any, int | None]:
        self.breaker.before_attempt()
        try:
            waited = await self.buckets[bucket].acquire()
            if waited:
                self.meter.add(self.usage_name, rate_wait_seconds=waited)
            query = {**(params or {}), **self._secret_params} or None
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=query,
                    content=orjson.dumps(body) if body is not None else None,
                    headers={"content-type": "application/json"} if body is not None else None,
                )
                content = response.content
            except httpx.ConnectError as exc:
                raise _RetryableError(
                    f"cannot connect to {self._host()} ({type(exc).__name__})",
                    api=self.api,
                    refused=True,
                ) from None
            except httpx.TimeoutException as exc:
                if not isinstance(exc, _NOT_SENT):
                    self._count_sent(method, path, body, status=None, failed=True)
                raise _RetryableError(
                    f"{method} {path} timed out ({type(exc).__name__})", api=self.api
                ) from None
            except httpx.TransportError as exc:  # reset, truncated body, protocol errors
                self._count_sent(method, path, body, status=None, failed=True)
                raise _RetryableError(
                    f"{method} {path} broke off ({type(exc).__name__})", api=self.api
                ) from None
            try:
                result = self._decode(method, path, response, content, allow_empty)
            except ExternalAPIError:
                self._count_sent(method, path, body, status=response.status_code, failed=True)
                raise
            self._count_sent(method, path, body, status=response.status_code, failed=False)
        except _RetryableError:
            self.breaker.record_failure()
            raise
        except CircuitOpenError:
            raise
        except ExternalAPIError:
            self.breaker.record_neutral()
            raise
        except BaseException:
            self.breaker.record_neutral()  # cancelled: release a half-open probe slot
            raise
        self.breaker.record_success()
        return result, response.status_code

    def _count_sent(
        self, method: str, path: str, body: Any, *, status: int | None, failed: bool
    ) -> None:
        """One request reached the wire: a call, priced (a 429 is refused unbilled)."""
        credits = 0 if status == 429 else self.pricing(method, path, body)
        self.meter.add(self.usage_name, calls=1, failures=int(failed),
                       rate_limited=int(status == 429), credits=credits)

    def _decode(
        self, method: str, path: str, response: httpx.Response, content: bytes, allow_empty: bool
    ) -> Any:
        status = response.status_code
        if status == 429:
            retry_after = _parse_retry_after(response.headers.get("retry-after"), time.time())
            final = RateLimitedError(
                f"{method} {path} answered 429 (rate limited)",
                api=self.api,
                status=429,
                hint="the limiter defaults may be too high for this plan",
            )
            raise _RetryableError(
                final.message, api=self.api, status=429, retry_after=retry_after, final=final
            )
        if status >= 500 or status == 408:
            raise _RetryableError(
                f"{method} {path} answered {status}: {_snippet(content)}",
                api=self.api,
                status=status,
                retry_after=_parse_retry_after(response.headers.get("retry-after"), time.time()),
            )
        if status >= 400:
            raise ExternalAPIError(
                f"{method} {path} answered {status}: {_snippet(content)}",
                api=self.api,
                status=status,
            )
        if not content.strip():
            if allow_empty or status == 204:
                return None
            raise _RetryableError(
                f"{method} {path} answered {status} with an empty body",
                api=self.api,
                status=status,
                final=MalformedResponseError(
                    f"{method} {path} answered an empty body", api=self.api, status=status
                ),
            )
        try:
            return decode_json(content)
        except orjson.JSONDecodeError:
            message = f"{method} {path} answered malformed JSON ({len(content)} bytes)"
            raise _RetryableError(
                message,
                api=self.api,
                status=status,
                final=MalformedResponseError(message, api=self.api, status=status),
            ) from None

    def _host(self) -> str:
        return httpx.URL(self.base_url).host or "?"


def decode_json(content: bytes | str) -> Any:
    """``orjson.loads`` with the cyclic garbage collector held off meanwhile.

    A history page decodes into hundreds of thousands of objects and creates no reference
    cycle; left on, the collector would run hundreds of times during one decode, each pass
    walking every object alive in the process (a research run holds many pages): measured,
    a 445 kB page took 14.6 ms instead of 1.6 ms (benchmarks/bench_research.py).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(content)
    finally:
        if enabled:
            gc.enable()


def request_was_sent(error: ExternalAPIError) -> bool:
    """False only when the failed call provably never reached the service (refused, breaker)."""
    return bool(getattr(error, "request_sent", True))


def _snippet(content: bytes, limit: int = 200) -> str:
    text = content[:limit].decode("utf-8", errors="replace").replace("\n", " ")
    return text + ("…" if len(content) > limit else "")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def parse_model(api: str, model: Any, data: Any, what: str) -> Any:
    """Validate ``data`` as ``model`` (a class or a type like ``list[X]``) or raise
    MalformedResponseError — callers never see pydantic's own error."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise MalformedResponseError(
            f"{what}: unexpected shape at '{where}': {first.get('msg', 'invalid')}", api=api
        ) from None
