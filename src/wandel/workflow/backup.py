"""``wandel backup`` and ``wandel restore``: the whole state of a Wandel (the statistics store and
the application state of the web app) in one archive with a checksum of every file.

A backup holds consistent copies: each DuckDB file is opened (which waits while another process
holds it), checkpointed, and copied while the connection still holds it, so no other process can
write in between. The archive (a tar file) carries ``manifest.json`` with the size, SHA-256 and
schema version of every file. A restore checks every checksum and every schema version before it
writes anything, then puts each file in place by renaming a finished copy (a crash leaves either
the old or the new file, never half of one).

An application state in PostgreSQL is kept as ``state.postgresql.json``: every row of every table,
read in one repeatable-read transaction (a consistent snapshot while the app runs), with its
checksum and schema version like the files; a restore replaces the rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from wandel.errors import StoreError
from wandel.settings import DatabaseUrl
from wandel.store.state import STATE_SCHEMA_VERSION
from wandel.store.store import SCHEMA_VERSION

__all__ = ["FORMAT", "BackupReport", "backup", "restore"]

FORMAT = "wandel-backup"
VERSION = 1
_MEMBERS = {
    "store.duckdb": ("wandel_meta", SCHEMA_VERSION),
    "state.duckdb": ("state_meta", STATE_SCHEMA_VERSION),
    "state.postgresql.json": ("state_meta", STATE_SCHEMA_VERSION),
}
_PG = "state.postgresql.json"
_MAX_MEMBER = 64 * 1024**3


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote or a restore put in place: the archive and each file with its SHA-256."""

    archive: Path
    sha256: str
    files: dict[str, dict[str, Any]]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + 30.0
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise StoreError("@error.state.busy", path=str(path), reason=str(exc)) from None
            time.sleep(0.1)


def _version(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    if not found[0][0]:
        return None
    rows = con.execute(f"SELECT value FROM {table} WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else None


def _snapshot(path: Path, table: str) -> tuple[bytes, int | None]:
    """The bytes of a DuckDB file, checkpointed and read while this process holds it."""
    con = _connect(path)
    try:
        version = _version(con, table)
        con.execute("CHECKPOINT")
        return path.read_bytes(), version
    finally:
        con.close()


def _pg_state(url: DatabaseUrl) -> Any:
    from wandel.workflow.users import open_state

    return open_state(url)


def backup(db: Path, state: Path | DatabaseUrl, out: Path) -> BackupReport:
    """Write the store ``db`` and the application state ``state`` (a DuckDB file, if it exists,
    or a PostgreSQL database) into ``out``."""
    if not Path(db).is_file():
        raise StoreError("@error.store.missing", path=str(db))
    files: dict[str, dict[str, Any]] = {}
    blobs: dict[str, bytes] = {}
    sources: list[tuple[str, Path]] = [("store.duckdb", Path(db))]
    if not isinstance(state, DatabaseUrl):
        sources.append(("state.duckdb", Path(state)))
    for name, path in sources:
        if not path.is_file():
            continue
        data, version = _snapshot(path, _MEMBERS[name][0])
        blobs[name] = data
        files[name] = {"bytes": len(data), "sha256": _sha256(data), "schema_version": version}
    if isinstance(state, DatabaseUrl):
        data, pg_version = _pg_state(state).dump()
        blobs[_PG] = data
        files[_PG] = {"bytes": len(data), "sha256": _sha256(data), "schema_version": pg_version}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(tmp, "w") as tar:
        for name, data in [
            ("manifest.json", json.dumps(manifest, indent=2).encode()),
            *blobs.items(),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, out)
    return BackupReport(out, _sha256(out.read_bytes()), files)


def _members(tar: tarfile.TarFile, archive: Path) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    for m in tar.getmembers():
        if m.name not in ("manifest.json", *_MEMBERS) or not m.isfile() or m.size > _MAX_MEMBER:
            raise StoreError("@error.backup.not_backup", path=str(archive), reason=m.name)
        f = tar.extractfile(m)
        assert f is not None
        blobs[m.name] = f.read()
    return blobs


def _read(archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with tarfile.open(archive, "r:") as tar:  # no compression: no decompression bomb
            blobs = _members(tar, archive)
    except (tarfile.TarError, OSError) as exc:
        raise StoreError("@error.backup.not_backup", path=str(archive), reason=str(exc)) from None
    try:
        manifest = json.loads(blobs.pop("manifest.json"))
    except (KeyError, ValueError):
        raise StoreError(
            "@error.backup.not_backup", path=str(archive), reason="manifest.json"
        ) from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise StoreError("@error.backup.not_backup", path=str(archive), reason="manifest.json")
    return manifest, blobs


def restore(
    archive: Path, db: Path, state: Path | DatabaseUrl, force: bool = False
) -> BackupReport:
    """Put the files of ``archive`` in place as the store ``db`` and the state ``state`` (a DuckDB
    file, or a PostgreSQL database whose rows are replaced).

    Raises
    ------
    StoreError
        Not a Wandel backup, a checksum that does not match, an unknown schema version, or a
        target that exists (without ``force``); nothing is written then.
    """
    manifest, blobs = _read(Path(archive))
    files: dict[str, dict[str, Any]] = manifest["files"]
    if set(files) != set(blobs) or "store.duckdb" not in files:
        raise StoreError("@error.backup.not_backup", path=str(archive), reason="files")
    pg = isinstance(state, DatabaseUrl)
    kind = next((n for n in blobs if n.startswith("state.")), None)
    if kind is not None and (kind == _PG) != pg:
        raise StoreError(
            "@error.backup.state_kind", path=str(archive), file=kind, target=str(state)
        )
    targets = {"store.duckdb": Path(db)}
    if not isinstance(state, DatabaseUrl):
        targets["state.duckdb"] = Path(state)
    for name, data in blobs.items():
        if _sha256(data) != files[name]["sha256"] or len(data) != files[name]["bytes"]:
            raise StoreError("@error.backup.checksum", path=str(archive), file=name)
        have, need = files[name]["schema_version"], _MEMBERS[name][1]
        if have is not None and int(have) > need:
            raise StoreError("@error.store.schema", path=f"{archive}:{name}", have=have, need=need)
        if name in targets and targets[name].exists() and not force:
            raise StoreError("@error.backup.exists", path=str(targets[name]))
    target_state = _pg_state(state) if isinstance(state, DatabaseUrl) and _PG in blobs else None
    if target_state is not None and not force and not target_state.is_empty():
        raise StoreError("@error.backup.exists", path=str(state))
    if target_state is not None:
        target_state.load(blobs.pop(_PG))
    for name, data in blobs.items():
        target = targets[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restoring")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():  # fold its log into it, so that no log is replayed into the new one
            _connect(target).execute("CHECKPOINT").close()
        os.replace(tmp, target)
    return BackupReport(Path(archive), _sha256(Path(archive).read_bytes()), files)
