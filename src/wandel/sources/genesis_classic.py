"""GENESIS-Online / Regionaldatenbank classic table CSV ("Tabelle" download) into canonical tables.

A classic table has four parts::

    GENESIS-Tabelle: 12411-0018            <- table code (line 1)
    Bevölkerung: Kreise, Stichtag, ...;;;  <- title block: first cell filled, may hold constants
    ;;;männlich;männlich;...               <- column header rows: start with empty label cells
    ;;;unter 3 Jahre;3 bis unter 6 Jahre
    31.12.2015;01001;Flensburg;1143;1130   <- data rows: label cells, then value cells
    __________                             <- footer: notes, ©, Stand:

The reader reads the header block instead of fixed positions: the number of leading label columns is
the number of empty cells that open the last header row; value/flag column pairs (English exports,
``578191;e``) are found from the header and the data; each header row and each label column is
classified by what its labels are (region code, date or year, period, sex, age, life-table measure,
birth order, free text). A label column may be given only on its first row (forward-filled), a row
with one label and no values opens a section (``2022/24``), and a title line may hold a constant
(``Stichtag: 31.12.2020``, ``Deutschland``). The table code then decides the canonical table.

Totals (``Insgesamt``) that are redundant with their parts are verified (parts must add up to the
total within rounding where all parts are figures) and dropped; a total without parts is kept as
sex ``"t"`` or age 0-open.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    LabelError,
    MissingColumnError,
)
from wandel.sources._cells import FLAGS, parse_cells
from wandel.sources._labels import (
    is_age_unknown,
    is_total,
    normalise_ags,
    parse_age_label,
    parse_period_label,
    parse_sex_label,
    parse_year_label,
)
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_DLDE, ImportBatch, SourceMeta, sha256_of
from wandel.tables import TABLES, conform

__all__ = ["NAME", "ClassicTable", "parse_table", "read", "sniff"]

NAME = "genesis-classic"

MAX_BYTES = 256 * 1024 * 1024
MAX_LINE = 1024 * 1024

_CODE_LINE = re.compile(
    r"^\ufeff?\s*(?:GENESIS-)?Tabelle:\s*(\d{5}-[0-9A-Za-z]{2,4}(?:-[0-9A-Za-z]{1,2}){0,2})\s*$"
)
_FOOTER = re.compile(r"^_{5,}")
_REGION_CODE = re.compile(r"(?:DG|\d{1,12})")
_LT_MEASURE = re.compile(r"\[([qpldLTe])\(x\)\]")
_TITLE_DATE = re.compile(r"^(?:Stichtag|Reference date|Jahr|Year)\s*:\s*(.+)$", re.IGNORECASE)
_UNITS = frozenset(
    {
        "anzahl",
        "ziffer",
        "jahre",
        "prozent",
        "%",
        "1000",
        "tsd.",
        "number",
        "rate",
        "years",
        "percent",
        "personen",
        "eur",
    }
)
_GERMANY = frozenset({"deutschland", "germany"})
_EN_WORDS = frozenset(
    {"germany", "number", "year", "years", "male", "female", "total", "created", "births", "rate"}
)
_DE_WORDS = frozenset(
    {
        "deutschland",
        "anzahl",
        "jahre",
        "männlich",
        "weiblich",
        "insgesamt",
        "stand",
        "bevölkerung",
        "statistisches",
        "stichtag",
        "geschlecht",
        "ziffer",
    }
)
_ORDER = (
    (re.compile(r"(?:first|1\.|erstes?)\b.*", re.IGNORECASE), "order:1"),
    (re.compile(r"(?:second|2\.|zweites?)\b.*", re.IGNORECASE), "order:2"),
    (re.compile(r"(?:third|3\.|drittes?)\b.*", re.IGNORECASE), "order:3"),
    (
        re.compile(
            r"(?:fourth or further|4\. (?:und|oder) weiteres?|viertes? und weiteres?).*", re.I
        ),
        "order:4+",
    ),
)


# --------------------------------------------------------------------------------------------------
# layout


@dataclass(frozen=True)
class ClassicTable:
    """The parsed layout of one classic table before any mapping to canonical tables.

    ``cube`` holds one row per value cell: its physical ``line`` and 1-based ``column``, the raw
    ``text``, the parsed ``value``/``status``/``flag`` and one column per variable found (``zone``,
    ``year``, ``period``, ``sex``, ``age_start``/``age_end``/``age_total``, ``lt``, ``order``,
    ``text0``...). ``decimal`` is the file's decimal convention.
    """

    file: str
    code: str
    title: tuple[str, ...]
    decimal: str
    cube: pd.DataFrame
    rejected: tuple[tuple[str, int], ...] = field(default_factory=tuple)


def _err(
    file: str,
    line: int | None,
    column: int | str | None,
    value: object,
    expected: str,
    reason: str = "",
) -> InputFormatError:
    return InputFormatError(
        file, line=line, column=column, value=value, expected=expected, reason=reason
    )


def _check_bytes(data: bytes, file: str) -> None:
    if not data.strip():
        raise _err(
            file,
            1,
            None,
            None,
            "a GENESIS table (title line 'GENESIS-Tabelle: ...')",
            "the file is empty",
        )
    if len(data) > MAX_BYTES:
        raise _err(
            file,
            None,
            None,
            None,
            f"at most {MAX_BYTES // 2**20} MiB for a classic table",
            "file too large",
        )
    m = re.search(rb"[^\n\r]{%d}" % MAX_LINE, data)
    if m is not None:
        line = data.count(b"\n", 0, m.start()) + 1
        raise _err(
            file,
            line,
            None,
            data[m.start() : m.start() + 40],
            f"lines shorter than {MAX_LINE // 1024} KiB",
            "line too long",
        )


def _split_rows(lines: Sequence[str]) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in lines:
        try:
            cells = next(csv.reader([line], delimiter=";"), [])
        except csv.Error:  # pragma: no cover - csv over one line rarely fails
            cells = line.split(";")
        rows.append([c.strip() for c in cells])
    return rows


def _leading_empty(row: Sequence[str]) -> int:
    n = 0
    for c in row:
        if c != "":
            break
        n += 1
    return n


def _language(cells: Sequence[str]) -> str:
    words: list[str] = []
    for c in cells:
        words.extend(re.findall(r"[a-zäöüß]+", c.lower()))
    en = sum(w in _EN_WORDS for w in words)
    de = sum(w in _DE_WORDS for w in words)
    return "en" if en > de else "de"


# --------------------------------------------------------------------------------------------------
# label classification


def _classify(label: str) -> str:
    """Kind of one label: total, period, year, sex, age, age_unknown, lt, order, unit or text."""
    if label == "":
        return "empty"
    if is_total(label):
        return "total"
    try:
        if parse_period_label(label) is not None:
            return "period"
        if parse_year_label(label) is not None:
            return "year"
    except LabelError:
        return "year"  # a malformed date: parsed later, where the error can name the line
    if parse_sex_label(label) in ("m", "f"):
        return "sex"
    try:
        if parse_age_label(label) is not None:
            return "age"
    except LabelError:
        return "age"
    if is_age_unknown(label):
        return "age_unknown"
    if _LT_MEASURE.search(label):
        return "lt"
    if any(p.fullmatch(label) for p, _ in _ORDER):
        return "order"
    if label.lower() in _UNITS:
        return "unit"
    return "text"


def _dimension_kind(labels: Sequence[str]) -> str:
    kinds = {_classify(x) for x in labels} - {"empty"}
    core = kinds - {"total", "age_unknown"}
    if not core:
        return "total" if "total" in kinds else "empty"
    if len(core) == 1:
        return next(iter(core))
    if core <= {"text", "unit"}:
        return "text"
    if core == {"year", "text"} or core == {"age", "text"}:
        return "mixed"
    return "mixed"


@dataclass
class _Dim:
    kind: str
    keys: dict[str, object]  # column name -> per-row (or per-column) numpy array


def _parse_values(
    kind: str, labels: np.ndarray, file: str, lines: np.ndarray | None, column: int | None
) -> dict[str, np.ndarray]:
    """Parse a vector of labels of one kind into key arrays; errors name line and column."""
    uniq: dict[str, int] = {}
    for i, lab in enumerate(labels):
        uniq.setdefault(str(lab), i)

    def fail(lab: str, exc: LabelError) -> InputFormatError:
        i = uniq[lab]
        line = int(lines[i]) if lines is not None else None
        col = column if column is not None else None
        return _err(file, line, col, lab, exc.expected)

    if kind == "year":
        year_of: dict[str, object] = {}
        for lab in uniq:
            try:
                y = parse_year_label(lab)
            except LabelError as exc:
                raise fail(lab, exc) from None
            if y is None:
                raise fail(lab, LabelError(lab, "a date (31.12.YYYY) or a year"))
            year_of[lab] = y
        return {"year": np.array([year_of[str(x)] for x in labels], dtype=object)}
    if kind == "period":
        per_of: dict[str, object] = {}
        for lab in uniq:
            try:
                p = parse_period_label(lab)
            except LabelError as exc:
                raise fail(lab, exc) from None
            if p is None:
                raise fail(lab, LabelError(lab, "a period such as 2022/24"))
            per_of[lab] = p.label
        return {"period": np.array([per_of[str(x)] for x in labels], dtype=object)}
    if kind == "sex":
        sex_of: dict[str, object] = {}
        for lab in uniq:
            s = parse_sex_label(lab)
            if s is None:
                raise fail(lab, LabelError(lab, "a sex label (männlich, weiblich, Insgesamt)"))
            sex_of[lab] = s
        return {"sex": np.array([sex_of[str(x)] for x in labels], dtype=object)}
    if kind == "age":
        start: dict[str, object] = {}
        end: dict[str, object] = {}
        unknown: dict[str, bool] = {}
        for lab in uniq:
            if is_age_unknown(lab):
                start[lab], end[lab], unknown[lab] = 0, None, True
                continue
            try:
                g = parse_age_label(lab)
            except LabelError as exc:
                raise fail(lab, exc) from None
            if g is None:
                raise fail(
                    lab,
                    LabelError(
                        lab,
                        "an age label such as 'unter 3 Jahre', '3 bis unter 6 Jahre', "
                        "'75 Jahre und mehr', '1-Jährige' or 'Insgesamt'",
                    ),
                )
            start[lab], end[lab], unknown[lab] = g.start, g.end, False
        return {
            "age_start": np.array([start[str(x)] for x in labels], dtype=object),
            "age_end": np.array([end[str(x)] for x in labels], dtype=object),
            "age_unknown": np.array([unknown[str(x)] for x in labels], dtype=bool),
        }
    if kind == "lt":
        lt_of: dict[str, object] = {}
        for lab in uniq:
            m = _LT_MEASURE.search(lab)
            if m is None:
                raise fail(lab, LabelError(lab, "a life-table measure such as 'q(x)'"))
            lt_of[lab] = "nLx" if m.group(1) == "L" else m.group(1) + "x"
        return {"lt": np.array([lt_of[str(x)] for x in labels], dtype=object)}
    if kind == "order":
        order_of: dict[str, object] = {}
        for lab in uniq:
            hit = next((o for p, o in _ORDER if p.fullmatch(lab)), None)
            if hit is None:
                raise fail(
                    lab, LabelError(lab, "a birth order (First child ... Fourth or further)")
                )
            order_of[lab] = hit
        return {"order": np.array([order_of[str(x)] for x in labels], dtype=object)}
    if kind == "region":
        zone_of: dict[str, object] = {}
        for lab in uniq:
            try:
                zone_of[lab] = normalise_ags(lab)
            except LabelError as exc:
                raise fail(lab, exc) from None
        return {"zone": np.array([zone_of[str(x)] for x in labels], dtype=object)}
    return {"text": np.asarray(labels, dtype=object)}  # pragma: no cover - callers filter kinds


_TOTAL_KEY: dict[str, dict[str, object]] = {
    "sex": {"sex": "t"},
    "age": {"age_start": 0, "age_end": None, "age_unknown": False},
}


def _parse_dim(
    kind: str, labels: np.ndarray, file: str, lines: np.ndarray | None, column: int | None
) -> dict[str, np.ndarray]:
    """Like :func:`_parse_values`, with totals of a sex or age dimension mapped to their key."""
    labels = np.asarray(labels, dtype=object)
    tot = np.array([is_total(str(x)) for x in labels], dtype=bool)
    if kind in _TOTAL_KEY and tot.any():
        keep = ~tot
        out: dict[str, np.ndarray] = {}
        sub = (
            _parse_values(
                kind, labels[keep], file, lines[keep] if lines is not None else None, column
            )
            if keep.any()
            else {}
        )
        for name, val in _TOTAL_KEY[kind].items():
            arr = np.empty(len(labels), dtype=bool if name == "age_unknown" else object)
            arr[tot] = val
            if name in sub:
                arr[keep] = sub[name]
            out[name] = arr
        out[f"{kind}_total"] = tot
        return out
    out = _parse_values(kind, labels, file, lines, column)
    if kind in _TOTAL_KEY:
        out[f"{kind}_total"] = np.zeros(len(labels), dtype=bool)
    return out


# --------------------------------------------------------------------------------------------------
# parsing a table into a cube


def parse_table(data: bytes, file: str) -> ClassicTable:
    """Parse the bytes of a classic table into a :class:`ClassicTable` (layout and cells).

    Raises
    ------
    InputFormatError
        For anything that does not follow the classic layout; the error names line and column.
    """
    _check_bytes(data, file)
    text, _enc = decode_text(data, file)
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    code_cell = lines[0].split(";")[0].strip() if lines else ""
    m = _CODE_LINE.match(code_cell)
    if m is None:
        raise _err(
            file,
            1,
            1,
            lines[0][:80] if lines else "",
            "a title line 'GENESIS-Tabelle: <code>' or 'Tabelle: <code>'",
            "unknown header",
        )
    code = m.group(1)
    footer_at = next((i for i, ln in enumerate(lines) if _FOOTER.match(ln)), None)
    if footer_at is None:
        raise _err(
            file,
            len(lines),
            None,
            None,
            "a footer line '__________' after the data (the file seems truncated)",
            "no footer",
        )
    rows = _split_rows(lines[1:footer_at])
    footer = lines[footer_at + 1 :]
    # title block: rows whose first cell is filled, up to the first header row
    i = 0
    while i < len(rows) and rows[i] and rows[i][0] != "":
        i += 1
    title = tuple(r[0] for r in rows[:i])
    h0 = i
    while i < len(rows) and (not rows[i] or rows[i][0] == ""):
        i += 1
    header = rows[h0:i]
    body = rows[i:]
    body_first_line = 2 + i
    if not header:
        raise _err(
            file,
            2 + h0,
            1,
            rows[h0][0] if h0 < len(rows) and rows[h0] else None,
            "column header rows (starting with ';') after the title block",
            "no column header",
        )
    if not body:
        raise _err(
            file, footer_at + 1, None, None, "data rows between header and footer", "no data rows"
        )
    ncols = len(header[-1])
    k = _leading_empty(header[-1])
    if k == 0 or k >= ncols:
        raise _err(
            file,
            1 + i,
            None,
            ";".join(header[-1])[:80],
            "a last header row that starts with the empty label cells and then names "
            "the value columns",
            "unknown header",
        )
    for r_i, row in enumerate(header):
        if len(row) > ncols and any(c != "" for c in row[ncols:]):
            raise _err(
                file,
                2 + h0 + r_i,
                ncols + 1,
                row[ncols],
                f"{ncols} columns as in the last header row",
                "ragged header row",
            )
    header = [(row + [""] * ncols)[:ncols] for row in header]
    for r_i, row in enumerate(body):
        if len(row) != ncols:
            raise _err(
                file,
                body_first_line + r_i,
                len(row),
                ";".join(row)[:60],
                f"{ncols} cells per row (as in the header), found {len(row)}",
                "ragged row",
            )
    all_cells = list(title) + [c for row in header for c in row] + footer
    decimal = "." if _language(all_cells) == "en" else ","
    grid = np.array(body, dtype=object)  # (n_body, ncols)
    line_no = np.arange(body_first_line, body_first_line + len(body))
    # section rows: exactly one label, no values
    values_empty = (grid[:, k:] == "").all(axis=1)
    label_filled = (grid[:, :k] != "").sum(axis=1)
    section = values_empty & (label_filled == 1)
    bad_empty = values_empty & ~section
    if bad_empty.any():
        j = int(np.flatnonzero(bad_empty)[0])
        raise _err(
            file, int(line_no[j]), k + 1, "", "a number or a GENESIS symbol", "row without values"
        )
    # flag columns: header repeats/empty, data only flags
    data_rows = grid[~section]
    data_lines = line_no[~section]
    is_flag = np.zeros(ncols, dtype=bool)
    for j in range(k + 1, ncols):
        if is_flag[j - 1]:
            continue
        head_ok = all(row[j] == "" or row[j] == row[j - 1] for row in header)
        col = data_rows[:, j]
        is_fl = np.array([c == "" or c in FLAGS for c in col.tolist()], dtype=bool)
        if head_ok and is_fl.all():
            is_flag[j] = True
        elif head_ok and all(row[j] == "" for row in header) and is_fl.mean() >= 0.5:
            r = int(np.flatnonzero(~is_fl)[0])  # a flag column with a stray cell
            raise _err(
                file,
                int(data_lines[r]),
                j + 1,
                str(col[r]),
                "a quality flag (p, r, s, e) or nothing",
                "bad flag",
            )
    vcols = [j for j in range(k, ncols) if not is_flag[j]]
    fcol = {j: (j + 1 if j + 1 < ncols and is_flag[j + 1] else None) for j in vcols}
    n, mcols = len(data_rows), len(vcols)
    dims_row: dict[str, np.ndarray] = {}
    dims_col: dict[str, np.ndarray] = {}
    texts: list[tuple[str, np.ndarray, str]] = []  # (axis, labels, origin)
    # -- header rows
    for r_i, row in enumerate(header):
        labs: list[str] = []
        last = ""
        for j in vcols:
            last = row[j] if row[j] != "" else last
            labs.append(last)
        kind = _dimension_kind(labs)
        if kind in ("empty", "unit", "total"):
            continue
        if kind == "text":
            if len(set(labs)) == 1 or all(x.lower() in _UNITS for x in labs):
                continue
            texts.append(("col", np.array(labs, dtype=object), f"header row {r_i + 1}"))
            continue
        if kind == "mixed":
            first_bad = next(x for x in labs if _classify(x) in ("text", "unit"))
            raise _err(
                file,
                2 + h0 + r_i,
                vcols[labs.index(first_bad)] + 1,
                first_bad,
                "a label of the same kind as the rest of this header row",
                "unknown column label",
            )
        parsed = _parse_dim(
            kind, np.array(labs, dtype=object), file, np.full(len(labs), 2 + h0 + r_i), None
        )
        for name, arr in parsed.items():
            dims_col[name] = arr
    # -- label columns (forward-filled)
    lab_grid = data_rows[:, :k].copy()
    for c in range(k):
        col = pd.Series(lab_grid[:, c]).replace("", np.nan).ffill().fillna("")
        lab_grid[:, c] = col.to_numpy(dtype=object)
    col_kinds = [_dimension_kind(sorted(set(lab_grid[:, c].tolist()))) for c in range(k)]
    c = 0
    while c < k:
        labs_c = lab_grid[:, c]
        vals = set(labs_c.tolist()) - {""}
        if (
            vals
            and all(_REGION_CODE.fullmatch(v) for v in vals)
            and c + 1 < k
            and col_kinds[c + 1] in ("text", "mixed")
        ):
            dims_row.update(_parse_dim("region", labs_c, file, data_lines, c + 1))
            c += 2  # the name column that follows the code
            continue
        kind = col_kinds[c]
        if "" in set(labs_c.tolist()) and kind not in ("empty",):
            j = int(np.flatnonzero(labs_c == "")[0])
            raise _err(
                file, int(data_lines[j]), c + 1, "", "a row label (none given above)", "empty label"
            )
        if kind in ("text", "unit"):
            texts.append(("row", labs_c, f"label column {c + 1}"))
        elif kind == "mixed":
            # the first label that breaks the column's kind (else the first row)
            j = next((i for i, x in enumerate(labs_c) if _classify(str(x)) in ("text", "unit")), 0)
            raise _err(
                file,
                int(data_lines[j]),
                c + 1,
                labs_c[j],
                "a label of the same kind as the rest of this column",
                "unknown row label",
            )
        elif kind not in ("empty", "total"):
            dims_row.update(_parse_dim(kind, labs_c, file, data_lines, c + 1))
        c += 1
    # -- section rows: context carried down
    sec_idx = np.flatnonzero(section)
    if len(sec_idx):
        row_pos = np.flatnonzero(~section)
        for sj in sec_idx:
            lab = next((x for x in grid[sj, :k] if x != ""), "")
            kind = _classify(lab)
            if kind not in ("period", "year", "sex"):
                raise _err(
                    file,
                    int(line_no[sj]),
                    1,
                    lab,
                    "a section label (a period such as 2022/24, a year or a sex)",
                    "row without values",
                )
        for kind_name in ("period", "year", "sex"):
            secs = [(int(sj), grid[sj, :k]) for sj in sec_idx]
            mine = [(sj, next(x for x in labs if x != "")) for sj, labs in secs]
            mine = [(sj, lab) for sj, lab in mine if _classify(lab) == kind_name]
            if not mine:
                continue
            owner = np.full(n, "", dtype=object)
            starts = np.array([sj for sj, _ in mine])
            which = np.searchsorted(starts, row_pos, side="right") - 1
            labs_arr = np.array([lab for _, lab in mine], dtype=object)
            owner[which >= 0] = labs_arr[which[which >= 0]]
            if (which < 0).any():
                j = int(np.flatnonzero(which < 0)[0])
                raise _err(
                    file,
                    int(data_lines[j]),
                    1,
                    None,
                    f"a section row ({kind_name}) before the first data row",
                    "data before its section",
                )
            parsed = _parse_dim(kind_name, owner, file, data_lines, 1)
            for name, arr in parsed.items():
                dims_row.setdefault(name, arr)
    # -- title constants
    const: dict[str, object] = {}
    for t in title:
        mt = _TITLE_DATE.match(t)
        cand = mt.group(1) if mt else t
        try:
            y = parse_year_label(cand)
        except LabelError as exc:
            raise _err(file, 2 + title.index(t), 1, t, exc.expected) from None
        if y is not None and "year" not in dims_row and "year" not in dims_col:
            const["year"] = y
        if t.strip().lower() in _GERMANY:
            const["zone"] = "DG"
    # -- cells
    vgrid = data_rows[:, vcols]
    fgrid = np.array(
        [
            data_rows[:, fcol[j]] if fcol[j] is not None else np.full(n, "", dtype=object)
            for j in vcols
        ],
        dtype=object,
    ).T.reshape(n, mcols)
    cells = pd.Series(vgrid.reshape(-1), dtype="string")
    flags = pd.Series(fgrid.reshape(-1), dtype="string")
    parsed_cells = parse_cells(cells, decimal, flags=flags)
    bad = parsed_cells.bad | (parsed_cells.status == "empty")
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        r, cc = divmod(b, mcols)
        example = "1.234,5" if decimal == "," else "1,234.5"
        lang = "German" if decimal == "," else "English"
        if str(cells.iloc[b]).strip() == "":
            exp = "a number or a GENESIS symbol (-, ., x, /, ...), not an empty cell"
        else:
            exp = f"a number in {lang} notation ({example}) or a GENESIS symbol (-, ., x, /, ...)"
            fl = flags.iloc[b]
            if (
                pd.notna(fl)
                and str(fl).strip() not in ("", *FLAGS)
                and parse_cells([str(cells.iloc[b])], decimal).bad.sum() == 0
            ):
                raise _err(
                    file,
                    int(data_lines[r]),
                    vcols[cc] + 2,
                    str(fl),
                    "a quality flag (p, r, s, e) or nothing",
                )
        raise _err(file, int(data_lines[r]), vcols[cc] + 1, str(cells.iloc[b]), exp)
    cube: dict[str, object] = {
        "line": np.repeat(data_lines, mcols),
        "column": np.tile(np.array(vcols) + 1, n),
        "text": vgrid.reshape(-1),
        "value": parsed_cells.value,
        "status": parsed_cells.status,
        "flag": parsed_cells.flag,
    }
    for name, arr in dims_row.items():
        cube[name] = np.repeat(arr, mcols)
    for name, arr in dims_col.items():
        if name in cube:
            raise _err(
                file,
                2 + h0,
                None,
                None,
                f"the variable {name} only once (row or column)",
                "variable given twice",
            )
        cube[name] = np.tile(arr, n)
    for t_i, (axis, tlabs, _origin) in enumerate(texts):
        cube[f"text{t_i}"] = np.repeat(tlabs, mcols) if axis == "row" else np.tile(tlabs, n)
    for name, val in const.items():
        if name not in cube:
            cube[name] = np.full(n * mcols, val, dtype=object)
    frame = pd.DataFrame(cube)
    rejected: list[tuple[str, int]] = []
    if "age_unknown" in frame and frame["age_unknown"].any():
        cnt = int(frame["age_unknown"].sum())
        rejected.append(("age unknown: no age group to store it under", cnt))
        frame = frame[~frame["age_unknown"]]
    return ClassicTable(file, code, title, decimal, frame.reset_index(drop=True), tuple(rejected))


# --------------------------------------------------------------------------------------------------
# totals, keys and numbers


def _decimals(text: pd.Series, decimal: str) -> pd.Series:
    frac = text.astype(str).str.extract("\\" + decimal + r"(\d+)", expand=False)
    return frac.str.len().fillna(0).astype(int)


def _drop_totals(
    frame: pd.DataFrame,
    dim: str | tuple[str, ...],
    keys: list[str],
    decimal: str,
    file: str,
    slack_rel: float = 0.0,
) -> tuple[pd.DataFrame, int]:
    """Verify and drop the total rows of dimension ``dim`` (``sex`` or ``age``).

    A total is checked against the sum of its parts where every part is a figure (``-`` counts
    as zero): ``|sum - total| <= 0.5 * 10**-d * (n + 1)`` for values with ``d`` decimals, plus
    ``slack_rel * total`` for parts that the total may legitimately exceed (births of
    indeterminate sex). A total is dropped when parts exist, and kept when it is the only figure.
    """
    dims = (dim,) if isinstance(dim, str) else dim
    tot_cols = [f"{d}_total" for d in dims]
    if any(c not in frame for c in tot_cols):
        return frame, 0
    flags = frame[tot_cols].to_numpy(dtype=bool)
    is_tot = flags.all(axis=1)
    if not is_tot.any():
        return frame, 0
    in_parts = ~flags.any(axis=1)  # a grand total's parts are total in none of its dimensions
    parts = frame[in_parts]
    totals = frame[is_tot]
    others = frame[~is_tot & ~in_parts]
    if parts.empty:
        return frame, 0
    dim_keys = {k for d in dims for k in _DIM_KEYS[d]}
    group = [k for k in keys if k not in dim_keys]
    pv = parts["value"].where(parts["status"] != "nothing", 0.0)
    figure = pv.notna()
    dec = _decimals(parts["text"], decimal)
    agg = pd.DataFrame({"v": pv.fillna(0.0), "ok": figure, "n": 1, "d": dec})
    for g in group:
        agg[g] = parts[g].astype(object).where(parts[g].notna(), "<NA>")
    summed = agg.groupby(group, sort=False, dropna=False).agg(
        v=("v", "sum"), ok=("ok", "all"), n=("n", "sum"), d=("d", "max")
    )
    tkey = pd.DataFrame(
        {g: totals[g].astype(object).where(totals[g].notna(), "<NA>") for g in group}
    )
    idx = pd.MultiIndex.from_frame(tkey) if len(group) > 1 else pd.Index(tkey[group[0]])
    matched = summed.reindex(idx)
    has_parts = matched["n"].notna().to_numpy()
    tv = totals["value"].where(totals["status"] != "nothing", 0.0).to_numpy(dtype=float)
    t_fig = ~np.isnan(tv)
    ok = matched["ok"].fillna(False).to_numpy(dtype=bool)
    s = matched["v"].to_numpy(dtype=float)
    d = np.maximum(
        matched["d"].fillna(0).to_numpy(dtype=float),
        _decimals(totals["text"], decimal).to_numpy(dtype=float),
    )
    tol = 0.5 * 10.0 ** (-d) * (matched["n"].fillna(0).to_numpy(dtype=float) + 1)
    tol = np.where(d == 0, 0.5, tol)
    diff = tv - s
    bad = (
        has_parts & ok & t_fig & ~((np.abs(diff) <= tol) | ((diff > 0) & (diff <= slack_rel * tv)))
    )
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        row = totals.iloc[b]
        raise InconsistentTotalError(
            file,
            line=int(row["line"]),
            column=int(row["column"]),
            value=str(row["text"]),
            expected=f"the sum of its parts ({s[b]:g})",
            reason=f"{'/'.join(dims)} total contradicts its parts",
        )
    keep_total = ~has_parts  # a total is kept only where no part exists
    out = pd.concat([parts, others, totals[keep_total]])
    return out, int((~keep_total).sum())


_DIM_KEYS = {"sex": ("sex",), "age": ("age_start", "age_end")}


def _check_keys(frame: pd.DataFrame, keys: list[str], file: str) -> None:
    dup = frame.duplicated(subset=keys, keep="first")
    if dup.any():
        row = frame[dup].iloc[0]
        shown = {k: (None if pd.isna(row[k]) else row[k]) for k in keys}
        raise DuplicateKeyError(
            file,
            line=int(row["line"]),
            column=int(row["column"]),
            value=str(shown),
            expected="each key once in the table",
            reason="duplicate key",
        )


def _check_counts(frame: pd.DataFrame, file: str) -> None:
    neg = frame["value"].to_numpy(dtype=float) < 0
    if neg.any():
        row = frame[neg].iloc[0]
        raise _err(
            file,
            int(row["line"]),
            int(row["column"]),
            str(row["text"]),
            "a count of zero or more",
            "negative count",
        )


def _need(frame: pd.DataFrame, names: Sequence[str], file: str, what: str) -> None:
    for name in names:
        if name not in frame:
            raise MissingColumnError(
                file,
                expected=f"a {name} variable for {what}",
                reason=f"no {name} found in the header, labels or title",
            )


def _fill(frame: pd.DataFrame, defaults: dict[str, object]) -> pd.DataFrame:
    out = frame.copy()
    for name, val in defaults.items():
        if name not in out:
            out[name] = val
    if "sex_total" not in out:
        out["sex_total"] = False
    if "age_total" not in out:
        out["age_total"] = False
    return out


# --------------------------------------------------------------------------------------------------
# mapping by table code


def _canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Conform ``frame`` to table ``name``, leaving out the reader's working columns."""
    return conform(name, frame[[c for c in TABLES[name].names if c in frame.columns]])


@dataclass(frozen=True)
class _Mapped:
    tables: dict[str, pd.DataFrame]
    rejected: tuple[tuple[str, int], ...]


def _stock_like(
    t: ClassicTable,
    table: str,
    keys: list[str],
    extra: dict[str, object],
    slack_sex: float = 0.0,
    counts: bool = True,
) -> _Mapped:
    f = _fill(t.cube, {"sex": "t", "age_start": 0, "age_end": None, **extra})
    _need(f, ["zone", "year"], t.file, table)
    if counts:
        _check_counts(f, t.file)
    _check_keys(f, keys, t.file)  # before the totals: a repeated row would break its total
    f, n_sex = _drop_totals(f, "sex", keys, t.decimal, t.file, slack_sex)
    f, n_age = _drop_totals(f, "age", keys, t.decimal, t.file)
    f, n_both = _drop_totals(f, ("sex", "age"), keys, t.decimal, t.file, slack_sex)
    n_age += n_both
    _check_keys(f, keys, t.file)
    rej = [
        (r, n)
        for r, n in (
            ("sex total verified and dropped", n_sex),
            ("age total verified and dropped", n_age),
        )
        if n
    ]
    return _Mapped({table: _canonical(table, f)}, tuple(rej))


def _population(t: ClassicTable) -> _Mapped:
    return _stock_like(t, "population", ["zone", "year", "sex", "age_start", "age_end"], {})


def _projection(t: ClassicTable) -> _Mapped:
    f = t.cube.copy()
    texts = [c for c in f.columns if c.startswith("text") and c != "text"]
    if not texts:
        raise MissingColumnError(
            t.file, expected="a projection variant label column", reason="no variant found"
        )
    code = f[texts[0]].astype(str)
    short = (
        f[texts[1]].astype(str).str.extract(r"\(([^()]+)\)\s*$", expand=False)
        if len(texts) > 1
        else None
    )
    f["variant"] = code if short is None else code.where(short.isna(), code + " (" + short + ")")
    f = f.drop(columns=texts)
    t2 = ClassicTable(t.file, t.code, t.title, t.decimal, f, t.rejected)
    m = _stock_like(
        t2, "official_projection", ["zone", "year", "variant", "sex", "age_start", "age_end"], {}
    )
    out = m.tables["official_projection"].copy()
    out["value"] = np.round(out["value"].to_numpy(dtype=float) * 1000.0, 3)  # 1000 -> persons
    return _Mapped({"official_projection": out}, m.rejected)


def _births(t: ClassicTable) -> _Mapped:
    # the total of live births includes births of indeterminate sex (2016-2017): allow 0.01 %
    return _stock_like(
        t, "births", ["zone", "year", "sex", "age_start", "age_end"], {}, slack_sex=1e-4
    )


def _fertility(measure: str) -> Callable[[ClassicTable], _Mapped]:
    def mapper(t: ClassicTable) -> _Mapped:
        f = _fill(t.cube, {"age_start": 0, "age_end": None, "order": ""})
        f["measure"] = measure
        f["category"] = f["order"].fillna("")
        _need(f, ["zone", "year"], t.file, "fertility")
        keys = ["zone", "year", "measure", "category", "age_start", "age_end"]
        if measure == "births":
            _check_counts(f, t.file)
        _check_keys(f, keys, t.file)
        f, n_age = _drop_totals(f, "age", keys, t.decimal, t.file)
        rej = (("age total verified and dropped", n_age),) if n_age else ()
        return _Mapped({"fertility": _canonical("fertility", f)}, rej)

    return mapper


def _life_tables(t: ClassicTable) -> _Mapped:
    f = _fill(t.cube, {"zone": "DG"})
    _need(f, ["period", "sex", "age_start", "lt"], t.file, "a life table")
    if f["sex_total"].any() or f["age_total"].any():
        row = f[f["sex_total"] | f["age_total"]].iloc[0]
        raise _err(
            t.file,
            int(row["line"]),
            int(row["column"]),
            "Insgesamt",
            "a life table by sex and single age",
        )
    f["age"] = f["age_start"].astype("int64")
    keys = ["zone", "period", "sex", "age", "lt"]
    _check_keys(f, keys, t.file)
    wide = f.pivot(index=["zone", "period", "sex", "age"], columns="lt", values="value")
    wide = wide.reset_index()
    wide["open"] = wide["age"] == wide.groupby(["zone", "period", "sex"])["age"].transform("max")
    for m in ("qx", "px", "lx", "dx", "nLx", "Tx", "ex"):
        if m not in wide:
            wide[m] = np.nan
    qx = wide["qx"].to_numpy(dtype=float)
    bad = (qx < 0) | (qx > 1)
    if bad.any():
        r = wide[bad].iloc[0]
        src = f[(f["period"] == r["period"]) & (f["sex"] == r["sex"]) & (f["age"] == r["age"])]
        raise _err(
            t.file,
            int(src["line"].iloc[0]),
            None,
            float(r["qx"]),
            "a probability of dying q(x) between 0 and 1",
        )
    return _Mapped({"life_tables": _canonical("life_tables", wide)}, ())


_CARE_TYPES = (
    (re.compile(r"^Pflegebedürftige$"), "all"),
    (re.compile(r"eingeschränkter Alltagskompetenz$"), "limited_competence"),
    (re.compile(r"^ambulante Pflege"), "home_care_service"),
    (re.compile(r"Dauerpflege"), "residential_long_term"),
    (re.compile(r"Kurzzeitpflege"), "residential_short_term"),
    (re.compile(r"Pflegeheime.*vollstationär$"), "residential"),
    (re.compile(r"^Pflegegeldempfänger"), "care_allowance_only"),
    (re.compile(r"teilstationäre Pflege"), "day_night_care"),
    (re.compile(r"o\.\s*Pflegest"), "no_care_level_limited_competence"),
)


def _care_type(label: str) -> str:
    return next((c for p, c in _CARE_TYPES if p.search(label)), label)


def _care(t: ClassicTable) -> _Mapped:
    f = t.cube.copy()
    texts = [c for c in f.columns if c.startswith("text") and c != "text"]
    if not texts:
        raise MissingColumnError(
            t.file, expected="care types in the column header", reason="no care type found"
        )
    f["care_type"] = f[texts[0]].astype(str).map(_care_type)
    f = f.drop(columns=texts)
    t2 = ClassicTable(t.file, t.code, t.title, t.decimal, f, t.rejected)
    m = _stock_like(t2, "care", ["zone", "year", "sex", "care_type"], {})
    return m


def _mapper(code: str) -> Callable[[ClassicTable], _Mapped] | None:
    if code.startswith("12411-"):
        return _population
    if code == "12421-0002":
        return _projection
    if code == "12612-0001":
        return _births
    fert = {
        "12612-0008": "asfr_per_1000",
        "12612-0009": "tfr",
        "12612-0011": "nrr",
        "12612-0005": "births",
        "12612-0014": "mean_age",
    }
    if code in fert:
        return _fertility(fert[code])
    if code.startswith("12621-0001"):
        return _life_tables
    if code.startswith("22411-02-03-4"):
        return _care
    return None


def map_table(t: ClassicTable) -> ImportBatch:
    """Map a parsed table to canonical tables by its table code."""
    mapper = _mapper(t.code)
    if mapper is None:
        raise _err(
            t.file,
            1,
            1,
            t.code,
            "a supported table: 12411-*, 12421-0002, 12612-0001/-0005/-0008/-0009/-0011/"
            "-0014, 12621-0001, 22411-02-03-4",
            "unsupported table",
        )
    mapped = mapper(t)
    meta = SourceMeta(
        file=t.file,
        sha256="",
        kind=NAME,
        table_code=t.code,
        title=" ".join(t.title[:2]),
        producer="Statistisches Bundesamt (Destatis) / Statistische Ämter des Bundes und der Länder",
        licence=LICENCE_DLDE,
    )
    return ImportBatch(
        meta=meta,
        tables=mapped.tables,
        rows_read=len(t.cube),
        rejected=t.rejected + mapped.rejected,
    )


def sniff(path: Path, head: bytes) -> bool:
    """True if ``head`` starts like a classic GENESIS table (``GENESIS-Tabelle:``/``Tabelle:``)."""
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").strip()
    return re.match(rb"(?:GENESIS-)?Tabelle:\s*\d{5}-", first) is not None


def read(path: str | Path) -> ImportBatch:
    """Read a classic GENESIS table CSV into canonical tables.

    Raises
    ------
    InputFormatError
        (or a subclass) naming file, line, column, value and what was expected.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputFormatError(str(p), reason=f"cannot read the file: {exc.strerror}") from None
    batch = map_table(parse_table(data, str(p)))
    meta = SourceMeta(**{**batch.meta.__dict__, "sha256": sha256_of(p)})
    return ImportBatch(
        meta=meta, tables=batch.tables, rows_read=batch.rows_read, rejected=batch.rejected
    )
