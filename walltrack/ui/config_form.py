"""Forms of the config notebook, generated from the pydantic models of ``DynamicConfig``.

``field_specs`` walks a section's model (nested models flattened to dotted keys such as
``weights.wallet``) and says which editor each field gets: a number for ints and floats
(bounds from ``ge``/``le``/``gt``/``lt`` shown in the label, not clamped in the browser, so
a wrong value is *refused with its reason* instead of silently clamped), a checkbox for
bools, a dropdown for enums, a comma-separated text for lists, JSON for dicts.

``validate_values`` turns the editors' values back into the section's model with the very
model the package validates with; its errors are keyed by the field they belong to.
``save_values`` saves a section only when every field is valid (nothing otherwise).
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from walltrack.errors import ConfigurationError
from walltrack.logging import get_logger
from walltrack.models.base import DomainModel
from walltrack.models.config import DynamicConfig
from walltrack.store import Database
from walltrack.store.repositories import ConfigRepository

log = get_logger(__name__)

Editor = Literal["number", "checkbox", "dropdown", "list", "json", "text"]

# Fields another panel of the notebook owns: the mode only moves behind its confirmation
# (walltrack.trading.mode_switch), the strategies through the exit-strategy editor.
OWNED_ELSEWHERE: Mapping[str, frozenset[str]] = {
    "execution": frozenset({"mode", "default_strategy"}),
    "exits": frozenset({"strategies", "wallet_strategies"}),
}

SECTION_ERROR = ""  # the key of an error that belongs to the whole section


class FieldSpec(DomainModel):
    """One editable leaf of a section."""

    key: str  # dotted path inside the section ("weights.wallet")
    editor: Editor
    integer: bool = False
    optional: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    options: list[str] = Field(default_factory=list)  # a dropdown's choices

    @property
    def label(self) -> str:
        """The field name, then its bounds (and "empty = off" for an optional one)."""
        bounds = [f"≥ {_num(self.ge)}" if self.ge is not None else None,
                  f"> {_num(self.gt)}" if self.gt is not None else None,
                  f"≤ {_num(self.le)}" if self.le is not None else None,
                  f"< {_num(self.lt)}" if self.lt is not None else None]
        extra = ", ".join(b for b in bounds if b)
        if self.editor == "list":
            extra = ", ".join(x for x in (extra, "comma separated") if x)
        if self.editor == "json":
            extra = "JSON"
        if self.optional:
            extra = ", ".join(x for x in (extra, "empty = off") if x)
        return f"{self.key} ({extra})" if extra else self.key


class SaveOutcome(DomainModel):
    """What a Save did: saved, or the errors by field key (``""``: the whole section)."""

    section: str
    saved: bool
    errors: dict[str, list[str]] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)  # what was submitted, by field key

    @property
    def message(self) -> str:
        if self.saved:
            return f"Saved {self.section}"
        count = sum(len(v) for v in self.errors.values())
        return f"Not saved: {self.section} has {count} invalid value(s); nothing was written"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(the bare type, its constraint metadata, optional?) of an annotation."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(getattr(item, "metadata", [item]))
            annotation = base
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, optional
            annotation = args[0]
        else:
            return annotation, metadata, optional


def _spec(key: str, annotation: Any, metadata: list[Any]) -> FieldSpec:
    bare, inner, optional = _unwrap(annotation)
    bounds: dict[str, float] = {}
    for item in [*metadata, *inner]:
        for name, kind in (("ge", at.Ge), ("gt", at.Gt), ("le", at.Le), ("lt", at.Lt)):
            if isinstance(item, kind):
                bounds[name] = float(getattr(item, name))
    origin = get_origin(bare)
    if bare is bool:
        return FieldSpec(key=key, editor="checkbox", optional=optional)
    if isinstance(bare, type) and issubclass(bare, Enum):
        return FieldSpec(key=key, editor="dropdown", optional=optional,
                         options=[str(e.value) for e in bare])
    if bare in (int, float):
        return FieldSpec(key=key, editor="number", integer=bare is int, optional=optional,
                         **bounds)
    if origin in (list, tuple, set, frozenset):
        return FieldSpec(key=key, editor="list", optional=optional)
    if origin is dict or bare is dict:
        return FieldSpec(key=key, editor="json", optional=optional)
    return FieldSpec(key=key, editor="text", optional=optional)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    bare, _, optional = _unwrap(annotation)
    if not optional and isinstance(bare, type) and issubclass(bare, BaseModel):
        return bare
    return None


def section_model(section: str) -> type[BaseModel]:
    field = DynamicConfig.model_fields.get(section)
    model = _model_of(field.annotation) if field is not None else None
    if model is None:
        raise ConfigurationError(f"unknown config section {section!r}",
                                 hint=f"use one of {DynamicConfig.section_names()}")
    return model


def field_specs(model: type[BaseModel], prefix: str = "", *,
                skip: frozenset[str] = frozenset()) -> list[FieldSpec]:
    """Every editable leaf of ``model`` in declaration order (nested models flattened)."""
    specs: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        nested = _model_of(info.annotation)
        if nested is not None:
            specs.extend(field_specs(nested, f"{key}."))
        else:
            specs.append(_spec(key, info.annotation, list(info.metadata)))
    return specs


def section_specs(section: str) -> list[FieldSpec]:
    return field_specs(section_model(section), skip=OWNED_ELSEWHERE.get(section, frozenset()))


def groups_of(specs: list[FieldSpec]) -> list[str]:
    """The nested-model keys of a section ("weights"), where a group error is shown."""
    return sorted({s.key.rsplit(".", 1)[0] for s in specs if "." in s.key})


# -- model values <-> editor values ---------------------------------------------------------


def _get(data: Mapping[str, Any], key: str) -> Any:
    value: Any = data
    for part in key.split("."):
        value = value[part]
    return value


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def editor_values(section: str, value: BaseModel) -> dict[str, Any]:
    """What each editor shows for a stored section (lists comma separated, dicts as JSON)."""
    data = value.model_dump(mode="json")
    out: dict[str, Any] = {}
    for spec in section_specs(section):
        raw = _get(data, spec.key)
        if spec.editor == "list":
            out[spec.key] = ", ".join(str(v) for v in raw or [])
        elif spec.editor == "json":
            out[spec.key] = json.dumps(raw, indent=1)
        elif spec.editor == "text":
            out[spec.key] = "" if raw is None else str(raw)
        else:
            out[spec.key] = raw
    return out


def _parse(spec: FieldSpec, raw: Any) -> Any:
    """An editor's value as the model wants it (pydantic does the validating)."""
    if spec.editor == "list":
        text = "" if raw is None else str(raw)
        parts = [p.strip() for p in text.replace("\n", ",").split(",")]
        return [p for p in parts if p]
    if spec.editor == "json":
        try:
            return json.loads(raw) if str(raw or "").strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno}") from None
    if spec.editor == "text" and spec.optional and not str(raw or "").strip():
        return None
    return raw


def _error_key(loc: tuple[Any, ...], known: set[str]) -> str:
    parts = [str(p) for p in loc]
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return SECTION_ERROR


def validate_values(section: str, values: Mapping[str, Any],
                    current: BaseModel | None = None) -> tuple[BaseModel | None,
                                                               dict[str, list[str]]]:
    """(the section's model, {}) — or (None, the errors by field key).

    Fields not in ``values`` (owned by another panel) keep their ``current`` value.
    """
    model = section_model(section)
    specs = section_specs(section)
    data = (current or model()).model_dump(mode="json")
    errors: dict[str, list[str]] = {}
    for spec in specs:
        if spec.key not in values:
            continue
        try:
            _set(data, spec.key, _parse(spec, values[spec.key]))
        except ValueError as exc:
            errors.setdefault(spec.key, []).append(str(exc))
    unknown = sorted(set(values) - {s.key for s in specs})
    if unknown:
        errors.setdefault(SECTION_ERROR, []).append(
            f"{', '.join(unknown)} cannot be edited here")
    if errors:
        return None, errors
    try:
        return model.model_validate(data), {}
    except PydanticValidationError as exc:
        known = {s.key for s in specs} | set(groups_of(specs))
        for e in exc.errors():
            errors.setdefault(_error_key(tuple(e["loc"]), known), []).append(e["msg"])
        return None, errors


def save_values(db: Database, section: str, values: Mapping[str, Any]) -> SaveOutcome:
    """Validate the edited fields of ``section`` over its stored value and save the section
    when every one is valid; otherwise write nothing and say what is wrong, by field."""
    section_model(section)  # an unknown section is a ConfigurationError before any read
    repo = ConfigRepository(db)
    current = getattr(repo.load(), section)
    model, errors = validate_values(section, values, current)
    if model is None:
        log.info("config_section_refused", section=section, fields=sorted(errors))
        return SaveOutcome(section=section, saved=False, errors=errors, values=dict(values))
    try:
        repo.save_section(section, model)
    except ConfigurationError as exc:  # the whole config refused it (a cross-section rule)
        return SaveOutcome(section=section, saved=False, errors={SECTION_ERROR: [str(exc)]},
                           values=dict(values))
    log.info("config_section_saved", section=section)
    return SaveOutcome(section=section, saved=True)


# -- marimo elements --------------------------------------------------------------------------
#
# One flat ``mo.ui.dictionary`` holds every editor, keyed "section:field". The cell that
# creates it also lays it out, so editing a field re-runs nothing; a Save re-creates the
# editors, a refused section's from the values the operator typed (kept in its outcome).


def editor_key(section: str, key: str) -> str:
    return f"{section}:{key}"


def values_of(values: Mapping[str, Any], section: str) -> dict[str, Any]:
    """One section's values out of the flat dictionary's value."""
    prefix = f"{section}:"
    return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}


def element_for(spec: FieldSpec, value: Any) -> Any:
    """The marimo editor of one field, showing ``value``."""
    import marimo as mo

    label = spec.label
    if spec.editor == "checkbox":
        return mo.ui.checkbox(value=bool(value), label=label)
    if spec.editor == "dropdown":
        return mo.ui.dropdown(options=spec.options, value=str(value), label=label)
    if spec.editor == "number":
        return mo.ui.number(value=value, step=1 if spec.integer else None, label=label)
    if spec.editor == "json":
        return mo.ui.text_area(value=str(value), label=label, rows=4, full_width=True)
    return mo.ui.text(value=str(value or ""), label=label, full_width=spec.editor == "list")


def section_editors(section: str, value: BaseModel,
                    outcome: SaveOutcome | None = None) -> dict[str, Any]:
    """One editor per field of the section (keyed "section:field"), showing the stored
    value — or, after a refused Save, what the operator had typed."""
    shown = editor_values(section, value)
    if outcome is not None and not outcome.saved:
        shown.update({k: v for k, v in outcome.values.items() if k in shown})
    return {editor_key(section, spec.key): element_for(spec, shown[spec.key])
            for spec in section_specs(section)}


def all_editors(config: DynamicConfig, outcomes: Mapping[str, SaveOutcome]) -> dict[str, Any]:
    editors: dict[str, Any] = {}
    for section in DynamicConfig.section_names():
        editors.update(section_editors(section, getattr(config, section),
                                       outcomes.get(section)))
    return editors


def render_section(section: str, editors: Any, save_button: Any,
                   outcome: SaveOutcome | None) -> Any:
    """The section's editors, each with its error beside it, the Save button and the
    outcome of the last Save."""
    import marimo as mo

    errors = outcome.errors if outcome is not None and not outcome.saved else {}

    def beside(key: str, item: Any) -> Any:
        found = errors.get(key)
        if not found:
            return item
        text = "; ".join(found)
        return mo.hstack([item, mo.callout(mo.md(f"**{key}**: {text}"), kind="danger")],
                         justify="start", align="center", gap=1)

    rows: list[Any] = [mo.md(f"#### {section}")]
    if errors.get(SECTION_ERROR):
        rows.append(mo.callout(mo.md(f"**{section}**: " + "; ".join(errors[SECTION_ERROR])),
                               kind="danger"))
    specs = section_specs(section)
    group_errors = {g for g in groups_of(specs) if g in errors}
    shown_groups: set[str] = set()
    for spec in specs:
        group = spec.key.rsplit(".", 1)[0] if "." in spec.key else None
        if group in group_errors and group not in shown_groups:
            rows.append(beside(group, mo.md(f"*{group}*")))
            shown_groups.add(group)
        rows.append(beside(spec.key, editors[editor_key(section, spec.key)]))
    footer: list[Any] = [save_button]
    if outcome is not None:
        footer.append(mo.callout(mo.md(outcome.message),
                                 kind="success" if outcome.saved else "danger"))
    rows.append(mo.hstack(footer, justify="start", align="center"))
    return mo.vstack(rows, gap=0.5)
