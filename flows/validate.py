"""Flow `validate` (SPEC §5 V-rules): re-check stored case versions against
the current reference data, with Great Expectations as the engine that
asserts the rule results and renders Data Docs into out/validation/.

    jiuzhu run validate --all        every current version (e.g. after a standards
                                     correction): opens and clears findings, never
                                     changes which version is current
    jiuzhu run validate              the versions ingested on the as-of date
                                     (documents them; clears nothing)

The steps live in checks/ (rules in transforms/vrules.py); this module only
sequences them: open the warehouse, record the run, re-check, validate with GX,
tell the towns what is newly open.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from checks.gx_suite import validate_results, value_sets_from_reference
from checks.validation import recheck_versions
from core.home import Home, parse_as_of, today_shanghai
from core.reference import load_reference
from flows.runtime import report_failure
from notify.digest import DigestItem
from notify.queue import notify_or_queue
from warehouse.audit import inputs_digest, record_event, recorded_run
from warehouse.connection import open_warehouse


def gx_paths(home: Home) -> tuple[Path, Path]:
    """(Data Docs site, stored GX validation results): docs for people in out/,
    GX's result JSON (counts only) beside the warehouse."""
    return home.out / "validation", home.warehouse_dir / "gx" / "validations"


def run_validation(
    home: Home,
    as_of: date,
    *,
    all_versions: bool,
    ingest_run_id: str | None = None,
    gx: bool = True,
    notify: bool = True,
) -> dict:
    """One validate run without Prefect (tests and the flow call this)."""
    ref = load_reference(home.reference)
    scope = "current" if all_versions else ("run" if ingest_run_id else "day")
    params = {"all": all_versions, "ingest_run_id": ingest_run_id, "scope": scope}
    digest = inputs_digest([ref.fingerprint()])
    with (
        open_warehouse(home, flow="validate", ref=ref) as con,
        recorded_run(con, "validate", as_of, digest, params) as (run_id, summary),
    ):
        found = recheck_versions(
            con, ref, scope=scope, as_of=as_of, run_id=run_id, ingest_run_id=ingest_run_id
        )
        summary.update(found.summary())
        summary["inputs_files"] = len(found.input_hashes)
        summary["inputs_sha256"] = inputs_digest([*found.input_hashes, ref.fingerprint()])
        if found.cleared:
            record_event(
                con,
                run_id,
                "findings_cleared",
                {"by": "validate --all", "finding_ids": found.cleared_ids},
            )
        if gx and found.results is not None:
            site, results_dir = gx_paths(home)
            outcome = validate_results(
                found.results,
                site_dir=site,
                results_dir=results_dir,
                run_name=f"validate-{scope}-{as_of.isoformat()}-{run_id[:8]}",
                value_sets=value_sets_from_reference(ref),
            )
            summary.update(outcome.summary())
            summary["gx_import_seconds"] = round(outcome.import_seconds or 0.0, 3)
        if notify and found.opened.height:
            summary["notified"] = notify_towns(con, home, ref, run_id, as_of, found.opened)
        summary["run_id"] = run_id
    return summary


OPEN_V_FINDINGS = """
SELECT f.town_code, f.rule_id, count(*) AS n
FROM checks.findings f
JOIN core.case_versions v USING (version_id)
WHERE f.status = 'open' AND v.is_current AND f.rule_id LIKE 'V%'
GROUP BY ALL
ORDER BY ALL
"""


def notify_towns(con, home: Home, ref, run_id: str, as_of: date, opened) -> dict[str, str]:
    """One digest per town about findings re-validation newly opened on its current cases."""
    items: dict[str, list[DigestItem]] = defaultdict(list)
    for f in opened.iter_rows(named=True):
        kind = "hold" if f["blocks_payment"] else "other"
        items[f["town_code"]].append(DigestItem(kind, f["rule_id"], f["case_no"], f["message"], f["id_no"]))
    still_open: dict[str, dict[str, int]] = defaultdict(dict)
    for town_code, rule_id, n in con.execute(OPEN_V_FINDINGS).fetchall():
        still_open[town_code][rule_id] = n
    return notify_or_queue(con, home, ref, run_id, dict(items), still_open, "重新校验", as_of, None, "validate")


@task(cache_policy=NO_CACHE)
def revalidate(
    home_root: str, as_of: str, all_versions: bool, ingest_run_id: str | None, notify: bool
) -> dict:
    return run_validation(
        Home(Path(home_root)), date.fromisoformat(as_of), all_versions=all_versions, ingest_run_id=ingest_run_id,
        notify=notify,
    )  # fmt: skip


@flow(name="validate", on_failure=[report_failure])
def validate_flow(
    home: str | None = None,
    as_of: str | None = None,
    all: bool = False,  # noqa: A002 - the CLI's --all
    run_id: str | None = None,
    notify: bool = True,
) -> dict:
    """Re-check case versions with the V-rules (--all: every current version;
    run_id: the versions one ingest run stored; otherwise those ingested on the as-of date)."""
    home = str(Home.resolve(home).require().root)
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    summary = revalidate(home, day, all, run_id, notify)
    get_run_logger().info(
        "validate (%s): %s versions, %s member rows, %s new, %s reopened, %s cleared findings",
        summary.get("scope"), summary.get("versions"), summary.get("member_rows"), summary.get("findings_new"),
        summary.get("findings_reopened"), summary.get("findings_cleared"),
    )  # fmt: skip
    return summary
