"""Variables of a classic table: what each header row and label column holds, parsed into keys.

Each header row and each label column is classified by what its labels are (region code, date or
year, period, sex, age, life-table measure, birth order, unit or free text, see :func:`classify`),
then parsed into key arrays (``zone``, ``year``, ``period``, ``sex``, ``age_start``/``age_end``,
``lt``, ``order``). Totals (``Insgesamt``) of a sex or age variable are kept as their key with a
``*_total`` flag, so that :mod:`.mapping` can verify and drop them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from wandel.errors import InputFormatError, LabelError
from wandel.sources._labels import (
    census_date_in,
    is_age_unknown,
    is_total,
    normalise_ags,
    parse_age_label,
    parse_census_date,
    parse_period_label,
    parse_sex_label,
    parse_year_label,
)
from wandel.sources.genesis_classic.blocks import err

__all__ = [
    "LT_MEASURE",
    "ORDER",
    "REGION_CODE",
    "UNITS",
    "Labels",
    "classify",
    "dimension_kind",
    "parse_dim",
]

REGION_CODE = re.compile(r"(?:DG|\d{1,12})")
AGS_CODE = re.compile(r"(?:DG|\d{2}|\d{3}|\d{5}|\d{8}|\d{9}|\d{12})")
LT_MEASURE = re.compile(r"\[([qpldLTe])\(x\)\]")
UNITS = frozenset(
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
ORDER = (
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
_AGE_EXPECTED = (
    "an age label such as 'unter 3 Jahre', '3 bis unter 6 Jahre', "
    "'75 Jahre und mehr', '1-Jährige' or 'Insgesamt'"
)


def classify(label: str) -> str:
    """Kind of one label: total, period, year, sex, age, age_unknown, lt, order, unit or text.

    >>> [classify(x) for x in ("31.12.2015", "2022/24", "weiblich", "unter 3 Jahre", "Anzahl")]
    ['year', 'period', 'sex', 'age', 'unit']
    """
    if label == "":
        return "empty"
    if is_total(label):
        return "total"
    if parse_census_date(label) is not None:
        return "census_date"
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
    if LT_MEASURE.search(label):
        return "lt"
    if any(p.fullmatch(label) for p, _ in ORDER):
        return "order"
    if label.lower() in UNITS:
        return "unit"
    return "text"


def dimension_kind(labels: Sequence[str]) -> str:
    """The kind of a whole header row or label column; ``mixed`` where kinds disagree."""
    kinds = {classify(x) for x in labels} - {"empty"}
    core = kinds - {"total", "age_unknown"}
    if not core:
        return "total" if "total" in kinds else "empty"
    if len(core) == 1:
        return next(iter(core))
    if core <= {"text", "unit"}:
        return "text"
    return "mixed"


class Labels:
    """Distinct labels of one variable with the line and column where each first occurs."""

    def __init__(
        self, labels: np.ndarray, file: str, lines: np.ndarray | None, column: int | None
    ) -> None:
        self.labels = labels
        self.file = file
        self.first: dict[str, int] = {}
        for i, lab in enumerate(labels):
            self.first.setdefault(str(lab), i)
        self.lines = lines
        self.column = column

    def fail(self, lab: str, expected: str) -> InputFormatError:
        i = self.first[lab]
        line = int(self.lines[i]) if self.lines is not None else None
        return err(self.file, line, self.column, lab, expected)

    def map(self, parse: Callable[[str], object], expected: str) -> np.ndarray:
        """``parse`` every distinct label (``None`` or a :class:`LabelError` is an error)."""
        out: dict[str, object] = {}
        for lab in self.first:
            try:
                v = parse(lab)
            except LabelError as exc:
                raise self.fail(lab, exc.expected) from None
            if v is None:
                raise self.fail(lab, expected)
            out[lab] = v
        return np.array([out[str(x)] for x in self.labels], dtype=object)


def _lt(label: str) -> str | None:
    m = LT_MEASURE.search(label)
    if m is None:
        return None
    return "nLx" if m.group(1) == "L" else m.group(1) + "x"


def _order(label: str) -> str | None:
    return next((o for p, o in ORDER if p.fullmatch(label)), None)


def _age(labels: Labels) -> dict[str, np.ndarray]:
    def one(lab: str) -> tuple[int, int | None, bool]:
        if is_age_unknown(lab):
            return (0, None, True)
        g = parse_age_label(lab)
        if g is None:
            raise LabelError(lab, _AGE_EXPECTED)
        return (g.start, g.end, False)

    parsed = labels.map(one, _AGE_EXPECTED)
    return {
        "age_start": np.array([p[0] for p in parsed], dtype=object),
        "age_end": np.array([p[1] for p in parsed], dtype=object),
        "age_unknown": np.array([p[2] for p in parsed], dtype=bool),
    }


def _period(label: str) -> str | None:
    p = parse_period_label(label)
    return None if p is None else p.label


def _sex(label: str) -> str | None:
    return parse_sex_label(label)


_SIMPLE: dict[str, tuple[str, Callable[[str], object], str]] = {
    "year": ("year", parse_year_label, "a date (31.12.YYYY) or a year"),
    "period": ("period", _period, "a period such as 2022/24"),
    "sex": ("sex", _sex, "a sex label (männlich, weiblich, Insgesamt)"),
    "lt": ("lt", _lt, "a life-table measure such as 'q(x)'"),
    "order": ("order", _order, "a birth order (First child ... Fourth or further)"),
    "region": ("zone", normalise_ags, "an AGS region code"),
    "census_date": (
        "reference_date",
        parse_census_date,
        "a census reference date (09.05.2011, 15.05.2022)",
    ),
}


def parse_values(
    kind: str, labels: np.ndarray, file: str, lines: np.ndarray | None, column: int | None
) -> dict[str, np.ndarray]:
    """Parse a vector of labels of one kind into key arrays; errors name line and column."""
    lab = Labels(labels, file, lines, column)
    if kind == "age":
        return _age(lab)
    name, parse, expected = _SIMPLE[kind]
    return {name: lab.map(parse, expected)}


_TOTAL_KEY: dict[str, dict[str, object]] = {
    "sex": {"sex": "t"},
    "age": {"age_start": 0, "age_end": None, "age_unknown": False},
}


def parse_dim(
    kind: str, labels: np.ndarray, file: str, lines: np.ndarray | None, column: int | None
) -> dict[str, np.ndarray]:
    """Like :func:`parse_values`, with totals of a sex or age dimension mapped to their key."""
    labels = np.asarray(labels, dtype=object)
    tot = np.array([is_total(str(x)) for x in labels], dtype=bool)
    if kind in _TOTAL_KEY and tot.any():
        keep = ~tot
        out: dict[str, np.ndarray] = {}
        sub = (
            parse_values(
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
    out = parse_values(kind, labels, file, lines, column)
    if kind in _TOTAL_KEY:
        out[f"{kind}_total"] = np.zeros(len(labels), dtype=bool)
    return out


# --------------------------------------------------------------------------------------------------
# axes: header rows, label columns, section rows and title constants

_TITLE_DATE = re.compile(r"^(?:Stichtag|Reference date|Jahr|Year)\s*:\s*(.+)$", re.IGNORECASE)
_GERMANY = frozenset({"deutschland", "germany"})

Dims = dict[str, np.ndarray]
Texts = list[tuple[str, np.ndarray, str]]  # (axis "row"/"col", labels, origin)


def header_dims(
    header: list[list[str]], vcols: list[int], file: str, first_line: int
) -> tuple[Dims, Texts]:
    """Variables of the column header rows (labels forward-filled over merged cells)."""
    dims: Dims = {}
    texts: Texts = []
    for r_i, row in enumerate(header):
        labs: list[str] = []
        last = ""
        for j in vcols:
            last = row[j] if row[j] != "" else last
            labs.append(last)
        kind = dimension_kind(labs)
        if kind in ("empty", "unit", "total"):
            continue
        if kind == "text":
            if len(set(labs)) > 1 and not all(x.lower() in UNITS for x in labs):
                texts.append(("col", np.array(labs, dtype=object), f"header row {r_i + 1}"))
            continue
        if kind == "mixed":
            first_bad = next(x for x in labs if classify(x) in ("text", "unit"))
            raise err(
                file,
                first_line + r_i,
                vcols[labs.index(first_bad)] + 1,
                first_bad,
                "a label of the same kind as the rest of this header row",
                "unknown column label",
            )
        line = np.full(len(labs), first_line + r_i)
        dims.update(parse_dim(kind, np.array(labs, dtype=object), file, line, None))
    return dims, texts


def forward_filled(labels: np.ndarray) -> np.ndarray:
    """Label columns given only on their first row, filled down (``k`` columns at once)."""
    out = labels.copy()
    for c in range(out.shape[1]):
        last = ""
        col = out[:, c]
        for i, v in enumerate(col):
            if v == "":
                col[i] = last
            else:
                last = v
    return out


def _is_code_column(labs: np.ndarray, c: int, k: int, kinds: list[str]) -> bool:
    """A column of region codes: followed by the names, or (regions given by code only) every
    code an AGS of a whole level (``DG``, Land 2, Regierungsbezirk 3, Kreis 5, Gemeinde 8,
    Gemeindeverband 9 digits) in a column read as free text."""
    vals = set(labs.tolist()) - {""}
    if not vals or not all(REGION_CODE.fullmatch(v) for v in vals):
        return False
    if c + 1 < k and kinds[c + 1] in ("text", "mixed"):
        return True
    return kinds[c] == "text" and all(AGS_CODE.fullmatch(v) for v in vals)


def label_dims(lab_grid: np.ndarray, lines: np.ndarray, file: str) -> tuple[Dims, Texts, list[int]]:
    """Variables of the label columns; returns the dims, free-text columns and the indices of the
    text columns (region names are resolved later, where the years are known)."""
    k = lab_grid.shape[1]
    kinds = [dimension_kind(sorted(set(lab_grid[:, c].tolist()))) for c in range(k)]
    dims: Dims = {}
    texts: Texts = []
    text_cols: list[int] = []
    c = 0
    while c < k:
        labs = lab_grid[:, c]
        if _is_code_column(labs, c, k, kinds):
            dims.update(parse_dim("region", labs, file, lines, c + 1))
            named = c + 1 < k and kinds[c + 1] in ("text", "mixed")
            c += 2 if named else 1  # the name column that follows the code
            continue
        kind = kinds[c]
        if "" in set(labs.tolist()) and kind != "empty":
            j = int(np.flatnonzero(labs == "")[0])
            raise err(
                file, int(lines[j]), c + 1, "", "a row label (none given above)", "empty label"
            )
        if kind in ("text", "unit"):
            texts.append(("row", labs, f"label column {c + 1}"))
            text_cols.append(c)
        elif kind == "mixed":
            # the first label that breaks the column's kind (else the first row)
            j = next((i for i, x in enumerate(labs) if classify(str(x)) in ("text", "unit")), 0)
            raise err(
                file,
                int(lines[j]),
                c + 1,
                labs[j],
                "a label of the same kind as the rest of this column",
                "unknown row label",
            )
        elif kind not in ("empty", "total"):
            dims.update(parse_dim(kind, labs, file, lines, c + 1))
        c += 1
    return dims, texts, text_cols


_SECTION_KINDS = ("period", "year", "census_date", "sex")


def section_dims(
    grid: np.ndarray,
    section: np.ndarray,
    k: int,
    line_no: np.ndarray,
    file: str,
) -> Dims:
    """Context carried down from section rows (one label, no values: ``2022/24``, a year, a sex)."""
    sec_idx = np.flatnonzero(section)
    if not len(sec_idx):
        return {}
    row_pos = np.flatnonzero(~section)
    data_lines = line_no[~section]
    first: list[tuple[int, str]] = []
    for sj in sec_idx:
        lab = next((x for x in grid[sj, :k] if x != ""), "")
        if classify(lab) not in _SECTION_KINDS:
            raise err(
                file,
                int(line_no[sj]),
                1,
                lab,
                "a section label (a period such as 2022/24, a year or a sex)",
                "row without values",
            )
        first.append((int(sj), lab))
    dims: Dims = {}
    for kind_name in _SECTION_KINDS:
        mine = [(sj, lab) for sj, lab in first if classify(lab) == kind_name]
        if not mine:
            continue
        owner = np.full(len(row_pos), "", dtype=object)
        starts = np.array([sj for sj, _ in mine])
        which = np.searchsorted(starts, row_pos, side="right") - 1
        labs_arr = np.array([lab for _, lab in mine], dtype=object)
        owner[which >= 0] = labs_arr[which[which >= 0]]
        if (which < 0).any():
            j = int(np.flatnonzero(which < 0)[0])
            raise err(
                file,
                int(data_lines[j]),
                1,
                None,
                "@sources.expected.section_first",
                "data before its section",
                fields={"kind": kind_name},
            )
        for name, arr in parse_dim(kind_name, owner, file, data_lines, 1).items():
            dims.setdefault(name, arr)
    return dims


def title_constants(
    title: Sequence[str], first_line: int, file: str, has_year: bool
) -> dict[str, object]:
    """Constants of the title block: a reference date (``Stichtag: 31.12.2020``), ``Deutschland``."""
    const: dict[str, object] = {}
    for i, t in enumerate(title):
        census = census_date_in(t)
        if census is not None:  # Stichtag 09.05.2011, Zensus 2022: the census, not a year end
            const.setdefault("reference_date", census)
            continue
        mt = _TITLE_DATE.match(t)
        cand = mt.group(1) if mt else t
        try:
            y = parse_year_label(cand)
        except LabelError as exc:
            raise err(file, first_line + i, 1, t, exc.expected) from None
        if y is not None and not has_year:
            const["year"] = y
        if t.strip().lower() in _GERMANY:
            const["zone"] = "DG"
    return const
