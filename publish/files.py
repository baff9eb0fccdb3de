"""Writing files for people: atomically, deterministically, text always as text.

Every workbook goes through `write_workbook`: input text is written with
`write_string`, so a remark starting with '=' stays text and never becomes a
formula; numbers and dates keep their types; headers are bold and frozen.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter

from jiuzhu.permissions import FILE_MODE
from transforms.returns import fit_excel_cell

FIXED_CREATED = datetime(2000, 1, 1)


def atomic_target(path: Path) -> Path:
    """A temporary file beside `path` (renamed into place by the caller), with the home's
    file mode (jiuzhu.permissions: 0640; mkstemp alone would make it 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(tmp)



def write_text(path: Path, text: str) -> Path:
    """`text` (UTF-8) written atomically: the one way jiuzhu writes a text file for people."""
    tmp = atomic_target(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_json(path: Path, payload: Mapping) -> Path:
    return write_text(path, json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


LARGE_ROWS = 2_000  # above this many rows in all, the Rust writer (about 10x faster) is used


def write_workbook(path: Path, sheets: Mapping[str, pl.DataFrame], *, widths: Mapping[str, int] | None = None) -> Path:
    """One sheet per frame; column names are the headers (Chinese for people).

    Small workbooks go through xlsxwriter with a fixed creation date, so the
    same content gives the same bytes; large ones (bank batches, municipal
    hold lists) through rust_xlsxwriter, whose files differ only in their
    metadata dates. Either way input text is written as text, never a formula."""
    if sum(f.height for f in sheets.values()) > LARGE_ROWS:
        return _write_large_workbook(path, sheets)
    tmp = atomic_target(path)
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_CREATED})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    for sheet_name, frame in sheets.items():
        ws = wb.add_worksheet(sheet_name[:31])
        for c, name in enumerate(frame.columns):
            ws.write_string(0, c, str(name), head)
            width = (widths or {}).get(name) or min(40, max(8, 2 * len(str(name)) + 2))
            ws.set_column(c, c, width)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_string(r, c, "是" if value else "否")
                elif isinstance(value, Decimal):
                    ws.write_number(r, c, float(value), money_fmt)
                elif isinstance(value, int | float):
                    ws.write_number(r, c, value)
                elif isinstance(value, datetime | date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                else:
                    ws.write_string(r, c, str(value))
        ws.freeze_panes(1, 0)
        if frame.width:
            ws.autofilter(0, 0, max(frame.height, 1), frame.width - 1)
    wb.close()
    os.replace(tmp, path)
    return path


def _for_rust_writer(frame: pl.DataFrame) -> pl.DataFrame:
    """Values the Rust writer takes: money as numbers for display (computed exactly
    before), booleans as 是/否, dates as dates, the rest text. A frame goes in as
    columns (~40% faster than a list of row dicts)."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            exprs.append(pl.when(col).then(pl.lit("是")).when(~col).then(pl.lit("否")).alias(name))
        elif isinstance(dtype, pl.Decimal):
            exprs.append(col.cast(pl.Float64))
        elif dtype.is_numeric() or dtype in (pl.Date, pl.Datetime):
            exprs.append(col)
        else:  # Excel's cell holds 32,767 characters: cut, never fail the workbook
            exprs.append(fit_excel_cell(col.cast(pl.String)))
    out = frame.select(exprs)
    return out if out.height else pl.DataFrame({c: [""] for c in out.columns})


def _write_large_workbook(path: Path, sheets: Mapping[str, pl.DataFrame]) -> Path:
    from rustpy_xlsxwriter import write_worksheets

    tmp = atomic_target(path)
    payload = []
    for name, frame in sheets.items():
        payload.append((name[:31], _for_rust_writer(frame)))
    write_worksheets(payload, str(tmp), freeze_panes={"row": 1, "col": 0}, bold_headers=True,
                     float_format="#,##0.00", datetime_format="yyyy-mm-dd", na_rep="")
    os.replace(tmp, path)
    return path
