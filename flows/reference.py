"""Flow `reference`: bring the warehouse schema up to date and load the
reference tables (shipped CSVs, replaced by same-named files in reference/)."""

from __future__ import annotations

from prefect import flow

from core.home import Home, parse_as_of, today_shanghai
from flows.runtime import report_failure
from flows.steps import audited, home_of, log, reference, reference_digest, step
from warehouse.connection import open_warehouse
from warehouse.reference_load import load_reference_tables


@step(retries=2, retry_delay_seconds=2)
def load_reference_into_warehouse(home_root: str) -> dict[str, int]:
    home = home_of(home_root)
    with open_warehouse(home, flow="reference") as con:
        return load_reference_tables(con, reference(home))


@flow(name="reference", log_prints=False, on_failure=[report_failure])
def reference_flow(home: str | None = None, as_of: str | None = None) -> dict[str, int]:
    home = str(Home.resolve(home).require().root)
    day = today_shanghai(parse_as_of(as_of)).isoformat()
    with audited("reference", home, day, {}, inputs=reference_digest) as run:
        run.summary["tables"] = run(load_reference_into_warehouse, home)
    log().info("reference tables loaded: %s", run.summary["tables"])
    return run.summary["tables"]
