"""Writing files for people: atomically, deterministically, text always as text.

Every workbook goes through `write_workbook`: input text is written with
`write_string`, so a remark starting with '=' stays text and never becomes a
formula; numbers and dates keep their types; headers are bold and frozen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter

from core.files import atomic_target, write_text_atomic
from transforms.returns import fit_excel_cell

FIXED_CREATED = datetime(2000, 1, 1)



def write_text(path: Path, text: str) -> Path:
    """`text` (UTF-8) written atomically: the one way jiuzhu writes a text file for people."""
    return write_text_atomic(path, text)


def write_json(path: Path, payload: Mapping) -> Path:
    return write_text(path, json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


LARGE_ROWS = 2_000  # above this many rows in all, the Rust writer (about 10x faster) is used
MAX_WIDTH = 50  # characters: wider text wraps (a wrapped column) or is cut on screen, never on paper
WRAP_WIDTH = 40  # the width of a wrapped column such as 问题
MAX_NOTES = 2_000  # cell comments per sheet (each costs ~0.1 ms and a shape in the file)
A4, A3 = 9, 8  # Excel's paper size codes
A4_WIDTH = 160  # characters of column width that still read on an A4 landscape page; wider sheets print on A3


def display_width(text: str) -> int:
    """Columns a text takes on screen: a CJK or full-width character takes two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def column_widths(frame: pl.DataFrame, wrap: tuple[str, ...] = ()) -> dict[str, int]:
    """Widths that fit each column's header and longest value (dates and money as shown), at most
    MAX_WIDTH; a wrapped column gets WRAP_WIDTH. Measured on the widest distinct values only."""
    widths: dict[str, int] = {}
    for name, dtype in frame.schema.items():
        if name in wrap:
            widths[name] = WRAP_WIDTH
            continue
        head = display_width(str(name)) + 2  # room for the filter button
        if dtype in (pl.Date, pl.Datetime):
            body = 10
        elif isinstance(dtype, pl.Decimal) or dtype.is_float():
            body = 14
        else:
            text = frame.select(pl.col(name).cast(pl.String).drop_nulls().unique())[name]
            longest = text.gather(text.str.len_bytes().arg_sort(descending=True).head(20)).to_list()
            body = max((display_width(v) for v in longest), default=0)
        widths[name] = min(MAX_WIDTH, max(6, head, body + 1))
    return widths


def write_workbook(path: Path, sheets: Mapping[str, pl.DataFrame], *, widths: Mapping[str, int] | None = None,
                   wrap: tuple[str, ...] = (), marks: Mapping[str, pl.DataFrame] | None = None) -> Path:
    """One sheet per frame; column names are the headers (Chinese for people).

    Every sheet is readable on screen and on paper: widths fit the content (`wrap` columns
    wrap), the header is bold, frozen and filtered, and it prints landscape on A4, fit to
    the page width, the header repeated on every page.

    `marks[sheet]` (sheet_row, column, note): cells at fault, highlighted with the note as
    a cell comment (the first MAX_NOTES of a sheet; the rest highlighted only) — small
    workbooks only: the Rust writer has no cell comments, so a large sheet carries its
    messages in its own columns (the return file's 问题).

    Small workbooks go through xlsxwriter with a fixed creation date, so the
    same content gives the same bytes; large ones (bank batches, municipal
    hold lists) through rust_xlsxwriter, whose files differ only in their
    metadata dates. Either way input text is written as text, never a formula."""
    tmp = atomic_target(path)
    render_workbook(tmp, sheets, widths=widths, wrap=wrap, marks=marks)
    os.replace(tmp, path)
    return path


def is_large(sheets: Mapping[str, pl.DataFrame]) -> bool:
    """Whether the Rust writer writes these sheets (it has no cell comments: marks are left out)."""
    return sum(f.height for f in sheets.values()) > LARGE_ROWS


def render_workbook(target: Path, sheets: Mapping[str, pl.DataFrame], *, widths: Mapping[str, int] | None = None,
                    wrap: tuple[str, ...] = (), marks: Mapping[str, pl.DataFrame] | None = None) -> Path:
    """`write_workbook`'s file, written straight to `target` (a temporary file the caller renames into place)."""
    if is_large(sheets):
        return _write_large_workbook(target, sheets, widths=widths, wrap=wrap)
    tmp = target
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_CREATED})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    money_fmt = wb.add_format({"num_format": "#,##0.00", "valign": "top"})
    text_fmt = wb.add_format({"valign": "top"})
    wrap_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
    fault_fmt = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "border": 1, "valign": "top"})
    for sheet_name, frame in sheets.items():
        ws = wb.add_worksheet(sheet_name[:31])
        fitted = column_widths(frame, wrap) | dict(widths or {})
        for c, name in enumerate(frame.columns):
            ws.write_string(0, c, str(name), head)
            ws.set_column(c, c, fitted[name], wrap_fmt if name in wrap else None)
        faults = _marks_by_cell(frame, (marks or {}).get(sheet_name))
        wrapped = [(i, fitted[name]) for i, name in enumerate(frame.columns) if name in wrap]
        for r, row in enumerate(frame.iter_rows(), start=1):
            lines = max((-(-display_width(str(row[i] or "")) // max(1, w - 2)) for i, w in wrapped), default=1)
            if lines > 1:  # wrapped text: the row tall enough to show it (neither Excel nor LibreOffice does)
                ws.set_row(r, 15 * min(lines, 12))
            for c, value in enumerate(row):
                at_fault = (r - 1, c) in faults
                if value is None:
                    if at_fault:
                        ws.write_blank(r, c, None, fault_fmt)
                    continue
                if at_fault:
                    ws.write_string(r, c, _cell_text(value), fault_fmt)
                elif isinstance(value, bool):
                    ws.write_string(r, c, "是" if value else "否", text_fmt)
                elif isinstance(value, Decimal):
                    ws.write_number(r, c, float(value), money_fmt)
                elif isinstance(value, int | float):
                    ws.write_number(r, c, value, text_fmt)
                elif isinstance(value, datetime | date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                else:
                    ws.write_string(r, c, str(value), wrap_fmt if frame.columns[c] in wrap else text_fmt)
        for (r, c), note in list(faults.items())[:MAX_NOTES]:
            ws.write_comment(r + 1, c, note, {"x_scale": 2.5, "y_scale": 1.5, "author": "区民政局"})
        ws.freeze_panes(1, 0)
        if frame.width:
            ws.autofilter(0, 0, max(frame.height, 1), frame.width - 1)
        ws.set_landscape()
        ws.set_paper(A4 if sum(fitted.values()) <= A4_WIDTH else A3)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.set_footer("&C第 &P 页，共 &N 页")
    wb.close()
    return target


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _marks_by_cell(frame: pl.DataFrame, marks: pl.DataFrame | None) -> dict[tuple[int, int], str]:
    """(0-based data row, column index) -> note, for the marks whose column the sheet has."""
    if marks is None or marks.is_empty():
        return {}
    index = {name: i for i, name in enumerate(frame.columns)}
    return {(r, index[col]): note for r, col, note in marks.select("sheet_row", "column", "note").iter_rows()
            if col in index and r < frame.height}


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


def _write_large_workbook(target: Path, sheets: Mapping[str, pl.DataFrame], *,
                          widths: Mapping[str, int] | None = None, wrap: tuple[str, ...] = ()) -> Path:
    from rustpy_xlsxwriter import Format, write_worksheets

    payload, col_widths, col_formats, page, filters = [], {}, {}, {}, {}
    for name, frame in sheets.items():
        sheet = name[:31]
        payload.append((sheet, _for_rust_writer(frame)))
        col_widths[sheet] = column_widths(frame, wrap) | dict(widths or {})
        col_formats[sheet] = {c: Format().set_text_wrap() for c in wrap if c in frame.columns}
        paper = A4 if sum(col_widths[sheet].values()) <= A4_WIDTH else A3
        page[sheet] = {"landscape": True, "paper_size": paper, "fit_to_pages": (1, 0), "repeat_rows": 0,
                       "footer": "&C第 &P 页，共 &N 页"}
        filters[sheet] = True
    write_worksheets(payload, str(target), freeze_panes={"general": {"row": 1, "col": 0}}, bold_headers=True,
                     float_format="#,##0.00", datetime_format="yyyy-mm-dd", na_rep="", column_widths=col_widths,
                     column_formats=col_formats, page_setup=page, autofilter=filters)
    return target
