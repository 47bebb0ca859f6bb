"""The embedded store shared by several processes at once (server, job, notebook)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness.processes import REPO_ROOT
from walltrack.errors import StoreError
from walltrack.store import open_database

WRITER = textwrap.dedent(
    """
    import sys
    from walltrack.settings import load_settings
    from walltrack.store import open_database
    from walltrack.store.repositories import SwapRepository, WalletRepository
    from walltrack import models as m
    from tests import factories

    tag, n = sys.argv[1], int(sys.argv[2])
    settings = load_settings(_env_file=None, data_dir=sys.argv[3])
    db = open_database(settings)
    wallet = factories.address("writer-" + tag)
    swaps = [factories.swap(i, wallet=wallet) for i in range(n)]
    # Half through COPY in batches, half row by row: both paths under contention.
    repo = SwapRepository(db)
    for start in range(0, n // 2, 50):
        repo.copy_models(swaps[start:min(start + 50, n // 2)])
    repo.insert_new(swaps[n // 2:])
    WalletRepository(db).upsert(m.Wallet(address=wallet))
    db.close()
    print("done", tag)
    """
)


@pytest.mark.slow
def test_processes_starting_and_writing_one_embedded_store_lose_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    n = 600
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag, str(n), str(data_dir)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for tag in ("a", "b", "c")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        assert "done" in out
    from walltrack.settings import load_settings

    with open_database(load_settings(_env_file=None, data_dir=data_dir)) as db:
        with db.connection() as conn:
            swaps = conn.execute("SELECT count(*), count(DISTINCT wallet) FROM swaps").fetchone()
            wallets = conn.execute("SELECT count(*) FROM wallets").fetchone()
            versions = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert swaps == (3 * n, 3)
    assert wallets == (3,)
    assert versions[0] >= 1  # all processes migrated the same cluster without a clash


def test_unreachable_database_names_the_url_without_its_password(make_settings) -> None:
    settings = make_settings(database_url="postgresql://trader:hunter2-secret@127.0.0.1:1/wt")
    with pytest.raises(StoreError) as info:
        open_database(settings)
    text = str(info.value)
    assert "postgresql://trader:***@127.0.0.1:1/wt" in text
    assert "hunter2-secret" not in text
    assert "WALLTRACK_DATABASE_URL" in text
