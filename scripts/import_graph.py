"""Draw the import graph of Wandel's packages as a Mermaid diagram into docs/architecture.md.

The graph is read from the code by the same reader that checks the house
(``tests/test_architecture.py``: :func:`import_graph`, the floors in ``LAYERS``), so the picture and
the rule cannot drift apart. Each box is a part of the package, grouped by floor (lowest at the
bottom); an arrow ``a --> b`` means some module of ``a`` imports one of ``b``. Imports of the
foundation (floor 0) are left out: every part may use it, and drawing them would hide the rest.
A dotted arrow is an upward import listed in ``KNOWN_UPWARD`` (being removed).

Usage::

    python scripts/import_graph.py          # rewrite the diagram in docs/architecture.md
    python scripts/import_graph.py --check  # exit 1 if the committed diagram is out of date
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
START = "<!-- import-graph:start (scripts/import_graph.py writes this block) -->"
END = "<!-- import-graph:end -->"
FLOOR_NAMES = {
    0: "foundation",
    1: "readers",
    2: "store",
    3: "regions",
    4: "demography",
    5: "models",
    6: "comparison",
    7: "reports",
    8: "workflow",
    9: "interfaces",
}


def _architecture() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "wandel_architecture", ROOT / "tests" / "test_architecture.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _node(part: str) -> str:
    return part.replace(".", "_")


def mermaid() -> str:
    """The Mermaid block (with its fences) of the current code."""
    arch = _architecture()
    layers: dict[str, int] = arch.LAYERS
    graph: dict[str, set[str]] = arch.import_graph()
    known = {tuple(e.split(" -> ")) for e in arch.KNOWN_UPWARD}
    used = {arch._part(m) for m in graph}
    edges: dict[tuple[str, str], bool] = {}
    for module, deps in graph.items():
        for dep in deps:
            a, b = arch._part(module), arch._part(dep)
            if a == b or layers[b] == 0:
                continue
            upward = (module, dep) in known
            edges[(a, b)] = edges.get((a, b), False) or upward
    lines = ["```mermaid", "flowchart BT"]
    for floor in sorted({layers[p] for p in used}, reverse=True):
        parts = sorted(p for p in used if layers[p] == floor and p != "__init__")
        if not parts:
            continue
        lines.append(f'  subgraph floor{floor}["{floor} {FLOOR_NAMES.get(floor, "")}"]')
        lines += [f'    {_node(p)}["{p}"]' for p in parts]
        lines.append("  end")
    for (a, b), upward in sorted(edges.items()):
        lines.append(f"  {_node(a)} {'-.->' if upward else '-->'} {_node(b)}")
    lines.append("```")
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` (the page) with its diagram block replaced by the current one."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{mermaid()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{DOC}: the import graph is out of date; run python scripts/import_graph.py")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote the import graph into {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
