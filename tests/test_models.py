from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from tests import factories
from walltrack import errors
from walltrack import models as m
from walltrack.models.config import ScoringWeights


def test_swap_has_the_agreed_fields() -> None:
    assert set(m.Swap.model_fields) >= {
        "signature", "slot", "timestamp", "wallet", "mint", "side", "sol_amount",
        "token_amount", "source", "fee_sol"}


def test_timestamps_are_always_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    swap = factories.swap().model_copy(update={})
    swap = m.Swap.model_validate(
        {**swap.model_dump(), "timestamp": datetime(2026, 1, 1, 14, 0, tzinfo=plus_two)})
    assert swap.timestamp.utcoffset() == timedelta(0)
    assert swap.timestamp.hour == 12
    naive = m.Swap.model_validate({**swap.model_dump(), "timestamp": datetime(2026, 1, 1, 9)})
    assert naive.timestamp.tzinfo is not None and naive.timestamp.hour == 9


@pytest.mark.parametrize(
    ("field", "value"),
    [("sol_amount", -1.0), ("side", "hold"), ("wallet", "not-base58-0OIl"), ("slot", -5),
     ("fee_sol", -0.1)],
)
def test_swap_rejects_impossible_values(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        m.Swap.model_validate({**factories.swap().model_dump(), field: value})


def test_models_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        m.Wallet.model_validate({"address": factories.WALLET, "surprise": 1})


def test_scoring_weights_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match=r"sum to 1\.0"):
        ScoringWeights(wallet=0.5)


def test_risk_state_drawdown() -> None:
    state = m.RiskState(equity_sol=8.0, peak_equity_sol=10.0)
    assert state.drawdown == pytest.approx(0.2)


def test_error_hierarchy() -> None:
    for cls in (errors.ConfigurationError, errors.StoreError, errors.ExternalAPIError,
                errors.ValidationError, errors.RiskError, errors.ExecutionError):
        assert issubclass(cls, errors.WallTrackError)
    assert issubclass(errors.PayloadShapeError, errors.ValidationError)
    assert issubclass(errors.RateLimitedError, errors.ExternalAPIError)
    err = errors.PayloadShapeError("no accounts", signature="5abc")
    assert "5abc" in str(err)
    api = errors.ExternalAPIError("boom", api="helius", status=503, hint="wait")
    assert str(api) == "[helius] boom — wait"
    assert api.status == 503
