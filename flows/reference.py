"""Flow `reference`: bring the warehouse schema up to date and load the
reference tables (shipped CSVs, replaced by same-named files in reference/)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from core.home import Home, today_shanghai
from core.reference import load_reference
from flows.runtime import report_failure
from warehouse.audit import finish_run, inputs_digest, start_run
from warehouse.connection import open_warehouse
from warehouse.reference_load import load_reference_tables


@task(retries=2, retry_delay_seconds=2)
def load_reference_into_warehouse(home_root: str, as_of: str | None) -> dict[str, int]:
    home = Home(Path(home_root)).require()
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="reference") as con:
        run_id = start_run(con, "reference", today_shanghai(_date(as_of)), inputs_digest([ref.fingerprint()]), {})
        try:
            counts = load_reference_tables(con, ref)
        except Exception as exc:
            finish_run(con, run_id, "failed", None, str(exc))
            raise
        finish_run(con, run_id, "completed", {"tables": counts}, None)
    return counts


def _date(text: str | None):
    from core.home import parse_as_of

    return parse_as_of(text)


@flow(name="reference", log_prints=False, on_failure=[report_failure])
def reference_flow(home: str | None = None, as_of: str | None = None) -> dict[str, int]:
    counts = load_reference_into_warehouse(str(Home.resolve(home).require().root), as_of)
    get_run_logger().info("reference tables loaded: %s", counts)
    return counts
