"""schemathesis against the web app's OpenAPI schema (in process, over ASGI): generated requests
to every operation, as the public and as a logged-in admin (with the session's CSRF token), and
not one answer is a server error (5xx). Kept short: a few examples per operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from _compare_store import compare_db
from wandel.store.state import DuckState
from wandel.web import Reader, create_app
from wandel.workflow import drafts
from wandel.workflow.town import Levers, TownWorkbench
from wandel.workflow.users import UserAdmin

PASSWORD = "ein-langes-passwort"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = compare_db(tmp_path_factory)
    state = DuckState(":memory:")
    UserAdmin(state).add("admin", "admin", [], PASSWORD)
    drafts.save_draft(state, "cli", "15087220", "Entwurf", Levers(20, 10))
    app = create_app(db, Reader(TownWorkbench(db), state, cache=64))
    c = TestClient(app)
    token = c.get("/api/anmelden").json()["csrf"]
    r = c.post(
        "/api/anmelden",
        json={"name": "admin", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    admin = {
        "Cookie": f"wandel_session={r.cookies['wandel_session']}",
        "X-CSRF-Token": r.json()["csrf"],
    }
    return {"app": app, "admin": admin}


@pytest.fixture(scope="module")
def web_schema(web: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", web["app"])


def test_no_server_error(web_schema: Any, web: dict[str, Any]) -> None:
    """Every operation with generated paths, queries and bodies, as the public and as an admin
    (the pytest plugin of schemathesis does not run on this pytest, so the cases are drawn here
    from the same strategies)."""
    errors: list[tuple[str, int]] = []
    statuses: set[int] = set()
    seen = 0
    for found in web_schema.get_all_operations():
        op = found.ok()

        @settings(
            max_examples=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            for headers in (None, web["admin"]):
                response = case.call(headers=headers)
                statuses.add(response.status_code)
                if response.status_code >= 500:
                    errors.append((f"{case.method} {case.formatted_path}", response.status_code))
                case.validate_response(response, checks=[not_a_server_error])

        run()
        seen += 1
    assert seen >= 20
    assert errors == []
    assert {200, 404} <= statuses  # the cases reached real answers, not only refusals
    assert statuses & {401, 403}  # and the public met the doors


def test_the_schema_names_every_route(web: dict[str, Any]) -> None:
    spec = TestClient(web["app"]).get("/openapi.json").json()
    paths = set(spec["paths"])
    assert "/api/kommune/{ags}" in paths
    assert "/api/kommune/{ags}/entwuerfe/{id}/veroeffentlichen" in paths
    assert len(paths) >= 20
