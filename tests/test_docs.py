"""The architecture page: its diagram is the import graph of the code as it is now."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]


def _script() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "scripts" / "import_graph.py")))


def test_the_committed_diagram_is_current() -> None:
    script = _script()
    page = script.DOC.read_text(encoding="utf-8")
    assert script.render(page) == page, "run: python scripts/import_graph.py"


def test_the_diagram_shows_every_part_and_the_flow() -> None:
    script = _script()
    block = script.mermaid()
    for part in ("sources", "store", "regions", "demography", "services", "workflow", "cli"):
        assert f'["{part}"]' in block
    assert "workflow --> demography" in block
    assert "demography --> workflow" not in block  # nothing solid runs up the house
    # a changed page is noticed: an edge taken out makes the check fail
    page = script.DOC.read_text(encoding="utf-8")
    assert script.render(page.replace("  workflow --> store\n", "")) != page.replace(
        "  workflow --> store\n", ""
    )
