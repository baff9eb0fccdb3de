"""The monthly report (SPEC §6 monthly statistics): the marts of the twelve months ending
with the period, the workbooks and page written from them, and the headline figures.

The headline is what the flow logs, records in audit.runs and shows as a Prefect
artifact: the district's counts and yuan summed over programs, and the measures
(average working days to a decision, rejection rate, hit rate) per program as the
mart computed them (`mart.district_monthly`), never computed again here.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from core.home import Home
from core.periods import add_months, to_month
from core.reference import Reference
from publish.report_html import write_html
from publish.report_xlsx import write_official, write_public
from warehouse.connection import open_warehouse
from warehouse.mart import build_marts, load_report_data

HISTORY_MONTHS = 12
MEASURES = {"decision_days_avg": 1, "rejection_rate": 4, "hit_rate": 4}  # mart column -> decimals shown


def refresh_marts(con: duckdb.DuckDBPyConnection, ref: Reference, period: str, as_of: date) -> dict:
    last = to_month(period)
    return build_marts(con, ref, add_months(last, 1 - HISTORY_MONTHS), last, as_of=as_of)


def publish_reports(home: Home, ref: Reference, period: str, as_of: date) -> dict:
    """统计月报, its public edition and report.html of the period; paths, suppressed cells, the headline."""
    with open_warehouse(home, flow="report", read_only=True, ref=ref) as con:
        data = load_report_data(con, ref, period, as_of=as_of)
    official = write_official(home, data)
    public, cells = write_public(home, data)
    page = write_html(home, data)
    return {
        "official": str(official),
        "public": str(public),
        "html": str(page),
        "suppressed_primary": int((cells["reason"] == "primary").sum()),
        "suppressed_complementary": int((cells["reason"] == "complementary").sum()),
        "headline": headline(data),
    }


def headline(data) -> dict:
    """District figures of the month (counts, yuan as text; measures per program, read from the mart)."""
    d = data.district.filter(pl.col("period") == data.period).sort("program")

    def total(column: str):
        return d[column].sum() if d.height else 0

    def measure(column: str) -> dict[str, float | None]:
        return {r["program"]: None if r[column] is None else round(float(r[column]), MEASURES[column])
                for r in d.select("program", column).iter_rows(named=True)}

    return {
        "period": data.period,
        "households": int(total("households_closing")),
        "persons": int(total("persons_closing")),
        "households_new": int(total("households_new")),
        "households_exits": int(total("households_exits")),
        "money_paid": f"{total('money_paid'):.2f}",
        "money_arrears": f"{total('money_paid_arrears'):.2f}",
        "money_owed": f"{total('money_owed_closing'):.2f}",
        "held_cases": int(total("held_cases")),
        "decisions": int(total("decisions")),
        "denials": int(total("denials")),
        "versions_rejected": int(total("versions_rejected")),
        "crosscheck_hits": int(total("crosscheck_hits")),
        "clearings": int(total("clearings")),
        "program_labels": dict(zip(d["program"], d["program_label"], strict=True)) if d.height else {},
    } | {column: measure(column) for column in MEASURES}


def _shown(value: float | None, rate: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if rate else f"{value}"


def headline_markdown(h: dict) -> str:
    """The headline as the Prefect artifact shows it (no personal data)."""
    rows = [
        ("期末在保户数", f"{h['households']:,}"),
        ("期末保障人数", f"{h['persons']:,}"),
        ("新增户数 / 退出户数", f"{h['households_new']:,} / {h['households_exits']:,}"),
        ("月应发金额（元）", h["money_owed"]),
        ("本月发放金额（元）", h["money_paid"]),
        ("其中补发（元）", h["money_arrears"]),
        ("暂停发放户数", f"{h['held_cases']:,}"),
        ("审批件数 / 不予批准", f"{h['decisions']:,} / {h['denials']:,}"),
        ("校验退回版本", f"{h['versions_rejected']:,}"),
        ("核对命中（条）", f"{h['crosscheck_hits']:,}"),
        ("问题解除（条）", f"{h['clearings']:,}"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    per_program = "\n".join(
        f"| {label} | {_shown(h['decision_days_avg'].get(p), False)} | {_shown(h['rejection_rate'].get(p), True)} "
        f"| {_shown(h['hit_rate'].get(p), True)} |"
        for p, label in h["program_labels"].items()
    )
    return (f"# 统计月报 {h['period']}\n\n| 指标 | 数值 |\n|---|---|\n{table}\n\n"
            f"| 救助类别 | 平均办理工作日 | 退回率 | 申请核对命中率（申请件） |\n|---|---|---|---|\n{per_program}\n")


def audit_summary(summary: dict) -> dict:
    """What audit.runs keeps of a report run: counts and paths (the headline is counts too)."""
    out = {"marts": summary.get("marts")}
    if "reports" in summary:
        out["reports"] = {k: v for k, v in summary["reports"].items() if k != "headline"}
        out["headline"] = summary["reports"]["headline"]
    if "analyst" in summary:
        out["analyst"] = summary["analyst"]
    return out
