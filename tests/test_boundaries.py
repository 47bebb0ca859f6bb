"""The layout's import rules (DESIGN.md section 2), checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "walltrack"
# The lab measures WallTrack against the simulator; nothing in production may import either.
MEASURING = ("walltrack.simulator", "walltrack.lab")
PRODUCTION = [p for p in PACKAGE.rglob("*.py")
              if p.relative_to(PACKAGE).parts[0] not in ("simulator", "lab")]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
    return found


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_production_code_never_imports_the_simulator_or_the_lab(path: Path) -> None:
    bad = [m for m, top in _imports(path) if m.startswith(MEASURING)]
    if path.name == "cli.py":
        # `python -m walltrack run` is the lab's demo: loaded inside that command only.
        bad = [m for m, top in _imports(path) if m.startswith(MEASURING) and top]
    assert not bad, f"{path.name} imports {bad}"


def test_intel_reads_parsed_models_never_raw_payloads() -> None:
    for path in (PACKAGE / "intel").glob("*.py"):
        raw = [n for n in ast.walk(ast.parse(path.read_text()))
               if isinstance(n, ast.Attribute) and n.attr == "raw"]
        assert not raw, f"{path.name} reads a raw payload (line {raw[0].lineno})"


def test_no_module_holds_state_in_a_global_statement() -> None:
    offenders = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")
                 if any(isinstance(n, ast.Global) for n in ast.walk(ast.parse(p.read_text())))]
    assert not offenders, offenders
