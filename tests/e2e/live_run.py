"""A real live phase for the journey tests: the simulator's market served by its own
process, a real ``server.py`` with its trading engine, the watched wallets' swaps delivered
by the simulator's webhooks over HTTP as its clock is advanced.

The market's clock is set so the delivered window ends just before the wall clock's now: a
delivery's delay is then real and the engine's time stops run on the wall clock.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from psycopg.types.json import Jsonb

from tests.harness.processes import ServerProcess, run_server
from tests.live.conftest import watch
from tests.live.test_crash import server_env
from tests.live.test_simulated_live import register
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.background import serving_process
from walltrack.simulator.params import ActorParams
from walltrack.store import Database
from walltrack.trading.exits import ExitStrategy, plan_of

SERVE_AT = 3 * 86_400 + 12 * 3600
OPERATOR_TOKEN = "journey-operator-token-0123456789"
CLUSTER = "cluster-journey"


@dataclass
class LiveRun:
    """What a journey needs of the running phase."""

    sim_url: str
    server: ServerProcess
    wallets: list[str]
    env: dict[str, str]
    market: Market | None = None  # the market the simulator serves (its tape and truth)
    window: tuple[datetime, datetime] | None = None  # the delivered period, market time
    advanced: int = 0
    _stack: ExitStack = field(default_factory=ExitStack)

    def advance(self, seconds: int, *, step: int = 60, pause: float = 1.0) -> None:
        """Move the simulator's clock: its webhooks deliver what the wallets did meanwhile."""
        for _ in range(max(1, seconds // step)):
            httpx.post(self.sim_url + "/sim/advance", json={"seconds": step}, timeout=30)
            self.advanced += step
            time.sleep(pause)


def rows(db: Database, query: str, *params: Any) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def wait_until(check: Callable[[], Any], what: str, timeout: float = 120.0,
               detail: Callable[[], Any] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s: "
                                 f"{detail() if detail else ''}")
        time.sleep(0.5)


def configure(db: Database, strategy: ExitStrategy, **sections: dict[str, Any]) -> None:
    """Merge section updates into the ``config`` table (as the config notebook would)."""
    updates: dict[str, dict[str, Any]] = {
        "scoring": {"threshold": 0.3, "high_conviction": 0.95},
        "signals": {"stale_after_seconds": 7200.0},
        "risk": {"max_concurrent_positions": 30},
        "gates": {"max_total_exposure_sol": 9.0, "cooldown_seconds": 0.0},
        "protections": {"daily_loss_limit": None},
        "execution": {"default_strategy": strategy.name, "confirm_poll_seconds": 0.1},
        "exits": {"strategies": {strategy.name: [r.model_dump() for r in plan_of(strategy)]},
                  "price_interval_seconds": 1.0},
    }
    for key, value in sections.items():
        updates[key] = {**updates.get(key, {}), **value}
    with db.connection() as conn:
        for key, value in updates.items():
            conn.execute("UPDATE config SET value = value || %s WHERE key = %s",
                         (Jsonb(value), key))


def put_in_cluster(db: Database, cluster: str, wallets: list[str]) -> None:
    """The watched wallets as one cluster (what research would have found)."""
    with db.connection() as conn:
        conn.execute("INSERT INTO clusters (id, size, leader, computed_at) "
                     "VALUES (%s, %s, %s, now()) ON CONFLICT (id) DO NOTHING",
                     (cluster, len(wallets), wallets[0]))
        for i, wallet in enumerate(wallets):
            conn.execute("INSERT INTO cluster_members (cluster_id, wallet, role) "
                         "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (cluster, wallet, "leader" if i == 0 else "member"))
            conn.execute("UPDATE wallets SET cluster_id = %s WHERE address = %s",
                         (cluster, wallet))


@contextmanager
def live_phase(db: Database, db_url: str, tmp: Path, *, window_seconds: int,
               cluster: str | None = None) -> Iterator[LiveRun]:
    """The simulator and a trading ``server.py`` on the store; nothing delivered yet."""
    start = datetime.fromtimestamp(int(time.time()) - SERVE_AT - window_seconds - 5, UTC)
    # Without the alert crowds: the journeys watch every wallet that trades in the window,
    # and the crowds' trackers would bury the first signal under hundreds of theirs.
    params = PRESETS["small"].model_copy(update={
        "start": start, "actors": ActorParams(tracker_followers=0.0)})
    market = generate_market(params)
    window = market.swaps.filter((pl.col("t") > SERVE_AT)
                                 & (pl.col("t") <= SERVE_AT + window_seconds))
    wallets = sorted(set(window["wallet"].to_list()))
    watch(db, *wallets)
    if cluster:
        put_in_cluster(db, cluster, wallets)
    with ExitStack() as stack:
        sim_url = stack.enter_context(serving_process(params, start_at=SERVE_AT))
        env = server_env(db_url, sim_url, str(tmp)) | {
            "WALLTRACK_TRADING_ENABLED": "true", "WALLTRACK_LOG_LEVEL": "INFO",
            "WALLTRACK_OPERATOR_TOKEN": OPERATOR_TOKEN}
        server = stack.enter_context(run_server(
            [sys.executable, "server.py", "--port", "{port}"], ready_path="/health", env=env))
        # In a thread of its own: Playwright's sync API keeps a loop running in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, register(sim_url, server.url + "/webhooks/helius",
                                              wallets)).result()
        yield LiveRun(sim_url=sim_url, server=server, wallets=wallets,
                      env=env | {"WALLTRACK_SERVER_PORT": str(server.port)}, market=market,
                      window=(start + timedelta(seconds=SERVE_AT),
                              start + timedelta(seconds=SERVE_AT + window_seconds)))
