"""GENESIS-Online / Regionaldatenbank / Zensus 2022 classic table CSV ("Tabelle" download).

A classic table has four parts (:mod:`.blocks`)::

    GENESIS-Tabelle: 12411-0018            <- table code (line 1)
    Bevölkerung: Kreise, Stichtag, ...;;;  <- title block: first cell filled, may hold constants
    ;;;männlich;männlich;...               <- column header rows: start with empty label cells
    ;;;unter 3 Jahre;3 bis unter 6 Jahre
    31.12.2015;01001;Flensburg;1143;1130   <- data rows: label cells, then value cells
    __________                             <- footer: notes, ©, Stand:

The reader reads the header block instead of fixed positions: the number of leading label columns is
the number of empty cells that open the last header row; value/flag column pairs (English exports,
``578191;e``) are found from the header and the data (:mod:`.cells`); each header row and each label
column is classified by what its labels are (region code, date or year, period, sex, age, life-table
measure, birth order, free text; :mod:`.dims`). A label column may be given only on its first row
(forward-filled), a row with one label and no values opens a section (``2022/24``), and a title line
may hold a constant (``Stichtag: 31.12.2020``, ``Deutschland``). The table code then decides the
canonical table (:mod:`.mapping`).

Layout references: the files of ``../shared/data/statistik`` (GENESIS-Online and Regionaldatenbank
downloads, German and English); R package ``wiesbaden``, ``read_header_genesis()``; R package
``destatiscleanr``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.errors import InputFormatError
from wandel.sources._sheets import find_sheet, is_spreadsheet
from wandel.sources.base import ImportBatch, SourceMeta, sha256_of
from wandel.sources.genesis_classic.blocks import Blocks, blocks_from_bytes, err
from wandel.sources.genesis_classic.cells import body_of, cube_cells, decimal_of, value_columns
from wandel.sources.genesis_classic.dims import (
    forward_filled,
    header_dims,
    label_dims,
    section_dims,
    title_constants,
)
from wandel.sources.genesis_classic.mapping import NAME, ClassicTable, map_table
from wandel.sources.genesis_classic.names import Named, region_names
from wandel.sources.genesis_classic.sheet import blocks_from_sheet, is_table_head
from wandel.sources.register import Register

__all__ = ["NAME", "ClassicTable", "map_table", "parse_blocks", "parse_table", "read", "sniff"]


def parse_table(data: bytes, file: str, register: Register | None = None) -> ClassicTable:
    """Parse the bytes of a classic table CSV into a :class:`ClassicTable` (layout and cells).

    ``register`` resolves regions given by name (default: :meth:`Register.shipped`).

    Raises
    ------
    InputFormatError
        For anything that does not follow the classic layout; the error names line and column.
    """
    return parse_blocks(blocks_from_bytes(data, file), register)


def parse_blocks(b: Blocks, register: Register | None = None) -> ClassicTable:
    """Parse split blocks (from a CSV or a spreadsheet) into a :class:`ClassicTable`."""
    decimal = decimal_of(b)
    body = body_of(b)
    vc = value_columns(b, body)
    data, lines = body.data, body.data_lines
    n, mcols = len(data), len(vc.vcols)
    dims_col, texts = header_dims(b.header, vc.vcols, b.file, b.header_line)
    dims_row, row_texts, _text_cols = label_dims(forward_filled(data[:, : b.k]), lines, b.file)
    texts += row_texts
    for name, arr in section_dims(body.grid, body.section, b.k, body.line_no, b.file).items():
        dims_row.setdefault(name, arr)
    has_year = "year" in dims_row or "year" in dims_col
    const = title_constants(b.title, b.title_line, b.file, has_year)
    named = Named()
    if "zone" not in dims_row and "zone" not in dims_col:
        named = region_names(
            b,
            texts,
            (dims_row, dims_col),
            const,
            (lines, vc.vcols),
            lambda: register or Register.shipped(),
        )
        if named.zones is not None:
            (dims_row if named.axis == "row" else dims_col)["zone"] = named.zones
            texts = [t for i, t in enumerate(texts) if i != named.text]
    cube = cube_cells(b.file, data, lines, vc, decimal)
    for name, arr in dims_row.items():
        cube[name] = np.repeat(arr, mcols)
    for name, arr in dims_col.items():
        if name in cube:
            raise err(
                b.file,
                b.header_line,
                None,
                None,
                "@sources.expected.variable_once",
                "variable given twice",
                fields={"name": name},
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
    return ClassicTable(
        b.file,
        b.code,
        b.title,
        decimal,
        frame.reset_index(drop=True),
        tuple(rejected),
        named.unresolved,
    )


def sniff(path: Path, head: bytes) -> bool:
    """True if ``head`` starts like a classic GENESIS table (``GENESIS-Tabelle:``/``Tabelle:``),
    or ``path`` is a workbook with a sheet whose A1 is such a code line."""
    if is_spreadsheet(head):
        try:
            return find_sheet(path, is_table_head, head_rows=1, head_only=True) is not None
        except InputFormatError:
            return False
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").strip()
    return re.match(rb"(?:GENESIS-)?Tabelle:\s*[0-9A-Za-z]{2,6}-", first) is not None


def read(path: str | Path, register: Register | None = None) -> ImportBatch:
    """Read a classic GENESIS table (CSV, or xlsx/xls/ods: :mod:`.sheet`) into canonical tables.

    ``register`` resolves regions given by name only; the import workflow passes the store's
    Gemeindeverzeichnis laid over the shipped register (default: :meth:`Register.shipped`).

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
    if is_spreadsheet(data[:8]):
        table = parse_blocks(blocks_from_sheet(p), register)
    else:
        table = parse_table(data, str(p), register)
    batch = map_table(table)
    meta = SourceMeta(**{**batch.meta.__dict__, "sha256": sha256_of(p)})
    return ImportBatch(
        meta=meta, tables=batch.tables, rows_read=batch.rows_read, rejected=batch.rejected
    )
