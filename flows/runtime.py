"""Environment defaults for Prefect and Great Expectations (ENGINEERING.md pitfalls).

Prefect starts a temporary API server in every process that runs a flow
without PREFECT_API_URL; on these machines that takes 13-21 s, close to its
20 s default timeout, so the timeout is raised. Analytics are off everywhere.
Explicit settings in the environment always win.

A Prefect server started by our processes (the temporary one; an operator's own server
takes the same two settings, docs/operations.md) writes the task runs it hears of in
batches, not one transaction per event: on SQLite a request
that meets the recorder's write gets 503 "Service Unavailable" (SQLITE_BUSY_SNAPSHOT), and
the client waits 2 s before asking again. Every subflow started just after a step with tasks
met it: 7 subflows of 5 tasks took 15 s, 3.7 s with batches (docs/engineering-notes.md). The
event persister wrote every 20 events the same way (three events a task run): a subflow of 30
tasks still met a 503 most times, 2.3 s; with its batches too, 0.37 s and no 503.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "1000",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "1000",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE": "100",
    # automations: nobody can define one on a temporary server, yet its triggers read every event
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
}


def configure_environment() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def without_heartbeats():
    """Flow runs started inside this context send no heartbeats.

    Prefect 3.9 beats every flow run from a thread that sleeps in 1 s steps, and a run
    ends only once that thread has woken up: up to a second added to every flow run
    (measured 0.96 s for an empty subflow, 0.27 s without). A cycle's steps are
    subflows of a run that beats for them all; the demo's temporary server has nobody
    watching for runs that stopped beating. Served and deployed top-level runs keep theirs.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


# ---------------------------------------------------------------- failed runs
#
# Under `jiuzhu serve` or a worker nobody sees an exit code, so every flow
# carries `on_failure=[report_failure]`: the details (masked tracebacks) go to
# warehouse/logs/, and a top-level flow run sends a one-paragraph notice to the
# `district` tag. The `jiuzhu` command prints the same one line and exits 1.

FAILURE_LOGS: dict[str, object] = {}  # flow run id -> the log file written for its failure (this process)


def failure_line(flow_name: str, exc: object, message: str | None = None) -> str:
    """One line saying what failed (a RunFailed says it itself)."""
    from warehouse.audit import RunFailed

    if isinstance(exc, RunFailed):
        return str(exc)
    if isinstance(exc, BaseException):
        text = " ".join(str(exc).split())[:300]
        return f"{flow_name} failed: {type(exc).__name__}" + (f": {text}" if text else "")
    return f"{flow_name} failed: {message or 'unknown reason'}"


def failure_details(exc: object, message: str | None = None) -> str:
    import traceback

    from warehouse.audit import RunFailed

    if not isinstance(exc, BaseException):
        return message or ""
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, RunFailed) and exc.details:
        text += "\n" + exc.details
    return text


def failed_files(failed: dict[str, BaseException], files: int, run_id: str):
    """An ingest whose files got no receipt: the one line, the tracebacks; the other files were loaded."""
    from warehouse.audit import RunFailed

    first, exc = next(iter(failed.items()))
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return RunFailed(f"ingest failed: {len(failed)} of {files} file(s) got no receipt ({first}: "
                     f"{type(exc).__name__}{more}); the other files were loaded; audit.runs run {run_id}",
                     "\n".join(f"--- {rel}\n{failure_details(e)}" for rel, e in failed.items()))


def report_failure(flow, flow_run, state) -> None:
    """Prefect on_failure hook: write the details, tell the district (top-level runs). Never raises."""
    import logging

    try:
        _report_failure(flow, flow_run, state)
    except Exception:  # noqa: BLE001 - reporting a failure must not fail the run a second time
        logging.getLogger("jiuzhu.flows").exception("could not report the failure of flow %s", flow.name)


def _report_failure(flow, flow_run, state) -> None:
    from core.home import Home, now_shanghai
    from warehouse.audit import write_failure_log

    params = dict(flow_run.parameters or {})
    home = Home.resolve(params.get("home"))
    try:
        exc = state.result(raise_on_failure=False)  # the exception the flow raised
    except Exception:  # noqa: BLE001 - a result that cannot be read: the state message says enough
        exc = None
    line = failure_line(flow.name, exc, state.message)
    shown = {k: v for k, v in params.items() if k in ("as_of", "period", "mode", "baseline", "reprocess", "all")}
    header = (f"flow {flow.name}, flow run {flow_run.name} ({flow_run.id}), failed at "
              f"{now_shanghai().isoformat(timespec='seconds')}\nparameters: {shown}\n{line}\n\n")
    path = write_failure_log(home, flow.name, flow_run.name, header + failure_details(exc, state.message))
    if path is None:
        return  # no such home: nothing to write to, nobody to tell there
    FAILURE_LOGS[str(flow_run.id)] = path
    if flow_run.parent_task_run_id is None:  # a step of the cycle is told once, by the cycle
        send_failure_notice(home, flow.name, flow_run.name, line, path)


def send_failure_notice(home, flow_name: str, run_name: str, line: str, log_path) -> str:
    """A notice to the `district` tag that a flow run failed; returns the delivery status."""
    from core.home import now_shanghai
    from notify.delivery import Notifier
    from notify.digest import DISTRICT_TAG, Digest
    from transforms.identifiers import scrub_text

    now = now_shanghai()
    title = f"【救助】流程运行失败：{flow_name}（{now:%Y-%m-%d %H:%M}）"
    body = (f"流程 **{flow_name}**（运行 {run_name}）于 {now:%Y-%m-%d %H:%M} 失败。\n\n"
            f"原因：{scrub_text(line)}\n\n"
            f"详情：服务器上的 `{log_path}`；运行记录见仓库表 audit.runs。"
            f"请处理后重新运行（`jiuzhu run {flow_name}`），或等待下一次计划运行。\n")
    result = Notifier(home).send(DISTRICT_TAG, Digest(title=title, body=body, tag=DISTRICT_TAG, item_count=1))
    return result.status
