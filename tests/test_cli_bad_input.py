"""Every command of the real CLI, every option, bad values: one clear line and exit code 2 (or a
harmless 0), never a traceback, and the store exactly as it was.

The commands and their options are read from the CLI itself, so a command added later is driven
too (with arguments made up from the types of its required options unless :data:`BASES` gives a
valid call). Each case starts from a valid call of the command and spoils one option.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from _projection_store import demo_db
from wandel.cli import app
from wandel.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
runner = CliRunner()


@dataclass(frozen=True)
class Files:
    """The files of the cases: a demo store, valid inputs, and spoilt ones."""

    db: Path
    scratch: Path  # a store that import may write
    tmp: Path

    @property
    def missing(self) -> Path:
        return self.tmp / "missing.csv"

    @property
    def folder(self) -> Path:
        return self.tmp / "folder"

    @property
    def garbage(self) -> Path:  # binary noise
        return self.tmp / "garbage.bin"

    @property
    def empty(self) -> Path:
        return self.tmp / "empty.csv"

    @property
    def malformed(self) -> Path:  # a CSV with the wrong columns and a ragged line
        return self.tmp / "malformed.csv"


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, cmd

    yield from walk(typer.main.get_command(app), ())


COMMANDS = dict(_commands())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    tmp = tmp_path_factory.mktemp("bad_input")
    (tmp / "empty.csv").write_text("", encoding="utf-8")
    (tmp / "malformed.csv").write_text("a;b\n1;2;3\nx\n", encoding="utf-8")
    (tmp / "garbage.bin").write_bytes(bytes(range(256)) * 4)
    (tmp / "folder").mkdir()
    (tmp / "out").mkdir()
    (tmp / "m.csv").write_text(
        "origin,destination,cost\n15087220,A,1\n15087220,B,4\n15087275,A,3\n15087275,B,1\n",
        encoding="utf-8",
    )
    (tmp / "d.csv").write_text("id,demand,town\n15087220,10,X\n15087275,5,Y\n", encoding="utf-8")
    (tmp / "c.csv").write_text("id,town\nA,X\nB,Y\n", encoding="utf-8")
    (tmp / "near_rules.csv").write_text("id,lon,lat\nf,8.001,49.0\n", encoding="utf-8")
    return Files(demo_db(tmp_path_factory), tmp / "scratch.duckdb", tmp)


def _bases(f: Files) -> dict[tuple[str, ...], list[str]]:
    """A valid, quick call of each command (the bad values replace or join these)."""
    db = ["--db", str(f.db)]
    access = ["--origins", str(FIXTURES / "cli_access" / "bayreuth_origins.csv")]
    access += ["--facilities", str(FIXTURES / "cli_access" / "bayreuth_facilities.csv")]
    plan = ["--matrix", str(f.tmp / "m.csv"), "--demand", str(f.tmp / "d.csv")]
    return {
        ("import",): [
            str(FIXTURES / "facilities" / "kitas.csv"),
            "--year",
            "2023",
            "--db",
            str(f.scratch),
        ],
        ("zones",): db,
        ("info",): db,
        ("population",): [*db, "--zones", "15087220", "--year", "2019"],
        ("project",): [
            *db,
            "--zones",
            "15087220",
            "--base-year",
            "2019",
            "--until",
            "2021",
            "--draws",
            "0",
            "--out",
            str(f.tmp / "out" / "p.csv"),
        ],
        ("backtest",): [*db, "--level", "kreis", "--draws", "0"],
        ("network", "build"): [
            str(FIXTURES / "access" / "rules.osm"),
            "--cache-dir",
            str(f.tmp / "cache"),
        ],
        ("access", "nearest"): [*access, "--out", str(f.tmp / "out" / "n.csv")],
        ("access", "matrix"): [*access, "--out", str(f.tmp / "out" / "m.csv")],
        ("access", "isochrones"): [
            "--network",
            str(FIXTURES / "access" / "rules.osm"),
            "--facilities",
            str(f.tmp / "near_rules.csv"),
            "--out",
            str(f.tmp / "out" / "i.geojson"),
            "--no-cache",
        ],
        ("access", "coverage"): [
            *db,
            "--zones",
            "15087220",
            "--facility-kind",
            "hospital",
            "--year",
            "2019",
            "--age-groups",
            "0+",
            "--out",
            str(f.tmp / "out" / "c.csv"),
        ],
        ("plan", "pmedian"): [*plan, "--p", "1", "--out", str(f.tmp / "out" / "s.csv")],
        ("plan", "mclp"): [
            *plan,
            "--p",
            "1",
            "--threshold",
            "2",
            "--out",
            str(f.tmp / "out" / "s.csv"),
        ],
        ("plan", "lscp"): [*plan, "--threshold", "9", "--out", str(f.tmp / "out" / "s.csv")],
        ("plan", "cooperate"): [
            *plan,
            "--candidates",
            str(f.tmp / "c.csv"),
            "--p",
            "1",
            "--out",
            str(f.tmp / "out" / "co.csv"),
        ],
        # the demo builds a whole store: only values that must fail before it starts
        ("demo",): ["--db", str(f.tmp / "demo.duckdb"), "--out", str(f.tmp / "out" / "demo")],
    }


OUTPUTS = {"--out", "--cache-dir"}


def _bad_values(param: Any, f: Files) -> list[str]:
    """Values a user may get wrong, by the type of the option."""
    kind = param.bare_type()
    name = param.opts[0] if param.opts else param.name
    if kind is bool:
        return []
    if kind is int:
        return ["abc", "-3", "99999"]
    if kind is float:
        return ["abc", "-1", "nan"]
    if kind in (Path, list[Path]):
        if name in OUTPUTS:
            return [str(f.tmp / "out" / "x.xyz"), str(f.garbage / "x.csv"), str(f.folder), ""]
        return [str(p) for p in (f.missing, f.folder, f.garbage, f.empty, f.malformed)]
    if kind == list[str]:
        return ["foo,99999999", ""]
    return ["foo", ""]


def _with(base: list[str], name: str, value: str, positional: bool) -> list[str]:
    """``base`` with option ``name`` set to ``value`` (replacing a value given there)."""
    if positional:
        return [value, *base[1:]]
    args, i = [], 0
    while i < len(base):
        if base[i] == name:
            i += 2
            continue
        args.append(base[i])
        i += 1
    return [*args, name, value]


def _made_up(command: Any, f: Files) -> list[str]:
    """A call of a command without a base: its required options from their types."""
    typical = {int: "2020", float: "1", str: "15087220", Path: str(f.tmp / "m.csv")}
    args: list[str] = []
    for p in command.params:
        if p.required:
            kind = p.bare_type()
            value = typical.get(kind, typical.get(getattr(kind, "__args__", (str,))[0], "x"))
            args += [value] if p.param_type_name == "argument" else [p.opts[0], value]
    return args


def _cases(path: tuple[str, ...], command: Any, f: Files) -> Iterator[tuple[Any, str]]:
    for param in command.params:
        name = param.opts[0] if param.opts else param.name
        if path != ("demo",):
            values = _bad_values(param, f)
        elif name == "--db":
            values = [str(f.folder), str(f.garbage)]
        else:
            values = [str(f.garbage / "sub")] if name == "--out" else []
        for value in values:
            yield param, value


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_bad_values_end_cleanly(
    path: tuple[str, ...], files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a bad value must never write into the current folder
    command = COMMANDS[path]
    base = _bases(files).get(path) or _made_up(command, files)
    store_before = _checksum(files.db)
    failures = []
    cases = 0
    for param, value in _cases(path, command, files):
        name = param.opts[0] if param.opts else param.name
        args = [*path, *_with(base, name, value, param.param_type_name == "argument")]
        scratch = _checksum(files.scratch) if path == ("import",) else ""
        res = runner.invoke(app, args)
        cases += 1
        crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
        lines = res.stderr.strip().splitlines()
        if res.exit_code not in (0, 2) or crashed or "Traceback" in res.output:
            failures.append(f"{' '.join(args)} -> {res.exit_code} {res.exception!r}")
        elif res.exit_code == 2 and len(lines) != 1:
            failures.append(f"{' '.join(args)} -> exit 2 with {len(lines)} lines: {lines}")
        elif res.exit_code == 2 and path == ("import",) and _checksum(files.scratch) != scratch:
            failures.append(f"{' '.join(args)} -> exit 2, but the store changed")
        stray = sorted(p.name for p in tmp_path.iterdir())
        if stray and value not in stray:  # only an output the user named may appear here
            failures.append(f"{' '.join(args)} wrote {stray} into the current folder")
        for p in tmp_path.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert cases > 0 or not command.params
    assert failures == [], "\n".join(failures)
    assert _checksum(files.db) == store_before


def _checksum(db: Path) -> str:
    if not db.is_file():
        return ""
    with Store.open(db, read_only=True) as store:
        return store.checksum()


def test_the_walk_sees_every_command() -> None:
    assert {("import",), ("project",), ("access", "coverage"), ("plan", "cooperate")} <= set(
        COMMANDS
    )
    assert len(COMMANDS) >= 17


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["population", "--zones", "15087220", "--year", "2019", "--level", "foo"], "'foo'"),
        (["population", "--zones", "99999999", "--year", "2019"], "99999999"),
        (["population", "--zones", "15087220", "--year", "1800"], "1800"),
        (["project", "--zones", "15087220", "--base-year", "2019", "--until", "2010"], "2010"),
        (["backtest", "--level", "foo"], "'foo'"),
        (["zones", "--level", "foo"], "'foo'"),
        (["import", "MISSING"], "missing.csv"),
        (["import", "MALFORMED"], "malformed.csv"),
        (["import", "GARBAGE", "--kind", "genesis-ffcsv"], "garbage.bin"),
    ],
)
def test_named_mistakes_say_what_was_wrong(
    args: list[str], named: str, files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual mistakes, one by one: exit 2, one line in English under WANDEL_LANG=en that
    names the bad value, and the store as it was."""
    monkeypatch.setenv("WANDEL_LANG", "en")
    swap = {"MISSING": files.missing, "MALFORMED": files.malformed, "GARBAGE": files.garbage}
    args = [str(swap.get(a, a)) for a in args]
    if args[0] == "project":
        args += ["--draws", "0", "--out", str(files.tmp / "out" / "never.csv")]
    store_before = _checksum(files.db)
    res = runner.invoke(app, [*args, "--db", str(files.db)])
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2, res.output
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: "), lines
    assert named in lines[0], lines
    assert _checksum(files.db) == store_before
    assert not (files.tmp / "out" / "never.csv").exists()
