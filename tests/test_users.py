"""Users, roles and logins without the web: the permission rule against a table written out by
hand, the application state (DuckDB file, one transaction per change, schema version), Argon2id
hashes, lockout, sessions, and ``wandel users``."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import LoginError, StoreError, UserError
from wandel.store import Store
from wandel.store.state import STATE_SCHEMA_VERSION, AppState, Audit, DuckState, User
from wandel.workflow import drafts
from wandel.workflow.town import Levers
from wandel.workflow.users import (
    ACTIONS,
    CLIENT_MAX_FAILURES,
    MAX_FAILURES,
    SESSION_HOURS,
    WINDOW,
    UserAdmin,
    allowed,
    end_session,
    login,
    session_user,
    verify_password,
)

runner = CliRunner()
PASSWORD = "ein-langes-passwort"
T0 = dt.datetime(2026, 3, 1, 9, 0)

# role, zones -> the actions allowed on Hettstedt (15087220), on Eisleben (15087130, same Kreis)
# and on Dresden (14612000), written out by hand (the oracle of allowed)
EXPECTED = {
    ("public", ()): ({"read"}, {"read"}, {"read"}),
    ("viewer", ("15087220",)): ({"read", "read_draft"}, {"read"}, {"read"}),
    ("viewer", ("15087",)): ({"read", "read_draft"}, {"read", "read_draft"}, {"read"}),
    ("planner", ("15087220",)): (
        {"read", "read_draft", "write", "publish"},
        {"read"},
        {"read"},
    ),
    ("planner", ("15",)): (
        {"read", "read_draft", "write", "publish"},
        {"read", "read_draft", "write", "publish"},
        {"read"},
    ),
    ("admin", ()): (set(ACTIONS), set(ACTIONS), set(ACTIONS)),
}
ZONES = ("15087220", "15087130", "14612000")


@pytest.mark.parametrize(("who", "expected"), EXPECTED.items())
def test_allowed_matches_the_table(who: tuple[str, tuple[str, ...]], expected: tuple) -> None:
    role, zones = who
    for zone, want in zip(ZONES, expected, strict=True):
        got = {a for a in ACTIONS if allowed(role, zones, a, zone)}
        assert got == want, (role, zones, zone)
    # the whole store (search, sources): reading for everyone, the audit log for admins only
    assert allowed(role, zones, "read", None)
    assert allowed(role, zones, "admin", None) == (role == "admin")
    assert not any(
        allowed(role, zones, a, None) for a in ("read_draft", "write") if role != "admin"
    )


def test_a_zone_prefix_is_not_a_number_prefix() -> None:
    """``150`` is no AGS (3 digits is a Regierungsbezirk key such as 091): a planner of 15087
    does not cover 150870 look-alikes of another length or the Kreis 15088."""
    assert not allowed("planner", ("15087",), "write", "15088020")
    assert not allowed("planner", ("15087220",), "write", "15087")  # not the Kreis above her


@pytest.fixture(params=["duckdb", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> AppState:
    """The same tests on both implementations of the application state (a real PostgreSQL)."""
    if request.param == "duckdb":
        return DuckState(tmp_path / "state.duckdb", keep_open=0)
    from wandel.store.pg_state import PgState

    return PgState(request.getfixturevalue("postgres").database())


def test_users_are_hashed_with_argon2id_and_every_change_is_audited(state: AppState) -> None:
    admin = UserAdmin(state, actor="cli")
    anna = admin.add("anna", "planner", ["15087220", "15087220"], PASSWORD)
    assert anna.zones == ("15087220",)
    assert anna.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in anna.password_hash
    assert verify_password(anna.password_hash, PASSWORD)
    assert not verify_password(anna.password_hash, PASSWORD + "x")
    admin.set_role("anna", "viewer")
    admin.set_zones("anna", ["15087"])
    admin.disable("anna")
    admin.passwd("anna", PASSWORD + "-neu")
    log = list(reversed(state.audit()))
    assert [a.action for a in log] == [
        "user.add",
        "user.set_role",
        "user.set_zones",
        "user.disable",
        "user.passwd",
    ]
    assert log[0].before is None
    assert log[0].after == {
        "name": "anna",
        "role": "planner",
        "zones": ["15087220"],
        "disabled": False,
    }
    assert (log[1].before or {})["role"] == "planner"
    assert (log[1].after or {})["role"] == "viewer"
    assert (log[2].after or {})["zones"] == ["15087"]
    assert all("hash" not in str(a.before) + str(a.after) for a in log)
    assert all(a.actor == "cli" for a in log)
    final = state.user("anna")
    assert final is not None
    assert final.disabled
    assert verify_password(final.password_hash, PASSWORD + "-neu")


@pytest.mark.parametrize(
    ("name", "role", "zones", "password", "key"),
    [
        ("Anna", "planner", [], PASSWORD, "@error.user.bad_name"),
        ("anna", "boss", [], PASSWORD, "@error.user.bad_role"),
        ("anna", "planner", ["1508"], PASSWORD, "@error.user.bad_zone"),
        ("anna", "planner", ["15087"], "kurz", "@error.user.short_password"),
        ("anna", "planner", ["99999"], PASSWORD, "@error.user.unknown_zone"),
    ],
)
def test_bad_users_are_refused_and_nothing_is_written(
    state: AppState, name: str, role: str, zones: list[str], password: str, key: str
) -> None:
    admin = UserAdmin(state, known_zones={"15087", "15087220"})
    with pytest.raises(UserError) as err:
        admin.add(name, role, zones, password)
    assert err.value.text == key
    assert state.users() == []
    assert state.audit() == []


def test_a_change_and_its_audit_entry_are_one_transaction(state: AppState) -> None:
    user = User("anna", "planner", ("15087",), "h", T0)
    bad = Audit(T0, "cli", "user.add", "user:anna", before={"x": object()})  # not JSON-able
    with pytest.raises(TypeError):
        state.save_user(user, bad)
    assert state.users() == []
    assert state.audit() == []


def test_the_state_refuses_an_unknown_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    assert DuckState(path, keep_open=0).schema_version() == STATE_SCHEMA_VERSION
    con = duckdb.connect(str(path))
    con.execute("UPDATE state_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="99"):
        DuckState(path, keep_open=0)


def test_login_lockout_and_sessions(state: AppState) -> None:
    UserAdmin(state).add("anna", "planner", ["15087220"], PASSWORD)
    done = login(state, "anna", PASSWORD, "10.0.0.1", T0)
    assert state.session(done.session.token_sha256) is not None
    assert done.token not in str(state.session(done.session.token_sha256))  # only its SHA-256
    found = session_user(state, done.token, T0 + dt.timedelta(hours=1))
    assert found is not None
    assert found[0].name == "anna"
    # the session ends after SESSION_HOURS
    assert session_user(state, done.token, T0 + dt.timedelta(hours=SESSION_HOURS)) is None
    # wrong passwords: the same refusal as for an unknown name, then the lock
    for i in range(MAX_FAILURES):
        with pytest.raises(LoginError) as err:
            login(state, "anna", "falsch", "10.0.0.2", T0 + dt.timedelta(seconds=i))
        assert not err.value.locked
    with pytest.raises(LoginError) as unknown:
        login(state, "niemand", "falsch", "10.0.0.2", T0)
    assert unknown.value.text == "@error.login.failed"
    with pytest.raises(LoginError) as locked:  # even the right password, from another address
        login(state, "anna", PASSWORD, "10.0.0.3", T0 + dt.timedelta(minutes=1))
    assert locked.value.locked
    # after the window the right password works again and clears the failures
    later = T0 + WINDOW + dt.timedelta(minutes=1)
    assert login(state, "anna", PASSWORD, "10.0.0.3", later).user.name == "anna"
    assert state.failures_since("user:anna", T0) == []


def test_one_address_may_fail_only_so_often(state: AppState) -> None:
    UserAdmin(state).add("anna", "planner", ["15087220"], PASSWORD)
    names = (f"u{i}" for i in itertools.count())
    for _ in range(CLIENT_MAX_FAILURES):
        with pytest.raises(LoginError):
            login(state, next(names), "falsch", "10.9.9.9", T0)
    with pytest.raises(LoginError) as err:
        login(state, "anna", PASSWORD, "10.9.9.9", T0)
    assert err.value.locked
    assert login(state, "anna", PASSWORD, "10.9.9.8", T0).user.name == "anna"


def test_disable_and_passwd_end_the_logins(state: AppState) -> None:
    admin = UserAdmin(state)
    admin.add("anna", "planner", ["15087220"], PASSWORD)
    first = login(state, "anna", PASSWORD, "a", T0)
    admin.passwd("anna", PASSWORD + "2")
    assert session_user(state, first.token, T0) is None
    second = login(state, "anna", PASSWORD + "2", "a", T0)
    admin.disable("anna")
    assert session_user(state, second.token, T0) is None
    with pytest.raises(LoginError):
        login(state, "anna", PASSWORD + "2", "a", T0)
    admin.disable("anna", disabled=False)
    third = login(state, "anna", PASSWORD + "2", "a", T0)
    end_session(state, third.token, T0)
    assert session_user(state, third.token, T0) is None
    actions = [a.action for a in reversed(state.audit())]
    assert actions.count("login") == 3
    assert "login.failed" in actions
    assert actions[-1] == "logout"


def test_saved_scenarios_keep_their_history(state: AppState) -> None:
    s = drafts.save_draft(state, "anna", "15087220", "  Mehr   Zuzug ", Levers(50, 10, 1.6), T0)
    assert (s.id, s.title, s.status) == (1, "Mehr Zuzug", "draft")
    assert drafts.levers_of(s) == Levers(50, 10, 1.6)
    p = drafts.publish(state, "anna", s, T0)
    w = drafts.withdraw(state, "bert", p, T0)
    assert state.scenario(1) == w
    assert [x.id for x in state.scenarios("15087220")] == [1]
    assert state.scenarios("15087130") == []
    log = list(reversed(state.audit()))
    assert [a.action for a in log] == ["scenario.save", "scenario.publish", "scenario.withdraw"]
    assert all(a.target == "scenario:1" and a.zone == "15087220" for a in log)
    assert (log[1].before or {})["status"] == "draft"
    assert (log[1].after or {})["status"] == "published"
    assert log[2].actor == "bert"
    with pytest.raises(UserError):
        drafts.save_draft(state, "anna", "15087220", " ", Levers(), T0)
    assert len(state.scenarios()) == 1


def test_another_process_waits_for_the_file(tmp_path: Path) -> None:
    """The web app keeps the file open only while busy: a second opener gets its turn."""
    path = tmp_path / "state.duckdb"
    web = DuckState(path, keep_open=0.2)
    web.users()
    assert web._con is not None  # held for a moment
    import subprocess
    import sys

    code = (
        "from wandel.store.state import DuckState;"
        f"print(len(DuckState({str(path)!r}, keep_open=0).users()))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0"


# -- wandel users ------------------------------------------------------------------------------


def _users(tmp_path: Path, *args: str, input: str | None = None, lang: str = "de") -> Any:
    db = tmp_path / "wandel.duckdb"
    if not db.exists():  # a store with the zones the users get (the users belong to a store)
        with Store.open(db) as store:
            store.con.execute(
                "INSERT INTO gv_records (zone, year, level, name, parent, import_id) VALUES"
                " ('15087', 2022, 'kreis', 'Mansfeld-Südharz', '15', 0),"
                " ('15087220', 2022, 'gemeinde', 'Hettstedt', '15087', 0),"
                " ('14612000', 2022, 'gemeinde', 'Dresden', '14612', 0)"
            )
    return runner.invoke(app, ["--lang", lang, "users", *args, "--db", str(db)], input=input)


def test_wandel_users_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    """No state file appears beside a store that is not there (a typo in ``--db``)."""
    db = tmp_path / "tippfehler.duckdb"
    res = runner.invoke(
        app, ["users", "add", "anna", "--password-stdin", "--db", str(db)], input=PASSWORD + "\n"
    )
    assert res.exit_code == 2
    assert str(db) in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_wandel_users_commands(tmp_path: Path) -> None:
    res = _users(
        tmp_path,
        "add",
        "anna",
        "--role",
        "planner",
        "--zones",
        "15087220,15087",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert res.exit_code == 0, res.output
    assert "Benutzer anna angelegt: planner, Gebiete 15087, 15087220" in res.output
    res = _users(tmp_path, "add", "bert", "--password-stdin", input=PASSWORD + "\n")
    assert res.exit_code == 0
    res = _users(tmp_path, "set-role", "bert", "admin")
    assert "bert: admin" in res.output
    res = _users(tmp_path, "set-zones", "anna", "14612000")
    assert "Gebiete 14612000" in res.output
    res = _users(tmp_path, "disable", "anna")
    assert "gesperrt" in res.output
    res = _users(tmp_path, "passwd", "bert", "--password-stdin", input=PASSWORD + "-2\n")
    assert res.exit_code == 0
    listing = _users(tmp_path, "list", lang="en").output
    assert "Users: 2" in listing
    assert "anna" in listing
    assert "14612000" in listing
    assert "argon2" not in listing
    state = DuckState(tmp_path / "wandel.state.duckdb", keep_open=0)
    bert = state.user("bert")
    assert bert is not None
    assert verify_password(bert.password_hash, PASSWORD + "-2")
    assert len(state.audit()) == 6


@pytest.mark.parametrize(
    ("args", "input", "words"),
    [
        (("add", "anna"), "ein-langes-passwort\nein-anderes-passwort\n", "stimmen nicht überein"),
        (("add", "anna", "--password-stdin"), "kurz\n", "mindestens 12 Zeichen"),
        (("add", "anna", "--role", "chef", "--password-stdin"), PASSWORD + "\n", "chef"),
        (("set-role", "niemand", "viewer"), None, "niemand"),
        (("set-zones", "niemand", "15087"), None, "niemand"),
        (("disable", "niemand"), None, "niemand"),
    ],
)
def test_wandel_users_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], input: str | None, words: str
) -> None:
    res = _users(tmp_path, *args, input=input)
    assert res.exit_code == 2
    assert words in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("lang", "words"), [("de", "Benutzer der Web-App"), ("en", "Manage the users")]
)
def test_wandel_users_help_speaks_the_language(lang: str, words: str) -> None:
    res = runner.invoke(app, ["--lang", lang, "users", "--help"], terminal_width=200)
    assert res.exit_code == 0
    assert words in res.output
    for cmd in ("add", "list", "set-role", "set-zones", "disable", "passwd"):
        assert cmd in res.output
