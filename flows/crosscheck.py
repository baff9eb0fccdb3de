"""Flow `crosscheck` (SPEC §3, §5, §6): the bureau's household economic data check.

    load the new registry extracts -> run X01–X10 and M01–M03 over the mode's
    population -> findings' lifecycle (new, seen again, cleared, escalated) ->
    核对报告 per town for the day -> one digest per town (and the district)

Modes: `applications` (cases received, investigating or pending: checked when
they arrive, when a new version comes, after each new extract; the 核对报告),
`active` (dynamic management of approved cases: only new findings are told),
`all` (both, the default). Tasks pass paths, dates and counts, never people.

`run_crosscheck` runs the same steps in-process without Prefect (tests, benches).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from checks.crosscheck import MODES, run_checks
from core.home import Home, parse_as_of, today_shanghai
from core.reference import Reference, load_reference
from flows.officer_actions import apply_queued_actions
from flows.runtime import report_failure
from intake.registries import discover_extracts, sha256_of
from intake.registry_load import load_registries
from notify.queue import notify_or_queue
from publish.crosscheck_report import crosscheck_digest_items, write_crosscheck_reports
from warehouse.audit import finish_run, inputs_digest, start_run
from warehouse.connection import open_warehouse
from warehouse.registry_store import registry_digest

FLOW = "crosscheck"
RUN_LABELS = {"applications": "申请核对", "active": "动态管理核对", "all": "核对"}


def _home(home_root: str) -> Home:
    return Home(Path(home_root))


@cache
def _reference_cached(folder: str, stamp: tuple) -> Reference:
    return load_reference(Path(folder))


def _reference(home: Home) -> Reference:
    """The home's reference tables, read again only when a file in reference/ changed."""
    files = sorted(home.reference.glob("*.csv")) if home.reference.is_dir() else []
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _reference_cached(str(home.reference), stamp)


def open_run(home_root: str, as_of: str, mode: str) -> str:
    home = _home(home_root)
    day = parse_as_of(as_of)
    digest = inputs_digest(sha256_of(e.path) for e in discover_extracts(home, day).extracts)
    with open_warehouse(home, flow=FLOW) as con:
        apply_queued_actions(con, home, load_reference(home.reference))  # officers' actions queued meanwhile
        return start_run(con, FLOW, day, digest, {"mode": mode})


def load_extracts(home_root: str, as_of: str, run_id: str) -> dict:
    """Registry extracts not read yet: loaded, or refused with the reason."""
    home = _home(home_root)
    ref = _reference(home)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        outcomes = load_registries(con, home, ref, parse_as_of(as_of), run_id)
    new = [o for o in outcomes if o.status != "known"]
    return {
        "extracts_loaded": sum(o.status == "loaded" for o in new),
        "extracts_refused": [o.rel_path for o in new if o.status == "refused"],
        "registry_rows_loaded": sum(o.rows_loaded for o in new if o.status == "loaded"),
        "registry_invalid_ids": sum(o.invalid_ids for o in new),
    }


def check(home_root: str, as_of: str, mode: str, run_id: str) -> dict:
    home = _home(home_root)
    ref = _reference(home)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        return run_checks(con, ref, parse_as_of(as_of), mode, run_id, registry_digest=registry_digest(con))


def write_reports(home_root: str, as_of: str) -> list[str]:
    home = _home(home_root)
    ref = _reference(home)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        paths = write_crosscheck_reports(con, home, ref, parse_as_of(as_of))
    return [p.relative_to(home.root).as_posix() for p in paths]


def notify_towns(home_root: str, as_of: str, mode: str, run_id: str, cycle_id: str | None = None) -> dict[str, str]:
    """One digest per tag with something new since its last digest (queued inside a cycle)."""
    home = _home(home_root)
    ref = _reference(home)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        items, open_counts = crosscheck_digest_items(con, ref)
        return notify_or_queue(con, home, ref, run_id, items, open_counts, RUN_LABELS[mode], parse_as_of(as_of),
                               cycle_id, FLOW)


def close_run(home_root: str, run_id: str, summary: dict, error: str | None) -> None:
    with open_warehouse(_home(home_root), flow=FLOW) as con:
        finish_run(con, run_id, "failed" if error else "completed", summary, error)


def _steps(home: str, as_of: str | None, mode: str, notify: bool, call, cycle_id: str | None = None) -> dict:
    if mode not in MODES:
        raise ValueError(f"crosscheck mode must be one of {', '.join(MODES)}, got {mode!r}")
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    Home(Path(home)).require()
    run_id = call(open_run, home, day, mode)
    summary: dict = {"as_of": day, "mode": mode}
    try:
        summary |= call(load_extracts, home, day, run_id)
        summary |= call(check, home, day, mode, run_id)
        if "application" in MODES[mode]:  # the 核对报告 is about applications
            summary["reports"] = call(write_reports, home, day)
        if notify:
            summary["notified"] = call(notify_towns, home, day, mode, run_id, cycle_id)
    except Exception as exc:
        call(close_run, home, run_id, summary, f"{type(exc).__name__}: {exc}")
        raise
    call(close_run, home, run_id, summary, None)
    return summary


def run_crosscheck(
    home: str | Path, as_of: str | date | None = None, mode: str = "all", notify: bool = True
) -> dict:
    """The whole cross-check in this process, without Prefect (same steps as the flow)."""
    text = as_of.isoformat() if isinstance(as_of, date) else as_of
    return _steps(str(home), text, mode, notify, lambda fn, *args: fn(*args))


_TASKS = {
    fn: task(fn, name=fn.__name__.replace("_", "-"), cache_policy=NO_CACHE)
    for fn in (open_run, load_extracts, check, write_reports, notify_towns, close_run)
}


@flow(name="crosscheck", on_failure=[report_failure])
def crosscheck_flow(home: str | None = None, as_of: str | None = None, mode: str = "all", notify: bool = True,
                    cycle_id: str | None = None) -> dict:
    """Cross-check households against the department registries (modes: applications, active, all)."""
    log = get_run_logger()
    home = str(Home.resolve(home).require().root)
    summary = _steps(home, as_of, mode, notify, lambda fn, *args: _TASKS[fn](*args), cycle_id)
    log.info(
        "crosscheck %s %s: %s new findings, %s cleared automatically, %s escalated, %s reports",
        summary["mode"],
        summary["as_of"],
        summary.get("new", 0),
        summary.get("auto_cleared", 0),
        summary.get("escalated", 0),
        len(summary.get("reports", [])),
    )
    return summary


crosscheck = crosscheck_flow
