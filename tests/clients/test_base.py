"""The base client against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import io
import json

import pytest

from tests.clients.conftest import FakeTime
from tests.clients.fault_server import FaultServer, Reply, refused_url
from walltrack.clients.base import (
    ApiClient,
    BreakerState,
    ClientPolicy,
    MalformedResponseError,
    RetryPolicy,
    TokenBucket,
)
from walltrack.errors import CircuitOpenError, ExternalAPIError, RateLimitedError
from walltrack.logging import configure_logging

FAST = ClientPolicy(
    retry=RetryPolicy(waits=(0.01, 0.02, 0.04)), rate_per_second=1000, burst=1000,
    read_timeout=0.3, connect_timeout=0.3,
)


def client(url: str, fake: FakeTime | None = None, policy: ClientPolicy = FAST,
           **kwargs: object) -> ApiClient:
    if fake is not None:
        kwargs.update(clock=fake.clock, sleep=fake.sleep)
    return ApiClient("testapi", url, policy=policy, **kwargs)  # type: ignore[arg-type]


def test_defaults_are_the_specified_ones() -> None:
    policy = ClientPolicy()
    assert policy.retry.retries == 3
    assert policy.retry.waits == (1.0, 2.0, 4.0)
    assert 0 < policy.retry.jitter < 1
    assert (policy.breaker_failures, policy.breaker_open_seconds) == (5, 30.0)
    import random

    rng = random.Random(1)
    for n, base in ((1, 1.0), (2, 2.0), (3, 4.0)):
        wait = policy.retry.wait_for(n, None, rng)
        assert base * 0.75 <= wait <= base * 1.25
    assert policy.retry.wait_for(1, 10.0, rng) == 10.0  # Retry-After wins
    assert policy.retry.wait_for(1, 600.0, rng) == 60.0  # but is capped


async def test_ok_json(server: FaultServer) -> None:
    server.then(Reply(body=b'{"a": 1}'))
    async with client(server.url) as api:
        assert await api.request("GET", "/x", params={"q": "1"}) == {"a": 1}
    assert server.seen[0].target == "/x?q=1"
    metrics = api.meter.usage(api.usage_name)
    assert (metrics.operations, metrics.calls, metrics.failures, metrics.retries) == (1, 1, 0, 0)


async def test_429_retry_after_is_honoured(server: FaultServer, fake_time: FakeTime) -> None:
    server.then(Reply(429, b'{"message":"Rate limit exceeded"}', {"retry-after": "3"}),
                Reply(body=b"[1]"))
    async with client(server.url, fake_time) as api:
        assert await api.request("GET", "/p") == [1]
    assert fake_time.waits == [3.0]  # not the tiny backoff: the server asked for 3 s
    metrics = api.meter.usage(api.usage_name)
    assert (metrics.retries, metrics.rate_limited, metrics.failures, metrics.errors) == (1, 1, 1, 0)
    assert metrics.calls == 2 and metrics.retry_wait_seconds == 3.0


async def test_429_storm_ends_in_rate_limited_error(server: FaultServer) -> None:
    server.default = Reply(429, b"{}", {"retry-after": "0"})
    async with client(server.url) as api:
        with pytest.raises(RateLimitedError) as info:
            await api.request("GET", "/p")
    assert info.value.status == 429
    assert len(server.seen) == 4  # 1 + 3 retries, then the typed error


async def test_500s_then_success(server: FaultServer) -> None:
    server.then(Reply(500, b"boom"), Reply(502, b"bad gw"), Reply(body=b'{"ok":true}'))
    async with client(server.url) as api:
        assert await api.request("GET", "/r") == {"ok": True}
    assert api.meter.usage(api.usage_name).retries == 2


async def test_500s_exhaust_retries(server: FaultServer, fake_time: FakeTime) -> None:
    server.default = Reply(503, b"down")
    async with client(server.url, fake_time) as api:
        with pytest.raises(ExternalAPIError) as info:
            await api.request("GET", "/r")
    assert info.value.status == 503
    assert len(server.seen) == 4
    assert len(fake_time.waits) == 3
    for wait, base in zip(fake_time.waits, (0.01, 0.02, 0.04), strict=True):
        assert base * 0.75 <= wait <= base * 1.25  # exponential with jitter


async def test_timeout_is_retried_then_typed(server: FaultServer) -> None:
    server.default = Reply(delay=1.0)
    policy = FAST.with_(retry=RetryPolicy(retries=1, waits=(0.01,)), read_timeout=0.15)
    async with client(server.url, policy=policy) as api:
        with pytest.raises(ExternalAPIError, match="timed out"):
            await api.request("GET", "/slow")
    assert len(server.seen) == 2


async def test_refused_connection() -> None:
    async with client(refused_url()) as api:
        with pytest.raises(ExternalAPIError, match="cannot connect"):
            await api.request("GET", "/x")
    metrics = api.meter.usage(api.usage_name)
    assert metrics.retries == 3 and metrics.errors == 1
    assert metrics.calls == 0  # a refused connection sends nothing


async def test_malformed_json_is_retried_then_typed(server: FaultServer) -> None:
    server.default = Reply(body=b'{"a": [1, 2')
    async with client(server.url) as api:
        with pytest.raises(MalformedResponseError):
            await api.request("GET", "/m")
    assert len(server.seen) == 4


async def test_truncated_body_recovers(server: FaultServer) -> None:
    server.then(Reply(body=b'{"long": "' + b"x" * 500 + b'"}', truncate_to=40),
                Reply(body=b'{"ok": 1}'))
    async with client(server.url) as api:
        assert await api.request("GET", "/t") == {"ok": 1}


async def test_closed_without_answer_recovers(server: FaultServer) -> None:
    server.then(Reply(close_only=True), Reply(body=b"{}"))
    async with client(server.url) as api:
        assert await api.request("GET", "/c") == {}


async def test_4xx_is_not_retried_and_not_a_breaker_failure(server: FaultServer) -> None:
    server.default = Reply(400, b'{"error":"bad mint"}')
    async with client(server.url) as api:
        for _ in range(6):
            with pytest.raises(ExternalAPIError) as info:
                await api.request("GET", "/bad")
            assert info.value.status == 400
        assert api.breaker.state is BreakerState.closed
    assert len(server.seen) == 6


async def test_non_idempotent_call_is_never_blindly_retried(server: FaultServer) -> None:
    server.default = Reply(500, b"maybe sent")
    async with client(server.url) as api:
        with pytest.raises(ExternalAPIError):
            await api.request("POST", "/send", json={"tx": "abc"}, idempotent=False)
    assert len(server.seen) == 1
    server.default = Reply(delay=1.0)
    async with client(server.url, policy=FAST.with_(read_timeout=0.1)) as api:
        with pytest.raises(ExternalAPIError, match="timed out"):
            await api.request("POST", "/send", json={"tx": "abc"}, idempotent=False)
    assert len(server.seen) == 2  # a timeout may have landed: not repeated


async def test_non_idempotent_call_retried_when_refused() -> None:
    async with client(refused_url()) as api:
        with pytest.raises(ExternalAPIError):
            await api.request("POST", "/send", json={}, idempotent=False)
    assert api.meter.usage(api.usage_name).retries == 3  # never left the machine: safe


async def test_breaker_opens_after_5_failures_then_probes(
    server: FaultServer, fake_time: FakeTime
) -> None:
    server.default = Reply(500, b"down")
    policy = FAST.with_(retry=RetryPolicy(retries=0))
    async with client(server.url, fake_time, policy=policy) as api:
        for _ in range(5):
            with pytest.raises(ExternalAPIError):
                await api.request("GET", "/h")
        assert api.breaker.state is BreakerState.open
        with pytest.raises(CircuitOpenError):
            await api.request("GET", "/h")
        assert len(server.seen) == 5  # refused without touching the network
        assert api.meter.usage(api.usage_name).breaker_state is BreakerState.open

        fake_time.now += 29.9
        with pytest.raises(CircuitOpenError):
            await api.request("GET", "/h")
        fake_time.now += 0.2  # 30 s passed: one probe may go; it fails → open again
        with pytest.raises(ExternalAPIError) as info:
            await api.request("GET", "/h")
        assert not isinstance(info.value, CircuitOpenError)
        assert api.breaker.state is BreakerState.open
        assert len(server.seen) == 6

        fake_time.now += 30.1
        server.default = Reply(body=b'{"up": true}')
        assert await api.request("GET", "/h") == {"up": True}
        assert api.breaker.state is BreakerState.closed
    assert api.meter.usage(api.usage_name).breaker_opened == 2


async def test_breaker_counts_failed_attempts_within_retries(server: FaultServer) -> None:
    server.default = Reply(500, b"down")
    policy = FAST.with_(retry=RetryPolicy(retries=10, waits=(0.001,)))
    async with client(server.url, policy=policy) as api:
        with pytest.raises(CircuitOpenError):
            await api.request("GET", "/h")
    assert len(server.seen) == 5  # the 6th attempt met the open breaker


async def test_token_bucket_paces_calls(fake_time: FakeTime) -> None:
    bucket = TokenBucket(2.0, 1, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert fake_time.waits == pytest.approx([0.5, 0.5])


async def test_rate_limit_applies_to_requests(server: FaultServer, fake_time: FakeTime) -> None:
    policy = FAST.with_(rate_per_second=0.5, burst=1)
    async with client(server.url, fake_time, policy=policy) as api:
        await api.request("GET", "/a")
        await api.request("GET", "/b")
    assert fake_time.waits == pytest.approx([2.0])  # keyless Jupiter pace: one per 2 s


async def test_key_never_reaches_the_log(server: FaultServer) -> None:
    key = "FAKE-helius-key-0123456789"
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_lines=True, stream=stream)
    server.then(Reply(body=b"{}"), Reply(500, b"err"), Reply(404, b"nope"))
    policy = FAST.with_(retry=RetryPolicy(retries=0))
    async with ApiClient("helius", server.url, policy=policy,
                         secret_params={"api-key": key},
                         secret_headers={"x-api-key": key}) as api:
        await api.request("GET", "/v0/addresses/abc/transactions", params={"limit": 5})
        for _ in range(2):
            with pytest.raises(ExternalAPIError) as info:
                await api.request("GET", "/v0/webhooks")
            assert key not in str(info.value)
    assert key in server.seen[0].target  # it was sent…
    assert server.seen[0].headers["x-api-key"] == key
    output = stream.getvalue()
    assert key not in output  # …and never logged
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    calls = [e for e in events if e.get("event") == "helius_call"]
    assert len(calls) == 3
    assert calls[0]["path"] == "/v0/addresses/abc/transactions"
    assert calls[0]["outcome"] == "ok" and "latency_ms" in calls[0]
    assert calls[1]["outcome"] == "external_api_error" and calls[1]["status"] == 500
