"""Audit of runs and events (SPEC §7 `audit`).

Every flow run is one row of `audit.runs`: the flow, the clock, the as-of
date, a digest of its inputs' hashes, the code version, its parameters and a
summary of counts. Parameters, summaries and event details must never hold
personal data (names, ID numbers, bank accounts): pass dates, periods, paths,
hashes and counts. As a last guard, anything that looks like an ID or account
number is refused in params, summaries and details, and masked in errors.

    run_id = start_run(con, "ingest", as_of, inputs_digest(hashes), {"reprocess": None})
    ...
    finish_run(con, run_id, "completed", {"files": 3, "rows_read": 120})

A run records the process that runs it (pid, host, the process's start), so a
later writer can mark a run whose process is gone as `crashed`
(`mark_crashed_runs`, called by warehouse/connection.py when a writer opens).
A flow that did its work but must still end failed (files without a receipt,
a step of the cycle) raises `RunFailed` with a one-line message and details.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import duckdb

from core.home import code_version, now_shanghai
from transforms.identifiers import scrub_text

RUN_STATUSES = ("running", "completed", "failed", "crashed")
FINISHED_STATUSES = ("completed", "failed")
ERROR_MAX_CHARS = 2000

_START = """
INSERT INTO audit.runs (run_id, flow, started_at, status, as_of, inputs_sha256, code_version, params_json,
                        pid, host, process_start)
VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)
"""
_RUNNING = "SELECT run_id, flow, pid, host, process_start FROM audit.runs WHERE status = 'running' ORDER BY started_at"
_CRASHED = """
UPDATE audit.runs SET status = 'crashed', error = ? WHERE run_id = ? AND status = 'running'
"""


class RunFailed(RuntimeError):
    """A run that did its work but failed in part (a file got no receipt, a step of the cycle raised).

    `str()` is the one line an operator reads; `details` holds what else there
    is to know (tracebacks of the parts that failed), masked, for a log file."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


# ---------------------------------------------------------------- processes


@functools.cache
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def process_start(pid: int) -> str | None:
    """Boot id and start tick of process `pid` on this machine (Linux), None when unknown.
    Tells a process apart from a later one that got the same pid (after a reboot too)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    boot = _boot_id()
    return f"{boot}:{fields[19]}" if boot and len(fields) > 19 else None


def this_process() -> tuple[int, str, str | None]:
    pid = os.getpid()
    return pid, socket.gethostname(), process_start(pid)


def process_gone(pid: int | None, host: str | None, started: str | None) -> bool:
    """True when the process that ran a run surely no longer runs: it was on this machine and
    its pid is free, or taken by a later process. A run of another machine is never judged."""
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a process of another user holds the pid
    now = process_start(pid)
    return started is not None and now is not None and now != started


def mark_crashed_runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """Mark every 'running' run whose process is gone as 'crashed'; returns (run_id, flow, pid) of each."""
    crashed = []
    for run_id, flow, pid, host, started in con.execute(_RUNNING).fetchall():
        if process_gone(pid, host, started):
            con.execute(_CRASHED, [f"crashed: process {pid} on {host} ended without finishing the run", run_id])
            crashed.append((run_id, flow, pid))
    return crashed


def mark_all_running_crashed(con: duckdb.DuckDBPyConnection, reason: str) -> int:
    """Mark every 'running' run 'crashed' (a restored warehouse: none of them can finish there)."""
    rows = con.execute(
        "UPDATE audit.runs SET status = 'crashed', error = ? WHERE status = 'running' RETURNING run_id",
        [f"crashed: {reason}"],
    ).fetchall()
    return len(rows)


def other_live_runs(con: duckdb.DuckDBPyConnection) -> int:
    """How many runs are 'running' in a process other than this one (alive, or of another machine)."""
    me = os.getpid(), socket.gethostname()
    return sum((pid, host) != me for _r, _f, pid, host, _s in con.execute(_RUNNING).fetchall())
_FINISH = """
UPDATE audit.runs SET finished_at = ?, status = ?, summary_json = ?, error = ?
WHERE run_id = ?
RETURNING run_id
"""
_EVENT = (
    "INSERT INTO audit.events (run_id, occurred_at, kind, detail_json) VALUES (?, ?, ?, ?) RETURNING event_id"
)


def inputs_digest(hashes: Iterable[str]) -> str:
    """SHA-256 over the sorted, distinct input file hashes (order of discovery does not matter)."""
    h = hashlib.sha256()
    for digest in sorted({x.strip().lower() for x in hashes}):
        h.update(digest.encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def _safe_json(what: str, value: dict | None) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if scrub_text(text) != text:
        raise ValueError(f"audit {what} look like they hold an ID or account number: pass counts, not people")
    return text


def start_run(
    con: duckdb.DuckDBPyConnection,
    flow: str,
    as_of: date | None,
    inputs_sha256: str | None,
    params: dict | None,
) -> str:
    """Record a run as started ('running') and return its run_id (uuid4 hex)."""
    run_id = uuid.uuid4().hex
    con.execute(
        _START,
        [run_id, flow, now_shanghai(), as_of, inputs_sha256, code_version(), _safe_json("params", params),
         *this_process()],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    summary: dict | None = None,
    error: str | None = None,
) -> None:
    """Record the end of a run: status 'completed' or 'failed', a summary of counts, an error line."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"a run finishes as one of {FINISHED_STATUSES}, not {status!r}")
    if error is not None:
        error = scrub_text(" ".join(str(error).split()))[:ERROR_MAX_CHARS]
    found = con.execute(
        _FINISH, [now_shanghai(), status, _safe_json("summary", summary), error, run_id]
    ).fetchall()
    if not found:
        raise ValueError(f"no audit run {run_id!r}")


def record_event(
    con: duckdb.DuckDBPyConnection, run_id: str | None, kind: str, detail: dict | None = None
) -> int:
    """Append one audit event (kind such as 'finding_cleared', 'batch_voided'); returns its event_id."""
    rows = con.execute(_EVENT, [run_id, now_shanghai(), kind, _safe_json("event detail", detail)]).fetchall()
    return rows[0][0]


@contextlib.contextmanager
def recorded_run(
    con: duckdb.DuckDBPyConnection,
    flow: str,
    as_of: date | None,
    inputs_sha256: str | None,
    params: dict | None,
) -> Iterator[tuple[str, dict]]:
    """Start a run, yield (run_id, summary dict to fill), finish it completed or failed.

    A failure is recorded with its one-line error and re-raised. If the
    connection is inside a failed transaction it is rolled back first, so the
    failure itself is always recorded.
    """
    run_id = start_run(con, flow, as_of, inputs_sha256, params)
    summary: dict = {}
    try:
        yield run_id, summary
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        finish_run(con, run_id, "failed", summary or None, f"{type(exc).__name__}: {exc}")
        raise
    finish_run(con, run_id, "completed", summary)


def write_failure_log(home, flow: str, label: str, text: str) -> Path | None:
    """Write the details of a failure (tracebacks, masked) to `warehouse/logs/`, beside the warehouse
    and out of the towns' reach; returns the file, or None when the home does not exist (never create
    a home to report that it is missing)."""
    if not home.is_home():
        return None
    folder = home.warehouse_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now_shanghai().strftime("%Y%m%dT%H%M%S")
    safe_label = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:60]
    body = scrub_text(text.rstrip()) + "\n"
    for seq in range(1, 1000):
        path = folder / f"{stamp}-{flow}-{safe_label}{'' if seq == 1 else f'-{seq}'}.log"
        try:
            with path.open("x", encoding="utf-8") as fh:
                fh.write(body)
            return path
        except FileExistsError:
            continue
    return None


def monthly_runs_done(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """Which monthly flows (sample, report) already completed for `period` (the cycle runs each once)."""
    from warehouse.sqlfiles import sql

    return [r[0] for r in con.execute(sql("audit/monthly_runs_done"), {"period": period}).fetchall()]
