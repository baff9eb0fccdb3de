"""Flow `crosscheck` (SPEC §3, §5, §6): the bureau's household economic data check.

    load the new registry extracts -> run X01–X10 and M01–M03 over the mode's
    population -> findings' lifecycle (new, seen again, cleared, escalated) ->
    核对报告 per town for the day -> one digest per town (and the district)

Modes: `applications` (cases received, investigating or pending: checked when
they arrive, when a new version comes, after each new extract; the 核对报告),
`active` (dynamic management of approved cases: only new findings are told),
`all` (both, the default). `crosscheck_flow.fn(...)` (or `run_crosscheck`) runs
the same steps in this process without Prefect.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

from prefect import flow

from checks.crosscheck import MODES, run_checks
from core.home import Home, parse_as_of, today_shanghai
from flows.runtime import report_failure
from flows.steps import audited, home_of, log, reference, step
from intake.registries import extracts_digest
from intake.registry_load import load_extracts_summary
from notify.tell import tell_crosscheck
from publish.crosscheck_report import crosscheck_digest_items, write_crosscheck_reports
from warehouse.connection import open_warehouse
from warehouse.registry_store import registry_digest

FLOW = "crosscheck"


@step
def load_extracts(home_root: str, as_of: str, run_id: str) -> dict:
    """Registry extracts not read yet: loaded, or refused with the reason (counts)."""
    home = home_of(home_root)
    with open_warehouse(home, flow=FLOW, ref=reference(home)) as con:
        return load_extracts_summary(con, home, reference(home), parse_as_of(as_of), run_id)


@step
def check(home_root: str, as_of: str, mode: str, run_id: str) -> dict:
    home = home_of(home_root)
    with open_warehouse(home, flow=FLOW, ref=reference(home)) as con:
        return run_checks(con, reference(home), parse_as_of(as_of), mode, run_id, registry_digest=registry_digest(con))


@step
def write_reports(home_root: str, as_of: str) -> list[str]:
    home = home_of(home_root)
    with open_warehouse(home, flow=FLOW, ref=reference(home)) as con:
        paths = write_crosscheck_reports(con, home, reference(home), parse_as_of(as_of))
    return [p.relative_to(home.root).as_posix() for p in paths]


@step
def notify_towns(home_root: str, as_of: str, mode: str, run_id: str, cycle_id: str | None = None) -> dict[str, str]:
    """One digest per tag with something new since its last digest (queued inside a cycle)."""
    home = home_of(home_root)
    ref = reference(home)
    with open_warehouse(home, flow=FLOW, ref=ref) as con:
        items, open_counts = crosscheck_digest_items(con, ref)
        return tell_crosscheck(con, home, ref, run_id, items, open_counts, mode, parse_as_of(as_of), cycle_id)


@flow(name="crosscheck", on_failure=[report_failure])
def crosscheck_flow(home: str | None = None, as_of: str | None = None, mode: str = "all", notify: bool = True,
                    cycle_id: str | None = None) -> dict:
    """Cross-check households against the department registries (modes: applications, active, all)."""
    if mode not in MODES:
        raise ValueError(f"crosscheck mode must be one of {', '.join(MODES)}, got {mode!r}")
    home = str(Home.resolve(home).require().root)
    day = (parse_as_of(as_of) or today_shanghai()).isoformat()
    inputs = partial(extracts_digest, as_of=parse_as_of(day))
    with audited(FLOW, home, day, {"mode": mode}, inputs=inputs, apply_actions=True) as run:
        run.summary |= {"as_of": day, "mode": mode}
        run.summary |= run(load_extracts, home, day, run.run_id)
        run.summary |= run(check, home, day, mode, run.run_id)
        if "application" in MODES[mode]:  # the 核对报告 is about applications
            run.summary["reports"] = run(write_reports, home, day)
        if notify:
            run.summary["notified"] = run(notify_towns, home, day, mode, run.run_id, cycle_id)
    s = run.summary
    log().info("crosscheck %s %s: %s new findings, %s cleared automatically, %s escalated, %s reports", mode, day,
               s.get("new", 0), s.get("auto_cleared", 0), s.get("escalated", 0), len(s.get("reports", [])))
    return s


def run_crosscheck(home: str | Path, as_of: str | date | None = None, mode: str = "all", notify: bool = True) -> dict:
    """The whole cross-check in this process, without Prefect (the flow's own steps)."""
    text = as_of.isoformat() if isinstance(as_of, date) else as_of
    return crosscheck_flow.fn(home=str(home), as_of=text, mode=mode, notify=notify)


crosscheck = crosscheck_flow
