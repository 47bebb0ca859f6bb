"""The deadman: notice when Helius webhooks went silent while watched wallets kept trading.

Helius disables a webhook that keeps failing without telling anyone (DESIGN.md section 4),
and a lost delivery is lost for good. In webhook-only mode (``WALLTRACK_SIGNAL_SOURCE=
webhook``) the deadman watches the time since the last webhook delivery (``max(received_at)``
of the inbox rows from ``'webhook'``):

* :func:`judge` — the pure rule. Deliveries younger than ``sources.deadman_seconds`` → ``ok``.
  Older (or none since the deadman started) → ``silent_but_quiet`` unless polling found
  swaps of watched wallets that the webhooks did not deliver → ``tripped``.
* :class:`Deadman` — the shell. When silent it runs one polling probe round through the
  :class:`~walltrack.live.polling.Poller` (which also fills the gap: what it finds goes into
  the inbox). A probe's evidence is ``swap_transactions_accepted``: swaps that were *new to
  the inbox*, i.e. that no webhook delivered. When tripped it stores a critical alert
  (source ``'deadman'``), logs ``deadman_tripped``, records ``live_status['deadman']`` and
  sets :attr:`Deadman.polling_forced` — the server reads it and starts the poller's loop.

The deadman primes the poller once when it first runs (cursors at each wallet's newest
signature), so that a later probe sees exactly what happened since.

**Recovery (the choice made here).** When webhook deliveries resume after a trip, the
deadman records it (an ``info`` alert, ``deadman_recovered``) but **keeps polling on**: the
cause (a disabled webhook, a wrong URL) is not known to be fixed, polling costs little and
the inbox dedupes whatever both sources bring. Polling stays forced until the operator
restarts the server, or — when ``release_after_seconds`` is given — until deliveries have
flowed that long without a new silence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum

from walltrack.errors import WallTrackError
from walltrack.live.live_store import LiveStore
from walltrack.live.polling import Poller
from walltrack.logging import get_logger
from walltrack.models import Alert, AlertLevel, DomainModel, DynamicConfig, SignalSource, utcnow
from walltrack.models.config import SourceConfig
from walltrack.settings import SignalSourceMode
from walltrack.trading.alerts import log_alert

log = get_logger(__name__)

STATUS_KEY = "deadman"
ALERT_SOURCE = "deadman"


class DeadmanState(StrEnum):
    ok = "ok"  # deliveries are recent
    silent_but_quiet = "silent_but_quiet"  # no delivery, but nothing was missed either
    tripped = "tripped"  # no delivery while watched wallets traded: webhooks are down


class DeadmanVerdict(DomainModel):
    state: DeadmanState
    reason: str
    silent_seconds: float | None = None  # None: no webhook delivery ever seen


def judge(last_webhook_delivery_at: datetime | None, now: datetime,
          watched_swaps_seen_by_polling_since_then: int, cfg: SourceConfig) -> DeadmanVerdict:
    """The rule, pure. ``last_webhook_delivery_at`` is the last delivery (or when watching
    began, if none since); the count is of swaps polling found that webhooks did not bring."""
    silent = (None if last_webhook_delivery_at is None
              else max(0.0, (now - last_webhook_delivery_at).total_seconds()))
    if silent is not None and silent < cfg.deadman_seconds:
        return DeadmanVerdict(state=DeadmanState.ok, silent_seconds=silent,
                              reason=f"last webhook delivery {silent:.0f} s ago")
    quiet_for = "ever" if silent is None else f"{silent:.0f} s"
    if watched_swaps_seen_by_polling_since_then > 0:
        return DeadmanVerdict(
            state=DeadmanState.tripped, silent_seconds=silent,
            reason=f"no webhook delivery for {quiet_for} while polling found "
                   f"{watched_swaps_seen_by_polling_since_then} swap(s) of watched wallets "
                   "that no webhook delivered")
    return DeadmanVerdict(state=DeadmanState.silent_but_quiet, silent_seconds=silent,
                          reason=f"no webhook delivery for {quiet_for}, and polling found no "
                                 "missed swap of a watched wallet: the wallets are quiet")


def trip_message(verdict: DeadmanVerdict) -> str:
    return (f"Helius webhooks look dead: {verdict.reason}. Polling has been switched on so "
            "no further signal is lost (the missed swaps are in the inbox now). Check the "
            "webhook in the Helius dashboard (Helius disables a webhook that keeps failing), "
            "that WALLTRACK_WEBHOOK_URL is reachable from the internet and that "
            "WALLTRACK_WEBHOOK_AUTH_HEADER matches, then run `python jobs/sync_webhooks.py`. "
            "Polling stays on until the server restarts.")


class Deadman:
    """Call :meth:`check` periodically (or run :meth:`run`); read :attr:`polling_forced`."""

    def __init__(self, poller: Poller, store: LiveStore,
                 config: Callable[[], DynamicConfig], *,
                 mode: SignalSourceMode | Callable[[], SignalSourceMode],
                 clock: Callable[[], datetime] = utcnow,
                 last_delivery: Callable[[], Awaitable[datetime | None]] | None = None,
                 release_after_seconds: float | None = None) -> None:
        self._poller = poller
        self._store = store
        self._config = config
        self._mode = mode if callable(mode) else (lambda: mode)
        self._clock = clock
        self._last_delivery = last_delivery or (
            lambda: store.last_delivery_at(SignalSource.webhook))
        self._release_after = release_after_seconds
        self.started_at = clock()
        self.primed = False
        self.swaps_missed = 0  # found by probes during the current silence
        self.probes = 0
        self.polling_forced = False
        self.tripped_at: datetime | None = None
        self._last_at_trip: datetime | None = None
        self.recovered_at: datetime | None = None
        self.last_verdict: DeadmanVerdict | None = None

    async def check(self) -> DeadmanVerdict:
        """One look: maybe a probe, maybe a trip or a recovery. Returns the verdict."""
        cfg = self._config().sources
        now = self._clock()
        if self._mode() is not SignalSourceMode.webhook:
            verdict = DeadmanVerdict(state=DeadmanState.ok,
                                     reason="polling is on: the deadman only guards "
                                            "webhook-only mode")
            self.last_verdict = verdict
            return verdict
        if not self.primed:
            await self._poller.poll_round()  # cursors at the newest: later probes see news
            self.primed = True
        last = await self._last_delivery()
        since = last if last is not None else self.started_at
        if self.tripped_at is not None:
            return await self._while_tripped(last, now)
        verdict = judge(since, now, 0, cfg)
        if verdict.state is DeadmanState.ok:
            self.swaps_missed = 0
        else:
            probe = await self._poller.poll_round()
            self.probes += 1
            self.swaps_missed += probe.swap_transactions_accepted
            verdict = judge(since, now, self.swaps_missed, cfg)
            log.info("deadman_probed", state=verdict.state.value, accepted=probe.accepted,
                     swaps_missed=self.swaps_missed, errors=probe.errors)
            if verdict.state is DeadmanState.tripped:
                await self._trip(verdict, now, last)
        await self._record(verdict, now, last)
        return verdict

    async def _trip(self, verdict: DeadmanVerdict, now: datetime,
                    last: datetime | None) -> None:
        self.polling_forced = True
        self.tripped_at = now
        self._last_at_trip = last
        self.recovered_at = None
        log.critical("deadman_tripped", reason=verdict.reason, swaps_missed=self.swaps_missed)
        alert = Alert(
            at=now, level=AlertLevel.critical, source=ALERT_SOURCE, message=trip_message(verdict),
            detail={"swaps_missed": self.swaps_missed, "silent_seconds": verdict.silent_seconds,
                    "action": "polling_forced"})
        await self._store.add_alert(alert)
        log_alert(alert)

    async def _while_tripped(self, last: datetime | None, now: datetime) -> DeadmanVerdict:
        # Resumed = a delivery newer than the last one known at the trip (no clock compared:
        # the inbox stamps deliveries with the store's clock).
        resumed = last is not None and (self._last_at_trip is None or last > self._last_at_trip)
        if resumed and self.recovered_at is None:
            self.recovered_at = now
            log.info("deadman_recovered", last_delivery_at=last)
            keeps = ("until the server restarts" if self._release_after is None
                     else f"for {self._release_after:.0f} s more of steady deliveries")
            alert = Alert(
                at=now, level=AlertLevel.info, source=ALERT_SOURCE,
                message=f"Helius webhook deliveries resumed (last at {last}); polling stays "
                        f"on {keeps} — restart the server once the webhook is known good.",
                detail={"tripped_at": self.tripped_at, "polling_forced": True})
            await self._store.add_alert(alert)
            log_alert(alert)
        if (self.recovered_at is not None and self._release_after is not None
                and (now - self.recovered_at).total_seconds() >= self._release_after):
            log.info("deadman_polling_released", tripped_at=self.tripped_at)
            self.polling_forced = False
            self.tripped_at = self.recovered_at = None
            self.swaps_missed = 0
            verdict = DeadmanVerdict(state=DeadmanState.ok, reason="webhooks steady again; "
                                     "polling released")
        else:
            verdict = DeadmanVerdict(
                state=DeadmanState.tripped,
                reason=("webhook deliveries resumed; polling kept on" if self.recovered_at
                        else "webhooks still silent; polling is on"),
                silent_seconds=None if last is None else max(0.0, (now - last).total_seconds()))
        await self._record(verdict, now, last)
        return verdict

    async def _record(self, verdict: DeadmanVerdict, now: datetime,
                      last: datetime | None) -> None:
        self.last_verdict = verdict
        await self._store.put_status(STATUS_KEY, {
            "state": verdict.state.value, "reason": verdict.reason, "checked_at": now,
            "last_webhook_delivery_at": last, "silent_seconds": verdict.silent_seconds,
            "polling_forced": self.polling_forced, "tripped_at": self.tripped_at,
            "recovered_at": self.recovered_at, "probes": self.probes,
            "swaps_missed": self.swaps_missed})

    async def run(self, stop_event: asyncio.Event, *, every_seconds: float | None = None) -> None:
        """Check every ``every_seconds`` (default: a quarter of ``sources.deadman_seconds``,
        at most a minute) until ``stop_event`` is set."""
        while not stop_event.is_set():
            try:
                await self.check()
            except WallTrackError as exc:  # store or RPC down: look again next time
                log.warning("deadman_check_failed", error=exc.message)
            wait = every_seconds or min(60.0, self._config().sources.deadman_seconds / 4)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=wait)
