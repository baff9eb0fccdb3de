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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import date

import duckdb

from jiuzhu.home import code_version, now_shanghai
from transforms.identifiers import scrub_text

RUN_STATUSES = ("running", "completed", "failed")
FINISHED_STATUSES = ("completed", "failed")
ERROR_MAX_CHARS = 2000

_START = """
INSERT INTO audit.runs (run_id, flow, started_at, status, as_of, inputs_sha256, code_version, params_json)
VALUES (?, ?, ?, 'running', ?, ?, ?, ?)
"""
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
        [run_id, flow, now_shanghai(), as_of, inputs_sha256, code_version(), _safe_json("params", params)],
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
