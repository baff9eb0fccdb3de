"""Flows `sample` and `inspections` (SPEC §6 spot inspection, §5 S01).

`sample` (monthly, default: the previous month): read the inspection results
that came back, then draw the month's sample once (the seed is drawn and
stored at the month's first sampling; a re-run reproduces the same files),
write the inspectors' lists and the manifest, and refresh the inspections
mart. Towns are not told about the sample.

`inspections` (any day): read new results in inbox/inspections/, raise S01
for 不属实, tell each town concerned in one digest, refresh the mart.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from core.home import Home, parse_as_of, today_shanghai
from core.reference import Reference, load_reference
from flows.runtime import report_failure
from intake.inspections import ingest_inspections
from notify.queue import notify_or_queue, open_counts_by_tag
from notify.sources import inspection_items
from publish.spotcheck import default_period, draw_month, refresh_inspections_mart, render_month
from warehouse.audit import finish_run, start_run
from warehouse.connection import open_warehouse

RUN_LABEL = "入户抽查结果登记"


# ---------------------------------------------------------------- steps (plain functions)


def read_results(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, as_of: date, run_id: str
) -> dict:
    """Ingest new result files; counts only."""
    outcomes = [o for o in ingest_inspections(con, home, ref, as_of, run_id) if o.status != "known"]
    return {
        "files_new": len(outcomes),
        "files_unreadable": sum(o.status != "loaded" for o in outcomes),
        "rows_read": sum(o.rows_read for o in outcomes),
        "rows_accepted": sum(o.rows_accepted for o in outcomes),
        "rows_rejected": sum(o.rows_rejected for o in outcomes),
        "not_true": sum(o.not_true for o in outcomes),
        "s01": sum(o.findings for o in outcomes),
    }


def notify_towns(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    run_id: str,
    as_of: date,
    cycle_id: str | None = None,
    flow_name: str = "inspections",
) -> dict:
    """One digest per town with S01 findings first raised by this run (kind 'inspection');
    queued instead when the run is part of a district cycle."""
    items = inspection_items(con, run_id)
    if not items:
        return {}
    return notify_or_queue(
        con, home, ref, run_id, items, open_counts_by_tag(con), RUN_LABEL, as_of, cycle_id, flow_name
    )


def draw_and_publish(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, period: str, as_of: date, run_id: str
) -> dict:
    """Draw the month once (or find its draw) and write its lists and manifest."""
    drawn = draw_month(con, ref, period, as_of, run_id)
    files = render_month(con, home, ref, period)
    return {
        "period": period,
        "new_draw": drawn.new,
        "drawn_on": drawn.drawn_on.isoformat(),
        "towns": drawn.towns,
        "population": drawn.population,
        "selected": drawn.selected,
        "manifest_sha256": files["manifest_sha256"],
        "lists": len(files["lists"]),
    }


def sample_once(
    home: Home, as_of: date | None = None, period: str | None = None, *, notify: bool = True
) -> dict:
    """Everything `sample` does, in one warehouse session, without Prefect (tests, scripts)."""
    ref = load_reference(home.reference)
    as_of = as_of or today_shanghai()
    period = period or default_period(as_of)
    with open_warehouse(home, flow="sample", ref=ref) as con:
        run_id = start_run(con, "sample", as_of, None, {"period": period})
        try:
            summary = {"inspections": read_results(con, home, ref, as_of, run_id)}
            if notify:
                summary["notified"] = notify_towns(con, home, ref, run_id, as_of, flow_name="sample")
            summary["sample"] = draw_and_publish(con, home, ref, period, as_of, run_id)
            summary["mart_rows"] = refresh_inspections_mart(con, ref, as_of)
        except Exception as exc:
            finish_run(con, run_id, "failed", None, f"{type(exc).__name__}: {exc}")
            raise
        finish_run(con, run_id, "completed", summary)
    return summary


def inspections_once(home: Home, as_of: date | None = None, *, notify: bool = True) -> dict:
    """Everything `inspections` does, without Prefect."""
    ref = load_reference(home.reference)
    as_of = as_of or today_shanghai()
    with open_warehouse(home, flow="inspections", ref=ref) as con:
        run_id = start_run(con, "inspections", as_of, None, {})
        try:
            summary = {"inspections": read_results(con, home, ref, as_of, run_id)}
            if notify:
                summary["notified"] = notify_towns(con, home, ref, run_id, as_of)
            summary["mart_rows"] = refresh_inspections_mart(con, ref, as_of)
        except Exception as exc:
            finish_run(con, run_id, "failed", None, f"{type(exc).__name__}: {exc}")
            raise
        finish_run(con, run_id, "completed", summary)
    return summary


# ---------------------------------------------------------------- Prefect tasks and flows


def _home(home_root: str) -> tuple[Home, Reference]:
    home = Home(Path(home_root)).require()
    return home, load_reference(home.reference)


@task(cache_policy=NO_CACHE)
def open_run(home_root: str, flow_name: str, as_of: str, params: dict) -> str:
    home, ref = _home(home_root)
    with open_warehouse(home, flow=flow_name, ref=ref) as con:
        return start_run(con, flow_name, parse_as_of(as_of), None, params)


@task(cache_policy=NO_CACHE)
def read_inspection_results(
    home_root: str, flow_name: str, as_of: str, run_id: str, notify: bool, cycle_id: str | None
) -> dict:
    home, ref = _home(home_root)
    with open_warehouse(home, flow=flow_name, ref=ref) as con:
        summary = read_results(con, home, ref, parse_as_of(as_of), run_id)
        if notify:
            summary["notified"] = notify_towns(
                con, home, ref, run_id, parse_as_of(as_of), cycle_id, flow_name
            )
    return summary


@task(cache_policy=NO_CACHE)
def draw_sample(home_root: str, period: str, as_of: str, run_id: str) -> dict:
    home, ref = _home(home_root)
    with open_warehouse(home, flow="sample", ref=ref) as con:
        return draw_and_publish(con, home, ref, period, parse_as_of(as_of), run_id)


@task(cache_policy=NO_CACHE)
def refresh_mart(home_root: str, flow_name: str, as_of: str) -> int:
    home, ref = _home(home_root)
    with open_warehouse(home, flow=flow_name, ref=ref) as con:
        return refresh_inspections_mart(con, ref, parse_as_of(as_of))


@task(cache_policy=NO_CACHE)
def close_run(home_root: str, flow_name: str, run_id: str, summary: dict, error: str | None) -> None:
    home, ref = _home(home_root)
    with open_warehouse(home, flow=flow_name, ref=ref) as con:
        finish_run(con, run_id, "failed" if error else "completed", summary, error)


@flow(name="sample", on_failure=[report_failure])
def sample_flow(
    home: str | None = None,
    as_of: str | None = None,
    period: str | None = None,
    notify: bool = True,
    cycle_id: str | None = None,
) -> dict:
    """Draw (once) and publish the spot-check sample of a month (default: the previous month).

    New inspection results are read first (S01 digests to the towns concerned,
    queued when `cycle_id` is set); the sample itself is told to no town.
    """
    log = get_run_logger()
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    period = period or default_period(day)
    run_id = open_run(home, "sample", day.isoformat(), {"period": period})
    summary: dict = {}
    try:
        summary["inspections"] = read_inspection_results(
            home, "sample", day.isoformat(), run_id, notify, cycle_id
        )
        summary["sample"] = draw_sample(home, period, day.isoformat(), run_id)
        summary["mart_rows"] = refresh_mart(home, "sample", day.isoformat())
    except Exception as exc:
        close_run(home, "sample", run_id, summary, f"{type(exc).__name__}: {exc}")
        raise
    close_run(home, "sample", run_id, summary, None)
    s = summary["sample"]
    log.info(
        "sample %s: %s towns, population %s, selected %s, %s draw, manifest sha256 %s",
        period,
        s["towns"],
        s["population"],
        s["selected"],
        "new" if s["new_draw"] else "existing",
        s["manifest_sha256"],
    )
    return summary


@flow(name="inspections", on_failure=[report_failure])
def inspections_flow(
    home: str | None = None, as_of: str | None = None, notify: bool = True, cycle_id: str | None = None
) -> dict:
    """Read new spot-inspection results, raise S01 for 不属实, notify the towns concerned."""
    home = str(Home.resolve(home).require().root)
    log = get_run_logger()
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    run_id = open_run(home, "inspections", day, {})
    summary: dict = {}
    try:
        summary["inspections"] = read_inspection_results(home, "inspections", day, run_id, notify, cycle_id)
        summary["mart_rows"] = refresh_mart(home, "inspections", day)
    except Exception as exc:
        close_run(home, "inspections", run_id, summary, f"{type(exc).__name__}: {exc}")
        raise
    close_run(home, "inspections", run_id, summary, None)
    i = summary["inspections"]
    log.info(
        "inspections: %s new files, %s rows (%s accepted, %s rejected), %s S01",
        i["files_new"],
        i["rows_read"],
        i["rows_accepted"],
        i["rows_rejected"],
        i["s01"],
    )
    return summary
