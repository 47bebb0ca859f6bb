from __future__ import annotations

import threading

import pytest
from psycopg.types.json import Jsonb

from tests import factories
from walltrack.errors import ConfigurationError, StoreError
from walltrack.models import DynamicConfig, WalletMetrics
from walltrack.models.config import ScoringConfig
from walltrack.store import Database
from walltrack.store.migrations import (
    Migration,
    apply_migrations,
    available_migrations,
    schema_version,
    seed_config,
)
from walltrack.store.repositories import ConfigRepository, WalletMetricsRepository


def _schema_fingerprint(db: Database) -> list[tuple]:
    with db.connection() as conn:
        return conn.execute(
            """SELECT table_name, column_name, data_type, is_nullable, column_default
               FROM information_schema.columns WHERE table_schema = 'public'
               ORDER BY table_name, ordinal_position"""
        ).fetchall()


def test_migrations_are_recorded_and_applying_twice_changes_nothing(db: Database) -> None:
    versions = [mig.version for mig in available_migrations()]
    assert schema_version(db) == max(versions)
    before = _schema_fingerprint(db)
    with db.connection() as conn:
        recorded = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    assert [v for v, _ in recorded] == versions
    assert apply_migrations(db) == []
    assert apply_migrations(db) == []
    assert _schema_fingerprint(db) == before
    with db.connection() as conn:
        assert conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall() \
            == recorded


def test_concurrent_migration_runs_each_migration_once(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    errors: list[BaseException] = []
    applied: list[list[int]] = []

    def run() -> None:
        try:
            applied.append(apply_migrations(db))
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(len(a) for a in applied) == [0, 0, len(available_migrations())]


def test_an_edited_applied_migration_is_refused(db: Database, monkeypatch) -> None:
    original = available_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr("walltrack.store.migrations.available_migrations", lambda: edited)
    with pytest.raises(StoreError, match="changed after it was applied"):
        apply_migrations(db)


def test_config_is_seeded_with_every_design_default(db: Database) -> None:
    config = ConfigRepository(db).load()
    assert config == DynamicConfig()
    assert ConfigRepository(db).count() == len(DynamicConfig.section_names())
    weights = config.scoring.weights
    assert (weights.wallet, weights.cluster, weights.token, weights.context) == (
        0.30, 0.25, 0.25, 0.20)
    assert config.scoring.threshold == 0.70
    assert config.scoring.high_conviction == 0.85
    assert config.risk.max_drawdown == 0.20
    assert config.risk.max_concurrent_positions == 5
    assert config.risk.halt_win_rate == 0.40
    assert config.risk.halt_window_trades == 50
    assert config.sizing.risk_per_trade == 0.02
    assert config.sizing.high_conviction_multiplier == 1.5
    assert config.sizing.reduced_multiplier == 0.5
    assert (config.decay.rolling_trades, config.decay.min_rolling_win_rate,
            config.decay.consecutive_losses, config.decay.dormant_days) == (20, 0.40, 3, 30)
    assert config.clusters.synced_buy_window_seconds == 300
    assert config.clusters.early_cooccurrence_min_tokens == 2
    assert config.profiling.window_days == 90
    assert config.profiling.prior_wins == 2 and config.profiling.prior_trades == 4


def test_seeding_never_overwrites_an_edit(db: Database) -> None:
    repo = ConfigRepository(db)
    repo.save_section("scoring", ScoringConfig(threshold=0.75, high_conviction=0.9))
    assert seed_config(db) == []
    assert repo.load().scoring.threshold == 0.75


def test_invalid_config_edits_are_refused_and_name_the_section(db: Database) -> None:
    repo = ConfigRepository(db)
    with pytest.raises(ConfigurationError, match="scoring"):
        repo.save_section("scoring", {"weights": {"wallet": 0.9, "cluster": 0.25,
                                                  "token": 0.25, "context": 0.2}})
    assert repo.load().scoring.weights.wallet == 0.30
    with pytest.raises(ConfigurationError, match="unknown config section"):
        repo.save_section("nope", {})
    # A value broken behind our back (e.g. by hand in psql) is reported, not half-loaded.
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = %s WHERE key = 'risk'",
                     (Jsonb({"max_drawdown": 7}),))
    with pytest.raises(ConfigurationError, match=r"risk\.max_drawdown"):
        repo.load()


def test_0004_upgrades_a_populated_store_to_one_research_interval(db: Database) -> None:
    """A store of the old scheduler (one interval per job) loads after the migration, and the
    profile's score moves to raw_score."""
    sql_0004 = next(m for m in available_migrations() if m.version == 4).sql
    legacy = {"discover_tokens": 15, "refresh_tokens": 5, "discover_wallets": 60,
              "profile_wallets": 60, "build_clusters": 120, "sync_webhooks": 10}
    with db.connection() as conn:
        conn.execute("UPDATE config SET value = %s WHERE key = 'jobs'", (Jsonb(legacy),))
        conn.execute("ALTER TABLE wallets DROP COLUMN raw_score, DROP COLUMN lifecycle, "
                     "DROP COLUMN lifecycle_reason")
        conn.execute("DROP TABLE lifecycle_events")
        conn.execute("INSERT INTO wallets (address, first_seen_at, status, score) "
                     "VALUES (%s, now(), 'ok', 0.4)", (factories.WALLET,))
    WalletMetricsRepository(db).upsert(WalletMetrics(wallet=factories.WALLET, score=0.8))
    with db.connection() as conn:
        conn.execute(sql_0004)
    jobs = ConfigRepository(db).load().jobs
    assert (jobs.discover_tokens, jobs.refresh_tokens, jobs.research) == (15, 5, 1440)
    with db.connection() as conn:
        assert conn.execute("SELECT raw_score, score, lifecycle FROM wallets").fetchone() == (
            0.8, 0.4, "discovered")
