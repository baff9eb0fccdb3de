"""What goes back to a town for one submission (SPEC §6 town return file).

Every row of every case with a finding, with a 问题 column naming the rule and
the message; rows of a rejected case that are not at fault say 同案其他行有误.
A cell longer than Excel holds (32,767 characters) is cut, and its row's 问题
says which column was cut: the workbook is what the clerk corrects and sends back.
"""

from __future__ import annotations

import polars as pl

RAW_FIELDS = [
    "case_no", "town_code", "village", "program", "status", "applied_on", "received_on", "visited_on",
    "reviewed_on", "decided_on", "publicity_from", "publicity_to", "decided_level", "decided_by",
    "monthly_benefit", "benefit_from", "rechecked_on", "bank", "account_no", "account_holder", "staff_relative",
    "complaint", "extended", "gradual_exit", "remark", "name", "id_no", "relation", "covered", "disability_type",
    "disability_grade", "serious_illness", "schooling", "work_ability", "self_care", "annual_review_on",
    "monthly_income",
]
OTHER_ROW_AT_FAULT = "同案其他行有误"
EXCEL_CELL_MAX = 32_767  # characters (UTF-16 code units) an Excel cell holds
_ASTRAL = r"[\x{10000}-\x{10FFFF}]"  # characters outside the BMP: two UTF-16 code units each
LEADING_COLUMNS = ("行号", "处理结果", "问题")


def return_rows(raw_rows: pl.DataFrame, findings: pl.DataFrame, headers: dict[str, str],
                keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """raw_rows: the file's rows as received (RAW_FIELDS, source_row, row_status, case_key);
    findings: case_key, source_row (null for case-level), rule_id, message.
    Returns the rows to send back, headers in Chinese, with 行号, 处理结果 and 问题. A column the
    town left empty throughout is left out (those in `keep`, the required ones, never are), so
    the sheet prints readably; sent back without it, the file is read the same."""
    label = pl.col("rule_id") + "：" + pl.col("message")
    by_row = (
        findings.filter(pl.col("source_row").is_not_null())
        .group_by("source_row")
        .agg(row_problems=label.unique(maintain_order=True).str.join("；"))
    )
    by_case = (
        findings.filter(pl.col("source_row").is_null())
        .group_by("case_key")
        .agg(case_problems=label.unique(maintain_order=True).str.join("；"))
    )
    cases_with_findings = findings.select("case_key").unique()
    out = (
        raw_rows.join(cases_with_findings, on="case_key", how="semi")
        .join(by_row, on="source_row", how="left")
        .join(by_case, on="case_key", how="left")
        .with_columns(
            问题=pl.concat_str([pl.col("row_problems"), pl.col("case_problems")], separator="；", ignore_nulls=True)
        )
        .with_columns(
            问题=pl.when((pl.col("问题") == "") | pl.col("问题").is_null())
            .then(pl.when(pl.col("row_status") == "rejected").then(pl.lit(OTHER_ROW_AT_FAULT)).otherwise(None))
            .otherwise(pl.col("问题")),
            处理结果=pl.when(pl.col("row_status") == "rejected").then(pl.lit("退回")).otherwise(pl.lit("已接收")),
        )
        .sort("source_row")
    )
    fields = [f for f in RAW_FIELDS if f in out.columns and (f in keep or out[f].null_count() < out.height)]
    cut_notes = [
        _cut_note(pl.col(f), headers.get(f, f), column_letter(len(LEADING_COLUMNS) + i)) for i, f in enumerate(fields)
    ]
    if cut_notes:
        notes = pl.concat_str(cut_notes, separator="；", ignore_nulls=True)
        out = out.with_columns(
            问题=pl.when(notes == "").then(pl.col("问题")).otherwise(
                pl.concat_str([pl.col("问题"), notes], separator="；", ignore_nulls=True)
            )
        )
    columns = [pl.col("source_row").alias("行号"), pl.col("处理结果"), fit_excel_cell(pl.col("问题")).alias("问题")]
    columns += [fit_excel_cell(pl.col(f)).alias(headers.get(f, f)) for f in fields]
    return out.select(columns)


def _utf16_units(text: pl.Expr) -> pl.Expr:
    return text.str.len_chars() + text.str.count_matches(_ASTRAL)


def fit_excel_cell(text: pl.Expr) -> pl.Expr:
    """`text` cut, at a character boundary, to what an Excel cell holds; shorter text unchanged.
    (The first EXCEL_CELL_MAX characters, less one for each character outside the BMP among them.)"""
    head = text.str.slice(0, EXCEL_CELL_MAX)
    fitted = text.str.slice(0, EXCEL_CELL_MAX - head.str.count_matches(_ASTRAL))
    return pl.when(text.str.len_bytes() <= EXCEL_CELL_MAX).then(text).otherwise(fitted)


def _cut_note(text: pl.Expr, header: str, letter: str) -> pl.Expr:
    """What the 问题 column says of a cell that fit_excel_cell cuts (null when it fits)."""
    return (
        pl.when(text.str.len_bytes() > EXCEL_CELL_MAX)
        .then(
            pl.when(_utf16_units(text) > EXCEL_CELL_MAX).then(
                pl.format(
                    "第{}列（{}）内容有{}个字符，超过Excel单元格上限32767个字符，本表中已截断；重新报送时请用原文件中的内容",
                    pl.lit(letter),
                    pl.lit(header),
                    text.str.len_chars(),
                )
            )
        )
        .otherwise(None)
    )


def column_letter(index: int) -> str:
    """A (0) .. Z, AA .. : the spreadsheet column of a 0-based position."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_marks(raw_rows: pl.DataFrame, findings: pl.DataFrame, headers: dict[str, str]) -> pl.DataFrame:
    """The cells at fault in a return sheet (the rows `return_rows` gives, in its order):
    sheet_row (0-based data row), column (the Chinese header), note (rule and message).

    A finding about one row marks the cell of its column on that row; a finding about the
    case (V06 publicity, V09 amount …) marks that column on every row of the case. A
    finding with no column (V04 disagreement) marks nothing: its text is in 问题."""
    schema = {"sheet_row": pl.UInt32, "column": pl.String, "note": pl.String}
    f = findings.filter(pl.col("field").is_in(RAW_FIELDS))
    if f.is_empty():
        return pl.DataFrame(schema=schema)
    sheet = (
        raw_rows.join(findings.select("case_key").unique(), on="case_key", how="semi")
        .sort("source_row")
        .select("source_row", "case_key")
        .with_row_index("sheet_row")
    )
    label = pl.col("rule_id") + "：" + pl.col("message")
    hits = pl.concat([
        sheet.join(f.filter(pl.col("source_row").is_not_null()).select("source_row", "field", "rule_id", "message"),
                   on="source_row"),
        sheet.join(f.filter(pl.col("source_row").is_null()).select("case_key", "field", "rule_id", "message"),
                   on="case_key"),
    ], how="diagonal_relaxed")
    return (
        hits.group_by("sheet_row", "field", maintain_order=True)
        .agg(note=label.unique(maintain_order=True).str.join("\n"))
        .select("sheet_row", pl.col("field").replace_strict(headers, default=pl.col("field")).alias("column"),
                fit_excel_cell(pl.col("note")).alias("note"))
        .sort("sheet_row", "column")
        .cast(schema)
    )
