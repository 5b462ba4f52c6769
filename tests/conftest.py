"""Shared fixtures: where the real official data lie (../shared/data beside the checkout)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WANDEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real official files.

    Without it a test that needs it is skipped on a developer's machine, but fails in CI
    (``CI`` set): there the real data must be present, and a silent skip would hide a quarter of
    the suite.
    """
    if not SHARED_DATA.is_dir():
        missing("the real data folder", SHARED_DATA)
    return SHARED_DATA


def missing(what: str, where: object = "") -> None:
    """The one way a test gives up for want of something outside the checkout.

    On a developer's machine it skips; in CI (``CI`` set) it fails, since there everything a test
    needs is present (``.ci/run`` installs chromium, ``../shared`` lies beside the checkout).
    """
    at = f": {where}" if where else ""
    if os.environ.get("CI"):
        pytest.fail(f"CI: {what} is missing{at}")
    pytest.skip(f"{what} not available{at}")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


# Hypothesis: no deadlines (a loaded 2-core CI machine is slow, not wrong); in CI the examples are
# derandomized so that a run is reproducible, locally they explore anew each time
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
_hyp_settings.register_profile("dev", deadline=None)
_hyp_settings.load_profile("ci" if os.environ.get("CI") else "dev")

collect_ignore_glob = ["fixtures/*"]
"""The scripts that make the fixtures are not tests (several are called ``make_fixtures.py``)."""


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL on 127.0.0.1 for the session (tests/_postgres.py); each test asks it for
    a database of its own with ``postgres.database()``."""
    from _postgres import start

    yield from start(missing)
