"""Flow `report` (SPEC §6 monthly statistics, §7 analyst copy): default the previous month.

1. rebuild the marts of the 12 months ending with the period (and the budget projection);
2. write 统计月报_<YYYY-MM>.xlsx, its public edition and report.html under out/reports/<YYYY-MM>/;
3. rebuild warehouse/analyst.duckdb and out/analyst/*.parquet (masked);
4. a Prefect markdown artifact with the headline figures (no personal data).

`report_flow.fn(...)` runs the same steps in this process without Prefect.
"""

from __future__ import annotations

from prefect import flow

from core.home import Home, parse_as_of, today_shanghai
from core.periods import parse_period, previous_period
from flows.runtime import report_failure
from flows.steps import artifact, audited, home_of, log, reference, step
from publish import monthly_report
from publish.analyst import build_analyst_copy
from warehouse.connection import open_warehouse


@step
def build_statistics(home_root: str, period: str, as_of: str) -> dict:
    home = home_of(home_root)
    with open_warehouse(home, flow="report", ref=reference(home)) as con:
        return monthly_report.refresh_marts(con, reference(home), period, parse_as_of(as_of))


@step
def write_reports(home_root: str, period: str, as_of: str) -> dict:
    home = home_of(home_root)
    return monthly_report.publish_reports(home, reference(home), period, parse_as_of(as_of))


@step
def write_analyst_copy(home_root: str, period: str) -> dict:
    home = home_of(home_root)
    with open_warehouse(home, flow="report", read_only=True, ref=reference(home)) as con:
        return build_analyst_copy(con, home, period=period)


@flow(name="report", on_failure=[report_failure])
def report_flow(home: str | None = None, as_of: str | None = None, period: str | None = None) -> dict:
    """Monthly statistics, public edition, HTML report and the analysts' copy (default: the previous month)."""
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    period = period or previous_period(day)
    parse_period(period)
    with audited("report", home, day.isoformat(), {"period": period}, audit_view=monthly_report.audit_summary) as run:
        run.summary["marts"] = run(build_statistics, home, period, day.isoformat())
        run.summary["reports"] = run(write_reports, home, period, day.isoformat())
        run.summary["analyst"] = run(write_analyst_copy, home, period)
    summary, h = run.summary, run.summary["reports"]["headline"]
    log().info("report %s: %s households, %s persons, %s yuan paid (%s arrears); %s; analyst copy %s tables",
               period, h["households"], h["persons"], h["money_paid"], h["money_arrears"],
               summary["reports"]["official"], summary["analyst"]["tables"])
    artifact("markdown", key="report", markdown=monthly_report.headline_markdown(h),
             description="Monthly statistics headline figures (no personal data)")
    return summary
