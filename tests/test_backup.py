"""wandel backup / wandel restore of the whole state, with checksums; schema versions: a store or
state of an unknown version is refused, a known older state is migrated."""

from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import StoreError
from wandel.store import Store
from wandel.store import state as state_module
from wandel.store.state import DuckState
from wandel.workflow import drafts
from wandel.workflow.backup import backup, restore
from wandel.workflow.town import Levers
from wandel.workflow.users import UserAdmin

runner = CliRunner()
PASSWORD = "ein-langes-passwort"


@pytest.fixture
def live(tmp_path: Path) -> tuple[Path, Path]:
    """A store (the schema and one zone change) and a state with a user and a draft."""
    db = tmp_path / "live" / "wandel.duckdb"
    with Store.open(db) as store:
        store.con.execute(
            "INSERT INTO zone_changes VALUES ('15087001', '15087220', 2009, 2010, 1.0,"
            " 'pop', 'merge', false, 120.0, 3.5, 'Eingemeindung')"
        )
    state = tmp_path / "live" / "wandel.state.duckdb"
    st = DuckState(state, keep_open=0)
    UserAdmin(st).add("anna", "planner", ["15087220"], PASSWORD)
    drafts.save_draft(st, "anna", "15087220", "Mehr Zuzug", Levers(50, 5))
    return db, state


def _checksum(db: Path) -> str:
    with Store.open(db, read_only=True) as store:
        return store.checksum()


def test_backup_and_restore_give_back_the_same_state(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    db, state = live
    report = backup(db, state, tmp_path / "b.tar")
    assert set(report.files) == {"store.duckdb", "state.duckdb"}
    assert all(len(f["sha256"]) == 64 for f in report.files.values())
    assert report.files["store.duckdb"]["schema_version"] == 1
    new_db, new_state = tmp_path / "new" / "w.duckdb", tmp_path / "new" / "w.state.duckdb"
    restore(report.archive, new_db, new_state)
    assert _checksum(new_db) == _checksum(db)
    again = DuckState(new_state, keep_open=0)
    assert [u.public() for u in again.users()] == [
        u.public() for u in DuckState(state, keep_open=0).users()
    ]
    assert [s.title for s in again.scenarios()] == ["Mehr Zuzug"]
    assert [a.action for a in again.audit()] == ["scenario.save", "user.add"]


def test_a_damaged_backup_is_refused_and_nothing_is_written(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    db, state = live
    archive = backup(db, state, tmp_path / "b.tar").archive
    raw = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = tar.getmember("state.duckdb")
    raw[member.offset_data + member.size // 2] ^= 0xFF  # one flipped byte inside the state
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(raw))
    target = tmp_path / "t" / "w.duckdb"
    with pytest.raises(StoreError, match=r"checksum of state\.duckdb"):
        restore(bad, target, tmp_path / "t" / "w.state.duckdb")
    assert not target.exists()
    (tmp_path / "junk.tar").write_bytes(b"not a tar file")
    with pytest.raises(StoreError, match="not a Wandel backup"):
        restore(tmp_path / "junk.tar", target, tmp_path / "t" / "s.duckdb")


def test_restore_over_existing_files_needs_force(live: tuple[Path, Path], tmp_path: Path) -> None:
    db, state = live
    archive = backup(db, state, tmp_path / "b.tar").archive
    drafts.save_draft(DuckState(state, keep_open=0), "anna", "15087220", "Später", Levers())
    with pytest.raises(StoreError, match="exists already"):
        restore(archive, db, state)
    assert len(DuckState(state, keep_open=0).scenarios()) == 2
    restore(archive, db, state, force=True)
    assert [s.title for s in DuckState(state, keep_open=0).scenarios()] == ["Mehr Zuzug"]


def test_wandel_backup_and_restore_commands(live: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = live
    out = tmp_path / "sicherung.tar"
    res = runner.invoke(app, ["backup", str(out), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "store.duckdb" in res.output
    assert "state.duckdb" in res.output
    assert f"Sicherung -> {out}" in res.output
    target = tmp_path / "neu" / "wandel.duckdb"
    res = runner.invoke(app, ["restore", str(out), "--db", str(target)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "neu" / "wandel.state.duckdb").is_file()
    res = runner.invoke(app, ["restore", str(out), "--db", str(target)])
    assert res.exit_code == 2
    assert "--force" in res.stderr
    assert "Datenbestand ist unverändert" in res.stderr


def test_a_store_of_an_unknown_version_is_refused_even_read_only(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Store.open(db):
        pass
    con = duckdb.connect(str(db))
    con.execute("UPDATE wandel_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema 99"):
        Store.open(db, read_only=True).__enter__()
    res = runner.invoke(app, ["serve", "--db", str(db), "--smoke"])
    assert res.exit_code == 2
    assert "99" in res.stderr
    assert "Traceback" not in res.output
    archive = backup(db, tmp_path / "none.duckdb", tmp_path / "b.tar").archive
    with pytest.raises(StoreError, match="schema 99"):
        restore(archive, tmp_path / "x" / "w.duckdb", tmp_path / "x" / "s.duckdb")


def test_a_known_older_state_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.duckdb"
    UserAdmin(DuckState(path, keep_open=0)).add("anna", "viewer", ["15087"], PASSWORD)
    monkeypatch.setattr(state_module, "STATE_SCHEMA_VERSION", 2)
    monkeypatch.setattr(
        state_module, "_MIGRATIONS", {1: ["ALTER TABLE users ADD COLUMN note VARCHAR"]}
    )
    st = DuckState(path, keep_open=0)
    assert st.schema_version() == 2
    assert [u.name for u in st.users()] == ["anna"]  # the rows survive the migration
    con = duckdb.connect(str(path))
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
        ).fetchall()
    ]
    con.close()
    assert "note" in cols
    monkeypatch.setattr(state_module, "STATE_SCHEMA_VERSION", 3)  # 2 -> 3 is not known
    with pytest.raises(StoreError, match="schema 2"):
        DuckState(path, keep_open=0)
