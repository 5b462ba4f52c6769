"""``wandel fetch`` against a replay server of the GENESIS web service on loopback.

The server answers ``POST /rest/2020/data/tablefile`` as the service does (GENESIS-Webservices,
method ``data/tablefile``): the table file itself for a known table (a real download from
``../shared/data``), a JSON ``Status`` for its documented refusals (104 no matching object, 98 too
large for a direct answer), HTTP 401 for wrong credentials, 503 while busy, and an HTML page where a
proxy answers instead of the service. Nothing leaves the machine.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import ServiceBusyError
from wandel.sources.genesis_api import RetryPolicy, TableRequest, fetch_table
from wandel.store import Store
from wandel.workflow.fetch import credentials_for, fetch_into_store

USER, PASSWORD = "WANDELTEST", "s3cr3t-Passw0rt"
KREISE_FILE = "12411-0018_kreise_geschlecht_altersgruppen_2015-2017.csv"


ZENSUS_FILE = Path(__file__).parent / "fixtures" / "zensus" / "service" / "1000A-0000_de_flat.csv"
"""A real answer of the Zensus 2022 database (an excerpt, see the folder's README)."""


def _zipped(name: str, body: bytes) -> bytes:
    """A flat file as the service sends it: one CSV in a ZIP (``<table>_<millis>_de_flat.csv``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{name}_1773175153999_de_flat.csv", body)
    return buf.getvalue()


class Replay(ThreadingHTTPServer):
    """The replay service: what it serves, and what it was asked."""

    daemon_threads = True

    def __init__(self, data: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.data = data
        self.hits: Counter[str] = Counter()
        self.forms: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.busy_left = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/rest/2020"


def _status(code: int, content: str, kind: str) -> bytes:
    return json.dumps({"Status": {"Code": code, "Content": content, "Type": kind}}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Replay

    def log_message(self, *args: object) -> None:  # keep the test output clean
        return

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
        srv = self.server
        srv.paths.append(self.path)
        srv.forms.append(form)
        name = form.get("name", "")
        srv.hits[name] += 1
        if not self.path.endswith("/data/tablefile"):
            self._send(404, b"not found", "text/plain")
        elif (self.headers.get("username"), self.headers.get("password")) != (USER, PASSWORD):
            self._send(401, _status(-1, "Fehler bei der Anmeldung", "Fehler"), "application/json")
        elif srv.busy_left > 0:
            srv.busy_left -= 1
            self._send(503, b"<html>busy</html>", "text/html")
        elif name == "12411-0018":
            body = (srv.data / "statistik" / KREISE_FILE).read_bytes()
            self._send(200, body, "text/csv;charset=UTF-8")
        elif name == "1000A-0000" and form.get("format") == "ffcsv":
            body = _zipped(name, ZENSUS_FILE.read_bytes())
            self._send(200, body, "application/zip")
        elif name == "12411-0098":
            msg = "Der Bearbeitungsauftrag wurde erstellt. Die Tabelle ist zu groß."
            self._send(200, _status(98, msg, "Warnung"), "application/json")
        elif name == "12411-0777":
            page = b"<!DOCTYPE html><html><head><title>Wartung</title></head><body>.</body></html>"
            self._send(200, page, "text/html")
        else:
            msg = "Es gibt keine Objekte zum angegebenen Selektionskriterium"
            self._send(200, _status(104, msg, "Information"), "application/json")


@pytest.fixture
def replay(shared_data: Path) -> Iterator[Replay]:
    srv = Replay(shared_data)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials in the environment (the only place they are read from here), a fresh cache."""
    monkeypatch.setenv("WANDEL_GENESIS_USER", USER)
    monkeypatch.setenv("WANDEL_GENESIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("WANDEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDEL_LANG", "en")
    return tmp_path / "cache"


def _fetch(replay: Replay, db: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(
        app,
        ["fetch", *args, "--base-url", replay.url, "--db", str(db)],
        terminal_width=300,
    )
    return res.exit_code, res.stdout, res.stderr


def _rows(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db, read_only=True) as s:
        return sorted(s.con.execute("SELECT * EXCLUDE (import_id) FROM population").fetchall())


def test_a_fetched_table_gives_the_rows_of_the_same_file_imported_by_hand(
    replay: Replay, env: Path, tmp_path: Path, shared_data: Path
) -> None:
    fetched, manual = tmp_path / "fetched.duckdb", tmp_path / "manual.duckdb"
    code, _out, err = _fetch(replay, fetched, "12411-0018", "--years", "2015-2017")
    assert code == 0, err
    res = CliRunner().invoke(
        app, ["import", str(shared_data / "statistik" / KREISE_FILE), "--db", str(manual)]
    )
    assert res.exit_code == 0, res.output
    rows = _rows(fetched)
    assert len(rows) == 40_936  # every cell of the table, as the manual import
    assert rows == _rows(manual)
    # the request as the service documents it: a form, the credentials in headers only
    form = replay.forms[-1]
    assert form["name"] == "12411-0018"
    assert (form["startyear"], form["endyear"], form["format"]) == ("2015", "2017", "csv")
    assert "password" not in form
    assert "username" not in form
    assert all("?" not in p for p in replay.paths)
    with Store.open(fetched, read_only=True) as s:
        prov = s.provenance()
    assert prov["file_name"].tolist() == [
        "genesis:12411-0018?startyear=2015&endyear=2017&format=csv"
    ]
    assert prov["table_code"].tolist() == ["12411-0018"]


def test_a_zensus_flat_file_comes_zipped_and_lands_in_the_census_table(
    replay: Replay, env: Path, tmp_path: Path
) -> None:
    """The Zensus 2022 database answers ``format=ffcsv`` with a ZIP holding the flat file; its
    Gemeinden (12-digit ARS) land under their AGS, Germany with its published total."""
    db = tmp_path / "z.duckdb"
    code, _out, err = _fetch(replay, db, "1000A-0000", "--format", "ffcsv")
    assert code == 0, err
    assert replay.forms[-1]["name"] == "1000A-0000"
    with Store.open(db, read_only=True) as s:
        census = s.table("census_population")
        prov = s.provenance()
    values = census.set_index("zone")["value"]
    assert values["DG"] == 82_719_540
    assert values["15087220"] == 13_111  # Hettstedt, ARS 150870220220
    lines = ZENSUS_FILE.read_text("utf-8-sig").splitlines()[1:]
    assert len(census) == len(lines)
    assert prov["table_code"].tolist() == ["1000A"]


def test_the_same_request_is_answered_from_the_cache(
    replay: Replay, env: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    args = ("12411-0018", "--years", "2015,2016,2017")
    assert _fetch(replay, db, *args)[0] == 0
    assert replay.hits["12411-0018"] == 1
    code, out, _ = _fetch(replay, db, *args)
    assert code == 0
    assert replay.hits["12411-0018"] == 1  # not asked again
    assert "From the cache" in out
    assert "already imported" in out  # the same file: nothing written twice
    assert len(list((env / "genesis").iterdir())) == 1
    assert _fetch(replay, db, *args, "--refresh")[0] == 0
    assert replay.hits["12411-0018"] == 2
    # another selection is another request
    assert _fetch(replay, db, "12411-0018", "--years", "2017")[0] == 0
    assert replay.hits["12411-0018"] == 3
    assert len(list((env / "genesis").iterdir())) == 2


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("12411-0104", ["has no table 12411-0104", "code 104", "keine Objekte"]),
        ("12411-0098", ["too large for a direct download", "code 98", "zu groß"]),
        ("12411-0777", ["HTML"]),
    ],
)
def test_refusals_are_one_line_exit_2_and_the_store_unchanged(
    replay: Replay, env: Path, tmp_path: Path, table: str, words: list[str]
) -> None:
    db = tmp_path / "s.duckdb"
    assert _fetch(replay, db, "12411-0018", "--years", "2017")[0] == 0
    with Store.open(db, read_only=True) as s:
        before = s.checksum()
    code, out, err = _fetch(replay, db, table)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err + out
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert lines[0].endswith("The store is unchanged.")
    with Store.open(db, read_only=True) as s:
        assert s.checksum() == before
    assert len(list((env / "genesis").iterdir())) == 1  # a refused answer is not cached


def test_credentials_are_never_shown_or_stored(
    replay: Replay, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("WANDEL_GENESIS_PASSWORD", "wrong-" + PASSWORD)
    code, out, err = _fetch(replay, db, "12411-0018")
    assert code == 2
    assert "does not accept the credentials (HTTP 401" in err
    assert PASSWORD not in out + err
    monkeypatch.setenv("WANDEL_GENESIS_PASSWORD", PASSWORD)
    assert _fetch(replay, db, "12411-0018")[0] == 0
    with Store.open(db, read_only=True) as s:
        dump = " ".join(str(v) for v in s.provenance().to_numpy().ravel())
    assert PASSWORD not in dump
    assert USER not in dump
    for p in (env / "genesis").iterdir():
        assert PASSWORD not in p.name
        assert USER not in p.name
    # a database of its own: WANDEL_REGIO_* first, then the common WANDEL_GENESIS_*
    monkeypatch.delenv("WANDEL_GENESIS_USER")
    code, _, err = _fetch(replay, db, "12411-02-03-4")
    assert code == 2
    assert "no credentials for Regionaldatenbank Deutschland: set WANDEL_REGIO_USER" in err


def test_a_busy_service_is_asked_again_with_backoff(
    replay: Replay, env: Path, tmp_path: Path
) -> None:
    waits: list[float] = []
    req = TableRequest("genesis", "12411-0018", (2017,))
    replay.busy_left = 2
    policy = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=1.0)
    res = fetch_into_store(tmp_path / "s.duckdb", req, base_url=replay.url, retry=policy)
    assert res.attempts == 3
    assert not res.from_cache
    assert replay.hits["12411-0018"] == 3
    assert res.reports[0].rows_imported == 40_936
    replay.busy_left = 10
    with pytest.raises(ServiceBusyError) as err:
        fetch_table(
            req,
            credentials_for("genesis"),
            base_url=replay.url,
            retry=RetryPolicy(attempts=3, base_delay_s=2.0),
            sleep=waits.append,
        )
    assert waits == [2.0, 4.0]  # base × 2**k, between the three attempts
    assert "3 attempts (last: HTTP 503)" in str(err.value)


def test_table_codes_and_years_are_checked_before_asking(
    replay: Replay, env: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    code, _, err = _fetch(replay, db, "12411 0018")
    assert code == 2
    assert "is not a table code" in err
    code, _, err = _fetch(replay, db, "12411-0018", "--years", "2017-x")
    assert code == 2
    assert "--years 2017-x" in err
    code, _, err = _fetch(replay, db, "12411-0018", "--database", "destatis")
    assert code == 2
    assert "destatis" in err
    assert sum(replay.hits.values()) == 0
