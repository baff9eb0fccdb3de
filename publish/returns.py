"""Town return file and receipt for one submission (SPEC §6).

`out/returns/<town_code>/<stem>.问题.xlsx` and `<stem>.回执.json`, where the
stem is the file's name without extension, '.', and the first 8 hex digits of
its SHA-256 — re-sent files never overwrite each other's returns. A long name
is cut at a character boundary so that every name built from the stem, the
atomic writer's temporary name included, fits the file system's 255 bytes.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.files import TEMP_NAME_EXTRA_BYTES, atomic_target
from core.home import Home
from core.machine import core_free
from core.reference import Reference
from publish.files import is_large, render_workbook, write_json
from transforms.returns import cell_marks, return_rows
from transforms.submission import REQUIRED_CELLS

WORKER_ROWS = 20_000  # a return sheet of more rows is rendered in a worker process while the warehouse commits
# (a shorter one goes there too when the caller can finish it later: `start_return_files(later=True)`)
NAME_MAX_BYTES = 255  # the longest file name Linux file systems take, in bytes
RETURN_SUFFIXES = (".问题.xlsx", ".回执.json")  # every name built from a stem ends in one of these
STEM_BYTES = (
    NAME_MAX_BYTES - TEMP_NAME_EXTRA_BYTES - max(len(s.encode()) for s in RETURN_SUFFIXES) - len(".12345678")
)  # 220: what is left for the submission's own name


def _cut_name(text: str, max_bytes: int) -> str:
    """The longest start of `text` whose file-system bytes fit `max_bytes`, never half a character."""
    kept, used = [], 0
    for ch in text:
        used += len(os.fsencode(ch))
        if used > max_bytes:
            break
        kept.append(ch)
    return "".join(kept)


def stem(name: str, sha256: str) -> str:
    """The file's name without extension (cut to STEM_BYTES), '.', and 8 hex digits of its SHA-256."""
    return f"{_cut_name(Path(name).stem, STEM_BYTES)}.{sha256[:8]}"


def return_paths(home: Home, folder: str, name: str, sha256: str) -> tuple[Path, Path]:
    base = home.out / "returns" / folder / stem(name, sha256)
    return base.with_name(base.name + ".问题.xlsx"), base.with_name(base.name + ".回执.json")


def chinese_headers(ref: Reference) -> dict[str, str]:
    """Canonical field -> the first Chinese header of the synonyms table."""
    out: dict[str, str] = {}
    for field, header in ref["header_synonyms"].select("field", "header").iter_rows():
        if field not in out and any("\u4e00" <= ch <= "\u9fff" for ch in header):
            out[field] = header
    return out


def rebuild_return_files(con, home: Home, ref: Reference, sha256: str) -> None:
    """Write a submission's return workbook and receipt from what the warehouse
    recorded for it (the one path: right after the load, and after a crash)."""
    start_return_files(con, home, ref, sha256, in_worker=False).finish()


@dataclass
class PendingReturn:
    """A submission's return files on their way: the workbook rendered into a temporary file
    (here or in a worker process), put in place by `finish`, then the receipt. Nothing a town
    sees is written before `finish`, so the ingest may start this inside its transaction and
    finish it after the commit (or `abandon` it if the commit fails)."""

    workbook: Path
    receipt: Path
    payload: dict
    staged: Path | None = None  # the workbook's temporary file (None: the file has no rows, so no workbook)
    job: Future | None = None  # the worker rendering `staged`
    render: tuple | None = None  # or the arguments to render it here, in `finish`

    def ready(self) -> bool:
        """Nothing left to wait for: `finish` only puts the files in place."""
        return self.job is None or self.job.done()

    def finish(self) -> None:
        if self.staged is not None:
            if render_here(self.job):
                render_return_workbook(str(self.staged), *self.render)
            os.replace(self.staged, self.workbook)
        write_json(self.receipt, self.payload)

    def abandon(self) -> None:
        stop_or_wait(self.job)
        if self.staged is not None:
            self.staged.unlink(missing_ok=True)


def start_return_files(con, home: Home, ref: Reference, sha256: str, *, in_worker: bool = True,
                       later: bool = False) -> PendingReturn:
    """Read what the warehouse recorded for a submission (inside the caller's transaction, if any)
    and start its return files. A long sheet is rendered by a worker process (`in_worker`), which
    gets the rows and findings as frames: the reads stay here, on the caller's connection. With
    `later` (the caller finishes it after its next files), any sheet goes to the worker."""
    from warehouse.sqlfiles import sql

    file_row = con.sql("SELECT * FROM raw.files WHERE file_sha256 = $sha", params={"sha": sha256}).pl().row(
        0, named=True)
    findings = con.sql(sql("ingest/return_findings"), params={"sha": sha256}).pl()
    rows = None
    if file_row["status"] == "loaded":
        # the sheet lists the rows of cases with findings: with none (an ordinary day's clean ledger),
        # the file's rows need not be read back at all (the same empty sheet)
        rows = con.sql(sql("ingest/return_rows"), params={"sha": sha256 if findings.height else None}).pl()
    workbook, receipt = return_paths(home, file_row["folder"], file_row["name"], sha256)
    pending = PendingReturn(workbook, receipt, receipt_payload(file_row, findings, workbook, rows is not None))
    if rows is None:
        return pending
    pending.staged = atomic_target(workbook)
    pending.render = (chinese_headers(ref), rows, findings)
    if in_worker and (later or rows.height > WORKER_ROWS) and core_idle():
        try:
            pending.job = render_worker().submit(render_return_workbook, str(pending.staged), *pending.render)
        except Exception:  # no worker process to be had: render here, in finish
            pending.job = None
    return pending


def write_return_files(home: Home, ref: Reference, file_row: dict, rows: pl.DataFrame | None,
                       findings: pl.DataFrame) -> tuple[Path, Path]:
    workbook, receipt = return_paths(home, file_row["folder"], file_row["name"], file_row["file_sha256"])
    pending = PendingReturn(workbook, receipt, receipt_payload(file_row, findings, workbook, rows is not None))
    if rows is not None:
        pending.staged = atomic_target(workbook)
        pending.render = (chinese_headers(ref), rows, findings)
    pending.finish()
    return workbook, receipt


def receipt_payload(file_row: dict, findings: pl.DataFrame, workbook: Path, has_rows: bool) -> dict:
    by_rule = dict(sorted(findings.group_by("rule_id").len().iter_rows())) if findings.height else {}
    payload = {
        "file": file_row["rel_path"],
        "sha256": file_row["file_sha256"],
        "town_code": file_row["folder"],
        "ingested_on": str(file_row["ingested_on"]),
        "rows_read": file_row["rows_read"],
        "rows_accepted": file_row["rows_accepted"],
        "rows_rejected": file_row["rows_rejected"],
        "rows_warned": file_row["rows_warned"],
        "cases": file_row["cases"],
        "findings_by_rule": by_rule,
        "return_file": workbook.name if has_rows else None,
    }
    if file_row.get("error"):
        payload["error"] = file_row["error"]
    return payload


def render_return_workbook(target: str, headers: dict[str, str], rows: pl.DataFrame, findings: pl.DataFrame) -> str:
    """The return sheet written to `target` (a temporary file): runs here or in a worker process."""
    sheet = return_rows(rows, findings.select("case_key", "source_row", "rule_id", "message"), headers,
                        keep=REQUIRED_CELLS)
    sheets = {"问题清单": sheet}
    marks = None
    if not is_large(sheets):  # the Rust writer of long sheets has no cell comments: their 问题 says it all
        marks = {"问题清单": cell_marks(rows, findings.select("case_key", "source_row", "field", "rule_id", "message"),
                                    headers)}
    render_workbook(Path(target), sheets, wrap=("问题",), marks=marks)
    return target


def core_idle() -> bool:
    """Whether a core is free for the worker: the load of other work than this process and its
    worker below cores - 1 (`core.machine.core_free`). Our own busy threads do not count: they are
    the work the worker shares."""
    return core_free(tuple(p.pid for p in multiprocessing.active_children()))


def render_here(job: Future | None) -> bool:
    """Whether a workbook handed to the worker must be rendered in this process after all: there was
    no worker, its job was taken back before it started, or the worker died or raised."""
    return job is None or job.cancelled() or job.exception() is not None


def stop_or_wait(job: Future | None) -> None:
    """Take back a job the worker has not started, else wait for it: never remove a file the worker
    is still writing."""
    if job is not None and not job.cancel():
        job.exception()


_WORKER: ProcessPoolExecutor | None = None


def _leave_with_parent(parent: int) -> None:
    """In the worker: exit once the process that started it is gone. A writer killed outright
    (SIGKILL, the OOM killer) cannot shut its worker down, and the worker, waiting for work on a
    pipe it holds both ends of, would stay for ever (holding the killed command's output open)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


def render_worker() -> ProcessPoolExecutor:
    """One worker process, started once per process (spawned, not forked: the writer holds DuckDB and
    Polars threads). It renders one file's sheet while this process commits that file (and every other
    bank workbook of a close while this process renders the next); one is enough on two cores."""
    global _WORKER
    if _WORKER is None:
        _WORKER = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_leave_with_parent, initargs=(os.getpid(),))
        atexit.register(_WORKER.shutdown, cancel_futures=True)
    return _WORKER
