"""Mutated enhanced transactions → a list of swaps or the typed error, nothing else; and
``parse_swaps`` agrees with ``to_swaps`` (a reason exactly when there is no swap)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walltrack.clients.helius import DropReason, parse_swaps, to_swaps
from walltrack.errors import PayloadShapeError
from walltrack.models import Swap

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEEDS: list[dict[str, Any]] = []
PATHS = [*FIXTURES.glob("real/helius_*/*.json"), *FIXTURES.glob("shaped/helius/*.json")]
for path in sorted(PATHS):
    data = json.loads(path.read_text())
    SEEDS.extend(item for item in (data if isinstance(data, list) else [data])
                 if isinstance(item, dict))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


@st.composite
def mutated_transactions(draw: st.DrawFn) -> Any:
    tx = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(tx)
        path = draw(st.sampled_from(paths))
        if not path:
            tx = draw(json_values) if draw(st.booleans()) else tx
            continue
        parent = tx
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "swap_sign", "stringify"]))
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "swap_sign" and isinstance(parent[last], int | float) and not isinstance(
            parent[last], bool
        ):
            parent[last] = -parent[last]
        elif action == "stringify":
            parent[last] = str(parent[last])
        else:
            parent[last] = draw(json_values)
    return tx


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_transactions())
def test_mutations_give_swaps_or_the_typed_error(tx: Any) -> None:
    parsed = parse_swaps(tx)
    try:
        result = to_swaps(tx)
    except PayloadShapeError as exc:
        assert exc.message
        assert parsed.dropped is DropReason.unreadable and parsed.error
        return
    assert isinstance(result, list)
    for swap in result:
        assert isinstance(swap, Swap)
        assert swap.sol_amount >= 0 and swap.token_amount >= 0
    assert parsed.swaps == result
    assert (parsed.dropped is None) == bool(result)
