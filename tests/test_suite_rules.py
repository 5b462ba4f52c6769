"""Rules of the test suite itself: real data are never skipped silently in CI, and no test skips
by its own hand (only the ``shared_data`` fixture may, and only outside CI)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# a cheap test that reads a real file through the fixture
DATA_TEST = "tests/test_vg250.py::test_laender_mesh_reads_as_border_lines"
SKIPS = re.compile(r"pytest\.skip\(|importorskip\(|mark\.skip|skipif\(|pytest\.xfail\(")


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "WANDEL_SHARED_DATA")}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
    return subprocess.run(
        [*args, DATA_TEST],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("ci", "rc", "said"),
    [("true", 1, "CI: the real data folder is missing"), ("", 0, "1 skipped")],
)
def test_missing_real_data_fails_in_ci_and_skips_elsewhere(
    tmp_path: Path, ci: str, rc: int, said: str
) -> None:
    env = {"WANDEL_SHARED_DATA": str(tmp_path / "nowhere")}
    if ci:
        env["CI"] = ci
    res = _pytest(env)
    assert res.returncode == rc, res.stdout[-2000:]
    assert said in res.stdout


def test_no_test_skips_by_its_own_hand() -> None:
    """A skip outside ``conftest.shared_data`` would hide a test in CI, so none is allowed."""
    found = []
    for path in sorted(TESTS.glob("*.py")):
        if path.name in ("conftest.py", Path(__file__).name):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SKIPS.search(line) and "fmt: skip" not in line:
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert found == []


def test_real_data_come_through_the_fixture() -> None:
    """No test finds ``shared/data`` by itself (it would skip or pass without the fixture's rule)."""
    found = []
    for path in sorted(TESTS.glob("*.py")):
        if path.name in ("conftest.py", Path(__file__).name):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["']shared["']|["'][^"'\n]*shared/data""", text):
            found.append(path.name)
    assert found == []
