"""``python -m walltrack serve``: the server and the scheduler under one supervisor.

Each child (``python server.py --host H --port P``, ``python jobs/scheduler.py``) runs in
its own process group, its output going where the supervisor's goes. What the supervisor
guarantees:

* **Restarts with back-off.** A child that exits on its own is started again after
  :func:`restart_delay` (1 s, 2 s, 4 s … capped at 60 s; a child that ran healthy for
  ``healthy_seconds`` starts the count again). It never gives up. Each exit is a
  ``service_child_exited`` event and a warning alert (source ``supervisor``: stored, logged
  and sent like the engine's), each new start ``service_child_restarted``. When the
  scheduler dies, the jobs it had started (its process group) are sent SIGTERM too, so a
  restarted scheduler never runs a job twice at once.
* **A clean stop.** SIGTERM or SIGINT: SIGTERM to every child's process group, up to
  ``grace_seconds`` for them to exit (the server finishes its requests, commits its inbox,
  leaves claimed rows pending and orders in a state its reconciliation resumes), then
  SIGKILL. Exit code 0 when everything stopped inside the grace period, 1 when something had
  to be killed. A second signal during the stop kills at once.
* **State on /health.** The ``live_status`` row ``supervisor`` (walltrack.service.status)
  is written on every change and every ``heartbeat_seconds``; the store being away is
  logged and never stops the supervisor.
* **No zombies.** The supervisor is a child subreaper (Linux): jobs orphaned by a crashed
  scheduler are reaped here even where PID 1 does not reap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from walltrack.errors import ConfigurationError, StoreError
from walltrack.logging import get_logger
from walltrack.models.base import utcnow
from walltrack.models.trading import Alert, AlertLevel
from walltrack.service.status import STATUS_KEY, ChildState, ChildStatus, SupervisorStatus

log = get_logger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
TICK_SECONDS = 0.1
_PR_SET_CHILD_SUBREAPER = 36


# --- the back-off policy (pure) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    healthy_seconds: float = 60.0  # a run this long resets the count


def restart_delay(policy: BackoffPolicy, streak: int, ran_seconds: float) -> tuple[float, int]:
    """Seconds to wait before the next start, and the failure streak after this exit.

    ``streak`` counts the exits in a row that came before ``healthy_seconds`` of running;
    the delay doubles with it from ``base_seconds`` up to ``cap_seconds``.
    """
    streak = 1 if ran_seconds >= policy.healthy_seconds else streak + 1
    # The exponent is bounded: a streak of a million must not overflow a float.
    return min(policy.cap_seconds, policy.base_seconds * 2.0 ** min(streak - 1, 64)), streak


# --- children ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildSpec:
    name: str
    argv: tuple[str, ...]


def child_specs(*, host: str, port: int, server: bool = True, scheduler: bool = True,
                server_args: Sequence[str] = (), scheduler_args: Sequence[str] = (),
                root: Path = REPO_ROOT) -> list[ChildSpec]:
    """The commands of the children; refuses a missing script or no child at all."""
    specs: list[ChildSpec] = []
    wanted = [("server", "server.py", ["--host", host, "--port", str(port), *server_args],
               server),
              ("scheduler", "jobs/scheduler.py", list(scheduler_args), scheduler)]
    for name, script, args, on in wanted:
        if not on:
            continue
        path = root / script
        if not path.is_file():
            raise ConfigurationError(
                f"serve: {path} is missing: the supervisor runs the repository's scripts",
                hint="run from a checkout of the repository (or the container image), or "
                f"start the remaining process yourself with --no-{name}")
        specs.append(ChildSpec(name, (sys.executable, str(path), *args)))
    if not specs:
        raise ConfigurationError("serve: --no-server and --no-scheduler leave nothing to run",
                                 hint="drop one of the two options")
    return specs


class StatusStore(Protocol):
    """Where the supervisor's row and alerts go (walltrack.live.live_store.LiveStore)."""

    async def put_status(self, key: str, value: dict[str, Any]) -> None: ...
    async def add_alert(self, alert: Alert) -> None: ...
    async def close(self) -> None: ...


class AlertSink(Protocol):
    async def raise_alert(self, level: AlertLevel, source: str, message: str,
                          **detail: Any) -> Alert: ...


@dataclass
class _Child:
    spec: ChildSpec
    status: ChildStatus
    process: subprocess.Popen[bytes] | None = None
    pgid: int | None = None  # the group of the last start (its jobs may outlive it)
    streak: int = 0
    started_mono: float = 0.0
    restart_at: float | None = None  # monotonic


def reap() -> list[tuple[int, int]]:
    """Every exited child of this process (ours and orphans adopted as subreaper): (pid,
    exit code as ``subprocess`` gives it: negative for a signal)."""
    gone: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return gone
        if pid == 0:
            return gone
        gone.append((pid, os.waitstatus_to_exitcode(status)))


def _signal_group(pgid: int | None, sig: int) -> bool:
    """Send ``sig`` to a process group (0: only ask); False when the group is empty."""
    if pgid is None:
        return False
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id was reused by someone else's processes
        return False
    return True


def become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@dataclass
class Supervisor:
    specs: Sequence[ChildSpec]
    store: StatusStore
    alerts: AlertSink
    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    grace_seconds: float = 30.0
    heartbeat_seconds: float = 10.0

    def __post_init__(self) -> None:
        self._children = [_Child(s, ChildStatus(name=s.name, command=list(s.argv[1:])))
                          for s in self.specs]
        self._started_at = utcnow()
        self._state = ChildState.running
        self._deadline: float | None = None  # of the grace period, once stopping
        self._killed = False
        self._changed = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Start the children and keep them running until a signal stops everything."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig)
        log.info("service_started", pid=os.getpid(), children=[s.name for s in self.specs],
                 grace_seconds=self.grace_seconds)
        publisher = asyncio.create_task(self._publish_every())
        try:
            for child in self._children:
                self._start(child)
            while not self._finished():
                for pid, code in reap():
                    self._exited(pid, code)
                self._tick()
                await asyncio.sleep(TICK_SECONDS)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for child in self._children:  # only after an error of our own: no orphans
                if child.process is not None:
                    _signal_group(child.pgid, signal.SIGTERM)
            self._state = ChildState.stopped
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
            await self._publish()  # the last word: everything stopped
            if self._background:  # alerts still being stored or delivered
                await asyncio.wait(self._background, timeout=5.0)
        log.info("service_stopped", clean=not self._killed)
        return 1 if self._killed else 0

    def _finished(self) -> bool:
        if self._state is not ChildState.stopping:
            return False
        leaders = any(c.process is not None for c in self._children)
        groups = any(_signal_group(c.pgid, 0) for c in self._children)
        if not leaders and not groups:
            return True
        # After the SIGKILL, a few seconds for the kernel; a stuck process is not ours to wait.
        return self._killed and self._deadline is not None and (
            time.monotonic() > self._deadline + 5.0)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._state is ChildState.stopping:
            if not self._killed and self._deadline is not None and now > self._deadline:
                self._kill_all("grace period over")
            return
        for child in self._children:
            if child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.status.restarts += 1
                self._start(child)
                if child.process is None:
                    continue  # the start failed: retried after the next back-off
                log.warning("service_child_restarted", child=child.spec.name,
                            pid=child.status.pid, restarts=child.status.restarts,
                            last_exit_code=child.status.last_exit_code)

    def _start(self, child: _Child) -> None:
        try:
            process = subprocess.Popen(child.spec.argv, cwd=REPO_ROOT,  # noqa: S603 (ours)
                                       start_new_session=True)
        except OSError as exc:  # out of processes or memory: try again after the back-off
            delay, child.streak = restart_delay(self.policy, child.streak, 0.0)
            child.restart_at = time.monotonic() + delay
            child.status.state = ChildState.restarting
            child.status.next_restart_at = utcnow() + timedelta(seconds=delay)
            log.error("service_child_start_failed", child=child.spec.name, error=str(exc),
                      restart_in_seconds=delay)
            self._changed.set()
            return
        child.process, child.pgid = process, process.pid
        child.started_mono = time.monotonic()
        child.status.pid = process.pid
        child.status.state = ChildState.running
        child.status.started_at = utcnow()
        child.status.next_restart_at = None
        log.info("service_child_started", child=child.spec.name, pid=process.pid,
                 command=list(child.spec.argv[1:]))
        self._changed.set()

    def _exited(self, pid: int, code: int) -> None:
        child = next((c for c in self._children
                      if c.process is not None and c.process.pid == pid), None)
        if child is None:
            return  # an orphaned job adopted as subreaper: reaped, nothing else to do
        assert child.process is not None
        child.process.returncode = code  # reaped here: Popen must not wait for it again
        child.process = None
        child.status.last_exit_code = code
        child.status.pid = None
        self._changed.set()
        if self._state is ChildState.stopping:
            child.status.state = ChildState.stopped
            log.info("service_child_stopped", child=child.spec.name, pid=pid, exit_code=code)
            return
        # Jobs of a dead scheduler must not run beside the next scheduler's.
        _signal_group(child.pgid, signal.SIGTERM)
        ran = time.monotonic() - child.started_mono
        delay, child.streak = restart_delay(self.policy, child.streak, ran)
        child.restart_at = time.monotonic() + delay
        child.status.state = ChildState.restarting
        child.status.next_restart_at = utcnow() + timedelta(seconds=delay)
        log.warning("service_child_exited", child=child.spec.name, pid=pid, exit_code=code,
                    ran_seconds=round(ran, 3), restart_in_seconds=delay,
                    restart=child.status.restarts + 1)
        self._spawn(self.alerts.raise_alert(
            AlertLevel.warning, "supervisor",
            f"{child.spec.name} exited with code {code} after {ran:.0f} s; restart "
            f"{child.status.restarts + 1} in {delay:g} s",
            child=child.spec.name, pid=pid, exit_code=code, ran_seconds=round(ran, 3),
            restart=child.status.restarts + 1, delay_seconds=delay))

    # -- stopping ---------------------------------------------------------------------------

    def request_stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self._state is ChildState.stopping:
            log.warning("service_stop_forced", signal=sig.name)
            self._kill_all(f"second {sig.name}")
            return
        self._state = ChildState.stopping
        self._deadline = time.monotonic() + self.grace_seconds
        log.info("service_stopping", signal=sig.name, grace_seconds=self.grace_seconds)
        for child in self._children:
            child.restart_at = None
            if child.process is not None:
                child.status.state = ChildState.stopping
                _signal_group(child.pgid, signal.SIGTERM)
            else:
                child.status.state = ChildState.stopped
                child.status.next_restart_at = None
        self._changed.set()

    def _kill_all(self, why: str) -> None:
        self._killed = True
        for child in self._children:
            if _signal_group(child.pgid, signal.SIGKILL):
                log.warning("service_child_killed", child=child.spec.name, pgid=child.pgid,
                            reason=why)

    # -- the status row ---------------------------------------------------------------------

    def snapshot(self) -> SupervisorStatus:
        return SupervisorStatus(pid=os.getpid(), state=self._state, started_at=self._started_at,
                                heartbeat_seconds=self.heartbeat_seconds,
                                grace_seconds=self.grace_seconds,
                                children=[c.status.model_copy() for c in self._children])

    async def _publish(self) -> None:
        try:
            await self.store.put_status(STATUS_KEY, self.snapshot().model_dump(mode="json"))
        except StoreError as exc:  # the store restarts too; the next heartbeat retries
            log.warning("service_status_write_failed", error=exc.message)

    async def _publish_every(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=self.heartbeat_seconds)
            self._changed.clear()
            await self._publish()

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


# --- the command ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str | None = None
    port: int | None = None
    server: bool = True
    scheduler: bool = True
    grace_seconds: float | None = None
    heartbeat_seconds: float | None = None
    healthy_seconds: float = 60.0
    backoff_cap_seconds: float = 60.0
    server_args: tuple[str, ...] = ()
    scheduler_args: tuple[str, ...] = ()


def serve(options: ServeOptions) -> int:
    """Open the store (migrations, the embedded server held for the children), then
    supervise. Exit code: 0 after a clean stop, 1 when a child had to be killed."""
    from walltrack.app.auth import check_bind
    from walltrack.live.live_store import LiveStore
    from walltrack.logging import configure_from_settings
    from walltrack.settings import load_settings
    from walltrack.store import open_database
    from walltrack.trading.alerts import AlertService, notifiers_from_settings

    settings = load_settings()
    configure_from_settings(settings)
    host = options.host or settings.server_host
    port = options.port or settings.server_port
    if options.server:
        check_bind(settings, host)  # refuse here, not in a child restarted forever
    specs = child_specs(host=host, port=port, server=options.server,
                        scheduler=options.scheduler, server_args=options.server_args,
                        scheduler_args=options.scheduler_args)
    with open_database(settings) as db:
        subreaper = become_subreaper()
        log.debug("service_subreaper", enabled=subreaper)

        async def main() -> int:
            store = LiveStore(db.url)
            alerts = AlertService(store, notifiers_from_settings(settings))
            supervisor = Supervisor(
                specs, store, alerts,
                policy=BackoffPolicy(cap_seconds=options.backoff_cap_seconds,
                                     healthy_seconds=options.healthy_seconds),
                grace_seconds=options.grace_seconds or settings.service_grace_seconds,
                heartbeat_seconds=options.heartbeat_seconds
                or settings.service_heartbeat_seconds)
            try:
                return await supervisor.run()
            finally:
                await alerts.aclose()
                await store.close()

        return asyncio.run(main())
