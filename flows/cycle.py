"""Flow `cycle` (the district cycle): ingest (+ validation Data Docs) → crosscheck →
close-month → sample → report → notify, as DOMAIN.md §3 runs it.

Each step is a subflow with its own retries; a failed step is recorded and
the others still run (a town's bad file or a failed notification never stops
the rest, and the month is still closed), and the cycle ends Failed, naming
the steps that failed and where their details are (so `jiuzhu run cycle`
exits non-zero, and under a schedule the district is told). The
steps queue their notices; the last step sends one digest per town.

Every step is idempotent, so the cycle may run as often as wanted: the close
runs only from the configured close day of the month (settings
`close_day_of_month`); sampling and the report cover the previous month and
run once for it (the scheduled `sample` and `report` deployments, or
`jiuzhu run report --period`, redo them on purpose).
"""

from __future__ import annotations

import uuid

from prefect import flow

from checks.gx_suite import preload_in_background
from core.home import Home, parse_as_of, today_shanghai
from core.periods import previous_period
from flows.close_month import close_month_flow
from flows.crosscheck import crosscheck_flow
from flows.ingest import ingest_flow
from flows.report import report_flow
from flows.runtime import FAILURE_LOGS, report_failure, without_heartbeats
from flows.sample import sample_flow
from flows.steps import audited, home_of, log, reference, step
from flows.validate import validate_flow
from notify.queue import flush
from warehouse.audit import RunFailed, monthly_runs_done
from warehouse.connection import hold_warehouse, open_warehouse


@step
def flush_notices(home_root: str, cycle_id: str, as_of: str, run_id: str) -> dict[str, str]:
    home = home_of(home_root)
    with open_warehouse(home, flow="cycle", ref=reference(home)) as con:
        return flush(con, home, reference(home), run_id, cycle_id, parse_as_of(as_of))


@step(retries=2, retry_delay_seconds=5)
def send_queued_notices(home_root: str, cycle_id: str, as_of: str) -> dict[str, str]:
    """The cycle's last step, its own audited run: one digest per town with everything queued."""
    with audited("cycle-notify", home_root, as_of, {"cycle_id": cycle_id}) as run:
        run.summary["sent"] = run(flush_notices, home_root, cycle_id, as_of, run.run_id)
    return run.summary["sent"]


@step
def periods_done(home_root: str, period: str) -> list[str]:
    """Which monthly flows (sample, report) already completed for `period`."""
    with open_warehouse(home_of(home_root), flow="cycle") as con:
        return monthly_runs_done(con, period)


def failed_steps(as_of: str, steps: dict, failed: list[str]) -> RunFailed:
    """One line naming the failed steps (and the first one's reason); each step's log in the details."""
    lines, reasons = [], []
    for name in failed:
        state = steps[name]
        try:
            exc = state.result(raise_on_failure=False)
        except Exception:  # noqa: BLE001 - an unreadable result: the state's message says enough
            exc = None
        reason = (f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException)
                  else state.message or state.type.value)
        reasons.append(" ".join(reason.split())[:200])
        log_path = FAILURE_LOGS.get(str(state.state_details.flow_run_id or ""), "the Prefect log")
        lines.append(f"{name}: {reasons[-1]} (details: {log_path})")
    done = [n for n in steps if n not in failed]
    return RunFailed(f"cycle {as_of}: step(s) failed: {', '.join(failed)} ({reasons[0]})"
                     f"; completed: {', '.join(done) or 'none'}", "\n".join(lines))


@flow(name="cycle", on_failure=[report_failure])
def cycle_flow(home: str | None = None, as_of: str | None = None, period: str | None = None,
               parse_workers: int = 0, dask_address: str | None = None) -> dict:
    """One district cycle. `period`: the month to close (default: this month, from the close day on).
    `parse_workers` / `dask_address`: the ingest's parse-only work on a Dask cluster (docs/scaling.md)."""
    home = str(Home.resolve(home).require().root)
    day = parse_as_of(as_of) or today_shanghai()
    as_of = day.isoformat()
    ref = reference(home_of(home))
    cycle_id = uuid.uuid4().hex
    close_day = ref.setting_int("close_day_of_month", 25)
    steps: dict[str, object] = {}
    # the cycle's own run beats for its steps; its steps share one open warehouse (hold_warehouse)
    with without_heartbeats(), hold_warehouse(home_of(home), flow="cycle", ref=ref):
        preload_in_background()  # Great Expectations (3 s of imports) while the ingest runs, for validate
        steps["ingest"] = ingest_flow(home=home, as_of=as_of, cycle_id=cycle_id, parse_workers=parse_workers,
                                      dask_address=dask_address, return_state=True)
        # Great Expectations over the day's versions: the Data Docs in out/validation/ (findings were raised
        # by ingest already, so nothing new is told here)
        steps["validate"] = validate_flow(home=home, as_of=as_of, notify=False, return_state=True)
        steps["crosscheck"] = crosscheck_flow(home=home, as_of=as_of, cycle_id=cycle_id, return_state=True)
        if period or day.day >= close_day:
            steps["close-month"] = close_month_flow(home=home, as_of=as_of, period=period, cycle_id=cycle_id,
                                                    return_state=True)
        last_month = previous_period(day)
        done = periods_done(home, last_month)  # once a month, after the month has ended
        if "sample" not in done:
            steps["sample"] = sample_flow(home=home, as_of=as_of, period=last_month, cycle_id=cycle_id,
                                          return_state=True)
        if "report" not in done:
            steps["report"] = report_flow(home=home, as_of=as_of, period=last_month, return_state=True)
        steps["notify"] = send_queued_notices(home, cycle_id, as_of, return_state=True)
    outcome = {name: state.type.value for name, state in steps.items()}
    failed = [name for name, state in steps.items() if state.is_failed() or state.is_crashed()]
    log().info("cycle %s (%s): %s", cycle_id, as_of, outcome)
    if failed:
        raise failed_steps(as_of, steps, failed)
    return {"cycle_id": cycle_id, "as_of": as_of, "steps": outcome}
