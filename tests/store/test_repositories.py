from __future__ import annotations

import polars as pl
import pytest

from tests import factories
from walltrack import models as m
from walltrack.store import Database
from walltrack.store.repositories import (
    ENTITY_REPOSITORIES,
    FundingTransferRepository,
    SwapRepository,
    WalletRepository,
)


def _repo_for(db: Database, item: object):
    for repo in ENTITY_REPOSITORIES:
        if type(item) is repo.model:
            return repo(db)
    raise AssertionError(f"no repository for {type(item).__name__}")


def test_every_entity_has_a_repository_and_round_trips(db: Database) -> None:
    items = factories.every_entity()
    assert {type(i) for i in items} == {r.model for r in ENTITY_REPOSITORIES}
    for item in items:
        repo = _repo_for(db, item)
        repo.upsert(item)
        key = [getattr(item, k) for k in repo.key]
        loaded = repo.get(*key)
        assert loaded is not None, type(item).__name__
        expected = item.model_dump()
        got = loaded.model_dump()
        # updated_at is maintained by the database (trigger/default), not by the caller.
        for field in ("updated_at",):
            expected.pop(field, None)
            got.pop(field, None)
        assert got == expected, type(item).__name__


def test_upsert_updates_and_keeps_one_row(db: Database) -> None:
    repo = WalletRepository(db)
    wallet = m.Wallet(address=factories.WALLET, score=0.4)
    repo.upsert(wallet)
    repo.upsert(wallet.model_copy(update={"score": 0.9, "status": m.DecayStatus.dormant}))
    assert repo.count() == 1
    loaded = repo.get(factories.WALLET)
    assert loaded is not None
    assert loaded.score == 0.9
    assert loaded.status is m.DecayStatus.dormant


def test_updated_at_is_maintained_by_the_store(db: Database) -> None:
    repo = WalletRepository(db)
    repo.upsert(m.Wallet(address=factories.WALLET))
    first = repo.get(factories.WALLET)
    repo.upsert(first.model_copy(update={"label": "x"}))
    second = repo.get(factories.WALLET)
    assert second.updated_at > first.updated_at


def test_swaps_bulk_copy_is_idempotent_and_reads_back_as_polars(db: Database) -> None:
    repo = SwapRepository(db)
    swaps = [factories.swap(i) for i in range(500)]
    assert repo.copy_models(swaps) == 500
    # The same rows again (a re-run import) are skipped, not duplicated.
    assert repo.copy_models(swaps[:100]) == 0
    assert repo.count() == 500
    frame = repo.frame()
    assert frame.height == 500
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    first = frame.sort("slot").row(0, named=True)
    assert first["timestamp"] == swaps[0].timestamp
    assert first["sol_amount"] == pytest.approx(swaps[0].sol_amount)
    assert first["side"] == "buy"
    later = repo.frame_since(swaps[450].timestamp)
    assert later.height == 50


def test_swaps_copy_frame_from_polars(db: Database) -> None:
    repo = SwapRepository(db)
    frame = pl.DataFrame([s.model_dump(mode="python") for s in
                          (factories.swap(i, side=m.SwapSide.sell) for i in range(10))])
    frame = frame.with_columns(pl.col("side").cast(pl.String))
    assert repo.copy_frame(frame) == 10
    assert repo.frame()["side"].unique().to_list() == ["sell"]


def test_copy_frame_names_missing_columns(db: Database) -> None:
    with pytest.raises(ValueError, match="lacks column"):
        SwapRepository(db).copy_frame(pl.DataFrame({"signature": ["x"]}))


def test_funding_transfers_bulk(db: Database) -> None:
    repo = FundingTransferRepository(db)
    items = [
        m.FundingTransfer(signature=factories.signature(f"f{i}"), slot=i,
                          timestamp=factories.T0, source=factories.OTHER,
                          destination=factories.address(f"d{i}"), sol_amount=1.0 + i)
        for i in range(50)
    ]
    assert repo.copy_models(items) == 50
    assert repo.copy_models(items) == 0
    assert repo.frame()["sol_amount"].sum() == pytest.approx(sum(1.0 + i for i in range(50)))


def test_one_signal_can_never_open_two_positions(db: Database) -> None:
    from walltrack.store.repositories import PositionRepository

    repo = PositionRepository(db)
    first = m.Position(signal_id="sig-x", mint=factories.MINT, size_sol=0.1)
    second = m.Position(signal_id="sig-x", mint=factories.MINT, size_sol=0.1)
    repo.upsert(first)
    import psycopg

    with pytest.raises(psycopg.errors.UniqueViolation):
        repo.upsert(second)
    assert repo.count() == 1
