"""The cross-check (家庭经济状况信息核对, SPEC §5): rules X01–X10 and M01–M03.

Every rule is one SQL file in `checks/sql/` with bound parameters, set-based
over the current members of the population joined to the registry rows on
plain `id_no` equality (IDs are normalised when extracts are loaded). The
population (`xc_cases`, `xc_members`) and the registry rows about its members
(`xc_reg_<source>`: one join of the members' IDs with every registry table's
IDs, the matching rows then fetched by rowid) are temp tables built once per
run by `prepare_population`, so each rule works on small tables. This
module is the rule registry — id, SQL file, registry source, the populations
it applies to, the Chinese message template, the evidence key and the
evidence columns — and runs the rules into findings. Severity and payment
blocking come from `transforms.catalogue` (a rule's SQL may decide them per row:
X01's severity, X08's blocking). The findings' lifecycle is `checks.lifecycle`.

    prepare_population(con, ref, as_of)
    found = run_rules(con, ref, as_of, populations=("application", "active"))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from checks.findings import finding_id_expr
from checks.lifecycle import apply_checked_findings, escalation_days
from core.home import now_shanghai
from core.periods import month_start
from core.reference import Reference
from transforms.calendar import WorkingCalendar
from transforms.catalogue import RULES as CATALOGUE
from transforms.entitlement import standard_fen
from transforms.identifiers import mask_expr
from warehouse.sqlfiles import bind, sql

log = logging.getLogger("jiuzhu.crosscheck")

SQL_DIR = Path(__file__).resolve().parent / "sql"
POPULATIONS = ("application", "active")
MODES = {"applications": ("application",), "active": ("active",), "all": POPULATIONS}
BOTH = frozenset(POPULATIONS)


@dataclass(frozen=True)
class CrossRule:
    """One cross-check or dynamic-management rule.

    sql_file: checks/sql/<sql_file>.sql, returning town_code, case_no, id_no
        (null when about the household), the evidence key column and the
        columns the message and evidence use; optionally severity and
        blocks_payment when the rule decides them per row.
    message_template: Chinese, '{}' filled in order from message_columns.
    evidence_key: the output column that is the finding's evidence key.
    evidence_columns: (column, Chinese label) shown as the hit's evidence.
    """

    rule_id: str
    sql_file: str
    source: str
    populations: frozenset[str]
    message_template: str
    message_columns: tuple[str, ...]
    evidence_key: str
    evidence_columns: tuple[tuple[str, str], ...]
    escalates: bool = False
    evidence_amount: str | None = None  # X06/X07: the amount a hand clearing is tied to (SPEC §5)
    digest_kind: str = "crosscheck_hit"
    to_district: bool = False

    @property
    def severity(self) -> str:
        return CATALOGUE[self.rule_id].severity

    @property
    def blocks_payment(self) -> bool:
        return CATALOGUE[self.rule_id].blocks_payment

    @property
    def title(self) -> str:
        return CATALOGUE[self.rule_id].title_zh

    @property
    def sql(self) -> str:
        return rule_sql(self.sql_file)


ACTIVE = frozenset({"active"})
APPLICATION = frozenset({"application"})

RULES: dict[str, CrossRule] = {
    r.rule_id: r
    for r in [
        CrossRule(
            rule_id="X01",
            sql_file="x01_deaths",
            source="deaths",
            populations=BOTH,
            message_template="家庭成员已死亡（死亡日期 {}），请核实并停止其保障",
            message_columns=("died_on_text",),
            evidence_key="died_on",
            evidence_columns=(("died_on_text", "死亡日期"),),
        ),
        CrossRule(
            rule_id="X02",
            sql_file="x02_vehicles",
            source="vehicles",
            populations=BOTH,
            message_template="家庭成员名下有在用机动车（号牌 {}，{}），请入户核实",
            message_columns=("plate", "vehicle_type"),
            evidence_key="plate",
            evidence_columns=(("plate", "号牌"), ("vehicle_type", "车辆类型"), ("vehicle_status", "状态")),
            escalates=True,
        ),
        CrossRule(
            rule_id="X03",
            sql_file="x03_real_estate",
            source="real_estate",
            populations=BOTH,
            message_template="家庭拥有住宅 {} 套、商业用房 {} 套，超过规定（不动产 {}）",
            message_columns=("residential", "commercial", "property_ids"),
            evidence_key="property_ids",
            evidence_columns=(
                ("property_ids", "不动产单元"),
                ("residential", "住宅套数"),
                ("commercial", "商业用房套数"),
            ),
            escalates=True,
        ),
        CrossRule(
            rule_id="X04",
            sql_file="x04_business",
            source="business",
            populations=BOTH,
            message_template="家庭成员为存续企业的{}（统一社会信用代码 {}），请核实经营情况",
            message_columns=("role", "uscc"),
            evidence_key="uscc",
            evidence_columns=(("uscc", "统一社会信用代码"), ("role", "身份")),
            escalates=True,
        ),
        CrossRule(
            rule_id="X05",
            sql_file="x05_public_payroll",
            source="public_payroll",
            populations=BOTH,
            message_template="家庭成员为财政供养人员（{}），请说明情况",
            message_columns=("employer",),
            evidence_key="employer",
            evidence_columns=(("employer", "单位"), ("since", "起始日期")),
        ),
        CrossRule(
            rule_id="X06",
            sql_file="x06_deposits",
            source="deposits",
            populations=BOTH,
            message_template="家庭存款合计 {} 元，超过标准 {} 元（家庭人口 × 城市低保标准 × 规定月数）",
            message_columns=("deposits", "threshold"),
            evidence_key="asset",
            evidence_columns=(("deposits", "存款合计（元）"), ("threshold", "标准（元）")),
            escalates=True,
            evidence_amount="deposits",
        ),
        CrossRule(
            rule_id="X07",
            sql_file="x07_income",
            source="social_insurance",
            populations=BOTH,
            message_template="按养老金、失业金核算后家庭月收入合计 {} 元（{} 人），人均达到保障标准 {} 元",
            message_columns=("income_total", "household_size", "standard"),
            evidence_key="income",
            evidence_columns=(
                ("income_total", "核算后月收入合计（元）"),
                ("household_size", "家庭人口"),
                ("standard", "保障标准（元）"),
                ("raised_members", "按养老金失业金核算人数"),
            ),
            escalates=True,
            evidence_amount="per_capita",
        ),
        CrossRule(
            rule_id="X08",
            sql_file="x08_multiple_cases",
            source="cases",
            populations=BOTH,
            message_template="该成员同时是其他在保或申请案件的保障对象（{}）",
            message_columns=("other_cases",),
            evidence_key="other_cases",
            evidence_columns=(("other_cases", "其他案件"),),
        ),
        CrossRule(
            rule_id="X09",
            sql_file="x09_shared_account",
            source="cases",
            populations=ACTIVE,
            message_template="银行账号 {} 同时用于其他在保案件（{}）",
            message_columns=("account_masked", "other_cases"),
            evidence_key="account_hash",
            evidence_columns=(("account_masked", "银行账号"), ("other_cases", "其他案件")),
        ),
        CrossRule(
            rule_id="X10",
            sql_file="x10_undeclared_work",
            source="social_insurance",
            populations=BOTH,
            message_template="家庭成员申报收入为 0，但有{}记录（{}）",
            message_columns=("contribution_text", "detail"),
            evidence_key="contribution",
            evidence_columns=(("contribution_text", "记录"), ("detail", "明细")),
        ),
        CrossRule(
            rule_id="M01",
            sql_file="m01_recheck_overdue",
            source="cases",
            populations=ACTIVE,
            message_template="低保家庭自 {} 起已满 {} 个月未复核，请及时复核",
            message_columns=("last_check", "months"),
            evidence_key="last_check",
            evidence_columns=(("last_check", "上次复核"), ("due_on", "应复核日期")),
            digest_kind="overdue",
        ),
        CrossRule(
            rule_id="M02",
            sql_file="m02_decision_overdue",
            source="cases",
            populations=APPLICATION,
            message_template="申请已受理 {} 个工作日（时限 {} 个工作日）仍未审批",
            message_columns=("working_days", "day_limit"),
            evidence_key="received_on",
            evidence_columns=(
                ("received_on", "受理日期"),
                ("working_days", "已用工作日"),
                ("day_limit", "时限"),
            ),
            digest_kind="overdue",
        ),
        CrossRule(
            rule_id="M03",
            sql_file="m03_annual_review_overdue",
            source="cases",
            populations=ACTIVE,
            message_template="特困供养人员自 {} 起已满 {} 个月未年度核查",
            message_columns=("last_review", "months"),
            evidence_key="last_review",
            evidence_columns=(("last_review", "上次核查"), ("due_on", "应核查日期")),
            digest_kind="overdue",
            to_district=True,
        ),
    ]
}
X_RULES = tuple(r for r in RULES if r.startswith("X"))
M_RULES = tuple(r for r in RULES if r.startswith("M"))
ESCALATING_RULES = tuple(r for r, rule in RULES.items() if rule.escalates)  # X02-X04, X06, X07

FOUND_SCHEMA = {
    "finding_id": pl.String,
    "rule_id": pl.String,
    "severity": pl.String,
    "blocks_payment": pl.Boolean,
    "town_code": pl.String,
    "case_no": pl.String,
    "id_no": pl.String,
    "evidence_key": pl.String,
    "message": pl.String,
    "source": pl.String,
    "evidence": pl.String,
    "evidence_amount": pl.Decimal(18, 2),
    "version_id": pl.String,
    "population": pl.String,
}

def rule_sql(name: str) -> str:
    """checks/sql/<name>.sql, through the one loader."""
    return sql(name, folder=SQL_DIR).strip().rstrip(";")


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def rule_parameters(ref: Reference, as_of: date) -> dict:
    """Every bound parameter of the rules, from the dated reference tables in force on the check date."""
    month = month_start(as_of)
    tables = ref.tables
    return {
        "as_of": as_of,
        "check_month": month,
        "std_urban": _yuan(standard_fen(tables, "dibao_urban", month)),
        "std_rural": _yuan(standard_fen(tables, "dibao_rural", month)),
        "urban_standard": _yuan(standard_fen(tables, "dibao_urban", month)),
        "deposit_months": ref.asset_threshold("deposit_months_of_urban_standard", as_of),
        "max_residential": int(ref.asset_threshold("max_residential_properties", as_of)),
        "max_commercial": int(ref.asset_threshold("max_commercial_properties", as_of)),
        "months": ref.time_limit("recheck_months", as_of),
        "months_work_ability": ref.time_limit("recheck_months_work_ability", as_of),
        "annual_review_months": ref.time_limit("annual_review_months", as_of),
        "limit_dibao": ref.time_limit("decision_dibao", as_of),
        "limit_dibao_extended": ref.time_limit("decision_dibao_extended", as_of),
        "limit_tekun": ref.time_limit("decision_tekun", as_of),
    }


# ---------------------------------------------------------------- population


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(name, frame.to_arrow())


def prepare_population(con: duckdb.DuckDBPyConnection, ref: Reference, as_of: date) -> dict:
    """Temp tables xc_cases, xc_members (the whole population, both kinds), xc_reg_<source> (the
    registry rows about its members) and the helper relations.

    Returns counts: active and application cases, members."""
    programs = ref["programs"].select("program", "family", pl.col("standard").alias("standard_kind"))
    towns = ref["towns"].select("code", "kind")
    _register(con, "xc_programs", programs)
    _register(con, "xc_towns", towns)
    calendar = WorkingCalendar(ref["holidays"])
    if as_of.year not in calendar.covered_years:
        log.warning("holidays table does not cover %s: working days counted Monday-Friday", as_of.year)
    _register(con, "xc_workdays", calendar.days.select("date", "cum"))
    con.execute(rule_sql("population_cases"))
    con.execute(rule_sql("population_members"))
    con.execute(rule_sql("population_registry"))
    rows = con.execute(
        "SELECT population, count(*) FROM xc_cases GROUP BY population ORDER BY population"
    ).fetchall()
    counts = {f"{p}_cases": n for p, n in rows}
    counts["members"] = con.execute("SELECT count(*) FROM xc_members").fetchall()[0][0]
    return counts


# ---------------------------------------------------------------- running rules


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).fill_null("")


def shape_findings(rule: CrossRule, out: pl.DataFrame) -> pl.DataFrame:
    """A rule's SQL output as findings (FOUND_SCHEMA, without finding_id)."""
    if "account_raw" in out.columns:  # X09: the raw account never leaves this function
        out = out.with_columns(account_masked=mask_expr(pl.col("account_raw"))).drop("account_raw")
    severity = pl.col("severity") if "severity" in out.columns else pl.lit(rule.severity)
    blocks = pl.col("blocks_payment") if "blocks_payment" in out.columns else pl.lit(rule.blocks_payment)
    message = pl.format(rule.message_template, *[_text(c) for c in rule.message_columns])
    evidence = pl.concat_str(
        [
            pl.when(pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "")).then(
                pl.lit(f"{label}：") + pl.col(c).cast(pl.String)
            )
            for c, label in rule.evidence_columns
        ],
        separator="；",
        ignore_nulls=True,
    )
    return out.select(
        pl.lit(rule.rule_id).alias("rule_id"),
        severity.cast(pl.String).alias("severity"),
        blocks.cast(pl.Boolean).alias("blocks_payment"),
        pl.col("town_code").cast(pl.String),
        pl.col("case_no").cast(pl.String),
        pl.col("id_no").cast(pl.String),
        pl.col(rule.evidence_key).cast(pl.String).alias("evidence_key"),
        message.alias("message"),
        pl.lit(rule.source).alias("source"),
        evidence.alias("evidence"),
        (pl.col(rule.evidence_amount) if rule.evidence_amount else pl.lit(None))
        .cast(pl.Decimal(18, 2)).alias("evidence_amount"),
    )


HIT_SCHEMA = {k: v for k, v in FOUND_SCHEMA.items() if k not in ("finding_id", "version_id", "population")}


def run_rule(con: duckdb.DuckDBPyConnection, rule: CrossRule, params: dict) -> pl.DataFrame:
    """One rule over the prepared population: its hits as findings (HIT_SCHEMA), every population."""
    out = con.sql(rule.sql, params=bind(rule.sql, params)).pl()
    if out.height == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    return shape_findings(rule, out).cast(HIT_SCHEMA)


_IN_POPULATION = """
SELECT h.*, c.version_id, c.population
FROM xc_hits h
JOIN xc_cases c ON c.town_code = h.town_code AND c.case_no = h.case_no
WHERE list_contains($populations, c.population)
"""


def rules_for(populations: tuple[str, ...], rule_ids: tuple[str, ...] | None = None) -> list[CrossRule]:
    chosen = [RULES[r] for r in (rule_ids or tuple(RULES))]
    return [r for r in chosen if r.populations & set(populations)]


def run_rules(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    as_of: date,
    *,
    populations: tuple[str, ...] = POPULATIONS,
    rule_ids: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Findings (FOUND_SCHEMA, one row per identity) of the rules over the prepared population."""
    params = rule_parameters(ref, as_of)
    frames = [run_rule(con, rule, params) for rule in rules_for(populations, rule_ids)]
    hits = pl.concat(frames) if frames else pl.DataFrame(schema=HIT_SCHEMA)
    con.register("xc_hits", hits.to_arrow())
    try:  # the case's current version, and only the cases of the populations asked for
        found = con.sql(_IN_POPULATION, params={"populations": list(populations)}).pl()
    finally:
        con.unregister("xc_hits")
    if found.height == 0:
        return pl.DataFrame(schema=FOUND_SCHEMA)
    found = found.with_columns(finding_id=finding_id_expr())
    found = found.sort("finding_id", "message").unique("finding_id", keep="first", maintain_order=True)
    return found.select(list(FOUND_SCHEMA)).cast(FOUND_SCHEMA)


# ---------------------------------------------------------------- one run


def run_checks(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    as_of: date,
    mode: str,
    run_id: str,
    *,
    registry_digest: str,
    now: datetime | None = None,
) -> dict:
    """The cross-check of one run: rules over the mode's population, the findings' lifecycle, and the
    applications checked (for the day's 核对报告). Returns counts only (no personal data)."""
    if mode not in MODES:
        raise ValueError(f"crosscheck mode must be one of {', '.join(MODES)}, got {mode!r}")
    populations = MODES[mode]
    now = now or now_shanghai()
    summary: dict = {"mode": mode, "check_date": as_of.isoformat()}
    summary |= prepare_population(con, ref, as_of)
    found = run_rules(con, ref, as_of, populations=populations)
    summary["hits_by_rule"] = dict(sorted(found.group_by("rule_id").len().iter_rows()))
    summary |= apply_checked_findings(
        con,
        found.drop("population"),
        run_id=run_id,
        as_of=as_of,
        populations=populations,
        rule_ids=tuple(RULES),
        escalating_rules=ESCALATING_RULES,
        escalation_after_days=escalation_days(ref),
        now=now,
    )
    if "application" in populations:
        params = {"as_of": as_of, "digest": registry_digest, "run_id": run_id, "now": now}
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql("crosscheck/record_checks"), params)
            con.execute(sql("crosscheck/record_hits"), {"as_of": as_of, "run_id": run_id})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        summary["applications_checked"] = con.execute(
            "SELECT count(*) FROM checks.crosscheck_checks WHERE run_id = ?", [run_id]
        ).fetchall()[0][0]
    return summary
