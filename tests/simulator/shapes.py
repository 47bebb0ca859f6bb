"""A small generic shape comparison: field names, JSON types and nesting."""

from __future__ import annotations

from typing import Any


def _kind(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int | float):
        return "number"
    if isinstance(x, str):
        return "string"
    if isinstance(x, list):
        return "array"
    return "object"


def mismatches(
    served: Any, real: Any, path: str = "$", extra_ok: frozenset[str] = frozenset()
) -> list[str]:
    """Differences between ``served`` and the real payload ``real``.

    Objects: every key of the real object must be served with the same shape, and no key
    the real object lacks may be served (unless named in ``extra_ok``). Arrays: each served
    element is compared with the union of the real elements (keys missing from some real
    elements are optional). ``null`` on either side matches anything (optional values).
    """
    if served is None or real is None:
        return []
    ks, kr = _kind(served), _kind(real)
    if ks != kr:
        return [f"{path}: served {ks}, real {kr}"]
    out: list[str] = []
    if kr == "object":
        out += [f"{path}.{key}: missing" for key in real if key not in served]  # required keys
        for key, value in served.items():
            if key in real:
                out += mismatches(value, dict.__getitem__(real, key), f"{path}.{key}", extra_ok)
            elif key not in extra_ok:
                out.append(f"{path}.{key}: not in the real payload")
    elif kr == "array" and served and real and len({_kind(i) for i in real}) > 1:
        # A tuple such as InstructionError [2, {"Custom": 30}]: compare position by position.
        if len(served) != len(real):
            return [f"{path}: served {len(served)} items, real tuple of {len(real)}"]
        for i, (a, b) in enumerate(zip(served, real, strict=True)):
            out += mismatches(a, b, f"{path}[{i}]", extra_ok)
    elif kr == "array" and served and real:
        model = _union(real)
        for i, item in enumerate(served):
            out += mismatches(item, model, f"{path}[{i}]", extra_ok)
    return out


def _union(items: list[Any]) -> Any:
    """One element standing for all of ``items`` (objects merged key by key)."""
    objects = [i for i in items if isinstance(i, dict)]
    if len(objects) != len(items):
        return next((i for i in items if i is not None), None)
    merged: dict[str, Any] = {}
    for obj in objects:
        for key, value in obj.items():
            if key not in merged or merged[key] is None:
                merged[key] = value
            elif isinstance(value, dict) and isinstance(merged[key], dict):
                merged[key] = _union([merged[key], value])
            elif isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = merged[key] + value
    # Keys absent from some elements are optional: served items may omit them.
    return _Optional(merged, {k for k in merged if any(k not in o for o in objects)})


class _Optional(dict):  # type: ignore[type-arg]
    def __init__(self, data: dict[str, Any], optional: set[str]) -> None:
        super().__init__(data)
        self.optional = optional

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter([k for k in self.keys() if k not in self.optional])

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key)
