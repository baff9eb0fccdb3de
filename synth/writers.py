"""Town submission files in every format, with the mess real ledgers have (SPEC §2).

`format_rows` turns typed rows (dates, fen, labels) into the text each file
shows, vectorised over all rows with per-file style columns: date styles
(2021-03-25, 2021/3/25, 2021.3.25, 2021年3月25日, 20210325, Excel date cells,
Excel serial numbers), full-width digits, stray spaces, lower-case x, 15-digit
legacy IDs, money with thousands separators, empty 否, title rows, synonym
and English headers, an unknown 联系电话 or 序号 column, empty trailing rows.
The `write_*` functions write one file each; xlsx and xls output is
byte-for-byte reproducible (fixed workbook dates).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

HOUSEHOLD_FIELDS = (
    "case_no", "town_code", "village", "program", "status", "applied_on", "received_on", "visited_on",
    "reviewed_on", "decided_on", "publicity_from", "publicity_to", "decided_level", "decided_by",
    "monthly_benefit", "benefit_from", "rechecked_on", "bank", "account_no", "account_holder",
    "staff_relative", "complaint", "extended", "gradual_exit", "remark",
)  # fmt: skip
MEMBER_FIELDS = (
    "name", "id_no", "relation", "covered", "disability_type", "disability_grade", "serious_illness",
    "schooling", "work_ability", "self_care", "annual_review_on", "monthly_income",
)  # fmt: skip
DATE_FIELDS = (
    "applied_on", "received_on", "visited_on", "reviewed_on", "decided_on", "publicity_from",
    "publicity_to", "rechecked_on", "annual_review_on",
)  # fmt: skip
MONEY_FIELDS = ("monthly_benefit", "monthly_income")
YES_NO_FIELDS = ("staff_relative", "complaint", "extended", "gradual_exit", "covered", "serious_illness")
EXTRA_PHONE = "联系电话"
EXTRA_SEQ = "序号"
ORDER_MEMBER_FIRST = (
    "case_no", "town_code", "village", "name", "id_no", "relation", "covered", "disability_type",
    "disability_grade", "serious_illness", "schooling", "work_ability", "self_care", "annual_review_on",
    "monthly_income", "program", "status", "applied_on", "received_on", "visited_on", "reviewed_on",
    "decided_on", "publicity_from", "publicity_to", "decided_level", "decided_by", "monthly_benefit",
    "benefit_from", "rechecked_on", "bank", "account_no", "account_holder", "staff_relative", "complaint",
    "extended", "gradual_exit", "remark",
)  # fmt: skip

DATE_TEXT_STYLES = 5  # 0 iso, 1 slash, 2 dot, 3 年月日, 4 compact; 5 = mixed per row
DATE_EXCEL_CELL = 6
DATE_EXCEL_SERIAL = 7
EXCEL_EPOCH = date(1899, 12, 30)
_FW = "０１２３４５６７８９"
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FileStyle:
    """How one file looks (all choices reproducible from the seed)."""

    fmt: str  # xlsx, xls, csv, json
    encoding: str = "utf-8"  # csv / json
    date_style: int = 0
    month_style: int = 0
    money_style: int = 0
    blank_zero_income: bool = False
    blank_no: bool = False
    fullwidth: bool = False
    spaces: bool = False
    lower_x: bool = False
    legacy15: bool = False
    header_style: int = 0  # 0 canonical Chinese, 1 synonyms, 2 English
    title: str | None = None
    subtitle: str | None = None
    extra_phone: bool = False
    extra_seq: bool = False
    trailing_empty: int = 0
    numbers_as_text: bool = True
    town_code_numeric: bool = False
    member_first: bool = False
    sheet: str = "台账"
    notes_sheet: bool = False
    drop_field: str | None = None
    json_numbers: bool = False


def style_frame(styles: dict[int, FileStyle]) -> pl.DataFrame:
    """One row per file id with the style values the vectorised formatter needs."""
    ids = sorted(styles)
    return pl.DataFrame(
        {
            "file_id": ids,
            "s_date": [styles[i].date_style for i in ids],
            "s_month": [styles[i].month_style for i in ids],
            "s_money": [styles[i].money_style for i in ids],
            "s_blank0": [styles[i].blank_zero_income for i in ids],
            "s_blank_no": [styles[i].blank_no for i in ids],
            "s_fw": [styles[i].fullwidth for i in ids],
            "s_sp": [styles[i].spaces for i in ids],
            "s_lx": [styles[i].lower_x for i in ids],
            "s_l15": [styles[i].legacy15 for i in ids],
            "s_excel": [styles[i].fmt in ("xlsx", "xls") for i in ids],
        },
        schema_overrides={"file_id": pl.Int64},
    )


def _month_text(col: pl.Expr, style: pl.Expr, excel_cell: pl.Expr) -> pl.Expr:
    y = col.dt.year().cast(pl.String)
    m = col.dt.month().cast(pl.String)
    return (
        pl.when(excel_cell)
        .then(col.dt.strftime("%Y-%m-%d"))
        .when(style == 1)
        .then(y + "年" + m + "月")
        .when(style == 2)
        .then(y + "/" + m)
        .when(style == 3)
        .then(col.dt.strftime("%Y.%m"))
        .otherwise(col.dt.strftime("%Y-%m"))
    )


def _money_text(fen: pl.Expr, style: pl.Expr) -> pl.Expr:
    whole = (fen // 100).cast(pl.String)
    frac = fen % 100
    two = whole + "." + frac.cast(pl.String).str.zfill(2)
    minimal = (
        pl.when(frac == 0)
        .then(whole)
        .when(frac % 10 == 0)
        .then(whole + "." + (frac // 10).cast(pl.String))
        .otherwise(two)
    )
    w = fen // 100
    thousands = (
        pl.when(w >= 1000)
        .then((w // 1000).cast(pl.String) + "," + (w % 1000).cast(pl.String).str.zfill(3))
        .otherwise(whole)
        + "."
        + frac.cast(pl.String).str.zfill(2)
    )
    return pl.when(style == 1).then(minimal).when(style == 2).then(thousands).otherwise(two)


def _fullwidth(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(list("0123456789"), list(_FW))


def format_rows(rows: pl.DataFrame, styles: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Typed rows -> the text of every cell, per the style of each row's file.

    rows needs file_id, plain (no messy variants on this row's ID) and every
    field of HOUSEHOLD_FIELDS + MEMBER_FIELDS (dates as Date, money as fen,
    benefit_from as the month's first day, the rest as text), plus phone.
    """
    n = rows.height
    rows = rows.with_columns(
        [pl.col(c).cast(pl.Int32).cast(pl.Date) for c in DATE_FIELDS]
        + [pl.col("benefit_from").cast(pl.Int32).cast(pl.Date).dt.truncate("1mo")]
    )
    # household fields repeat on every row of a case: their random choices are per case block
    blocks = rows.select(pl.col("order_key").unique().sort())
    nb = blocks.height
    blocks = blocks.with_columns(
        _b_date=pl.Series(rng.integers(0, DATE_TEXT_STYLES, nb)),
        _b_fw=pl.Series(rng.random(nb) < 0.06),
        _b_sp=pl.Series(rng.random(nb) < 0.06),
    )
    f = (
        rows.join(styles, on="file_id", how="left")
        .join(blocks, on="order_key", how="left")
        .with_columns(
            _r_fw=pl.Series(rng.random(n) < 0.06),
            _r_sp=pl.Series(rng.random(n) < 0.06),
            _r_sp_kind=pl.Series(rng.integers(0, 3, n)),
            _r_l15=pl.Series(rng.random(n) < 0.35),
            _r_lx=pl.Series(rng.random(n) < 0.7),
        )
    )
    excel_cell = pl.col("s_excel") & (pl.col("s_date") == DATE_EXCEL_CELL)
    excel_any = pl.col("s_excel") & (pl.col("s_date") >= DATE_EXCEL_CELL)
    date_style = (
        pl.when(excel_any)
        .then(0)
        .when(pl.col("s_date") == DATE_TEXT_STYLES)
        .then(pl.col("_b_date"))
        .when(pl.col("s_date") >= DATE_EXCEL_CELL)
        .then(0)
        .otherwise(pl.col("s_date"))
    )
    f = f.with_row_index("_i").with_columns(
        _ds=date_style.cast(pl.Int8),
        _fw_r=pl.col("s_fw") & pl.col("_r_fw") & ~excel_any,  # member fields
        _fw_b=pl.col("s_fw") & pl.col("_b_fw") & ~excel_any,  # household fields
        _sp=pl.col("s_sp") & pl.col("_r_sp"),
    )
    # dates: one style per partition, so each value is formatted once
    parts = []
    for (ds,), part in sorted(f.partition_by("_ds", as_dict=True).items()):
        parts.append(part.with_columns(_date_text_fixed(pl.col(c), int(ds)).alias(c) for c in DATE_FIELDS))
    f = pl.concat(parts).sort("_i")
    k = pl.col("_r_sp_kind")
    sp_row = pl.col("_sp")

    def spaced(expr: pl.Expr) -> pl.Expr:
        return (
            pl.when(sp_row & (k == 0))
            .then(" " + expr)
            .when(sp_row & (k == 1))
            .then(expr + " ")
            .when(sp_row & (k == 2))
            .then(expr + "\u3000")
            .otherwise(expr)
        )

    out: list[pl.Expr] = [
        _month_text(pl.col("benefit_from"), pl.col("s_month"), excel_cell).alias("benefit_from")
    ]
    for fld in MONEY_FIELDS:
        txt = _money_text(pl.col(f"{fld}_fen"), pl.col("s_money"))
        if fld == "monthly_income":
            txt = pl.when(pl.col("s_blank0") & (pl.col(f"{fld}_fen") == 0)).then(None).otherwise(txt)
        out.append(txt.alias(fld))
    for fld in YES_NO_FIELDS:
        out.append(
            pl.when(pl.col("s_blank_no") & (pl.col(fld) == "否")).then(None).otherwise(pl.col(fld)).alias(fld)
        )
    # resident ID: legacy 15 digits (born 19xx), lower-case x, stray spaces (full-width below)
    idc = pl.col("id_no")
    legacy = (
        pl.col("s_l15")
        & pl.col("_r_l15")
        & ~pl.col("plain")
        & (idc.str.len_chars() == 18)
        & (idc.str.slice(6, 2) == "19")
    )
    id_txt = pl.when(legacy).then(idc.str.slice(0, 6) + idc.str.slice(8, 9)).otherwise(idc)
    id_txt = (
        pl.when(pl.col("s_lx") & pl.col("_r_lx") & ~pl.col("plain"))
        .then(id_txt.str.replace("X$", "x"))
        .otherwise(id_txt)
    )
    out.append(pl.when(pl.col("plain")).then(idc).otherwise(spaced(id_txt)).alias("id_no"))
    out.append(spaced(pl.col("name")).alias("name"))
    sp_block = pl.col("s_sp") & pl.col("_b_sp")
    for fld in ("village", "account_holder"):
        out.append(pl.when(sp_block).then(pl.col(fld) + " ").otherwise(pl.col(fld)).alias(fld))
    out.append(pl.when(pl.col("remark") == "").then(None).otherwise(pl.col("remark")).alias("remark"))
    f = f.with_columns(out)
    # full-width digits, only on the few rows that get them
    fw_any = pl.col("_fw_r") | pl.col("_fw_b")
    block_fields = [c for c in DATE_FIELDS if c != "annual_review_on"] + ["monthly_benefit", "account_no"]
    row_fields = ["annual_review_on", "monthly_income"]
    sub = f.filter(fw_any)
    if sub.height:
        sub = sub.with_columns(
            [
                pl.when(pl.col("_fw_b")).then(_fullwidth(pl.col(c))).otherwise(pl.col(c)).alias(c)
                for c in block_fields
            ]
            + [
                pl.when(pl.col("_fw_r")).then(_fullwidth(pl.col(c))).otherwise(pl.col(c)).alias(c)
                for c in row_fields
            ]
            + [
                pl.when(pl.col("_fw_r") & ~pl.col("plain"))
                .then(_fullwidth(pl.col("id_no")))
                .otherwise(pl.col("id_no"))
                .alias("id_no")
            ]
        )
        f = pl.concat([f.filter(~fw_any), sub]).sort("_i")
    return f.select(
        "file_id",
        "row_uid",
        "version_id",
        "order_key",
        *[pl.col(c) for c in HOUSEHOLD_FIELDS + MEMBER_FIELDS],
        pl.col("phone"),
    )


def _date_text_fixed(col: pl.Expr, style: int) -> pl.Expr:
    """A date column as text in one style (0 iso, 1 slash, 2 dot, 3 年月日, 4 compact)."""
    if style == 0:
        return col.dt.strftime("%Y-%m-%d")
    if style == 4:
        return col.dt.strftime("%Y%m%d")
    y = col.dt.year().cast(pl.String)
    m = col.dt.month().cast(pl.String)
    d = col.dt.day().cast(pl.String)
    if style == 1:
        return y + "/" + m + "/" + d
    if style == 2:
        return y + "." + m + "." + d
    return y + "年" + m + "月" + d + "日"


# ---------------------------------------------------------------- headers


def header_choices(header_synonyms: pl.DataFrame) -> dict[str, dict[str, list[str]]]:
    """Per field: the canonical Chinese header, Chinese synonyms, English name."""
    out: dict[str, dict[str, list[str]]] = {}
    for fld, header in header_synonyms.select("field", "header").iter_rows():
        d = out.setdefault(fld, {"zh": [], "en": []})
        (d["zh"] if re.search(r"[\u4e00-\u9fff]", header) else d["en"]).append(header)
    return out


def headers_for(fields: list[str], style: int, choices: dict, rng: np.random.Generator) -> list[str]:
    out = []
    for fld in fields:
        if fld in (EXTRA_PHONE, EXTRA_SEQ):
            out.append(fld)
            continue
        c = choices[fld]
        if style == 2 and c["en"]:
            out.append(c["en"][0])
        elif style == 1 and len(c["zh"]) > 1:
            out.append(c["zh"][int(rng.integers(0, len(c["zh"])))])
        else:
            out.append(c["zh"][0])
    return out


def file_fields(style: FileStyle) -> list[str]:
    fields = list(ORDER_MEMBER_FIRST if style.member_first else HOUSEHOLD_FIELDS + MEMBER_FIELDS)
    if style.drop_field:
        fields.remove(style.drop_field)
    if style.extra_seq:
        fields.insert(0, EXTRA_SEQ)
    if style.extra_phone:
        fields.append(EXTRA_PHONE)
    return fields


# ---------------------------------------------------------------- writers


def write_csv(
    path: Path, frame: pl.DataFrame, style: FileStyle, headers: list[str], fields: list[str]
) -> None:
    body = frame.select(
        [
            (
                pl.int_range(1, pl.len() + 1).cast(pl.String)
                if f == EXTRA_SEQ
                else pl.col("phone")
                if f == EXTRA_PHONE
                else pl.col(f)
            ).alias(h)
            for f, h in zip(fields, headers, strict=True)
        ]
    )
    head = "".join(line + "\n" for line in (style.title, style.subtitle) if line)
    tail = ("," * (len(fields) - 1) + "\n") * style.trailing_empty
    if style.encoding == "utf-8" and not head:
        buf = io.BytesIO()
        body.write_csv(buf, quote_style="necessary")
        path.write_bytes(buf.getvalue() + tail.encode("utf-8"))
        return
    data = head + body.write_csv(quote_style="necessary") + tail
    if style.encoding == "gb18030":
        raw = data.encode("gb18030")
    elif style.encoding == "utf-8-sig":
        raw = b"\xef\xbb\xbf" + data.encode("utf-8")
    else:
        raw = data.encode("utf-8")
    path.write_bytes(raw)


def _excel_value(fld: str, text: str | None, style: FileStyle):
    """What an Excel cell holds: a date, a number, or text."""
    if text is None or text == "":
        return None
    if style.date_style in (DATE_EXCEL_CELL, DATE_EXCEL_SERIAL) and (
        fld in DATE_FIELDS or fld == "benefit_from"
    ):
        if _ISO.match(text):
            d = date.fromisoformat(text)
            if style.date_style == DATE_EXCEL_SERIAL and fld != "benefit_from":
                return float((d - EXCEL_EPOCH).days)
            return d
        return text
    if not style.numbers_as_text:
        if fld in MONEY_FIELDS and _PLAIN_NUMBER.match(text):
            return float(text)
        if fld == "town_code" and style.town_code_numeric and text.isdigit():
            return int(text)
        if fld == EXTRA_SEQ:
            return int(text)
    return text


def _typed_columns(frame: pl.DataFrame, fields: list[str], style: FileStyle) -> list[list]:
    """Each column's cell values for Excel (text columns untouched, others converted)."""
    excel_dates = style.date_style in (DATE_EXCEL_CELL, DATE_EXCEL_SERIAL)
    cols = []
    for fld in fields:
        if fld == EXTRA_SEQ:
            values = (
                list(range(1, frame.height + 1))
                if not style.numbers_as_text
                else [str(i) for i in range(1, frame.height + 1)]
            )
        elif fld == EXTRA_PHONE:
            values = frame["phone"].to_list()
        else:
            values = frame[fld].to_list()
            convert = (excel_dates and (fld in DATE_FIELDS or fld == "benefit_from")) or (
                not style.numbers_as_text and (fld in MONEY_FIELDS or fld == "town_code")
            )
            if convert:
                values = [_excel_value(fld, v, style) for v in values]
        cols.append(values)
    return cols


def write_xlsx(
    path: Path,
    frame: pl.DataFrame,
    style: FileStyle,
    headers: list[str],
    fields: list[str],
    created: datetime,
) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            # small files in memory (no temporary files); big ones streamed row by row
            "in_memory": frame.height <= 50_000,
            "constant_memory": frame.height > 50_000,
        },
    )
    wb.set_properties({"created": created, "author": "", "company": ""})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    month_fmt = wb.add_format({"num_format": "yyyy-mm"})
    title_fmt = wb.add_format({"bold": True, "align": "center"})
    if style.notes_sheet:
        notes = wb.add_worksheet("填表说明")
        notes.write_string(0, 0, "请按表头填写，日期格式不限，身份证号以文本格式填写。")
    ws = wb.add_worksheet(style.sheet)
    r = 0
    if style.title:
        ws.merge_range(r, 0, r, len(fields) - 1, style.title, title_fmt)
        r += 1
    if style.subtitle:
        ws.write_string(r, 0, style.subtitle)
        r += 1
    for c, h in enumerate(headers):
        ws.write_string(r, c, h)
    r += 1
    cols = _typed_columns(frame, fields, style)
    ws_string, ws_number, ws_datetime = ws.write_string, ws.write_number, ws.write_datetime
    for i in range(frame.height):
        for c, values in enumerate(cols):
            v = values[i]
            if v is None:
                continue
            if type(v) is str:
                ws_string(r, c, v)
            elif isinstance(v, date):
                ws_datetime(
                    r,
                    c,
                    datetime(v.year, v.month, v.day),
                    month_fmt if fields[c] == "benefit_from" else date_fmt,
                )
            else:
                ws_number(r, c, v)
        r += 1
    for _ in range(style.trailing_empty):
        ws.write_string(r, 0, " ")
        r += 1
    wb.close()


def write_xls(
    path: Path, frame: pl.DataFrame, style: FileStyle, headers: list[str], fields: list[str]
) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_fmt = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    month_fmt = xlwt.easyxf(num_format_str="yyyy-mm")
    if style.notes_sheet:
        wb.add_sheet("填表说明").write(0, 0, "请按表头填写，日期格式不限，身份证号以文本格式填写。")
    ws = wb.add_sheet(style.sheet)
    r = 0
    if style.title:
        ws.write_merge(r, r, 0, len(fields) - 1, style.title)
        r += 1
    if style.subtitle:
        ws.write(r, 0, style.subtitle)
        r += 1
    for c, h in enumerate(headers):
        ws.write(r, c, h)
    r += 1
    cols = _typed_columns(frame, fields, style)
    for i in range(frame.height):
        row = ws.row(r)
        for c, values in enumerate(cols):
            v = values[i]
            if v is None:
                continue
            if isinstance(v, date):
                row.write(c, v, month_fmt if fields[c] == "benefit_from" else date_fmt)
            else:
                row.write(c, v)
        r += 1
    for _ in range(style.trailing_empty):
        ws.write(r, 0, "")
        r += 1
    wb.save(str(path))


def write_json(
    path: Path, frame: pl.DataFrame, style: FileStyle, headers: list[str], fields: list[str]
) -> None:
    """A list of cases, each with its household fields once and a `members` list."""
    head = dict(zip(fields, headers, strict=True))
    hh = [f for f in fields if f in HOUSEHOLD_FIELDS or f == EXTRA_PHONE]
    mm = [f for f in fields if f in MEMBER_FIELDS]

    def val(fld, text):
        if text is None:
            return None
        if style.json_numbers and fld in MONEY_FIELDS and _PLAIN_NUMBER.match(text):
            return float(text) if "." in text else int(text)
        return text

    cases: list[dict] = []
    current_key = None
    for rec in frame.iter_rows(named=True):
        key = rec["order_key"]
        if key != current_key:
            current_key = key
            case = {head[f]: val(f, rec["phone"] if f == EXTRA_PHONE else rec[f]) for f in hh}
            case["members"] = []
            cases.append(case)
        cases[-1]["members"].append({head[f]: val(f, rec[f]) for f in mm})
    text = json.dumps(cases, ensure_ascii=False, indent=1 if style.json_numbers else None)
    raw = text.encode("utf-8")
    if style.encoding == "utf-8-sig":
        raw = b"\xef\xbb\xbf" + raw
    path.write_bytes(raw)
