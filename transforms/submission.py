"""Normalise raw submission rows to typed canonical columns (SPEC §2; rules P03, V03).

Pure Polars: raw string rows in (as `intake.readers.read_submission` gives them),
`(typed, findings)` out. Nothing here raises on bad input: a value that cannot
be read becomes null in `typed` and one row in `findings`, and every other row
and field goes on. Validation proper (V01, V02, V04 ...) runs later on `typed`.

Parsing is vectorised. Dates, months and codes are parsed once per distinct
value (a district file repeats the same few thousand dates over 100k rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from functools import partial

import polars as pl

from transforms.identifiers import CANONICAL_ID, normalise_id_expr, scrub_text
from transforms.money import yuan_text_to_fen_expr
from transforms.text import FORMULA_LIKE, apply_where, clean_text_expr, fold_fullwidth, fold_fullwidth_expr

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

# SPEC §2: a blank cell in a bold column is a V03 error.
REQUIRED_CELLS = (
    "case_no", "town_code", "program", "status", "applied_on", "received_on", "name", "id_no", "relation",
)  # fmt: skip
# ... and so is a blank 审批日期 on a decision, and a blank 月保障金额 on an approval
# (in a baseline load the blank 审批日期 is only a warning: checks.validation).
DECISION_STATUSES = ("approved", "denied", "suspended", "terminated")
STATUS_LABELS_ZH = {"approved": "批准", "denied": "不予批准", "suspended": "停发", "terminated": "终止"}
# SPEC §5 V03: a 姓名 or 开户人 that starts like a spreadsheet formula, or holds a control character
FORMULA_FIELDS = ("name", "account_holder")

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
# the largest amount the warehouse stores (DECIMAL(12,2) yuan), in fen
MAX_AMOUNT_FEN = 10**12 - 1

# Excel's 1900 date system (serial 61 = 1900-03-01; 1..60 carry Lotus's 1900-02-29 bug)
EXCEL_EPOCH = date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 61, 73050  # 1900-03-01 .. 2099-12-31
YEAR_MIN, YEAR_MAX = 1900, 2100

_TIME_SUFFIX = r"(?:[Tt]|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?$"
_YMD = r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?$"
_YMD_COMPACT = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
_SERIAL = r"^[0-9]{1,5}(?:\.[0-9]+)?$"
_YM = r"^([0-9]{4})[-/.年]([0-9]{1,2})月?$"
_YM_COMPACT = r"^([0-9]{4})([0-9]{2})$"


# ---------------------------------------------------------------- scalar-free parsers (expressions)


def _squeezed(text: pl.Expr) -> pl.Expr:
    """Full-width folded, every whitespace removed."""
    return fold_fullwidth_expr(text).str.replace_all(r"\s+", "")


def _in_range(d: pl.Expr) -> pl.Expr:
    year = d.dt.year()
    return pl.when((year >= YEAR_MIN) & (year <= YEAR_MAX)).then(d).otherwise(None)


def _serial_date(s: pl.Expr) -> pl.Expr:
    days = s.str.extract(r"^([0-9]{1,5})", 1).cast(pl.Int64, strict=False)
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
    # an Excel serial is always within the years (SERIAL_MIN..SERIAL_MAX), so only the written date is
    # checked: each sub-expression is then used once (a nested copy made planning the parse slow)
    return (
        pl.when(iso.str.contains(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$"))
        .then(_in_range(iso.str.to_date("%Y-%m-%d", strict=False)))
        .otherwise(_serial_date(s))
    )


def parse_month_expr(text: pl.Expr) -> pl.Expr:
    """A month -> the first day of that month (pl.Date; null when unreadable).

    2025-08, 2025/8, 2025.8, 2025年8月, 202508, any date `parse_date_expr`
    reads (-> its month), or an Excel serial.
    """
    s = fold_fullwidth_expr(text).str.replace_all(r"\s+", "")
    ym = s.str.replace(_YM, "${1}-${2}-1").str.replace(_YM_COMPACT, "${1}-${2}-1")
    return (  # a date's month is within the years when the date is
        pl.when(ym.str.contains(r"^[0-9]{4}-[0-9]{1,2}-1$"))
        .then(_in_range(ym.str.to_date("%Y-%m-%d", strict=False)))
        .otherwise(parse_date_expr(text).dt.month_start())
    )


def _money_expr(text: pl.Expr) -> pl.Expr:
    """yuan_text_to_fen_expr, fed only text of ASCII digits, signs, separators, 元/¥ and
    full-width forms (it raises on other Unicode digits such as '١')."""
    plausible = ~text.str.contains(r"[^\x00-\x7f元，¥\u3000\u00a0\uff01-\uff5e]")
    return yuan_text_to_fen_expr(pl.when(plausible).then(text).otherwise(None))


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
_TRUE_WORDS = ("y", "yes", "true", "t", "1", "√", "✓")
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
    return key.replace_strict(list(lookup.keys()), list(lookup.values()), default=None, return_dtype=dtype)


# ---------------------------------------------------------------- the normaliser


def _distinct_parse(frame: pl.DataFrame, specs: dict[str, tuple[Callable[[pl.Expr], pl.Expr], pl.DataType]]):
    """Parse the distinct values only, then spread them back (dates, codes and amounts repeat: 2.2M
    cells are a few thousand values). Columns parsed by the same builder are parsed together: the
    nine date columns are one date parse of their values pooled, not nine (a date parse is a large
    expression, and planning it dominated a small file's normalising). Returns the parsed columns
    plus `<field>__blank` flags."""
    blanks = [_blank_expr(pl.col(f)).alias(f"{f}__blank") for f in specs]
    uniques = frame.select(pl.col(f).drop_nulls().unique().implode() for f in specs)
    pools: dict[tuple, list[str]] = defaultdict(list)
    for fld, (build, dtype) in specs.items():
        pools[(build, dtype)].append(fld)
    values = [pl.concat([uniques[f][0] for f in fields]).unique(maintain_order=True) for fields in pools.values()]
    width = max(len(v) for v in values)
    # every pool in one select: a column each, padded with nulls to the longest
    table = pl.DataFrame({f"p{i}": v.extend_constant(None, width - len(v)) for i, v in enumerate(values)})
    parsed = table.select(build(pl.col(f"p{i}")).cast(dtype).alias(f"p{i}")
                          for i, (build, dtype) in enumerate(pools))
    exprs: list[pl.Expr] = []
    for i, ((_, dtype), fields) in enumerate(pools.items()):
        if values[i].is_empty():
            exprs += [pl.lit(None, dtype=dtype).alias(f) for f in fields]
            continue
        done = parsed[f"p{i}"].head(len(values[i]))
        exprs += [pl.col(f).replace_strict(values[i], done, default=None, return_dtype=dtype) for f in fields]
    return frame.select(exprs + blanks)


def _blank_expr(raw: pl.Expr) -> pl.Expr:
    """True when a raw cell is empty: null or only spaces (full-width and NBSP included)."""
    return (raw.is_null() | (raw.str.strip_chars() == "")).fill_null(True)


# a text cell that clean_text_expr would change: empty, padded, full-width or NBSP inside
_NEEDS_CLEANING = r"^$|^\s|\s$|[\uff01-\uff5e\u3000\u00a0]"


def _clean_text(raw: pl.Series) -> pl.Series:
    return apply_where(raw, raw.str.contains(_NEEDS_CLEANING), clean_text_expr)


def _clean_id(raw: pl.Series) -> pl.Series:
    def build(e: pl.Expr) -> pl.Expr:
        norm = normalise_id_expr(e)
        return pl.when(norm == "").then(None).otherwise(norm)

    return apply_where(raw, ~raw.str.contains(CANONICAL_ID), build)


def _clean_account(raw: pl.Series) -> pl.Series:
    def build(e: pl.Expr) -> pl.Expr:
        folded = fold_fullwidth_expr(e).str.replace_all(r"[\s\-‐‑–—]+", "")
        return pl.when(folded == "").then(None).otherwise(folded)

    return apply_where(raw, ~raw.str.contains(r"^[0-9]+$"), build)


def _finding(frame: pl.DataFrame, bad: pl.Series, fld: str, rule: str, kind: str) -> pl.DataFrame:
    sub = frame.filter(bad)
    return pl.DataFrame(
        {
            "source_row": sub["source_row"].cast(pl.Int64),
            "field": pl.Series([fld] * sub.height, dtype=pl.String),
            "value": sub[fld],
            "rule_id": pl.Series([rule] * sub.height, dtype=pl.String),
            "kind": pl.Series([kind] * sub.height, dtype=pl.String),
        }
    )


# The clerk's sentence per kind of problem: {label} the column's Chinese header, {shown} the
# value as typed (shortened), {value} the value, {noun}/{allowed} the list a code must come from.
MESSAGES_ZH = {
    "date": "{label}“{shown}”无法识别为日期",
    "month": "{label}“{shown}”无法识别为年月（应如2025-08）",
    "money": "{label}“{shown}”无法识别为金额",
    "negative": "{label}“{shown}”不能为负数",
    "too_large": "{label}“{shown}”超出可受理的金额范围",
    "yes_no": "{label}“{shown}”应填“是”或“否”",
    "blank": "{label}为必填项，不能为空",
    "blank_decision": "案件状态为“{value}”的案件须填写{label}",
    "blank_benefit": "批准案件须填写{label}",
    "formula": "{label}“{shown}”以=、+、-、@开头或含有控制字符，请按实际姓名填写",
    "code": "{label}“{shown}”不在规定{noun}中（{allowed}）",
}


def _message(fld: str, kind: str, value: str, labels: dict[str, str], lists: dict[str, str]) -> str:
    """The clerk's sentence: the column's Chinese header, the value, what is wrong."""
    shown = " ".join(value.split())
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return MESSAGES_ZH.get(kind, MESSAGES_ZH["code"]).format(
        label=labels.get(fld, fld), shown=shown, value=value, noun=_LIST_NOUN.get(fld, "取值"),
        allowed=lists.get(fld, ""))


def normalise_submission(
    raw: pl.DataFrame,
    codes: dict[str, dict[str, str]],
    labels: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw string rows -> (typed rows, findings P03/V03).

    `codes[f]` is `Reference.code_map(f)` for program, status, decided_level,
    relation, yes_no, disability_type, disability_grade, schooling,
    work_ability, self_care. `labels` (field -> Chinese header) defaults to
    the SPEC template headers. Never raises on cell content.
    """
    labels = {**FIELD_LABELS_ZH, **(labels or {})}
    n = raw.height
    frame = raw.with_columns(
        [pl.lit(None, dtype=pl.String).alias(f) for f in RAW_FIELDS if f not in raw.columns]
    )
    frame = frame.with_columns(pl.col(f).cast(pl.String) for f in RAW_FIELDS)
    if "source_row" not in frame.columns:
        frame = frame.with_columns(pl.int_range(1, n + 1, dtype=pl.Int64).alias("source_row"))
    for col in ("source_sheet", "source_ref", "extra_json"):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(col))

    # what each distinct-value parsed column is, and which finding it raises
    lists: dict[str, str] = {}
    specs: dict[str, tuple[Callable[[pl.Expr], pl.Expr], pl.DataType]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for fld in DATE_FIELDS:
        specs[fld], kinds[fld] = (parse_date_expr, pl.Date()), ("P03", "date")
    for fld in MONTH_FIELDS:
        specs[fld], kinds[fld] = (parse_month_expr, pl.Date()), ("P03", "month")
    for fld in MONEY_FIELDS:
        specs[fld], kinds[fld] = (_money_expr, pl.Int64()), ("P03", "money")
    for fld in (*CODED_FIELDS, GRADE_FIELD):
        code_map = codes.get(fld, {})
        lists[fld] = "、".join(code_map.keys())
        lookup = grade_lookup(code_map) if fld == GRADE_FIELD else code_lookup(code_map)
        specs[fld] = (lambda e, lk=lookup: _lookup_expr(e, lk, pl.String()), pl.String())
        kinds[fld] = ("V03", "code")
    yes_no = yes_no_lookup(codes.get("yes_no", {"是": "true", "否": "false"}))
    yes_no_build = partial(_lookup_expr, lookup=yes_no, dtype=pl.Boolean())  # one builder: one pooled parse
    for fld in BOOL_FIELDS:
        specs[fld] = (yes_no_build, pl.Boolean())
        kinds[fld] = ("V03", "yes_no")
    specs["town_code"] = (lambda e: clean_text_expr(e).str.replace_all(r"\s+", ""), pl.String())

    parsed = _distinct_parse(frame, specs)

    issues: list[pl.DataFrame] = []
    bad_cols = parsed.select(
        [(pl.col(f).is_null() & ~pl.col(f"{f}__blank")).alias(f) for f in kinds]
        + [(pl.col(f) < 0).fill_null(False).alias(f"{f}__negative") for f in MONEY_FIELDS]
        + [(pl.col(f) > MAX_AMOUNT_FEN).fill_null(False).alias(f"{f}__too_large") for f in MONEY_FIELDS]
    )
    for fld, (rule, kind) in kinds.items():
        if bad_cols[fld].any():
            issues.append(_finding(frame, bad_cols[fld], fld, rule, kind))
    for fld in MONEY_FIELDS:
        if bad_cols[f"{fld}__negative"].any():
            issues.append(_finding(frame, bad_cols[f"{fld}__negative"], fld, "P03", "negative"))
        if bad_cols[f"{fld}__too_large"].any():
            issues.append(_finding(frame, bad_cols[f"{fld}__too_large"], fld, "P03", "too_large"))

    # empty 是/否 is 否; empty income is 0; a negative amount is unreadable
    money = [
        pl.when((pl.col(f) < 0) | (pl.col(f) > MAX_AMOUNT_FEN))
        .then(None)
        .when(pl.col(f"{f}__blank"))
        .then(pl.lit(empty, dtype=pl.Int64))
        .otherwise(pl.col(f))
        .alias(target)
        for f, (target, empty) in MONEY_FIELDS.items()
    ]
    bools = [pl.when(pl.col(f"{f}__blank")).then(False).otherwise(pl.col(f)).alias(f) for f in BOOL_FIELDS]
    values = parsed.with_columns(money + bools)

    out: dict[str, pl.Series] = {c: values[c] for c in values.columns if not c.endswith("__blank")}
    for fld in TEXT_FIELDS:
        out[fld] = _clean_text(frame[fld])
    out["id_no"] = _clean_id(frame["id_no"])
    out["account_no"] = _clean_account(frame["account_no"])
    for col in ("source_sheet", "source_row", "source_ref", "extra_json"):
        out[col] = frame[col]
    typed = pl.DataFrame([out[c].cast(dtype, strict=False).alias(c) for c, dtype in TYPED_SCHEMA.items()])
    issues.extend(_required_cell_issues(frame, typed, present=set(raw.columns)))

    return typed, _findings_frame(issues, labels, lists)


def _required_cell_issues(frame: pl.DataFrame, typed: pl.DataFrame, *, present: set[str]) -> list[pl.DataFrame]:
    """V03 for blank required cells (SPEC §2), a blank 审批日期 on a decision, a blank
    月保障金额 on an approval, and a name or account holder that starts like a formula.
    Only columns the file has are checked (a missing required column is the reader's P02)."""
    issues: list[pl.DataFrame] = []
    blank = frame.select([_blank_expr(pl.col(f)).alias(f) for f in (*REQUIRED_CELLS, "decided_on", "monthly_benefit")])
    for fld in REQUIRED_CELLS:
        if fld in present and blank[fld].any():
            issues.append(_finding(frame, blank[fld], fld, "V03", "blank"))
    status = typed["status"]
    decision = blank["decided_on"] & status.is_in(list(DECISION_STATUSES)).fill_null(False)
    if "decided_on" in present and decision.any():
        labelled = frame.with_columns(
            decided_on=status.replace_strict(STATUS_LABELS_ZH, default="", return_dtype=pl.String)
        )
        issues.append(_finding(labelled, decision, "decided_on", "V03", "blank_decision"))
    no_benefit = blank["monthly_benefit"] & (status == "approved").fill_null(False)
    if "monthly_benefit" in present and no_benefit.any():
        issues.append(_finding(frame, no_benefit, "monthly_benefit", "V03", "blank_benefit"))
    for fld in FORMULA_FIELDS:
        bad = typed[fld].str.contains(FORMULA_LIKE).fill_null(False)
        if bad.any():
            issues.append(_finding(typed.with_columns(frame["source_row"]), bad, fld, "V03", "formula"))
    return issues


def _findings_frame(
    issues: list[pl.DataFrame], labels: dict[str, str], lists: dict[str, str]
) -> pl.DataFrame:
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
