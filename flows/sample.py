"""Flows `sample` and `inspections` (SPEC §6 spot inspection, §5 S01).

`sample` (monthly, default: the previous month): read the inspection results
that came back, then draw the month's sample once (the seed is drawn and
stored at the month's first sampling; a re-run reproduces the same files),
write the inspectors' lists and the manifest, and refresh the inspections
mart. Towns are not told about the sample.

`inspections` (any day): read new results in inbox/inspections/, raise S01
for 不属实, tell each town concerned in one digest, refresh the mart.

`sample_flow.fn(...)` and `inspections_flow.fn(...)` run the same steps in this
process without Prefect.
"""

from __future__ import annotations

from prefect import flow

from core.home import Home, parse_as_of, today_shanghai
from core.periods import previous_period
from flows.runtime import report_failure
from flows.steps import audited, home_of, log, reference, step
from intake.inspections import read_inspection_results
from notify.tell import tell_inspections
from publish.spotcheck import draw_and_publish, refresh_inspections_mart
from warehouse.connection import open_warehouse


@step
def read_results(home_root: str, flow_name: str, as_of: str, run_id: str, notify: bool,
                 cycle_id: str | None) -> dict:
    """New inspection results read (S01 for 不属实); the towns concerned told, or queued in a cycle."""
    home = home_of(home_root)
    ref, day = reference(home), parse_as_of(as_of)
    with open_warehouse(home, flow=flow_name, ref=ref) as con:
        summary = read_inspection_results(con, home, ref, day, run_id)
        if notify:
            summary["notified"] = tell_inspections(con, home, ref, run_id, day, cycle_id, flow_name)
    return summary


@step
def draw_sample(home_root: str, period: str, as_of: str, run_id: str) -> dict:
    home = home_of(home_root)
    with open_warehouse(home, flow="sample", ref=reference(home)) as con:
        return draw_and_publish(con, home, reference(home), period, parse_as_of(as_of), run_id)


@step
def refresh_mart(home_root: str, flow_name: str, as_of: str) -> int:
    home = home_of(home_root)
    with open_warehouse(home, flow=flow_name, ref=reference(home)) as con:
        return refresh_inspections_mart(con, reference(home), parse_as_of(as_of))


@flow(name="sample", on_failure=[report_failure])
def sample_flow(home: str | None = None, as_of: str | None = None, period: str | None = None, notify: bool = True,
                cycle_id: str | None = None) -> dict:
    """Draw (once) and publish the spot-check sample of a month (default: the previous month).

    New inspection results are read first (S01 digests to the towns concerned,
    queued when `cycle_id` is set); the sample itself is told to no town.
    """
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    period = period or previous_period(day)
    with audited("sample", home, day.isoformat(), {"period": period}) as run:
        run.summary["inspections"] = run(read_results, home, "sample", day.isoformat(), run.run_id, notify, cycle_id)
        run.summary["sample"] = run(draw_sample, home, period, day.isoformat(), run.run_id)
        run.summary["mart_rows"] = run(refresh_mart, home, "sample", day.isoformat())
    s = run.summary["sample"]
    log().info("sample %s: %s towns, population %s, selected %s, %s draw, manifest sha256 %s", period, s["towns"],
               s["population"], s["selected"], "new" if s["new_draw"] else "existing", s["manifest_sha256"])
    return run.summary


@flow(name="inspections", on_failure=[report_failure])
def inspections_flow(home: str | None = None, as_of: str | None = None, notify: bool = True,
                     cycle_id: str | None = None) -> dict:
    """Read new spot-inspection results, raise S01 for 不属实, notify the towns concerned."""
    home = str(Home.resolve(home).require().root)
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    with audited("inspections", home, day, {}) as run:
        run.summary["inspections"] = run(read_results, home, "inspections", day, run.run_id, notify, cycle_id)
        run.summary["mart_rows"] = run(refresh_mart, home, "inspections", day)
    i = run.summary["inspections"]
    log().info("inspections: %s new files, %s rows (%s accepted, %s rejected), %s S01", i["files_new"],
               i["rows_read"], i["rows_accepted"], i["rows_rejected"], i["s01"])
    return run.summary
