"""The soak: a simulated day (or more) of the whole service at an accelerated clock.

``python -m walltrack soak`` runs what an operator leaves running — ``python -m walltrack
serve`` (the server with its live loop and trading engine, and the scheduler's jobs) — against
the simulator, on a store of its own (an embedded PostgreSQL under a temporary directory),
and measures whether anything stalls, leaks or is lost:

- **events**: every successful swap of a watched wallet inside the window is an event the
  simulator delivers (webhooks) or lets be found (polling); each must reach the inbox once;
- **duplicates**: signals per (signature, wallet) and open positions per mint;
- **memory** of each process after warm-up and at the end (growth < 10 %);
- **jobs**: every scheduled job's last run within two of its intervals;
- **inbox backlog** at the end.

Halfway through, the server child is killed with SIGKILL (the supervisor restarts it); at
three quarters, the store itself is restarted (``pg_ctl restart -m fast``). Webhook
deliveries that fail meanwhile are retried by the simulator; what they still miss, polling
finds (signal source ``both``).

The watchlist is seeded with the wallets that trade in the window, as the operator's manual
adds (the research jobs keep them): the soak measures the service, not the research, whose
accuracy ``jobs/evaluate.py`` measures.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import psutil
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from walltrack.errors import StoreError
from walltrack.logging import get_logger
from walltrack.progress import Progress
from walltrack.simulator import PRESETS, generate_market
from walltrack.simulator.background import SimulatorProcess
from walltrack.store import Database
from walltrack.store.backup import find_pg_tool
from walltrack.store.embedded import start_embedded, stop_embedded

log = get_logger(__name__)

REPO = Path(__file__).resolve().parents[2]
SERVE_AT = 3 * 86_400  # the window starts on the market's fourth day (history before it)
WARM_UP = 0.2  # share of the run before memory is first sampled
MAX_WATCHED = 80


class SoakPlan(BaseModel):
    preset: str = "small"
    sim_hours: float = Field(default=24.0, gt=0)
    wall_minutes: float = Field(default=10.0, gt=0)
    step_seconds: float = Field(default=120.0, gt=0)  # simulated seconds per advance
    kill_server_at: float | None = Field(default=0.5, ge=0, le=1)
    restart_store_at: float | None = Field(default=0.75, ge=0, le=1)
    drain_seconds: float = Field(default=90.0, ge=0)  # after the last step
    job_minutes: int = Field(default=2, ge=1)  # the scheduler's intervals during the soak


class ProcessMemory(BaseModel):
    name: str
    pid: int
    warm_mb: float
    end_mb: float

    @property
    def growth(self) -> float:
        return self.end_mb / self.warm_mb - 1 if self.warm_mb else 0.0


class SoakReport(BaseModel):
    seconds: float
    sim_hours: float
    watched_wallets: int
    expected_events: int
    received_events: int
    lost_events: int
    inbox_by_source: dict[str, int]
    signals: int
    duplicate_signals: int
    positions: int
    closed_positions: int
    open_positions_per_mint_max: int
    memory: list[dict[str, Any]]
    max_memory_growth: float
    jobs: list[dict[str, Any]]
    stalled_jobs: list[str]
    inbox_backlog: int
    server_restarts: int
    store_restarted: bool
    deliveries_sent: int
    delivery_failures: int
    ok: bool
    problems: list[str]


def _env(db_url: str, sim_url: str, data_dir: Path, port: int) -> dict[str, str]:
    # Fresh secrets per run: the soak's service is as guarded as a real one.
    auth, operator_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    return {
        **os.environ,
        "WALLTRACK_DATABASE_URL": db_url, "WALLTRACK_DATA_DIR": str(data_dir),
        "WALLTRACK_SIGNAL_SOURCE": "both", "WALLTRACK_WEBHOOK_AUTH_HEADER": auth,
        "WALLTRACK_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/helius",
        "WALLTRACK_HELIUS_API_URL": sim_url, "WALLTRACK_HELIUS_API_KEY": "simulator",
        "WALLTRACK_DEXSCREENER_URL": sim_url, "WALLTRACK_JUPITER_URL": sim_url,
        "WALLTRACK_SOLANA_RPC_URLS": f"{sim_url}/rpc", "WALLTRACK_TRADING_ENABLED": "true",
        "WALLTRACK_OPERATOR_TOKEN": operator_token, "WALLTRACK_LOG_FORMAT": "json",
        "WALLTRACK_LOG_LEVEL": "INFO", "WALLTRACK_JUPITER_RPS": "1000",
        "WALLTRACK_DEXSCREENER_RPS": "1000", "WALLTRACK_RPC_RPS": "1000",
        "WALLTRACK_SERVER_PORT": str(port),
    }


def _configure(db: Database, plan: SoakPlan) -> None:
    minutes = plan.job_minutes
    updates: dict[str, dict[str, Any]] = {
        # Every swap of the window is in the past when it arrives (the clock runs ahead):
        # trade them all, as a live day would.
        "signals": {"stale_after_seconds": plan.sim_hours * 3600 + 86_400},
        "scoring": {"threshold": 0.3, "high_conviction": 0.95},
        "risk": {"max_concurrent_positions": 20},
        "gates": {"max_total_exposure_sol": 8.0},
        "protections": {"daily_loss_limit": None},
        "sources": {"poll_interval_seconds": 5.0, "deadman_seconds": 120.0},
        "exits": {"price_interval_seconds": 2.0},
        "jobs": {"discover_tokens": minutes, "refresh_tokens": minutes,
                 "research": max(minutes, int(plan.wall_minutes)), "sync_webhooks": 1,
                 "shadow_outcomes": minutes},
    }
    with db.connection() as conn:
        for key, value in updates.items():
            conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                         (Jsonb(value), key))


def _watch(db: Database, wallets: list[str]) -> None:
    with db.connection() as conn:
        for wallet in wallets:
            conn.execute(
                """INSERT INTO wallets (address, first_seen_at, status, on_watchlist, score,
                                        watchlist_override, lifecycle)
                   VALUES (%s, now(), 'ok', true, 0.8, 'add', 'watchlisted')
                   ON CONFLICT (address) DO UPDATE SET on_watchlist = true,
                       watchlist_override = 'add', score = 0.8""", (wallet,))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def _children(supervisor: psutil.Process) -> dict[str, psutil.Process]:
    """The supervisor's direct children by role (server / scheduler)."""
    found: dict[str, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        for child in supervisor.children(recursive=False):
            cmd = " ".join(child.cmdline())
            if "server.py" in cmd:
                found["server"] = child
            elif "scheduler.py" in cmd:
                found["scheduler"] = child
    return found


def _scalar(db: Database, query: str, *params: Any) -> Any:
    with db.connection() as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(StoreError, httpx.HTTPError, OSError):
            if check():
                return True
        time.sleep(0.5)
    return False


def restart_store(pgdata: Path) -> None:
    """``pg_ctl restart -m fast``: every connection drops, the server comes back."""
    _pg_ctl(pgdata, "restart")


def stop_restarted_store(pgdata: Path) -> None:
    """Stop a store ``restart_store`` restarted: its new postmaster is not the one the
    embedded server's handle started, so releasing the handle leaves it running."""
    if (pgdata / "postmaster.pid").exists():
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            _pg_ctl(pgdata, "stop")


def _pg_ctl(pgdata: Path, action: str) -> None:
    tool = find_pg_tool("pg_ctl", 0)
    if tool is None:
        raise StoreError(f"no pg_ctl found to {action} the store",
                         hint="install PostgreSQL's client binaries (apt-get install "
                              "postgresql) or run the soak without --restart-store-at")
    # pg_ctl refuses root: run it as the data directory's owner (pgserver's own user).
    owner = pgdata.stat().st_uid
    user = pwd.getpwuid(owner).pw_name if os.geteuid() == 0 and owner != 0 else None
    subprocess.run([str(tool.path), "-D", str(pgdata), "-l", str(pgdata / "log"),  # noqa: S603
                    "-m", "fast", "-w", action],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60, user=user)


@contextlib.contextmanager
def _supervisor(env: dict[str, str], port: int, log_path: Path) -> Iterator[psutil.Process]:
    with log_path.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 — our own entry point
            [sys.executable, "-m", "walltrack", "serve", "--port", str(port),
             "--scheduler-arg=--sim-clock"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def run_soak(plan: SoakPlan, db_factory: Callable[[str], Database], *,
             work_dir: Path | None = None, progress: Progress | None = None) -> SoakReport:
    """Run the soak; ``db_factory(url)`` opens (and migrates) the store at ``url``."""
    started = time.perf_counter()
    owned = tempfile.TemporaryDirectory(prefix="walltrack-soak-") if work_dir is None else None
    root = Path(owned.name) if owned else work_dir
    assert root is not None
    try:
        return _run(plan, db_factory, root, progress, started)
    finally:
        if owned is not None:
            owned.cleanup()


def _run(plan: SoakPlan, db_factory: Callable[[str], Database], root: Path,
         progress: Progress | None, started: float) -> SoakReport:
    window = plan.sim_hours * 3600
    start = datetime.fromtimestamp(int(time.time()) - SERVE_AT - window - 60, UTC)
    params = PRESETS[plan.preset].model_copy(update={"start": start})
    if SERVE_AT + window > params.days * 86_400:
        params = params.model_copy(update={"days": int((SERVE_AT + window) // 86_400) + 1})
    market = generate_market(params)
    in_window = market.swaps.filter((pl.col("t") > SERVE_AT) & (pl.col("t") <= SERVE_AT
                                                                     + window))
    active = (in_window.group_by("wallet").len().sort(["len", "wallet"], descending=[True,
                                                                                   False]))
    watched = active["wallet"].head(MAX_WATCHED).to_list()
    expected = set(in_window.filter(pl.col("wallet").is_in(watched))["signature"].to_list())

    pgdata = root / "pg"
    server_handle = start_embedded(pgdata)
    db = db_factory(server_handle.url)
    problems: list[str] = []
    store_restarted = False
    try:
        _configure(db, plan)
        _watch(db, watched)
        port = _free_port()
        steps = max(1, int(window // plan.step_seconds))
        pause = plan.wall_minutes * 60 / steps
        memory: dict[str, ProcessMemory] = {}
        server_restarts = 0
        with SimulatorProcess(params, start_at=SERVE_AT) as sim:
            sim_url = sim.wait_ready()
            env = _env(server_handle.url, sim_url, root / "data", port)
            health = f"http://127.0.0.1:{port}/health"
            with _supervisor(env, port, root / "service.log") as sup:
                if not _wait(lambda: httpx.get(health, timeout=5).status_code == 200, 120):
                    raise StoreError("the service never answered /health",
                                     hint=f"see {root / 'service.log'}")
                # The webhook sync job registers the watchlist with the simulator's Helius.
                _wait(lambda: httpx.get(sim_url + "/sim/state").json()["webhooks"] > 0, 120)
                with httpx.Client(base_url=sim_url, timeout=30) as client:
                    paced = time.monotonic()
                    for step in range(steps):
                        share = step / steps
                        client.post("/sim/advance", json={"seconds": plan.step_seconds})
                        if progress:
                            progress("soak", step + 1, steps)
                        if share >= WARM_UP and not memory:
                            procs = {"supervisor": sup, **_children(sup)}
                            memory = {n: ProcessMemory(name=n, pid=p.pid, warm_mb=_rss_mb(p),
                                                       end_mb=0.0) for n, p in procs.items()}
                        if (plan.kill_server_at is not None and not server_restarts
                                and share >= plan.kill_server_at):
                            server = _children(sup).get("server")
                            if server is not None:
                                server.kill()  # SIGKILL: the supervisor must restart it
                                server_restarts = 1
                                memory.pop("server", None)
                                log.info("soak_server_killed", pid=server.pid)
                        if (plan.restart_store_at is not None and not store_restarted
                                and share >= plan.restart_store_at):
                            restart_store(pgdata)
                            store_restarted = True
                            log.info("soak_store_restarted")
                        if server_restarts and "server" not in memory and share >= min(
                                1.0, (plan.kill_server_at or 0) + WARM_UP):
                            server = _children(sup).get("server")
                            if server is not None:
                                memory["server"] = ProcessMemory(
                                    name="server", pid=server.pid, warm_mb=_rss_mb(server),
                                    end_mb=0.0)
                        # Paced on a deadline: a slow step does not stretch the run.
                        paced += pause
                        time.sleep(max(0.0, paced - time.monotonic()))
                    received = lambda: _scalar(db, "SELECT count(*) FROM inbox "  # noqa: E731
                                               "WHERE signature = ANY(%s)", list(expected))
                    _wait(lambda: received() >= len(expected) and _scalar(
                        db, "SELECT count(*) FROM inbox WHERE status = 'pending'") == 0,
                        plan.drain_seconds)
                    sim_state = client.get("/sim/state").json()
                now_procs = {"supervisor": sup, **_children(sup)}
                for name, mem in memory.items():
                    proc = now_procs.get(name)
                    if proc is not None and proc.pid == mem.pid:
                        mem.end_mb = _rss_mb(proc)
                    else:
                        problems.append(f"{name} (pid {mem.pid}) is gone at the end")
                figures = _figures(db, expected)
                jobs = _jobs(db, plan)
    finally:
        db.close()
        stop_embedded(pgdata)
        if store_restarted:
            stop_restarted_store(pgdata)
    max_growth = max((m.growth for m in memory.values() if m.end_mb), default=0.0)
    stalled = [j["job"] for j in jobs if j["stalled"]]
    if figures["lost"]:
        problems.append(f"{figures['lost']} events never reached the inbox")
    if figures["duplicate_signals"]:
        problems.append(f"{figures['duplicate_signals']} duplicate signals")
    if figures["open_per_mint_max"] > 1:
        problems.append("more than one open position for a mint")
    if max_growth >= 0.10:
        problems.append(f"memory grew {max_growth:.1%} after warm-up")
    if stalled:
        problems.append(f"stalled jobs: {', '.join(stalled)}")
    if figures["backlog"]:
        problems.append(f"{figures['backlog']} inbox items still pending")
    return SoakReport(
        seconds=round(time.perf_counter() - started, 1), sim_hours=plan.sim_hours,
        watched_wallets=len(watched), expected_events=len(expected),
        received_events=figures["received"], lost_events=figures["lost"],
        inbox_by_source=figures["by_source"], signals=figures["signals"],
        duplicate_signals=figures["duplicate_signals"], positions=figures["positions"],
        closed_positions=figures["closed"],
        open_positions_per_mint_max=figures["open_per_mint_max"],
        memory=[{**m.model_dump(), "growth": round(m.growth, 4)} for m in memory.values()],
        max_memory_growth=round(max_growth, 4), jobs=jobs, stalled_jobs=stalled,
        inbox_backlog=figures["backlog"], server_restarts=server_restarts,
        store_restarted=store_restarted, deliveries_sent=int(sim_state["deliveries_sent"]),
        delivery_failures=int(sim_state["delivery_failures"]), ok=not problems,
        problems=problems)


def _figures(db: Database, expected: set[str]) -> dict[str, Any]:
    with db.connection() as conn:
        received = conn.execute("SELECT count(*) FROM inbox WHERE signature = ANY(%s)",
                                (list(expected),)).fetchone()[0]
        by_source = dict(conn.execute(
            "SELECT source, count(*) FROM inbox GROUP BY source").fetchall())
        signals = conn.execute("SELECT count(*) FROM signals").fetchone()[0]
        duplicates = conn.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM signals "
            "GROUP BY signature, wallet, mint, side) s").fetchone()[0]
        positions, closed = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM positions"
        ).fetchone()
        per_mint = conn.execute(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM positions WHERE "
            "status IN ('opening', 'open', 'closing') GROUP BY mint) s").fetchone()[0]
        backlog = conn.execute(
            "SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()[0]
    return {"received": int(received), "lost": len(expected) - int(received),
            "by_source": {str(k): int(v) for k, v in by_source.items()},
            "signals": int(signals), "duplicate_signals": int(duplicates),
            "positions": int(positions), "closed": int(closed),
            "open_per_mint_max": int(per_mint), "backlog": int(backlog)}


def _jobs(db: Database, plan: SoakPlan) -> list[dict[str, Any]]:
    """Each scheduled job's runs; a chain is stalled when its head has not *started* within
    two of its intervals (a long research run is busy, not stalled — its followers start when
    it ends). Failed runs are counted, and judged by the caller's reading of the log."""
    from walltrack.scheduling import scheduler_plan
    from walltrack.store.repositories import ConfigRepository

    chains = scheduler_plan(ConfigRepository(db).load().jobs, webhooks=True)
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT job, extract(epoch FROM now() - max(started_at)), count(*), "
            "count(*) FILTER (WHERE outcome = 'failed'), "
            "count(*) FILTER (WHERE outcome = 'running') FROM job_runs GROUP BY job"
        ).fetchall()
    seen = {r[0]: r for r in rows}
    out = []
    for chain in chains:
        seconds = chain.minutes * 60
        for job in chain.jobs:
            row = seen.get(job)
            age = float(row[1]) if row and row[1] is not None else None
            head = job == chain.head
            stalled = head and (age is None or age > 2 * seconds)
            out.append({"job": job, "chain": chain.head, "interval_s": seconds,
                        "runs": int(row[2]) if row else 0,
                        "failed": int(row[3]) if row else 0,
                        "running": int(row[4]) if row else 0,
                        "last_start_age_s": None if age is None else round(age, 1),
                        "stalled": bool(stalled)})
    return out
