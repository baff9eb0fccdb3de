"""Flow `validate` (SPEC §5 V-rules): re-check stored case versions against
the current reference data, with Great Expectations as the engine that
asserts the rule results and renders Data Docs into out/validation/.

    jiuzhu run validate --all        every current version (e.g. after a standards
                                     correction): opens and clears findings, never
                                     changes which version is current
    jiuzhu run validate              the versions ingested on the as-of date
                                     (documents them; clears nothing)

The steps live in checks/ (rules in transforms/vrules.py); this module only
sequences them: record the run, re-check, validate with GX, tell the towns what is
newly open. `validate_flow.fn(...)` (or `run_validation`) runs it without Prefect.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow

from checks.gx_suite import validate_results, value_sets_from_reference
from checks.validation import recheck_versions
from core.home import Home, parse_as_of, today_shanghai
from flows.runtime import report_failure
from flows.steps import audited, home_of, log, reference, reference_digest, step
from notify.tell import tell_revalidation
from warehouse.audit import inputs_digest, record_event
from warehouse.connection import open_warehouse


def gx_paths(home: Home) -> tuple[Path, Path]:
    """(Data Docs site, stored GX validation results): docs for people in out/,
    GX's result JSON (counts only) beside the warehouse."""
    return home.out / "validation", home.warehouse_dir / "gx" / "validations"


@step
def revalidate(home_root: str, as_of: str, scope: str, run_id: str, ingest_run_id: str | None, gx: bool,
               notify: bool) -> dict:
    """Re-check the scope's versions (findings opened and cleared), GX over the results, the towns told."""
    home = home_of(home_root)
    ref, day = reference(home), parse_as_of(as_of)
    with open_warehouse(home, flow="validate", ref=ref) as con:
        found = recheck_versions(con, ref, scope=scope, as_of=day, run_id=run_id, ingest_run_id=ingest_run_id)
        summary = found.summary() | {"inputs_files": len(found.input_hashes),
                                     "inputs_sha256": inputs_digest([*found.input_hashes, ref.fingerprint()])}
        if found.cleared:
            record_event(con, run_id, "findings_cleared", {"by": "validate --all", "finding_ids": found.cleared_ids})
        if gx and found.results is not None:
            site, results_dir = gx_paths(home)
            outcome = validate_results(found.results, site_dir=site, results_dir=results_dir,
                                       run_name=f"validate-{scope}-{as_of}-{run_id[:8]}",
                                       value_sets=value_sets_from_reference(ref))
            summary |= outcome.summary() | {"gx_import_seconds": round(outcome.import_seconds or 0.0, 3)}
        if notify and found.opened.height:
            summary["notified"] = tell_revalidation(con, home, ref, run_id, day, found.opened)
    return summary


@flow(name="validate", on_failure=[report_failure])
def validate_flow(
    home: str | None = None,
    as_of: str | None = None,
    all: bool = False,  # noqa: A002 - the CLI's --all
    run_id: str | None = None,
    notify: bool = True,
    gx: bool = True,
) -> dict:
    """Re-check case versions with the V-rules (--all: every current version;
    run_id: the versions one ingest run stored; otherwise those ingested on the as-of date)."""
    home = str(Home.resolve(home).require().root)
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    scope = "current" if all else ("run" if run_id else "day")
    params = {"all": all, "ingest_run_id": run_id, "scope": scope}
    with audited("validate", home, day, params, inputs=reference_digest) as run:
        run.summary |= run(revalidate, home, day, scope, run.run_id, run_id, gx, notify)
        run.summary["run_id"] = run.run_id
    s = run.summary
    log().info("validate (%s): %s versions, %s member rows, %s new, %s reopened, %s cleared findings", scope,
               s.get("versions"), s.get("member_rows"), s.get("findings_new"), s.get("findings_reopened"),
               s.get("findings_cleared"))
    return s


def run_validation(home: Home, as_of: date, *, all_versions: bool, ingest_run_id: str | None = None,
                   gx: bool = True, notify: bool = True) -> dict:
    """One validate run in this process, without Prefect (the flow's own steps)."""
    return validate_flow.fn(home=str(home.root), as_of=as_of.isoformat(), all=all_versions, run_id=ingest_run_id,
                            notify=notify, gx=gx)
