"""The application state on a real PostgreSQL (tests/_postgres.py) beside DuckDB: every method of
AppState held to the same numbers on both (counts, ordering, lockout, atomic change + audit), the
Alembic schema version (unknown refused, known migrated), the password never shown, many writers
at once, and ``wandel users`` / ``backup`` / ``restore`` with the state in PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from _postgres import PASSWORD as PG_PASSWORD
from wandel.cli import app
from wandel.errors import LoginError, SettingError, StoreError
from wandel.settings import DatabaseUrl, get_settings, override
from wandel.store import Store
from wandel.store.state import STATE_SCHEMA_VERSION, AppState, Audit, DuckState, SavedScenario, User
from wandel.store.state import Session as StateSession
from wandel.workflow import drafts
from wandel.workflow.backup import backup, restore
from wandel.workflow.town import Levers
from wandel.workflow.users import MAX_FAILURES, UserAdmin, login, open_state, state_path

runner = CliRunner()
T0 = dt.datetime(2026, 3, 1, 9, 0, 0, 123456)  # microseconds survive both databases
PASSWORD = "ein-langes-passwort"


@pytest.fixture(params=["duckdb", "postgresql"])
def st(request: pytest.FixtureRequest, tmp_path: Path) -> AppState:
    if request.param == "duckdb":
        return DuckState(tmp_path / "state.duckdb", keep_open=0)
    from wandel.store.pg_state import PgState

    return PgState(request.getfixturevalue("postgres").database())


@pytest.fixture
def pg(postgres: Any) -> Any:
    from wandel.store.pg_state import PgState

    return PgState(postgres.database())


def _user(name: str, at: dt.datetime = T0, **kw: Any) -> User:
    return User(name, kw.pop("role", "planner"), kw.pop("zones", ("15087",)), "h-" + name, at, **kw)


def _audit(action: str, target: str = "x", **kw: Any) -> Audit:
    return Audit(kw.pop("at", T0), kw.pop("actor", "cli"), action, target, **kw)


# -- the same numbers on both ------------------------------------------------------------------


def test_users_are_kept_replaced_and_listed_by_name(st: AppState) -> None:
    for name in ("carla", "anna", "bert"):
        st.save_user(_user(name), _audit("user.add", f"user:{name}"))
    st.save_user(_user("anna", role="viewer", zones=("15087220", "15088")), _audit("user.set"))
    assert [u.name for u in st.users()] == ["anna", "bert", "carla"]
    anna = st.user("anna")
    assert anna == User("anna", "viewer", ("15087220", "15088"), "h-anna", T0)
    assert st.user("niemand") is None
    assert len(st.audit()) == 4


def test_sessions_end_one_by_one_and_all_of_a_user(st: AppState) -> None:
    for i in range(5):
        who = "anna" if i < 3 else "bert"
        st.add_session(StateSession(f"h{i}", who, f"c{i}", T0, T0 + dt.timedelta(hours=8)))
    got = st.session("h1")
    assert got == StateSession("h1", "anna", "c1", T0, T0 + dt.timedelta(hours=8))
    assert st.session("nope") is None
    st.end_session("h1")
    st.end_session("nope")  # nothing happens
    assert st.session("h1") is None
    assert st.end_sessions_of("anna") == 2
    assert st.end_sessions_of("anna") == 0
    assert st.end_sessions_of("bert") == 2
    assert [st.session(f"h{i}") for i in range(5)] == [None] * 5


def test_failures_are_counted_in_order_since_a_time(st: AppState) -> None:
    times = [T0 + dt.timedelta(minutes=m) for m in (7, 1, 3, 12, 5)]
    for t in times:
        st.add_failure("user:anna", t)
    st.add_failure("client:10.0.0.1", T0)
    assert st.failures_since("user:anna", T0) == sorted(times)
    assert st.failures_since("user:anna", T0 + dt.timedelta(minutes=5)) == sorted(times)[2:]
    assert len(st.failures_since("client:10.0.0.1", T0)) == 1
    st.clear_failures("user:anna")
    assert st.failures_since("user:anna", T0) == []
    assert len(st.failures_since("client:10.0.0.1", T0)) == 1


def test_lockout_after_max_failures(st: AppState) -> None:
    UserAdmin(st).add("anna", "planner", ["15087220"], PASSWORD)
    for i in range(MAX_FAILURES):
        with pytest.raises(LoginError) as err:
            login(st, "anna", "falsch", "10.0.0.2", T0 + dt.timedelta(seconds=i))
        assert not err.value.locked
    assert len(st.failures_since("user:anna", T0)) == MAX_FAILURES
    with pytest.raises(LoginError) as locked:
        login(st, "anna", PASSWORD, "10.0.0.3", T0 + dt.timedelta(minutes=1))
    assert locked.value.locked
    actions = [a.action for a in st.audit()]
    assert actions[:2] == ["login.locked", "login.failed"]
    assert actions.count("login.failed") == MAX_FAILURES


def test_audit_is_newest_first_with_a_limit_and_json_fields(st: AppState) -> None:
    for i in range(12):
        st.add_audit(
            _audit(
                f"a{i}",
                at=T0 + dt.timedelta(seconds=i),
                zone="15087220" if i % 2 else None,
                before={"n": i, "ä": "ö"} if i % 3 == 0 else None,
                after={"list": [i, None, True]},
            )
        )
    log = st.audit()
    assert [a.action for a in log] == [f"a{i}" for i in reversed(range(12))]
    assert [a.action for a in st.audit(limit=3)] == ["a11", "a10", "a9"]
    assert log[-1] == Audit(
        T0, "cli", "a0", "x", None, {"n": 0, "ä": "ö"}, {"list": [0, None, True]}
    )
    assert log[0].zone == "15087220"
    assert log[0].at == T0 + dt.timedelta(seconds=11)


def test_scenarios_get_ids_one_after_another_and_keep_their_publish_state(st: AppState) -> None:
    saved = [
        drafts.save_draft(st, "anna", zone, f"S{i}", Levers(10 * i, i), T0)
        for i, zone in enumerate(["15087220", "15087130", "15087220", "14612000"], start=1)
    ]
    assert [s.id for s in saved] == [1, 2, 3, 4]
    assert [s.id for s in st.scenarios()] == [1, 2, 3, 4]
    assert [s.id for s in st.scenarios("15087220")] == [1, 3]
    assert st.scenarios("99") == []
    p = drafts.publish(st, "bert", saved[2], T0)
    assert st.scenario(3) == p
    assert p.published
    assert [s.status for s in st.scenarios()] == ["draft", "draft", "published", "draft"]
    w = drafts.withdraw(st, "anna", p, T0)
    assert st.scenario(3) == w
    assert not w.published
    assert st.scenario(99) is None
    assert drafts.levers_of(st.scenario(2) or saved[0]) == Levers(20, 2)
    log = st.audit()
    assert [a.action for a in log[:3]] == ["scenario.withdraw", "scenario.publish", "scenario.save"]
    assert log[1].target == "scenario:3"
    assert (log[1].before or {})["status"] == "draft"
    assert (log[1].after or {})["status"] == "published"
    assert len(log) == 6


def test_a_change_and_its_audit_entry_are_one_transaction(st: AppState) -> None:
    bad = _audit("x", before={"x": object()})  # not JSON-able
    with pytest.raises(TypeError):
        st.save_user(_user("anna"), bad)
    s = SavedScenario(0, "15087220", "T", {"zuzug": 1}, "anna", "draft", T0, T0)
    with pytest.raises(TypeError):
        st.save_scenario(s, _audit("scenario.save", before={"x": object()}))
    assert st.users() == []
    assert st.scenarios() == []
    assert st.audit() == []
    # no id is used up by the failed save
    assert st.save_scenario(s, _audit("scenario.save")).id == 1


# -- PostgreSQL only ---------------------------------------------------------------------------


def test_pg_schema_is_made_by_alembic_and_an_unknown_version_is_refused(
    postgres: Any,
) -> None:
    from wandel.store.pg_state import PgState

    url = postgres.database()
    first = PgState(url)
    assert first.schema_version() == STATE_SCHEMA_VERSION
    engine = sa.create_engine(url.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as con:
        assert con.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        tables = set(
            con.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    assert tables == {
        "alembic_version",
        "state_meta",
        "users",
        "sessions",
        "login_failures",
        "audit",
        "scenarios",
    }
    PgState(url)  # the known version again: nothing to do
    with engine.begin() as con:
        con.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="0099") as err:
        PgState(url)
    assert PG_PASSWORD not in str(err.value)
    engine.dispose()


def test_pg_migrates_a_database_of_a_known_older_state(postgres: Any) -> None:
    """A database with no revision yet (what version 0 is) is brought to the head, with its
    rows; starting twice at once migrates once (the advisory lock)."""
    from wandel.store.pg_state import PgState

    url = postgres.database()
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PgState(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert PgState(url).schema_version() == STATE_SCHEMA_VERSION


def test_pg_password_is_never_shown(postgres: Any) -> None:
    from wandel.store.pg_state import PgState

    url = postgres.database()
    assert PG_PASSWORD in url.url
    assert PG_PASSWORD not in repr(url)
    assert PG_PASSWORD not in str(url)
    with override(state=url.url):
        st = get_settings().state
        assert isinstance(st, DatabaseUrl)
        assert PG_PASSWORD not in repr(get_settings())
    assert PG_PASSWORD not in repr(PgState(url))
    # a wrong password and a port nobody listens on: errors without either password
    wrong = DatabaseUrl(url.url.replace(PG_PASSWORD, "falsch-aber-geheim"))
    with pytest.raises(StoreError) as err:
        PgState(wrong)
    assert "falsch-aber-geheim" not in str(err.value)
    assert "password authentication failed" in str(err.value)
    dead = DatabaseUrl(url.url.replace(f":{postgres.port}/", ":1/"))
    with pytest.raises(StoreError) as err2:
        PgState(dead)
    assert PG_PASSWORD not in str(err2.value)
    # a bad address: the setting's error masks it too
    with pytest.raises(SettingError) as bad, override(state="mysql://u:" + PG_PASSWORD + "@h/db"):
        get_settings()
    assert PG_PASSWORD not in str(bad.value)
    assert "mysql://u:***@h/db" in str(bad.value)


def test_pg_many_writers_at_once_get_distinct_ids(pg: Any) -> None:
    """8 threads (each its own connection) save 10 scenarios each: ids 1..80, 80 audit entries."""
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                drafts.save_draft(pg, f"u{k}", "15087220", f"S{k}-{i}", Levers(k, i), T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = pg.scenarios()
    assert [s.id for s in got] == list(range(1, 81))
    assert len({s.title for s in got}) == 80
    assert len(pg.audit(limit=1000)) == 80


def test_state_path_reads_a_url_and_still_a_path(tmp_path: Path) -> None:
    url = "postgresql://anna:geheim@127.0.0.1:5432/wandel"
    got = state_path(tmp_path / "w.duckdb", url)
    assert isinstance(got, DatabaseUrl)
    assert got.url == url
    assert state_path(tmp_path / "w.duckdb", tmp_path / "s.duckdb") == tmp_path / "s.duckdb"
    assert state_path(tmp_path / "w.duckdb") == tmp_path / "w.state.duckdb"
    for bad in ("postgresql://h", "postgresql:///db", "http://h/db"):
        with pytest.raises(SettingError):
            state_path(tmp_path / "w.duckdb", bad)


# -- wandel users, backup and restore with the state in PostgreSQL -----------------------------


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "wandel.duckdb"
    with Store.open(db) as store:
        store.con.execute(
            "INSERT INTO gv_records (zone, year, level, name, parent, import_id) VALUES"
            " ('15087', 2022, 'kreis', 'Mansfeld-Südharz', '15', 0),"
            " ('15087220', 2022, 'gemeinde', 'Hettstedt', '15087', 0)"
        )
    return db


def test_wandel_users_backup_and_restore_on_postgresql(postgres: Any, tmp_path: Path) -> None:
    db = _store(tmp_path)
    url = postgres.database()
    base = ["--lang", "en"]
    res = runner.invoke(
        app,
        [
            *base,
            *("users", "add", "anna", "--role", "planner", "--zones", "15087220"),
            *("--password-stdin", "--db", str(db), "--state", url.url),
        ],
        input=PASSWORD + "\n",
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [*base, "users", "add", "bert", "--password-stdin", "--db", str(db)],
        input=PASSWORD + "\n",
        env={"WANDEL_STATE": url.url},
    )
    assert res.exit_code == 0, res.output
    listing = runner.invoke(app, [*base, "users", "list", "--db", str(db), "--state", url.url])
    assert "Users: 2" in listing.output
    st = open_state(url)
    drafts.save_draft(st, "anna", "15087220", "Mehr Zuzug", Levers(50, 5), T0)
    before = st.dump()[0]  # type: ignore[attr-defined]

    res = runner.invoke(
        app, [*base, "backup", str(tmp_path / "b.tar"), "--db", str(db), "--state", url.url]
    )
    assert res.exit_code == 0, res.output
    assert PG_PASSWORD not in res.output
    assert "state.postgresql.json" in res.output
    # the state changes after the backup; a restore into a new database and over the old one
    UserAdmin(st).disable("bert")
    fresh = postgres.database()
    report = restore(tmp_path / "b.tar", tmp_path / "new" / "w.duckdb", fresh)
    assert report.files["state.postgresql.json"]["schema_version"] == STATE_SCHEMA_VERSION
    again = open_state(fresh)
    assert again.dump()[0] == before  # type: ignore[attr-defined]
    assert [u.name for u in again.users()] == ["anna", "bert"]
    assert [s.title for s in again.scenarios()] == ["Mehr Zuzug"]
    with pytest.raises(StoreError, match="exists"):
        restore(tmp_path / "b.tar", tmp_path / "new2" / "w.duckdb", url)
    restore(tmp_path / "b.tar", tmp_path / "new3" / "w.duckdb", url, force=True)
    bert = open_state(url).user("bert")
    assert bert is not None
    assert not bert.disabled  # as it was at the backup
    # ids go on after the restored ones
    assert drafts.save_draft(again, "anna", "15087220", "Zwei", Levers(), T0).id == 2
    assert len(again.audit()) == len(json.loads(before)["tables"]["audit"]["rows"]) + 1


def test_a_state_backup_goes_back_only_to_its_kind(postgres: Any, tmp_path: Path) -> None:
    db = _store(tmp_path)
    duck = tmp_path / "wandel.state.duckdb"
    UserAdmin(DuckState(duck, keep_open=0)).add("anna", "viewer", [], PASSWORD)
    archive = backup(db, duck, tmp_path / "d.tar").archive
    with pytest.raises(StoreError, match=r"state\.duckdb"):
        restore(archive, tmp_path / "x" / "w.duckdb", postgres.database())
    url = postgres.database()
    UserAdmin(open_state(url)).add("anna", "viewer", [], PASSWORD)
    archive = backup(db, url, tmp_path / "p.tar").archive
    with pytest.raises(StoreError, match=r"state\.postgresql\.json"):
        restore(archive, tmp_path / "y" / "w.duckdb", tmp_path / "y" / "w.state.duckdb")


def test_cli_errors_never_show_the_password(postgres: Any, tmp_path: Path) -> None:
    db = _store(tmp_path)
    url = postgres.database()
    wrong = url.url.replace(PG_PASSWORD, "Falsches-Geheimnis-42")
    for args in (
        ["users", "list", "--db", str(db), "--state", wrong],
        ["backup", str(tmp_path / "b.tar"), "--db", str(db), "--state", wrong],
        ["serve", "--db", str(db), "--state", "mysql://u:Falsches-Geheimnis-42@h/db"],
        ["serve", "--db", str(db), "--state", wrong, "--workers", "2", "--port", "1"],
    ):
        res = runner.invoke(app, ["--lang", "en", *args])
        assert res.exit_code == 2, res.output
        assert "Falsches-Geheimnis-42" not in res.output
        assert "***" in res.stderr
        assert "Traceback" not in res.output
    assert not (tmp_path / "b.tar").exists()


def test_wandel_settings_shows_the_state_address_masked(postgres: Any) -> None:
    url = postgres.database()
    res = runner.invoke(
        app, ["--lang", "en", "settings"], env={"WANDEL_STATE": url.url}, terminal_width=200
    )
    assert res.exit_code == 0, res.output
    assert PG_PASSWORD not in res.output
    value, row = "", ""
    for line in res.output.splitlines():  # the value cell of the row "state" (folded in lines)
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 6:
            row = cells[1] or row
            value += cells[3] if row == "state" else ""
    assert value == url.masked
    assert "WANDEL_STATE" in res.output
    assert "default" in res.output  # the others come from their defaults
    bad = runner.invoke(app, ["settings"], env={"WANDEL_STATE": "pg://u:" + PG_PASSWORD + "@h/d"})
    assert bad.exit_code == 2
    assert PG_PASSWORD not in bad.output
