"""Normalise raw submission rows to typed canonical columns (SPEC §2; rules P03, V03).

Pure Polars: raw string rows in (as `intake.readers.read_submission` gives them),
`(typed, findings)` out. Nothing here raises on bad input: a value that cannot
be read becomes null in `typed` and one row in `findings`, and every other row
and field goes on. Validation proper (V01, V02, V04 ...) runs later on `typed`.

Parsing is vectorised. Dates, months and codes are parsed once per distinct
value (a district file repeats the same few thousand dates over 100k rows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from transforms.identifiers import normalise_id_expr, scrub_text
from transforms.money import yuan_text_to_fen_expr
from transforms.text import clean_text_expr, fold_fullwidth, fold_fullwidth_expr

# The Chinese header of each field, as a clerk sees it in the template (SPEC §2).
FIELD_LABELS_ZH: dict[str, str] = {
    "case_no": "案件编号",
    "town_code": "镇街代码",
    "village": "村社区",
    "program": "救助类别",
    "status": "案件状态",
    "applied_on": "申请日期",
    "received_on": "受理日期",
    "visited_on": "入户调查日期",
    "reviewed_on": "民主评议日期",
    "decided_on": "审批日期",
    "publicity_from": "公示开始日期",
    "publicity_to": "公示结束日期",
    "decided_level": "审批层级",
    "decided_by": "审批人",
    "monthly_benefit": "月保障金额",
    "benefit_from": "起始发放月份",
    "rechecked_on": "复核日期",
    "bank": "开户银行",
    "account_no": "银行账号",
    "account_holder": "开户人",
    "staff_relative": "近亲属备案",
    "complaint": "投诉举报",
    "extended": "延期审批",
    "gradual_exit": "渐退期",
    "remark": "备注",
    "name": "姓名",
    "id_no": "身份证号",
    "relation": "与户主关系",
    "covered": "是否保障对象",
    "disability_type": "残疾类别",
    "disability_grade": "残疾等级",
    "serious_illness": "重大疾病",
    "schooling": "在校情况",
    "work_ability": "劳动能力",
    "self_care": "自理能力",
    "annual_review_on": "年度核查日期",
    "monthly_income": "月收入",
}

TEXT_FIELDS = ("case_no", "village", "decided_by", "bank", "account_holder", "remark", "name")
DATE_FIELDS = (
    "applied_on",
    "received_on",
    "visited_on",
    "reviewed_on",
    "decided_on",
    "publicity_from",
    "publicity_to",
    "rechecked_on",
    "annual_review_on",
)
MONTH_FIELDS = ("benefit_from",)
# raw field -> (typed column, value when empty)
MONEY_FIELDS: dict[str, tuple[str, int | None]] = {
    "monthly_benefit": ("monthly_benefit_fen", None),
    "monthly_income": ("monthly_income_fen", 0),
}
CODED_FIELDS = (
    "program",
    "status",
    "decided_level",
    "relation",
    "disability_type",
    "schooling",
    "work_ability",
    "self_care",
)
GRADE_FIELD = "disability_grade"
BOOL_FIELDS = ("staff_relative", "complaint", "extended", "gradual_exit", "covered", "serious_illness")
CODE_TABLE_FIELDS = (*CODED_FIELDS, GRADE_FIELD, "yes_no")

# What the list of allowed values is called in a V03 message.
_LIST_NOUN = {
    "program": "类别",
    "status": "状态",
    "decided_level": "层级",
    "relation": "关系",
    "disability_type": "类别",
    "disability_grade": "等级",
    "schooling": "情况",
    "work_ability": "情况",
    "self_care": "类别",
}

TYPED_SCHEMA: dict[str, pl.DataType] = {
    "source_sheet": pl.String(),
    "source_row": pl.Int64(),
    "source_ref": pl.String(),
    "case_no": pl.String(),
    "town_code": pl.String(),
    "village": pl.String(),
    "program": pl.String(),
    "status": pl.String(),
    "applied_on": pl.Date(),
    "received_on": pl.Date(),
    "visited_on": pl.Date(),
    "reviewed_on": pl.Date(),
    "decided_on": pl.Date(),
    "publicity_from": pl.Date(),
    "publicity_to": pl.Date(),
    "decided_level": pl.String(),
    "decided_by": pl.String(),
    "monthly_benefit_fen": pl.Int64(),
    "benefit_from": pl.Date(),
    "rechecked_on": pl.Date(),
    "bank": pl.String(),
    "account_no": pl.String(),
    "account_holder": pl.String(),
    "staff_relative": pl.Boolean(),
    "complaint": pl.Boolean(),
    "extended": pl.Boolean(),
    "gradual_exit": pl.Boolean(),
    "remark": pl.String(),
    "name": pl.String(),
    "id_no": pl.String(),
    "relation": pl.String(),
    "covered": pl.Boolean(),
    "disability_type": pl.String(),
    "disability_grade": pl.Int8(),
    "serious_illness": pl.Boolean(),
    "schooling": pl.String(),
    "work_ability": pl.String(),
    "self_care": pl.String(),
    "annual_review_on": pl.Date(),
    "monthly_income_fen": pl.Int64(),
    "extra_json": pl.String(),
}

FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "field": pl.String(),
    "value": pl.String(),
    "rule_id": pl.String(),
    "message_zh": pl.String(),
}

RAW_FIELDS = tuple(FIELD_LABELS_ZH)

# Excel's 1900 date system (serial 61 = 1900-03-01; 1..60 carry Lotus's 1900-02-29 bug)
EXCEL_EPOCH = date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 61, 73050  # 1900-03-01 .. 2099-12-31
YEAR_MIN, YEAR_MAX = 1900, 2100

_TIME_SUFFIX = r"(?:[Tt]|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"
_YMD = r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"
_YMD_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
_YM = r"^(\d{4})[-/.年](\d{1,2})月?$"
_YM_COMPACT = r"^(\d{4})(\d{2})$"


# ---------------------------------------------------------------- scalar-free parsers (expressions)


def _squeezed(text: pl.Expr) -> pl.Expr:
    """Full-width folded, every whitespace removed."""
    return fold_fullwidth_expr(text).str.replace_all(r"\s+", "")


def _blank(text: pl.Expr) -> pl.Expr:
    """True when a raw cell is empty (null or only spaces, incl. full-width)."""
    return text.is_null() | (text.str.replace_all(r"[\s\u3000\u00a0]+", "") == "")


def _in_range(d: pl.Expr) -> pl.Expr:
    year = d.dt.year()
    return pl.when((year >= YEAR_MIN) & (year <= YEAR_MAX)).then(d).otherwise(None)


def _serial_date(s: pl.Expr) -> pl.Expr:
    days = s.str.extract(r"^(\d{1,5})", 1).cast(pl.Int64, strict=False)
    ok = s.str.contains(_SERIAL) & (days >= SERIAL_MIN) & (days <= SERIAL_MAX)
    return pl.when(ok).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days)).otherwise(None)


def parse_date_expr(text: pl.Expr) -> pl.Expr:
    """A date as towns type it -> pl.Date (null when it is not a real date).

    2021-03-25, 2021/3/25, 2021.3.25, 2021年3月25日, 20210325, an Excel serial
    (44280 or 44280.0), '2021-03-25 00:00:00' or '2021-03-25T08:00', with
    full-width digits and stray spaces; years 1900-2100 only.
    """
    s = fold_fullwidth_expr(text).str.strip_chars().str.replace(_TIME_SUFFIX, "").str.replace_all(r"\s+", "")
    iso = s.str.replace(_YMD, "${1}-${2}-${3}").str.replace(_YMD_COMPACT, "${1}-${2}-${3}")
    parsed = (
        pl.when(iso.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$"))
        .then(iso.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(_serial_date(s))
    )
    return _in_range(parsed)


def parse_month_expr(text: pl.Expr) -> pl.Expr:
    """A month -> the first day of that month (pl.Date; null when unreadable).

    2025-08, 2025/8, 2025.8, 2025年8月, 202508, any date `parse_date_expr`
    reads (-> its month), or an Excel serial.
    """
    s = fold_fullwidth_expr(text).str.replace_all(r"\s+", "")
    ym = s.str.replace(_YM, "${1}-${2}-1").str.replace(_YM_COMPACT, "${1}-${2}-1")
    month = (
        pl.when(ym.str.contains(r"^\d{4}-\d{1,2}-1$"))
        .then(ym.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(parse_date_expr(text).dt.month_start())
    )
    return _in_range(month)


def _code_key(label: str) -> str:
    return "".join((fold_fullwidth(label) or "").split()).lower()


def code_lookup(code_map: dict[str, str]) -> dict[str, str]:
    """Accepted spellings -> code: each label and each code itself, folded and
    lower-cased (so an English file may carry 'dibao_urban')."""
    lookup: dict[str, str] = {}
    for label, code in code_map.items():
        lookup.setdefault(_code_key(label), code)
        lookup.setdefault(_code_key(code), code)
    return lookup


_GRADE_NUMERALS = {"1": "一壹", "2": "二贰", "3": "三叁", "4": "四肆"}
_TRUE_WORDS = ("y", "yes", "true", "t", "1", "√", "✓", "对")
_FALSE_WORDS = ("n", "no", "false", "f", "0", "×", "✗")


def grade_lookup(code_map: dict[str, str]) -> dict[str, str]:
    """一级 / 1级 / 1 / 壹级 / 一 ... -> the grade code of the codes table."""
    lookup = code_lookup(code_map)
    for code in set(code_map.values()):
        spellings = {code, *_GRADE_NUMERALS.get(code, "")}
        for sp in spellings:
            for suffix in ("", "级", "级残疾"):
                lookup.setdefault(_code_key(sp + suffix), code)
    return lookup


def yes_no_lookup(code_map: dict[str, str]) -> dict[str, bool]:
    """是/否 (from the codes table) plus Y/N, 1/0, true/false, √/×."""
    lookup = {k: v == "true" for k, v in code_lookup(code_map).items()}
    for w in _TRUE_WORDS:
        lookup.setdefault(w, True)
    for w in _FALSE_WORDS:
        lookup.setdefault(w, False)
    return lookup


def _lookup_expr(text: pl.Expr, lookup: dict, dtype: pl.DataType) -> pl.Expr:
    key = _squeezed(text).str.to_lowercase()
    return key.replace_strict(
        list(lookup.keys()), list(lookup.values()), default=None, return_dtype=dtype
    )


# ---------------------------------------------------------------- the normaliser


def _by_unique(raw: pl.Series, build: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Series:
    """Apply an expression to the distinct values of `raw` only, then spread back."""
    uniq = raw.unique()
    parsed = pl.DataFrame({"v": uniq}).select(build(pl.col("v")).cast(dtype))["v"]
    known = uniq.is_not_null()
    return raw.replace_strict(uniq.filter(known), parsed.filter(known), default=None, return_dtype=dtype)


def _finding(
    frame: pl.DataFrame, bad: pl.Series, fld: str, rule: str, kind: str
) -> pl.DataFrame:
    sub = frame.filter(bad)
    return pl.DataFrame(
        {
            "source_row": sub["source_row"],
            "field": pl.Series([fld] * sub.height, dtype=pl.String),
            "value": sub[fld],
            "rule_id": pl.Series([rule] * sub.height, dtype=pl.String),
            "kind": pl.Series([kind] * sub.height, dtype=pl.String),
        }
    )


def _message(fld: str, kind: str, value: str, labels: dict[str, str], lists: dict[str, str]) -> str:
    label = labels.get(fld, fld)
    shown = value.strip()
    if len(shown) > 40:
        shown = shown[:40] + "…"
    if kind == "date":
        return f"{label}“{shown}”无法识别为日期"
    if kind == "month":
        return f"{label}“{shown}”无法识别为年月（应如2025-08）"
    if kind == "money":
        return f"{label}“{shown}”无法识别为金额"
    if kind == "negative":
        return f"{label}“{shown}”不能为负数"
    if kind == "yes_no":
        return f"{label}“{shown}”应填“是”或“否”"
    return f"{label}“{shown}”不在规定{_LIST_NOUN.get(fld, '取值')}中（{lists.get(fld, '')}）"


def normalise_submission(
    raw: pl.DataFrame,
    codes: dict[str, dict[str, str]],
    labels: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw string rows -> (typed rows, findings P03/V03).

    `codes[f]` is `Reference.code_map(f)` for program, status, decided_level,
    relation, yes_no, disability_type, disability_grade, schooling,
    work_ability, self_care. `labels` (field -> Chinese header) defaults to
    the SPEC template headers.
    """
    labels = {**FIELD_LABELS_ZH, **(labels or {})}
    n = raw.height
    frame = raw.with_columns(
        [pl.lit(None, dtype=pl.String).alias(f) for f in RAW_FIELDS if f not in raw.columns]
    )
    frame = frame.with_columns(pl.col(f).cast(pl.String) for f in RAW_FIELDS)
    if "source_row" not in frame.columns:
        frame = frame.with_columns(pl.int_range(1, n + 1, dtype=pl.Int64).alias("source_row"))
    frame = frame.with_columns(pl.col("source_row").cast(pl.Int64))
    for col in ("source_sheet", "source_ref", "extra_json"):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(col))

    blank = frame.select(_blank(pl.col(f)).alias(f) for f in RAW_FIELDS)
    out: dict[str, pl.Series] = {}
    issues: list[pl.DataFrame] = []

    # plain text
    plain = frame.select(
        [clean_text_expr(pl.col(f)).alias(f) for f in TEXT_FIELDS]
        + [
            clean_text_expr(pl.col("town_code")).str.replace_all(r"\s+", "").alias("town_code"),
            pl.when(_blank(pl.col("id_no")))
            .then(None)
            .otherwise(normalise_id_expr(pl.col("id_no")))
            .alias("id_no"),
            clean_text_expr(pl.col("account_no")).str.replace_all(r"[\s\-‐‑–—]+", "").alias("account_no"),
        ]
    )
    out.update({c: plain[c] for c in plain.columns})

    # dates and months
    for fld in DATE_FIELDS + MONTH_FIELDS:
        parser = parse_month_expr if fld in MONTH_FIELDS else parse_date_expr
        typed = _by_unique(frame[fld], parser, pl.Date())
        out[fld] = typed
        bad = ~blank[fld] & typed.is_null()
        if bad.any():
            issues.append(_finding(frame, bad, fld, "P03", "month" if fld in MONTH_FIELDS else "date"))

    # money (fen)
    for fld, (target, empty_value) in MONEY_FIELDS.items():
        fen = frame.select(yuan_text_to_fen_expr(pl.col(fld)).alias("v"))["v"]
        unreadable = ~blank[fld] & fen.is_null()
        negative = (fen < 0).fill_null(False)
        if unreadable.any():
            issues.append(_finding(frame, unreadable, fld, "P03", "money"))
        if negative.any():
            issues.append(_finding(frame, negative, fld, "P03", "negative"))
        fen = pl.select(
            pl.when(pl.lit(negative)).then(None).when(pl.lit(blank[fld])).then(empty_value).otherwise(pl.lit(fen))
        ).to_series()
        out[target] = fen.cast(pl.Int64)

    # coded values
    lists: dict[str, str] = {}
    for fld in (*CODED_FIELDS, GRADE_FIELD):
        code_map = codes.get(fld, {})
        lists[fld] = "、".join(code_map.keys())
        lookup = grade_lookup(code_map) if fld == GRADE_FIELD else code_lookup(code_map)
        typed = _by_unique(frame[fld], lambda e, lk=lookup: _lookup_expr(e, lk, pl.String()), pl.String())
        bad = ~blank[fld] & typed.is_null()
        if bad.any():
            issues.append(_finding(frame, bad, fld, "V03", "code"))
        out[fld] = typed.cast(pl.Int8, strict=False) if fld == GRADE_FIELD else typed

    # 是/否 (empty = 否)
    yes_no = yes_no_lookup(codes.get("yes_no", {"是": "true", "否": "false"}))
    for fld in BOOL_FIELDS:
        typed = _by_unique(frame[fld], lambda e: _lookup_expr(e, yes_no, pl.Boolean()), pl.Boolean())
        bad = ~blank[fld] & typed.is_null()
        if bad.any():
            issues.append(_finding(frame, bad, fld, "V03", "yes_no"))
        out[fld] = pl.select(pl.when(pl.lit(blank[fld])).then(False).otherwise(pl.lit(typed))).to_series()

    columns = {
        "source_sheet": frame["source_sheet"],
        "source_row": frame["source_row"],
        "source_ref": frame["source_ref"],
    }
    for col, dtype in TYPED_SCHEMA.items():
        if col in columns or col == "extra_json":
            continue
        columns[col] = out[col].cast(dtype).alias(col)
    columns["extra_json"] = frame["extra_json"].cast(pl.String)
    typed_frame = pl.DataFrame(columns)

    findings = _findings_frame(issues, labels, lists)
    return typed_frame, findings


def _findings_frame(issues: list[pl.DataFrame], labels: dict[str, str], lists: dict[str, str]) -> pl.DataFrame:
    if not issues:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    found = pl.concat(issues, how="vertical")
    order = {f: i for i, f in enumerate(RAW_FIELDS)}
    values = [scrub_text(v) if v is not None else "" for v in found["value"].to_list()]
    messages = [
        _message(f, k, v, labels, lists)
        for f, k, v in zip(found["field"].to_list(), found["kind"].to_list(), values, strict=True)
    ]
    return (
        found.with_columns(
            pl.Series("value", values, dtype=pl.String),
            pl.Series("message_zh", messages, dtype=pl.String),
            pl.col("field").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_order"),
        )
        .sort("source_row", "_order")
        .select(list(FINDINGS_SCHEMA))
        .cast(FINDINGS_SCHEMA)
    )
