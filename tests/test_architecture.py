"""The house: data flow one way, read from the import graph of ``src/wandel``.

sources -> store -> regions/demography -> services/access/planning/compare -> reports -> workflow
-> cli/web. A module may import its own layer (without a cycle between packages) and every layer
below it, never one above. The foundation (errors, settings, tables, ages, i18n) is below everything;
``testing`` (shared assertions for users' checks) may use the model layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "wandel"

LAYERS: dict[str, int] = {
    "_catalogue": 0,
    "errors": 0,
    "settings": 0,
    "tables": 0,
    "ages": 0,
    "i18n": 0,
    "sources": 1,
    "store": 2,
    "regions": 3,
    "demography": 4,
    "services": 5,
    "access": 5,
    "planning": 5,
    "compare": 6,
    "reports": 7,
    "testing": 7,
    "workflow": 8,
    "cli": 9,
    "web": 9,
    "__init__": 0,
    "regions.ags": 0,
}
"""Floor of each part of the package (higher may import lower, never the reverse). A key is a
top-level part, or a module given its own floor: ``regions.ags`` (AGS/ARS keys) is foundation, since
every reader checks the keys it reads."""

KNOWN_UPWARD: set[str] = set()
"""Upward imports that exist today and are being removed; the list may only shrink."""


def _part(module: str) -> str:
    """The key of ``LAYERS`` a module belongs to (its own entry, else its top-level part)."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        key = ".".join(parts[1:n])
        if key in LAYERS:
            return key
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    names = list(rel.parts)
    if names[-1] == "__init__":
        names = names[:-1]
    return ".".join(names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``wandel`` modules it imports (at any depth of the file, also lazily)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("wandel"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "wandel":
                    deps.update(f"wandel.{a.name}" for a in node.names)
                elif node.module.startswith("wandel."):
                    deps.add(node.module)
        graph[name] = deps
    return graph


def test_every_part_has_a_floor() -> None:
    parts = {_part(m) for m in import_graph()}
    assert parts - set(LAYERS) == set(), "a new top-level part needs its floor in LAYERS"


def test_no_import_runs_up() -> None:
    upward = sorted(
        f"{m} -> {d}"
        for m, deps in import_graph().items()
        for d in deps
        if LAYERS[_part(d)] > LAYERS[_part(m)]
    )
    assert sorted(set(upward) - KNOWN_UPWARD) == []
    assert sorted(KNOWN_UPWARD - set(upward)) == [], "remove the fixed entries from KNOWN_UPWARD"


def test_parts_of_one_floor_do_not_import_each_other_in_a_circle() -> None:
    graph = import_graph()
    known = {tuple(e.split(" -> ")) for e in KNOWN_UPWARD}
    edges = {
        (_part(m), _part(d))
        for m, deps in graph.items()
        for d in deps
        if _part(m) != _part(d) and (m, d) not in known
    }
    circles = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert circles == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The graph reader finds a lazy import inside a function (the form most likely to slip in)."""
    code = "def f():\n    from wandel.workflow.demo import run_demo\n    return run_demo\n"
    tree = ast.parse(code)
    found = [
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module is not None
    ]
    assert found == ["wandel.workflow.demo"]
    assert LAYERS[_part(found[0])] > LAYERS["demography"]


@pytest.mark.parametrize("part", ["services", "compare"])
def test_model_layers_never_open_the_store(part: str) -> None:
    graph = import_graph()
    bad = sorted(
        f"{m} -> {d}"
        for m, deps in graph.items()
        if _part(m) == part
        for d in deps
        if _part(d) in {"store", "workflow", "cli", "web"}
    )
    assert bad == []
