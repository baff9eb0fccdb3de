"""The V-rules of SPEC §5 as pure Polars functions (validation of town decisions).

Frame in, frame out, no I/O: `rule_results` computes, over the member rows of
a set of case versions, one Boolean column per rule id (True = passes, False =
trips, null = the rule does not apply), plus the numbers the messages need,
each at its rule's grain: case rules on one row per case, member rules (V01,
V10, V11, V14) on one row per member row. So a result column counts findings.
`rule_findings` turns the tripped cells into findings whose message is rendered
from `MESSAGE_TEMPLATES` — the very templates the Great Expectations suites
carry in each expectation's meta (checks/gx_suite.py).

V02 (folder) lives in checks/validation.py and V03 / P03 in the normaliser;
everything else is here. Reference numbers (time limits, ages, disability
grades, publicity days, authority dates, standards) come from the reference
tables in force on the version's reference date: its decision date, or its
ingest date when it is undecided (SPEC §5 "Definitions").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.calendar import WorkingCalendar
from transforms.entitlement import case_entitlement
from transforms.identifiers import age_on_expr, id_birth_date_expr, id_problem_expr, luhn_ok_expr, mask_expr

# Rules computed here, in catalogue order.
VRULES: tuple[str, ...] = (
    "V01", "V04", "V05", "V06", "V07", "V08", "V09", "V10", "V11", "V12", "V13", "V14", "V15", "V16",
)  # fmt: skip
MEMBER_RULES = frozenset({"V01", "V10", "V11", "V14"})
# Rules that can be recomputed from stored versions (core.case_versions keeps one
# set of household fields per version, so V04's row disagreement cannot).
RECHECKABLE = tuple(r for r in VRULES if r != "V04")

# One plain-Chinese sentence per rule; {name} placeholders are filled per finding
# (see _PLACEHOLDERS). The GX expectation of each rule carries the same template.
MESSAGE_TEMPLATES: dict[str, str] = {
    "V01": "案件{case_no}：成员身份证号{id_masked}无效（{id_reason}）",
    "V04": "案件{case_no}：{household_detail}",
    "V05": "案件{case_no}：日期先后顺序错误，{date_order_detail}",
    "V06": "案件{case_no}：首次批准须公示不少于{publicity_required}天，{publicity_detail}",
    "V07": "案件{case_no}：审批日期{decided_on}距受理日期超过{time_limit}个工作日（实际{working_days}个）",
    "V08": "案件{case_no}：{town_name}自{authority_from}起方可由镇街审批，本次镇街审批日期{decided_on}"
    "早于该日期，须经区民政局审批，暂停发放",
    "V09": "案件{case_no}：月保障金额{benefit}与核算金额{entitlement}相差{difference}（按{standard_month}保障标准核算）",
    "V10": "案件{case_no}：特困供养人员{id_masked}在{age_date_label}{age_date}为{age}周岁"
    "（{work_age_min}至{work_age_max}周岁），不属在校未成年人，也无符合条件的残疾，具有劳动能力",
    "V11": "案件{case_no}：特困供养人员{id_masked}未填写自理能力（全自理、半护理或全护理）",
    "V12": "案件{case_no}：批准案件未填写银行账号，暂停发放",
    "V13": "案件{case_no}：起始发放月份{benefit_from}应为审批次月{expected_benefit_from}",
    "V14": "案件{case_no}：身份证号{id_masked}在本案中重复（与第{duplicate_of_row}行相同）",
    "V15": "案件{case_no}：银行账号{account_masked}未通过校验，请核对（农村存折账号可能如此，仍照常发放）",
    "V16": "案件{case_no}：首次批准（审批日期{decided_on}）前未报送区民政局核对，本案首次报送于{first_submitted_on}",
}

# The column of the submission each finding points a clerk at.
RULE_FIELDS: dict[str, str | None] = {
    "V01": "id_no", "V04": None, "V05": None, "V06": "publicity_to", "V07": "decided_on", "V08": "decided_level",
    "V09": "monthly_benefit", "V10": "work_ability", "V11": "self_care", "V12": "account_no",
    "V13": "benefit_from", "V14": "id_no", "V15": "account_no", "V16": "decided_on",
}  # fmt: skip

HOUSEHOLD_FIELDS = [
    "village", "program", "status", "applied_on", "received_on", "visited_on", "reviewed_on", "decided_on",
    "publicity_from", "publicity_to", "decided_level", "decided_by", "monthly_benefit_fen", "benefit_from",
    "rechecked_on", "bank", "account_no", "account_holder", "staff_relative", "complaint", "extended",
    "gradual_exit", "remark",
]  # fmt: skip
FIELD_LABELS = {
    "village": "村社区", "program": "救助类别", "status": "案件状态", "applied_on": "申请日期",
    "received_on": "受理日期", "visited_on": "入户调查日期", "reviewed_on": "民主评议日期",
    "decided_on": "审批日期", "publicity_from": "公示开始日期", "publicity_to": "公示结束日期",
    "decided_level": "审批层级", "decided_by": "审批人", "monthly_benefit_fen": "月保障金额",
    "benefit_from": "起始发放月份", "rechecked_on": "复核日期", "bank": "开户银行", "account_no": "银行账号",
    "account_holder": "开户人", "staff_relative": "近亲属备案", "complaint": "投诉举报", "extended": "延期审批",
    "gradual_exit": "渐退期", "remark": "备注",
}  # fmt: skip
# SPEC §5 V05: applied ≤ received ≤ visited ≤ decided, where present
DATE_CHAIN = ("applied_on", "received_on", "visited_on", "decided_on")

ID_REASONS = {
    "length": "不是18位",
    "characters": "含有数字和末位X以外的字符",
    "checksum": "校验码错误",
    "birth_date": "出生日期不存在",
    "future_birth": "出生日期晚于报送日期",
}

# SPEC §5 V09 "more than 1 yuan": settings key benefit_tolerance_yuan may change it.
DEFAULT_BENEFIT_TOLERANCE_FEN = 100

PREVIOUS_COLUMNS = {"case_key": pl.String, "ever_approved": pl.Boolean, "ever_decided": pl.Boolean,
                    "first_ingested_on": pl.Date}  # fmt: skip


# ---------------------------------------------------------------- small expressions


def _date_text(e: pl.Expr) -> pl.Expr:
    return e.dt.to_string("%Y-%m-%d")


def _month_text(e: pl.Expr) -> pl.Expr:
    return e.dt.to_string("%Y-%m")


def _yuan_text(fen: pl.Expr) -> pl.Expr:
    """Integer fen -> '1440.00元' (exact, no float)."""
    a = fen.abs()
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return sign + (a // 100).cast(pl.String) + "." + (a % 100).cast(pl.String).str.zfill(2) + "元"


def _placeholders(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


def render_message(template: str) -> pl.Expr:
    """A template with {name} placeholders as one Polars expression over a results frame."""
    names = _placeholders(template)
    fmt = re.sub(r"\{\w+\}", "{}", template)
    return pl.format(fmt, *[_PLACEHOLDERS[n].fill_null("（未填写）") for n in names])


def _settings_value(tables: dict[str, pl.DataFrame], key: str) -> str | None:
    settings = tables.get("settings")
    if settings is None:
        return None
    hit = settings.filter(pl.col("key") == key)["value"]
    return hit[0] if hit.len() and hit[0] not in (None, "") else None


def benefit_tolerance_fen(tables: dict[str, pl.DataFrame]) -> int:
    from transforms.money import yuan_to_fen

    value = _settings_value(tables, "benefit_tolerance_yuan")
    return DEFAULT_BENEFIT_TOLERANCE_FEN if value is None else yuan_to_fen(value)


_dated_cache: dict[int, tuple[dict, pl.DataFrame]] = {}


def _in_force(days: pl.DataFrame, on: str, table: pl.DataFrame, key_col: str, key: str, value_col: str,
              alias: str) -> pl.DataFrame:  # fmt: skip
    """Adds `alias` = the table's value for `key` in force on each distinct date `on`."""
    rows = table.filter(pl.col(key_col) == key).select("effective_from", pl.col(value_col).alias(alias))
    if rows.is_empty() or days.is_empty():
        return days.with_columns(pl.lit(None, dtype=table.schema[value_col]).alias(alias))
    return days.join_asof(rows.sort("effective_from"), left_on=on, right_on="effective_from",
                          strategy="backward").drop("effective_from")  # fmt: skip


def dated_values(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """since, and every value of DATED in force from that day, one row per day any of them
    changes: a date's values are those of the last change on or before it. Built once per set of
    reference tables (a file's cases then need one as-of join, not eight)."""
    cached = _dated_cache.get(id(tables))
    if cached is not None and cached[0] is tables:
        return cached[1]
    changes = pl.concat([tables[name].select(since=pl.col("effective_from").cast(pl.Date)) for name, *_ in DATED])
    frame = changes.unique().sort("since").drop_nulls()
    for name, key_col, value_col, keys in DATED:
        for key, alias in keys:
            frame = _in_force(frame, "since", tables[name], key_col, key, value_col, alias)
    _dated_cache.clear()  # one set of tables at a time (they change only when reference/ does)
    _dated_cache[id(tables)] = (tables, frame)
    return frame


# ---------------------------------------------------------------- the rules

KEY = "case_index"  # an integer stand-in for case_key inside the computation (fast joins)
ELIGIBILITY_KEYS = (
    "tekun_work_age_min",
    "tekun_work_age_max",
    "tekun_student_age_limit",
    "tekun_minor_publicity_age",
)
# the dated values the rules read, in force on a case's reference date: (table, key column,
# value column, ((key, the column it becomes), ...))
DATED = (
    ("time_limits", "limit_key", "value", (("decision_dibao", "lim_dibao"),
                                           ("decision_dibao_extended", "lim_dibao_ext"),
                                           ("decision_tekun", "lim_tekun"), ("publicity_days", "publicity_days_n"))),
    ("eligibility", "rule", "value", tuple((key, key) for key in ELIGIBILITY_KEYS)),
)  # fmt: skip
MEMBER_COLUMNS = (
    "id_no", "relation", "covered", "disability_type", "disability_grade", "serious_illness", "schooling",
    "self_care", "monthly_income_fen",
)  # fmt: skip


@dataclass(frozen=True)
class RuleResults:
    """The result columns of rule_results, at their own grain.

    cases: one row per case (its first member row), in input order: case_index,
        case_key, case_no, town, the household fields, the case rules and the
        numbers their messages name.
    members: one row per member row, in input order: case_index, source_row, the
        member fields (id_no ...), the member rules and their numbers (case_key
        and case_no are on the case row: rule_findings joins them).
    A rule column is True (passes), False (trips) or null (does not apply).
    """

    cases: pl.DataFrame
    members: pl.DataFrame

    def column(self, rule: str) -> pl.Series:
        frame = self.members if rule in MEMBER_RULES else self.cases
        return frame[rule]


def rule_results(
    typed: pl.DataFrame,
    previous: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    calendar: WorkingCalendar,
    *,
    rules: Iterable[str] = VRULES,
) -> RuleResults:
    """The V-rules over the member rows of some case versions.

    typed: member rows with the typed columns of transforms.submission plus
        case_key (the case's identity in this frame), case_no (as the clerk wrote
        it), town (the submitting town), ingested_on (Date) and source_row
        (unique within a case).
    previous: per case_key its state before this version: ever_approved,
        ever_decided (approved or denied), first_ingested_on (any earlier version).
    tables: the reference tables (core.reference.Reference.tables).
    """
    wanted = set(rules)
    rules = [r for r in VRULES if r in wanted]
    prev = (
        previous.select(list(PREVIOUS_COLUMNS)).cast(PREVIOUS_COLUMNS)
        if previous.height
        else pl.DataFrame(schema=PREVIOUS_COLUMNS)
    )
    fields = [f for f in HOUSEHOLD_FIELDS if f in typed.columns]
    rows = (
        typed.lazy()
        .with_columns(pl.col("case_key").rank("dense").cast(pl.UInt32).alias(KEY))
        .with_columns(is_case_row=pl.col("source_row") == pl.col("source_row").min().over(KEY))
        .collect()
    )
    stats = (
        rows.lazy()
        .group_by(KEY)
        .agg(
            heads=(pl.col("relation") == "head").sum().cast(pl.Int64),
            covered_count=pl.col("covered").fill_null(False).sum().cast(pl.Int64),
            **({"household_versions": pl.struct(fields).hash().n_unique()} if "V04" in rules else {}),
        )
    )
    cases = _case_frame(
        rows.lazy()
        .filter("is_case_row")
        .select(KEY, "case_key", "case_no", "town", "ingested_on", *fields)
        .join(stats, on=KEY, how="left", maintain_order="left")
        .collect(),
        prev,
        tables,
    )
    members = _member_frame(rows, cases, tables, rules)
    if "V04" in rules:
        cases = _household_consistency(rows, cases, fields)
    if "V07" in rules:
        cases = calendar.working_days_expr(cases, "received_on", "decided_on", "working_days_n")
    if "V09" in rules:
        cases = _entitlement(cases, members, tables)
    if "V06" in rules:
        cases = publicity_exemption(cases, members)
    if "V15" in rules:
        cases = cases.lazy().with_columns(account_ok=luhn_ok_expr(pl.col("account_no"))).collect()

    live = ~pl.col("is_void")
    checks = _checks()
    case_cols = [_result(checks[r], live).alias(r) for r in rules if r not in MEMBER_RULES]
    member_cols = [_result(checks[r], live).alias(r) for r in rules if r in MEMBER_RULES]
    cases = cases.with_columns(case_cols).with_columns(
        [pl.lit(None, dtype=pl.Boolean).alias(r) for r in VRULES if r not in MEMBER_RULES and r not in wanted]
    )
    members = members.with_columns(member_cols).with_columns(
        [pl.lit(None, dtype=pl.Boolean).alias(r) for r in VRULES if r in MEMBER_RULES and r not in wanted]
    )
    return RuleResults(cases=cases, members=members)


def _result(check: tuple[pl.Expr, pl.Expr], live: pl.Expr) -> pl.Expr:
    applies, fails = check
    return pl.when(live & applies.fill_null(False)).then(~fails.fill_null(False)).otherwise(None)


def _checks() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """rule -> (applies, fails), over the cases frame or (V01, V10, V11, V14) the members frame."""
    # V10/V11 concern every version of a tekun case but a denial (which is the right answer to them)
    tekun_covered = ~pl.col("is_denied") & pl.col("is_tekun") & pl.col("covered").fill_null(False)
    return {
        "V01": (pl.col("id_no").is_not_null(), pl.col("id_problem").is_not_null()),  # a blank ID is V03
        "V04": (pl.lit(True), pl.col("household_detail").is_not_null()),
        "V05": (pl.lit(True), pl.col("date_order_detail").is_not_null()),
        "V06": (pl.col("first_approval") & ~pl.col("publicity_exempt"), _publicity_short()),
        "V07": (
            pl.col("first_decision") & pl.col("working_days_n").is_not_null() & pl.col("time_limit_n").is_not_null(),
            pl.col("working_days_n") > pl.col("time_limit_n"),
        ),
        "V08": (
            (pl.col("decided_level") == "town") & pl.col("decided_on").is_not_null()
            & pl.col("authority_from_d").is_not_null(),
            pl.col("decided_on") < pl.col("authority_from_d"),
        ),
        "V09": (
            pl.col("is_approved") & ~pl.col("gradual_exit").fill_null(False) & pl.col("entitlement_fen").is_not_null()
            & pl.col("ages_known"),
            pl.col("monthly_benefit_fen").is_null()
            | ((pl.col("monthly_benefit_fen") - pl.col("entitlement_fen")).abs() > pl.col("tolerance_fen")),
        ),
        "V10": (tekun_covered, _can_work()),
        "V11": (tekun_covered, pl.col("self_care").is_null()),
        "V12": (pl.col("is_approved"), pl.col("account_no").is_null()),
        "V13": (
            pl.col("first_approval") & pl.col("decided_on").is_not_null(),
            pl.col("benefit_from").is_null() | (pl.col("benefit_from") != pl.col("expected_benefit_from_d")),
        ),
        "V14": (pl.col("id_no").is_not_null(), pl.col("duplicate_of_row_n").is_not_null()),
        "V15": (pl.col("account_no").is_not_null(), ~pl.col("account_ok")),
        "V16": (
            pl.col("first_approval") & pl.col("decided_on").is_not_null(),
            ~(pl.col("first_ingested_on") < pl.col("decided_on")).fill_null(False),
        ),
    }  # fmt: skip


def _case_frame(cases: pl.DataFrame, prev: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    programs = tables["programs"]
    family = dict(zip(programs["program"], programs["family"], strict=True))
    cases = (
        cases.join(prev, on="case_key", how="left", maintain_order="left")
        .with_columns(
            pl.col("ever_approved", "ever_decided").fill_null(False),
            ref_date=pl.coalesce("decided_on", "ingested_on"),
            family=pl.col("program").replace_strict(family, default=None, return_dtype=pl.String),
            is_void=(pl.col("status") == "void").fill_null(False),
            is_approved=(pl.col("status") == "approved").fill_null(False),
            is_denied=(pl.col("status") == "denied").fill_null(False),
        )
        .with_columns(
            is_tekun=(pl.col("family") == "tekun").fill_null(False),
            first_approval=pl.col("is_approved") & ~pl.col("ever_approved"),
            first_decision=pl.col("status").is_in(["approved", "denied"]).fill_null(False)
            & ~pl.col("ever_decided"),
            standard_month=pl.col("ref_date").dt.month_start(),
            expected_benefit_from_d=pl.col("decided_on").dt.month_start().dt.offset_by("1mo"),
            first_submitted_d=pl.coalesce("first_ingested_on", "ingested_on"),
        )
    )
    # the dated reference values in force on each reference date
    days = cases.select(pl.col("ref_date").drop_nulls().unique().sort()).join_asof(
        dated_values(tables), left_on="ref_date", right_on="since", strategy="backward"
    ).drop("since")
    cases = cases.join(days, on="ref_date", how="left", maintain_order="left")
    towns = tables["towns"].select(
        pl.col("code").alias("town"),
        pl.col("name").alias("town_name"),
        pl.col("authority_from").alias("authority_from_d"),
    )
    return cases.join(towns, on="town", how="left", maintain_order="left").with_columns(
        time_limit_n=pl.when(pl.col("family") == "tekun")
        .then(pl.col("lim_tekun"))
        .when(pl.col("family") == "dibao")
        .then(
            pl.when(pl.col("extended").fill_null(False))
            .then(pl.col("lim_dibao_ext"))
            .otherwise(pl.col("lim_dibao"))
        )
        .otherwise(None),
        date_order_detail=_date_order_detail(),
        tolerance_fen=pl.lit(benefit_tolerance_fen(tables), dtype=pl.Int64),
    )


def _date_order_detail() -> pl.Expr:
    """'受理日期2025-03-01早于申请日期2025-03-02；…' for every pair out of order, else null."""
    pairs = [(a, b) for i, a in enumerate(DATE_CHAIN) for b in DATE_CHAIN[i + 1 :]]
    pairs.append(("publicity_from", "publicity_to"))
    parts = [
        pl.when(pl.col(a) > pl.col(b)).then(
            pl.lit(FIELD_LABELS[b]) + _date_text(pl.col(b)) + "早于" + FIELD_LABELS[a] + _date_text(pl.col(a))
        )
        for a, b in pairs
    ]
    parts.append(
        pl.when(pl.col("first_approval") & (pl.col("decided_on") > pl.col("publicity_from"))).then(
            pl.lit("公示开始日期")
            + _date_text(pl.col("publicity_from"))
            + "早于审批日期"
            + _date_text(pl.col("decided_on"))
        )
    )
    joined = pl.concat_str(parts, separator="；", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _member_frame(
    rows: pl.DataFrame, cases: pl.DataFrame, tables: dict[str, pl.DataFrame], rules: list[str]
) -> pl.DataFrame:
    """One narrow row per member row (no case numbers or names: findings join them back)."""
    ctx = cases.select(
        KEY, "ref_date", "ingested_on", "decided_on", "is_approved", "is_denied", "is_tekun", "is_void",
        "tekun_work_age_min",
        "tekun_work_age_max", "tekun_student_age_limit", "tekun_minor_publicity_age",
    )  # fmt: skip
    dis = _disability_limits(rows, cases, tables)
    m = (
        rows.lazy()
        .select(KEY, "source_row", *[c for c in MEMBER_COLUMNS if c in rows.columns])
        .join(ctx.lazy(), on=KEY, how="left", maintain_order="left")
        # an impossible or future birth date: future after the day the bureau
        # received it (the decision date is the reference date for ages)
        .with_columns(id_problem=id_problem_expr(pl.col("id_no"), pl.col("ingested_on")))
        .with_columns(
            birth_date=pl.when(pl.col("id_problem").is_null()).then(id_birth_date_expr(pl.col("id_no")))
        )
        .join(dis.lazy(), on=["ref_date", "disability_type"], how="left", maintain_order="left")
        .with_columns(
            qualifying_disability=(
                pl.col("disability_grade").cast(pl.Int64) <= pl.col("max_grade")
            ).fill_null(False)
        )
        .drop("max_grade")
        .collect()
    )
    # ages matter to tekun only here (V06 minors, V10); dibao ages are the
    # entitlement's business: computed on the tekun rows alone
    tekun = (
        m.lazy()
        .with_row_index("__i")
        .filter("is_tekun")
        .select("__i", age=age_on_expr(pl.col("birth_date"), pl.col("ref_date")))
        .collect()
    )
    m = (
        m.with_row_index("__i")
        .join(tekun, on="__i", how="left", maintain_order="left")
        .drop("__i")
        .with_columns(pl.col("age").cast(pl.Int32))
    )
    if "V14" in rules:
        return _duplicates(m)
    return m.with_columns(duplicate_of_row_n=pl.lit(None, dtype=pl.Int64))


def _disability_limits(
    rows: pl.DataFrame, cases: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """V10: per (reference date, disability type) the highest grade that makes a member
    unable to work (tekun_disability in force on that date)."""
    schema = {"ref_date": pl.Date, "disability_type": pl.String, "max_grade": pl.Int64}
    dis = tables["tekun_disability"].sort("effective_from")
    if "disability_type" not in rows.columns or dis.is_empty():
        return pl.DataFrame(schema=schema)
    key = (
        rows.filter(pl.col("disability_type").is_not_null())
        .select(KEY, "disability_type")
        .join(cases.filter("is_tekun").select(KEY, "ref_date"), on=KEY)
        .select("ref_date", "disability_type")
        .drop_nulls()
        .unique()
        .sort("ref_date")
    )
    if key.is_empty():
        return pl.DataFrame(schema=schema)
    looked = key.join_asof(
        dis.select("effective_from", "disability_type", "max_grade"),
        left_on="ref_date",
        right_on="effective_from",
        by="disability_type",
        strategy="backward",
        check_sortedness=False,  # both sides sorted by date above; Polars cannot check it per group
    )
    return looked.select(list(schema)).cast(schema)


def _duplicates(m: pl.DataFrame) -> pl.DataFrame:
    """V14: duplicate_of_row_n = the first row of the case with the same ID (on later rows only)."""
    # a 64-bit hash narrows the search to a few candidate cases; the exact check runs on those only
    h = m.select(pl.col("id_no").hash().alias("h"), pl.col(KEY), pl.col("id_no").is_not_null().alias("has"))
    candidate = h.select(pl.col("has") & pl.struct(KEY, "h").is_duplicated())["has"]
    m = m.with_columns(duplicate_of_row_n=pl.lit(None, dtype=pl.Int64))
    if not candidate.any():
        return m
    suspects = m.join(m.filter(candidate).select(KEY).unique(), on=KEY, how="semi")
    first_of_id = pl.col("source_row").min().over(KEY, "id_no")
    exact = suspects.select(
        KEY,
        "source_row",
        pl.when(pl.col("id_no").is_not_null() & (pl.col("source_row") != first_of_id))
        .then(first_of_id)
        .alias("__dup"),
    )
    return (
        m.join(exact, on=[KEY, "source_row"], how="left", maintain_order="left")
        .with_columns(duplicate_of_row_n=pl.col("__dup").cast(pl.Int64))
        .drop("__dup")
    )


def _can_work() -> pl.Expr:
    age = pl.col("age")
    working_age = (age >= pl.col("tekun_work_age_min")) & (age <= pl.col("tekun_work_age_max"))
    student = (age < pl.col("tekun_student_age_limit")) & (pl.col("schooling") == "在校").fill_null(False)
    return working_age & ~student & ~pl.col("qualifying_disability")


def _publicity_short() -> pl.Expr:
    f, t = pl.col("publicity_from"), pl.col("publicity_to")
    return f.is_null() | t.is_null() | ((t - f).dt.total_days() < pl.col("publicity_days_n") - 1)


def _household_consistency(rows: pl.DataFrame, cases: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """V04 ingredients: which household fields differ between a case's rows (nulls count)."""
    bad = cases.filter(pl.col("household_versions") > 1).select(KEY)
    differ = pl.DataFrame(schema={KEY: pl.UInt32, "fields_differ": pl.String})
    if bad.height:
        per_field = (
            rows.join(bad, on=KEY, how="semi")
            .group_by(KEY)
            .agg([(pl.col(f).n_unique() > 1).alias(f) for f in fields])
        )
        differ = per_field.select(
            KEY,
            fields_differ=pl.concat_str(
                [pl.when(pl.col(f)).then(pl.lit(FIELD_LABELS[f])) for f in fields],
                separator="、",
                ignore_nulls=True,
            ),
        )
    cases = cases.join(differ, on=KEY, how="left", maintain_order="left")
    head_text = pl.when(pl.col("heads") != 1).then(
        pl.format("应有且只有1名户主（实际{}名）", pl.col("heads"))
    )
    field_text = pl.when(pl.col("fields_differ").is_not_null()).then(
        pl.lit("户信息在各成员行不一致（") + pl.col("fields_differ") + "）"
    )
    detail = pl.concat_str([field_text, head_text], separator="；", ignore_nulls=True)
    return cases.with_columns(household_detail=pl.when(detail == "").then(None).otherwise(detail))


def _entitlement(cases: pl.DataFrame, members: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """V09: entitlement with the standards of the decision month, ages on the decision date."""
    wanted = cases.filter(
        pl.col("is_approved") & ~pl.col("gradual_exit").fill_null(False) & pl.col("family").is_not_null()
        & pl.col("standard_month").is_not_null()
    )  # fmt: skip
    if wanted.is_empty():
        return cases.with_columns(entitlement_fen=pl.lit(None, dtype=pl.Int64), ages_known=pl.lit(True))
    # an ID that fails V01 gives no age, so the extras cannot be known: V09 waits for the ID
    unknown_age = (
        members.filter(pl.col("birth_date").is_null())
        .select(KEY)
        .unique()
        .with_columns(ages_known=pl.lit(False))
    )
    ent = case_entitlement(
        wanted.select(KEY, "program", "standard_month", pl.col("ref_date").alias("age_on")),
        members.select(
            KEY, "covered", "monthly_income_fen", "birth_date", "disability_type", "disability_grade",
            "serious_illness", "schooling", "self_care",
        ).join(wanted.select(KEY), on=KEY, how="semi"),
        tables,
        keys=(KEY,),
    )  # fmt: skip
    return (
        cases.join(ent.select(KEY, "entitlement_fen"), on=KEY, how="left", maintain_order="left")
        .join(unknown_age, on=KEY, how="left", maintain_order="left")
        .with_columns(pl.col("ages_known").fill_null(True))
    )


def publicity_exemption(cases: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Adds publicity_exempt: tekun whose covered members are all under the minor age (V06)."""
    tekun = members.filter(pl.col("is_tekun") & pl.col("covered").fill_null(False))
    minors = tekun.group_by(KEY).agg(
        all_minor=(pl.col("age") < pl.col("tekun_minor_publicity_age")).fill_null(False).all()
    )
    return cases.join(minors, on=KEY, how="left", maintain_order="left").with_columns(
        publicity_exempt=pl.col("is_tekun")
        & (pl.col("covered_count") > 0)
        & pl.col("all_minor").fill_null(False)
    )


# ---------------------------------------------------------------- messages and findings

_PLACEHOLDERS: dict[str, pl.Expr] = {
    "case_no": pl.col("case_no"),
    "id_masked": pl.when(pl.col("id_no").is_null())
    .then(pl.lit("（未填写）"))
    .otherwise(mask_expr(pl.col("id_no"))),
    "id_reason": pl.when(pl.col("id_no").is_null())
    .then(pl.lit("未填写身份证号"))
    .otherwise(pl.col("id_problem").replace_strict(ID_REASONS, default=None, return_dtype=pl.String)),
    "household_detail": pl.col("household_detail"),
    "date_order_detail": pl.col("date_order_detail"),
    "publicity_required": pl.col("publicity_days_n").cast(pl.String),
    "publicity_detail": pl.when(pl.col("publicity_from").is_null() & pl.col("publicity_to").is_null())
    .then(pl.lit("未填写公示开始日期和公示结束日期"))
    .when(pl.col("publicity_from").is_null())
    .then(pl.lit("未填写公示开始日期"))
    .when(pl.col("publicity_to").is_null())
    .then(pl.lit("未填写公示结束日期"))
    .otherwise(
        pl.lit("公示期")
        + _date_text(pl.col("publicity_from"))
        + "至"
        + _date_text(pl.col("publicity_to"))
        + "仅"
        + ((pl.col("publicity_to") - pl.col("publicity_from")).dt.total_days() + 1).cast(pl.String)
        + "天"
    ),
    "decided_on": _date_text(pl.col("decided_on")),
    "time_limit": pl.col("time_limit_n").cast(pl.String),
    "working_days": pl.col("working_days_n").cast(pl.String),
    "town_name": pl.col("town_name"),
    "authority_from": _date_text(pl.col("authority_from_d")),
    "benefit": pl.when(pl.col("monthly_benefit_fen").is_null())
    .then(pl.lit("未填写"))
    .otherwise(_yuan_text(pl.col("monthly_benefit_fen"))),
    "entitlement": _yuan_text(pl.col("entitlement_fen")),
    "difference": _yuan_text((pl.col("monthly_benefit_fen").fill_null(0) - pl.col("entitlement_fen")).abs()),
    "standard_month": _month_text(pl.col("standard_month")),
    "age_date_label": pl.when(pl.col("decided_on").is_not_null())
    .then(pl.lit("审批日期"))
    .otherwise(pl.lit("报送日期")),
    "age_date": _date_text(pl.col("ref_date")),
    "age": pl.col("age").cast(pl.String),
    "work_age_min": pl.col("tekun_work_age_min").cast(pl.String),
    "work_age_max": pl.col("tekun_work_age_max").cast(pl.String),
    "benefit_from": pl.when(pl.col("benefit_from").is_null())
    .then(pl.lit("（未填写）"))
    .otherwise(_month_text(pl.col("benefit_from"))),
    "expected_benefit_from": _month_text(pl.col("expected_benefit_from_d")),
    "duplicate_of_row": pl.col("duplicate_of_row_n").cast(pl.String),
    "account_masked": mask_expr(pl.col("account_no")),
    "first_submitted_on": _date_text(pl.col("first_submitted_d")),
}

assert all(set(_placeholders(t)) <= set(_PLACEHOLDERS) for t in MESSAGE_TEMPLATES.values())

FINDING_SCHEMA = {
    "case_key": pl.String, "source_row": pl.Int64, "id_no": pl.String, "field": pl.String, "value": pl.String,
    "rule_id": pl.String, "message": pl.String,
}  # fmt: skip


def rule_findings(results: RuleResults, rules: Iterable[str] = VRULES) -> pl.DataFrame:
    """One finding per tripped cell: member rules name the row and the ID, case
    rules the case only (source_row and id_no null)."""
    parts = []
    for rule in [r for r in VRULES if r in set(rules)]:
        member = rule in MEMBER_RULES
        hit = (results.members if member else results.cases).filter(pl.col(rule).not_())
        if hit.is_empty():
            continue
        if member:
            hit = hit.join(
                results.cases.select(KEY, "case_key", "case_no"), on=KEY, how="left", maintain_order="left"
            )
        parts.append(
            hit.select(
                "case_key",
                (pl.col("source_row") if member else pl.lit(None)).cast(pl.Int64).alias("source_row"),
                (pl.col("id_no") if member else pl.lit(None)).cast(pl.String).alias("id_no"),
                pl.lit(RULE_FIELDS[rule], dtype=pl.String).alias("field"),
                pl.lit(None, dtype=pl.String).alias("value"),
                pl.lit(rule).alias("rule_id"),
                render_message(MESSAGE_TEMPLATES[rule]).alias("message"),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=FINDING_SCHEMA)


def typed_for_rules(typed: pl.DataFrame, *, town: str, ingested_on: date, case_key: pl.Expr) -> pl.DataFrame:
    """The seam's typed rows with the columns rule_results needs."""
    return typed.with_columns(
        case_key.alias("case_key"),
        case_key.alias("case_no"),
        pl.lit(town, dtype=pl.String).alias("town"),
        pl.lit(ingested_on, dtype=pl.Date).alias("ingested_on"),
        pl.col("source_row").cast(pl.Int64),
    )
