"""Flow `report` (SPEC §6 monthly statistics, §7 analyst copy): default the previous month.

1. rebuild the marts of the 12 months ending with the period (and the budget projection);
2. write 统计月报_<YYYY-MM>.xlsx, its public edition and report.html under out/reports/<YYYY-MM>/;
3. rebuild warehouse/analyst.duckdb and out/analyst/*.parquet (masked);
4. a Prefect markdown artifact with the headline figures (no personal data).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from core.home import Home, parse_as_of, today_shanghai
from core.periods import add_months, parse_period
from core.reference import Reference, load_reference
from flows.runtime import report_failure
from publish.analyst import build_analyst_copy
from publish.report_html import write_html
from publish.report_xlsx import write_official, write_public
from warehouse.audit import finish_run, start_run
from warehouse.connection import open_warehouse
from warehouse.mart import build_marts, load_report_data, period_text, to_month

HISTORY_MONTHS = 12


def default_period(as_of: date) -> str:
    """The report covers the previous month of the as-of date."""
    return period_text(add_months(as_of.replace(day=1), -1))


# ---------------------------------------------------------------- steps (plain functions)


def refresh_marts(con, ref: Reference, period: str, as_of: date) -> dict:
    last = to_month(period)
    return build_marts(con, ref, add_months(last, 1 - HISTORY_MONTHS), last, as_of=as_of)


def publish_reports(home: Home, ref: Reference, period: str, as_of: date) -> dict:
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
    """District figures of the month (counts and yuan as text), for the artifact and the log."""
    d = data.district.filter(data.district["period"] == data.period)

    def total(column: str):
        return d[column].sum() if d.height else 0

    decisions = total("decisions")
    submitted = total("versions_submitted")
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
        "decisions": int(decisions),
        "denials": int(total("denials")),
        "decision_days_avg": round(total("decision_days_total") / decisions, 1) if decisions else None,
        "versions_rejected": int(total("versions_rejected")),
        "rejection_rate": round(total("versions_rejected") / submitted, 4) if submitted else None,
        "crosscheck_hits": int(total("crosscheck_hits")),
        "clearings": int(total("clearings")),
    }


def headline_markdown(h: dict) -> str:
    rate = "—" if h["rejection_rate"] is None else f"{h['rejection_rate'] * 100:.1f}%"
    days = "—" if h["decision_days_avg"] is None else f"{h['decision_days_avg']}"
    rows = [
        ("期末在保户数", f"{h['households']:,}"),
        ("期末保障人数", f"{h['persons']:,}"),
        ("新增户数 / 退出户数", f"{h['households_new']:,} / {h['households_exits']:,}"),
        ("月应发金额（元）", h["money_owed"]),
        ("本月发放金额（元）", h["money_paid"]),
        ("其中补发（元）", h["money_arrears"]),
        ("暂停发放户数", f"{h['held_cases']:,}"),
        ("审批件数 / 不予批准", f"{h['decisions']:,} / {h['denials']:,}"),
        ("平均办理工作日", days),
        ("校验退回版本 / 退回率", f"{h['versions_rejected']:,} / {rate}"),
        ("核对命中（条）", f"{h['crosscheck_hits']:,}"),
        ("问题解除（条）", f"{h['clearings']:,}"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"# 统计月报 {h['period']}\n\n| 指标 | 数值 |\n|---|---|\n{table}\n"


def report_once(home: Home, as_of: date | None = None, period: str | None = None) -> dict:
    """Everything `report` does, without Prefect (tests, scripts, the benchmark)."""
    ref = load_reference(home.reference)
    as_of = as_of or today_shanghai()
    period = period or default_period(as_of)
    parse_period(period)
    with open_warehouse(home, flow="report", ref=ref) as con:
        run_id = start_run(con, "report", as_of, None, {"period": period})
        try:
            summary = {"marts": refresh_marts(con, ref, period, as_of)}
        except Exception as exc:
            finish_run(con, run_id, "failed", None, f"{type(exc).__name__}: {exc}")
            raise
    try:
        summary["reports"] = publish_reports(home, ref, period, as_of)
        with open_warehouse(home, flow="report", read_only=True, ref=ref) as con:
            summary["analyst"] = build_analyst_copy(con, home, period=period)
    except Exception as exc:
        _close(home, ref, run_id, summary, f"{type(exc).__name__}: {exc}")
        raise
    _close(home, ref, run_id, summary, None)
    return summary


def _close(home: Home, ref: Reference, run_id: str, summary: dict, error: str | None) -> None:
    with open_warehouse(home, flow="report", ref=ref) as con:
        finish_run(con, run_id, "failed" if error else "completed", _audit_summary(summary), error)


def _audit_summary(summary: dict) -> dict:
    """Counts and paths only (the headline is counts too)."""
    out = {"marts": summary.get("marts")}
    if "reports" in summary:
        out["reports"] = {k: v for k, v in summary["reports"].items() if k != "headline"}
        out["headline"] = summary["reports"]["headline"]
    if "analyst" in summary:
        out["analyst"] = summary["analyst"]
    return out


# ---------------------------------------------------------------- Prefect tasks and flow


def _home(home_root: str) -> tuple[Home, Reference]:
    home = Home(Path(home_root)).require()
    return home, load_reference(home.reference)


@task(cache_policy=NO_CACHE)
def open_run(home_root: str, as_of: str, period: str) -> str:
    home, ref = _home(home_root)
    with open_warehouse(home, flow="report", ref=ref) as con:
        return start_run(con, "report", parse_as_of(as_of), None, {"period": period})


@task(cache_policy=NO_CACHE)
def build_statistics(home_root: str, period: str, as_of: str) -> dict:
    home, ref = _home(home_root)
    with open_warehouse(home, flow="report", ref=ref) as con:
        return refresh_marts(con, ref, period, parse_as_of(as_of))


@task(cache_policy=NO_CACHE)
def write_reports(home_root: str, period: str, as_of: str) -> dict:
    home, ref = _home(home_root)
    return publish_reports(home, ref, period, parse_as_of(as_of))


@task(cache_policy=NO_CACHE)
def write_analyst_copy(home_root: str, period: str) -> dict:
    home, ref = _home(home_root)
    with open_warehouse(home, flow="report", read_only=True, ref=ref) as con:
        return build_analyst_copy(con, home, period=period)


@task(cache_policy=NO_CACHE)
def close_run(home_root: str, run_id: str, summary: dict, error: str | None) -> None:
    home, ref = _home(home_root)
    _close(home, ref, run_id, summary, error)


@flow(name="report", on_failure=[report_failure])
def report_flow(home: str | None = None, as_of: str | None = None, period: str | None = None) -> dict:
    """Monthly statistics, public edition, HTML report and the analysts' copy (default: the previous month)."""
    log = get_run_logger()
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    period = period or default_period(day)
    parse_period(period)
    run_id = open_run(home, day.isoformat(), period)
    summary: dict = {}
    try:
        summary["marts"] = build_statistics(home, period, day.isoformat())
        summary["reports"] = write_reports(home, period, day.isoformat())
        summary["analyst"] = write_analyst_copy(home, period)
    except Exception as exc:
        close_run(home, run_id, summary, f"{type(exc).__name__}: {exc}")
        raise
    close_run(home, run_id, summary, None)
    h = summary["reports"]["headline"]
    log.info(
        "report %s: %s households, %s persons, %s yuan paid (%s arrears); %s; analyst copy %s tables",
        period,
        h["households"],
        h["persons"],
        h["money_paid"],
        h["money_arrears"],
        summary["reports"]["official"],
        summary["analyst"]["tables"],
    )
    create_markdown_artifact(
        key="report",
        markdown=headline_markdown(h),
        description="Monthly statistics headline figures (no personal data)",
    )
    return summary
