"""Bad input for the GENESIS readers: every malformed file raises InputFormatError (or a subclass)
naming file, line, column, the value and what was expected; nothing crashes otherwise.

Variants are made in the test from the good fixtures (and a real file), so each differs from a file
that reads by exactly one defect.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
    say,
)
from wandel.sources import ffcsv
from wandel.sources import genesis_classic as gc

FIX = Path(__file__).resolve().parent / "fixtures"
DE = FIX / "genesis" / "12411-0018_small_de.csv"
EN = FIX / "genesis" / "12612-0001_small_en.csv"
CUR = FIX / "ffcsv" / "12411-02-03-5_de_flat.csv"
OLD = FIX / "ffcsv" / "12411-02-03-5_flat_alt.csv"


# --------------------------------------------------------------------------------------------------
# helpers


def _lines(path: Path, encoding: str) -> list[str]:
    return path.read_bytes().decode(encoding).lstrip("\ufeff").split("\r\n")


def _de(edit: Callable[[list[str]], list[str]]) -> bytes:
    return "\r\n".join(edit(_lines(DE, "latin-1"))).encode("latin-1")


def _en(edit: Callable[[list[str]], list[str]]) -> bytes:
    return b"\xef\xbb\xbf" + "\n".join(edit(_lines(EN, "utf-8")[0].split("\n"))).encode()


def _cur(edit: Callable[[list[str]], list[str]]) -> bytes:
    return b"\xef\xbb\xbf" + "\r\n".join(edit(_lines(CUR, "utf-8"))).encode()


def _set(lines: list[str], line: int, col: int, value: str) -> list[str]:
    """Replace cell ``col`` (1-based) of physical line ``line`` (1-based)."""
    out = list(lines)
    cells = out[line - 1].split(";")
    cells[col - 1] = value
    out[line - 1] = ";".join(cells)
    return out


def _classic_error(tmp_path: Path, data: bytes, name: str = "t.csv") -> InputFormatError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFormatError) as info:
        gc.read(path)
    err = info.value
    assert err.file == str(path)
    assert str(path) in str(err)
    return err


def _expected(err: InputFormatError) -> str:
    """What the error says was expected, in English (a catalogue key rendered with its fields)."""
    return say(err.expected, "en", err.fields)


def _ff_error(tmp_path: Path, data: bytes, name: str = "t_flat.csv") -> InputFormatError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFormatError) as info:
        ffcsv.read(path)
    err = info.value
    assert err.file.startswith(str(path))
    return err


# column positions of the current-layout fixture
HEAD = _lines(CUR, "utf-8")[0].split(";")
C = {name: i + 1 for i, name in enumerate(HEAD)}


def _cur_line(pred: Callable[[list[str]], bool]) -> int:
    """Physical line of the first data row of the current-layout fixture matching ``pred``."""
    lines = _lines(CUR, "utf-8")
    return next(i + 1 for i, ln in enumerate(lines) if i > 0 and ln and pred(ln.split(";")))


def _plain_line() -> int:
    return _cur_line(
        lambda c: c[C["2_variable_attribute_code"] - 1] != "" and c[C["value"] - 1] != "."
    )


# --------------------------------------------------------------------------------------------------
# the good files read (the baseline of every variant)


def test_baselines_read() -> None:
    assert len(gc.read(DE).tables["population"]) == 24
    assert len(gc.read(EN).tables["births"]) == 6
    assert len(ffcsv.read(CUR).tables["population"]) == 204
    assert len(ffcsv.read(OLD).tables["population"]) == 204


# --------------------------------------------------------------------------------------------------
# classic table CSV: hand-made variants


def test_classic_ragged_row(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: [*ls[:7], ls[7].rsplit(";", 1)[0], *ls[8:]]))
    assert err.line == 8
    assert "10 cells" in _expected(err)


def test_classic_truncated_mid_row(tmp_path: Path) -> None:
    data = DE.read_bytes()
    cut = data.index(b"Mansfeld") + 5
    err = _classic_error(tmp_path, data[:cut])
    assert "footer" in _expected(err)


def test_classic_no_footer(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: ls[:10]))
    assert "footer" in _expected(err)
    assert err.line == 10


def test_classic_only_title_block(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: ls[:4]))
    assert err.line == 4


def test_classic_header_only(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: [*ls[:6], *ls[10:]]))
    assert err.reason == "no data rows"


def test_classic_utf8_bom_but_latin1_bytes(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, b"\xef\xbb\xbf" + DE.read_bytes())
    assert err.line == 2  # "Bevölkerung" holds the first latin-1 byte
    assert "UTF-8" in _expected(err)


def test_classic_undecodable_byte(tmp_path: Path) -> None:
    data = DE.read_bytes().replace(b"Saalekreis", b"Saale\x81kreis")
    err = _classic_error(tmp_path, data)
    assert err.line == 9
    assert err.value == b"\x81"


def test_classic_unknown_header(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: ["Tabelle 12411-0018", *ls[1:]]))
    assert err.line == 1
    assert err.value == "Tabelle 12411-0018"


def test_classic_unsupported_table(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: ["GENESIS-Tabelle: 99999-0001", *ls[1:]]))
    assert (err.line, err.value) == (1, "99999-0001")


def test_classic_english_number_in_german_file(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 8, 4, "1,702.5")))
    assert (err.line, err.column, err.value) == (8, 4, "1,702.5")
    assert "German" in _expected(err)


def test_classic_german_number_in_english_file(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _en(lambda ls: _set(ls, 7, 2, "406.380,5")))
    assert (err.line, err.column, err.value) == (7, 2, "406.380,5")
    assert "English" in _expected(err)


@pytest.mark.parametrize("cell", ["1 ,", "1,,0", "abc", "12a", "1.70", "--"])
def test_classic_malformed_numbers(tmp_path: Path, cell: str) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 8, 5, cell)))
    assert (err.line, err.column, err.value) == (8, 5, cell)


def test_classic_empty_cell(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 8, 5, "")))
    assert (err.line, err.column) == (8, 5)


def test_classic_negative_count(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 9, 5, "-2.700")))
    assert (err.line, err.column, err.value) == (9, 5, "-2.700")
    assert "zero or more" in _expected(err)


def test_classic_duplicate_key(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: [*ls[:8], ls[7], *ls[8:]]))
    assert isinstance(err, DuplicateKeyError)
    assert err.line == 9


def test_classic_ags_without_leading_zero(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 10, 2, "1001")))
    assert (err.line, err.column, err.value) == (10, 2, "1001")
    assert "leading zero" in _expected(err)


def test_classic_unknown_age_label(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 6, 5, "drei bis sechs")))
    assert (err.line, err.column, err.value) == (6, 5, "drei bis sechs")


def test_classic_unknown_sex_label(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 5, 7, "divers")))
    assert (err.line, err.column, err.value) == (5, 7, "divers")


def test_classic_total_contradicts_parts(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 8, 10, "137.916")))
    assert isinstance(err, InconsistentTotalError)
    assert (err.line, err.column, err.value) == (8, 10, "137.916")
    assert "137915" in _expected(err)


def test_classic_impossible_date(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _de(lambda ls: _set(ls, 8, 1, "31.13.2015")))
    assert (err.line, err.column, err.value) == (8, 1, "31.13.2015")


def test_classic_bad_flag(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, _en(lambda ls: _set(ls, 8, 3, "z")))
    assert (err.line, err.column, err.value) == (8, 3, "z")


def test_classic_empty_file(tmp_path: Path) -> None:
    err = _classic_error(tmp_path, b"")
    assert err.reason == "the file is empty"


def test_classic_huge_line(tmp_path: Path) -> None:
    data = DE.read_bytes()[:200] + b"1" * (50 * 2**20)
    err = _classic_error(tmp_path, data)
    assert err.reason == "line too long"
    assert err.line == data[:200].count(b"\n") + 1


def test_classic_real_file_with_broken_total(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "statistik" / "12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv"
    lines = src.read_bytes().split(b"\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith(b"15087;") and b"unter 1 Jahr" in ln)
    cells = lines[i].split(b";")
    cells[4] = str(int(cells[4]) + 1).encode()  # männlich no longer adds up with weiblich
    lines[i] = b";".join(cells)
    err = _classic_error(tmp_path, b"\n".join(lines))
    assert isinstance(err, InconsistentTotalError)
    assert (err.line, err.column) == (i + 1, 4)


# --------------------------------------------------------------------------------------------------
# flat-file CSV: hand-made variants


def test_ff_ragged_row(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, _cur(lambda ls: [*ls[:4], ls[4].rsplit(";", 1)[0], *ls[5:]]))
    assert err.line == 5
    assert err.reason == "ragged row"


def test_ff_truncated_mid_row(tmp_path: Path) -> None:
    data = CUR.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 40
    err = _ff_error(tmp_path, data[:cut])
    assert err.line == data[:cut].count(b"\n") + 1
    assert err.reason == "ragged row"


def test_ff_bom_but_latin1(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, b"\xef\xbb\xbf" + OLD.read_bytes())
    assert err.line == 2  # "Bevölkerungsstandes" in the first data row


def test_ff_undecodable_byte(tmp_path: Path) -> None:
    data = CUR.read_bytes()
    pos = data.index(b"Sangerhausen")
    data = data[:pos] + b"\xff" + data[pos + 1 :]
    err = _ff_error(tmp_path, data)
    assert err.line == data[:pos].count(b"\n") + 1


def test_ff_unknown_header(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, _cur(lambda ls: [ls[0].replace("statistics_code", "stat"), *ls[1:]]))
    assert (err.line, err.reason) == (1, "unknown header")


def test_ff_missing_value_column(tmp_path: Path) -> None:
    def drop_value(ls: list[str]) -> list[str]:
        i = C["value"] - 1
        return [
            ";".join(c for j, c in enumerate(ln.split(";")) if j != i) if ln else ln for ln in ls
        ]

    err = _ff_error(tmp_path, _cur(drop_value))
    assert isinstance(err, MissingColumnError)
    assert err.column == "value"


def test_ff_missing_measure_column_old_layout(tmp_path: Path) -> None:
    text = OLD.read_bytes().decode("latin-1").replace("BEVSTD__Bevoelkerungsstand__Anzahl", "Wert")
    err = _ff_error(tmp_path, text.encode("latin-1"))
    assert isinstance(err, MissingColumnError)
    assert err.line == 1


def test_ff_header_only(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, _cur(lambda ls: [ls[0], ""]))
    assert err.reason == "header only"


def test_ff_empty_file(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, b"")
    assert err.reason == "the file is empty"


@pytest.mark.parametrize("cell", ["abc", "1 ,", "1,,0", "1,234.5", "12a"])
def test_ff_bad_value_cell(tmp_path: Path, cell: str) -> None:
    line = _plain_line()
    err = _ff_error(tmp_path, _cur(lambda ls: _set(ls, line, C["value"], cell)))
    assert (err.line, err.column, err.value) == (line, "value", cell)


def test_ff_negative_count(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(tmp_path, _cur(lambda ls: _set(ls, line, C["value"], "-12")))
    assert (err.line, err.column, err.value) == (line, "value", "-12")


def test_ff_bad_quality_flag(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(tmp_path, _cur(lambda ls: _set(ls, line, C["value_q"], "zz")))
    assert (err.line, err.column, err.value) == (line, "value_q", "zz")


def test_ff_duplicate_key(tmp_path: Path) -> None:
    line = _plain_line()
    lines = _lines(CUR, "utf-8")
    n = len([ln for ln in lines if ln])
    err = _ff_error(tmp_path, _cur(lambda ls: [*[x for x in ls if x], ls[line - 1], ""]))
    assert isinstance(err, DuplicateKeyError)
    assert err.line in (line, n + 1)


def test_ff_ags_without_leading_zero(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(
        tmp_path, _cur(lambda ls: _set(ls, line, C["1_variable_attribute_code"], "1508722"))
    )
    assert (err.line, err.column, err.value) == (line, "1_variable_attribute_code", "1508722")


def test_ff_kreis_code_in_gemeinde_column(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(
        tmp_path, _cur(lambda ls: _set(ls, line, C["1_variable_attribute_code"], "15087"))
    )
    assert err.value == "15087"
    assert "8 digits" in _expected(err)


def test_ff_unknown_age_label(tmp_path: Path) -> None:
    line = _plain_line()

    def edit(ls: list[str]) -> list[str]:
        ls = _set(ls, line, C["3_variable_attribute_label"], "unter drei Jahre")
        return _set(ls, line, C["3_variable_attribute_code"], "ALTXYZ")

    err = _ff_error(tmp_path, _cur(edit))
    assert (err.line, err.value) == (line, "unter drei Jahre")


def test_ff_unknown_sex(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(
        tmp_path, _cur(lambda ls: _set(ls, line, C["2_variable_attribute_code"], "GESX"))
    )
    assert (err.line, err.column, err.value) == (line, "2_variable_attribute_code", "GESX")


def test_ff_total_contradicts_parts(tmp_path: Path) -> None:
    line = _cur_line(
        lambda c: (
            c[C["2_variable_attribute_code"] - 1] == ""
            and c[C["3_variable_attribute_code"] - 1] == "ALT003B06"
            and c[C["value"] - 1] != "."
            and c[C["1_variable_attribute_code"] - 1] == "15087220"
        )
    )
    old = _lines(CUR, "utf-8")[line - 1].split(";")[C["value"] - 1]
    new = str(int(old) + 3)
    err = _ff_error(tmp_path, _cur(lambda ls: _set(ls, line, C["value"], new)))
    assert isinstance(err, InconsistentTotalError)
    assert (err.line, err.column, err.value) == (line, "value", new)


def test_ff_impossible_date_old_layout(tmp_path: Path) -> None:
    text = OLD.read_bytes().decode("latin-1").replace("31.12.2019", "31.13.2019", 1)
    err = _ff_error(tmp_path, text.encode("latin-1"))
    assert (err.line, err.column, err.value) == (2, "Zeit", "31.13.2019")


def test_ff_mixed_variable_codes(tmp_path: Path) -> None:
    line = _plain_line()
    err = _ff_error(tmp_path, _cur(lambda ls: _set(ls, line, C["2_variable_code"], "NAT")))
    assert (err.line, err.value) == (line, "NAT")


def test_ff_unsupported_statistic(tmp_path: Path) -> None:
    data = CUR.read_bytes().replace(b"\n12411;", b"\n99999;")
    err = _ff_error(tmp_path, data)
    assert err.value == "99999"


def test_ff_zip_without_csv(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "no data here")
    err = _ff_error(tmp_path, buf.getvalue(), "x.zip")
    assert "0 CSV" in str(err)


def test_ff_zip_with_two_csvs(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a_flat.csv", CUR.read_bytes())
        zf.writestr("b_flat.csv", CUR.read_bytes())
    err = _ff_error(tmp_path, buf.getvalue(), "x.zip")
    assert "2 CSV" in str(err)


def test_ff_broken_zip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a_flat.csv", CUR.read_bytes())
    err = _ff_error(tmp_path, buf.getvalue()[:-30], "x.zip")
    assert err.file.endswith("x.zip")


def test_ff_huge_line(tmp_path: Path) -> None:
    data = CUR.read_bytes()[:2000] + b"7" * (50 * 2**20)
    err = _ff_error(tmp_path, data)
    assert err.reason in ("line too long", "ragged row")
    assert err.line is not None


def test_ff_huge_first_line(tmp_path: Path) -> None:
    err = _ff_error(tmp_path, b"statistics_code;" + b"x" * (50 * 2**20))
    assert err.reason == "line too long"


# --------------------------------------------------------------------------------------------------
# Hypothesis: random corruptions read correctly or raise InputFormatError, nothing else

_GOOD = {
    "de": DE.read_bytes(),
    "en": EN.read_bytes(),
    "cur": CUR.read_bytes()[:6000].rsplit(b"\n", 1)[0] + b"\n",
    "old": OLD.read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n",
}


def _corrupt(data: bytes, kind: str, a: int, b: int, byte: int) -> bytes:
    n = len(data)
    i, j = a % max(n, 1), b % max(n, 1)
    if kind == "flip":
        return data[:i] + bytes([byte]) + data[i + 1 :]
    if kind == "truncate":
        return data[:i]
    if kind == "delete":
        return data[: min(i, j)] + data[max(i, j) :]
    if kind == "duplicate":
        return data[:i] + data[min(i, j) : max(i, j)] + data[i:]
    # swap two cells of one line
    lines = data.split(b"\n")
    k = i % len(lines)
    cells = lines[k].split(b";")
    x, y = a % len(cells), b % len(cells)
    cells[x], cells[y] = cells[y], cells[x]
    lines[k] = b";".join(cells)
    return b"\n".join(lines)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(sorted(_GOOD)),
    kind=st.sampled_from(["flip", "truncate", "delete", "duplicate", "swap"]),
    a=st.integers(0, 10**6),
    b=st.integers(0, 10**6),
    byte=st.sampled_from(list(b';\n\r.,-x0123456789\x00\xff\x81\xc3"e ')),
)
def test_corruptions_never_crash(
    tmp_path: Path, which: str, kind: str, a: int, b: int, byte: int
) -> None:
    data = _corrupt(_GOOD[which], kind, a, b, byte)
    path = tmp_path / ("h_flat.csv" if which in ("cur", "old") else "h.csv")
    path.write_bytes(data)
    reader = ffcsv.read if which in ("cur", "old") else gc.read
    try:
        batch = reader(path)
    except InputFormatError as err:
        where = err.file
    else:
        where = str(path)
        for frame in batch.tables.values():
            assert frame["value"].dropna().ge(0).all()
    assert where.startswith(str(path))


ZIPPED = (FIX / "ffcsv" / "12411-02-03-5_de_flat.zip").read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(ZIPPED) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_zip_corruptions_never_crash(tmp_path: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray(ZIPPED)
    for pos, byte in flips:
        data[pos] = byte
    path = tmp_path / "z.zip"
    path.write_bytes(bytes(data))
    try:
        batch = ffcsv.read(path)
    except InputFormatError as err:
        where = err.file
    else:
        where = str(path)
        assert len(batch.tables["population"]) > 0
    assert where.startswith(str(path))
