"""The order state machine, pure: what to do next with an order, given what the chain says.

``created → submitted → confirmed | failed`` (walltrack.models.trading.OrderStatus). The rule
that makes retries safe: **the signature is stored with ``submitted`` before the transaction
is sent** (it is known once signed). So after a crash at any point:

* ``created`` — nothing was sent: quote and send (a first attempt, or a retry).
* ``submitted`` — something may have landed: never send again before the chain answers.
  Landed and succeeded → ``confirmed`` (amounts read from the landed transaction, never
  the quote); landed with ``meta.err`` → that attempt failed, retry (re-quote first) while
  attempts remain, else ``failed``; not landed yet → wait, until the blockhash expired (the
  transaction can no longer land) → retry the same way.
* ``confirmed`` / ``failed`` — terminal.

Paper orders take the same path: their "chain" is the fill at the quote, so they go
``created → submitted → confirmed`` at once (issue 11: one code path, the send at the edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from walltrack.models.trading import Order, OrderStatus


class ChainState(StrEnum):
    """What ``getSignatureStatuses`` (or the paper fill) says of the order's signature."""

    not_found = "not_found"  # not (yet) seen by the node
    processed = "processed"  # seen, not yet confirmed
    succeeded = "succeeded"  # confirmed or finalized, ``err`` null
    failed = "failed"  # confirmed with ``err`` set (slippage, insufficient funds…)


class Action(StrEnum):
    send = "send"  # quote, build, sign, store the signature as submitted, then send
    wait = "wait"  # ask the chain again later
    confirm = "confirm"  # read the landed transaction's amounts, record the fill
    retry = "retry"  # the attempt is over and may be retried: back to created, re-quote
    fail = "fail"  # no attempt left (or nothing to do): the order failed
    none = "none"  # terminal


@dataclass(frozen=True, slots=True)
class Observation:
    chain: ChainState = ChainState.not_found
    blockhash_expired: bool = False  # the attempt can no longer land
    error: str | None = None  # the chain's error for a failed attempt


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    status: OrderStatus  # the order's status once the action is done
    reason: str


def next_step(order: Order, seen: Observation, *, max_attempts: int) -> Step:
    status = order.status
    if status in (OrderStatus.confirmed, OrderStatus.failed):
        return Step(Action.none, status, "terminal")
    if status is OrderStatus.created:
        if order.attempts >= max_attempts:
            return Step(Action.fail, OrderStatus.failed,
                        f"no attempt left ({order.attempts}/{max_attempts})")
        return Step(Action.send, OrderStatus.submitted,
                    "nothing was sent: quote and send" if order.attempts == 0
                    else f"attempt {order.attempts + 1}: re-quote and send")
    # submitted: something may be on chain — never send again before it answers.
    if order.tx_signature is None:
        # The signature is stored before the send: without one, nothing left this process.
        return Step(Action.retry, OrderStatus.created, "submitted without a signature")
    if seen.chain is ChainState.succeeded:
        return Step(Action.confirm, OrderStatus.confirmed, "landed")
    landed_failed = seen.chain is ChainState.failed
    if landed_failed or (seen.blockhash_expired and seen.chain is ChainState.not_found):
        why = (f"landed with an error: {seen.error}" if landed_failed
               else "expired without landing")
        if order.attempts >= max_attempts:
            return Step(Action.fail, OrderStatus.failed, f"{why}; no attempt left")
        return Step(Action.retry, OrderStatus.created, f"{why}; re-quote and retry")
    return Step(Action.wait, OrderStatus.submitted,
                "seen, not yet confirmed" if seen.chain is ChainState.processed
                else "not seen yet")
