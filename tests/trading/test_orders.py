"""The order state machine, table-driven, and crash recovery at each step."""

from __future__ import annotations

import pytest

from tests.factories import address, signature
from walltrack.models import Order, OrderKind, OrderStatus, SwapSide
from walltrack.trading.orders import Action, ChainState, Observation, next_step

MAX = 3


def order(status: OrderStatus, attempts: int = 0, sig: bool = True) -> Order:
    return Order(position_id="p", idempotency_key="k", kind=OrderKind.entry, side=SwapSide.buy,
                 mint=address("mint"), status=status, amount_in=0.1, attempts=attempts,
                 tx_signature=signature("tx") if sig else None)


S, C = OrderStatus.submitted, OrderStatus.created
NOT_FOUND, PROCESSED = Observation(ChainState.not_found), Observation(ChainState.processed)
OK, ERR = Observation(ChainState.succeeded), Observation(ChainState.failed, error="slippage")
EXPIRED = Observation(ChainState.not_found, blockhash_expired=True)


@pytest.mark.parametrize(("status", "attempts", "seen", "action", "after"), [
    (C, 0, NOT_FOUND, Action.send, S),  # first attempt
    (C, 2, NOT_FOUND, Action.send, S),  # a retry: re-quote and send
    (C, 3, NOT_FOUND, Action.fail, OrderStatus.failed),  # attempts exhausted
    (S, 1, NOT_FOUND, Action.wait, S),  # sent, not seen: never send again
    (S, 1, PROCESSED, Action.wait, S),
    (S, 1, OK, Action.confirm, OrderStatus.confirmed),
    (S, 1, ERR, Action.retry, C),  # landed with an error: retry after a re-quote
    (S, 3, ERR, Action.fail, OrderStatus.failed),
    (S, 1, EXPIRED, Action.retry, C),  # can no longer land
    (S, 3, EXPIRED, Action.fail, OrderStatus.failed),
    # an expired blockhash says nothing once the transaction landed
    (S, 1, Observation(ChainState.succeeded, blockhash_expired=True), Action.confirm,
     OrderStatus.confirmed),
    (S, 1, Observation(ChainState.processed, blockhash_expired=True), Action.wait, S),
    (OrderStatus.confirmed, 1, ERR, Action.none, OrderStatus.confirmed),
    (OrderStatus.failed, 3, OK, Action.none, OrderStatus.failed),
])
def test_next_step(status: OrderStatus, attempts: int, seen: Observation, action: Action,
                   after: OrderStatus) -> None:
    step = next_step(order(status, attempts), seen, max_attempts=MAX)
    assert (step.action, step.status) == (action, after)
    assert step.reason


def test_submitted_without_a_signature_was_never_sent() -> None:
    step = next_step(order(S, 1, sig=False), OK, max_attempts=MAX)
    assert (step.action, step.status) == (Action.retry, C)


def test_crash_before_the_send_waits_for_expiry_then_retries_once() -> None:
    """The signature was stored (submitted) but the process died before sending it."""
    stored = order(S, 1)
    assert next_step(stored, NOT_FOUND, max_attempts=MAX).action is Action.wait
    retry = next_step(stored, EXPIRED, max_attempts=MAX)
    assert (retry.action, retry.status) == (Action.retry, C)
    again = next_step(stored.model_copy(update={"status": C}), NOT_FOUND, max_attempts=MAX)
    assert again.action is Action.send and "re-quote" in again.reason


def test_crash_after_the_send_never_sends_again() -> None:
    """Sent, then the process died: on restart only the chain's answer moves it."""
    stored = order(S, 1)
    steps = [next_step(stored, seen, max_attempts=MAX).action
             for seen in (NOT_FOUND, PROCESSED, PROCESSED, OK)]
    assert steps == [Action.wait, Action.wait, Action.wait, Action.confirm]
    assert Action.send not in steps
