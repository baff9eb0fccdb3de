"""Flow `ingest` (SPEC §2): town submissions into the warehouse, every row
accounted for, a return file and receipt for each, one digest per town.

Files read in an earlier run cost one step in all, and the new files one more: each
in its own transaction on one connection, and one bad file never stops the others (the
run then ends failed, naming it; the artifact `ingest-files` lists every file).
With `parse_workers=N` or `dask_address` the new files are first parsed ahead by
the subflow `ingest-parse` (flows/ingest_parse.py, docs/scaling.md).
`ingest_flow.fn(...)` runs the same steps in this process without Prefect.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from pathlib import Path

from prefect import flow

from core.files import sha256_of
from core.home import Home, parse_as_of, today_shanghai
from flows.ingest_parse import parse_ahead
from flows.runtime import failed_files, report_failure
from flows.steps import artifact, audited, call, home_of, log, reference, step
from intake import ingest_run
from intake.discover import candidate_from_fields
from intake.pipeline import IngestSettings, ParsedSubmission, acknowledge_known, ingest_file, parse_submission
from notify.tell import tell_ingest
from publish.returns import PendingReturn
from warehouse.connection import open_warehouse
from warehouse.ingest_load import DeferredCheckpoints, deferred_checkpoints


@step
def find_new_submissions(home_root: str, as_of: str) -> dict:
    home = home_of(home_root)
    return ingest_run.new_submissions(home, reference(home), parse_as_of(as_of))


@step
def split_known(home_root: str, files: list[str]) -> tuple[list[str], dict[str, str]]:
    """The files whose content the warehouse has not seen, and the others with their SHA-256."""
    home = home_of(home_root)
    with open_warehouse(home, flow="ingest", ref=reference(home)) as con:
        return ingest_run.split_known(con, home, files)


@step(retries=2, retry_delay_seconds=3)
def acknowledge_known_files(home_root: str, candidates: list[dict], hashes: dict[str, str], run_id: str) -> list[dict]:
    """Files read in an earlier run, in one go: their paths noted, lost return files written again."""
    home = home_of(home_root)
    ref = reference(home)
    with open_warehouse(home, flow="ingest", ref=ref) as con:
        known = [(c, hashes[c.rel_path]) for c in (candidate_from_fields(home, info) for info in candidates)]
        return [outcome.counts() for outcome in acknowledge_known(con, home, ref, known, run_id)]


RETRIES, RETRY_DELAY_SECONDS = 2, 3


@step
def ingest_new_files(home_root: str, candidates: list[dict], as_of: str, run_id: str, baseline: bool,
                     reprocess: bool = False, parsed: dict[str, ParsedSubmission] | None = None
                     ) -> tuple[list[dict], dict[str, BaseException]]:
    """The new files in arrival order, each in its own transaction, on one connection: the counts of
    each file loaded, and the files that raised with their exception. One bad file never stops the
    others: after a failure the warehouse is opened afresh for the rest. (One step and one
    connection for all: a step and an open per file cost 0.1 s a file, more than a small file's load.)"""
    home = home_of(home_root)
    ref = reference(home)
    settings = IngestSettings(parse_as_of(as_of), run_id, baseline)
    outcomes: list[dict] = []
    failed: dict[str, BaseException] = {}
    todo = list(candidates)
    returns = ReturnsLater(outcomes, failed)
    with ParseAhead(home, ref, parsed) as ahead:
        try:
            while todo:
                try:
                    with open_warehouse(home, flow="ingest", ref=ref) as con, deferred_checkpoints(con) as ckpt:
                        _ingest_until_one_fails(con, home, ref, settings, reprocess, todo, ahead, returns, ckpt)
                except Exception as exc:  # noqa: BLE001 - no connection (busy past the timeout): the rest got none
                    failed |= {info["rel_path"]: exc for info in todo}
                    log().error("%s file(s) not read: the warehouse could not be opened (%s)", len(todo),
                                type(exc).__name__)
                    break
        finally:
            returns.finish(wait=True)
    return outcomes, failed


class ReturnsLater:
    """The files loaded so far, and the return files a worker process is still rendering for some of
    them while the writer goes on with the next files. Each is put in place once rendered, all of
    them before the step ends. One that cannot be finished leaves its file without a receipt: the
    file fails by name (the warehouse holds it; the next run writes its return files again)."""

    def __init__(self, outcomes: list[dict], failed: dict[str, BaseException]) -> None:
        self.outcomes, self.failed = outcomes, failed
        self.rendering: list[tuple[str, PendingReturn]] = []
        self.pending: list[PendingReturn] = []  # where ingest_file leaves the one file's

    def loaded(self, rel_path: str, counts: dict) -> None:
        self.outcomes.append(counts)
        self.rendering += [(rel_path, p) for p in self.pending]
        self.pending.clear()
        self.finish(wait=False)

    def raised(self, rel_path: str, exc: BaseException) -> None:
        """A file that raised: recorded against it; anything it left rendering is dropped, never
        put in place under the next file's name."""
        for pending in self.pending:
            with contextlib.suppress(Exception):
                pending.abandon()
        self.pending.clear()
        self.failed[rel_path] = exc
        log().error("file %s failed: %s", rel_path, type(exc).__name__)

    def finish(self, wait: bool) -> None:
        if wait:
            self._take_back_queued()
        for rel, pending in list(self.rendering):
            if wait or pending.ready():
                self._finish_one(rel, pending)

    def _take_back_queued(self) -> None:
        """Every file is loaded: the workbooks the worker has not started yet are rendered here, from
        the last one back, while the worker renders the first ones (both cores on the queue)."""
        while True:
            for rel, pending in reversed(self.rendering):
                if pending.job is not None and pending.job.cancel():
                    self._finish_one(rel, pending)  # rendered here (its job was cancelled)
                    break
            else:
                return

    def _finish_one(self, rel: str, pending: PendingReturn) -> None:
        self.rendering.remove((rel, pending))
        try:
            pending.finish()
        except Exception as exc:  # noqa: BLE001 - this file has no receipt; the others go on
            with contextlib.suppress(Exception):
                pending.abandon()  # no half-made workbook left beside the town's files
            self.failed[rel] = exc
            self.outcomes[:] = [o for o in self.outcomes if o["rel_path"] != rel]
            log().error("file %s: its return files could not be written: %s", rel, type(exc).__name__)


class ParseAhead:
    """The next file read and normalised on a second thread while this one is checked and loaded
    (that part touches no warehouse, and Polars, DuckDB and the readers' native code share the
    cores). A file whose parse ahead raised is parsed again by the writer, where its error is
    recorded against it. `parsed`: files parsed elsewhere already (Dask)."""

    def __init__(self, home: Home, ref, parsed: dict[str, ParsedSubmission] | None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.home, self.ref = home, ref
        self.parsed = dict(parsed or {})
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-ahead")
        self.futures: dict = {}

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def start(self, info: dict) -> None:
        rel = info["rel_path"]
        if rel not in self.parsed and rel not in self.futures:
            self.futures[rel] = self.pool.submit(parse_submission, candidate_from_fields(self.home, info), self.ref)

    def take(self, info: dict) -> ParsedSubmission | None:
        rel = info["rel_path"]
        if rel in self.parsed:
            return self.parsed.pop(rel)
        future = self.futures.pop(rel, None)
        if future is None:
            return None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - the writer reads it again and records what it raises
            return None


def _ingest_until_one_fails(con, home: Home, ref, settings: IngestSettings, reprocess: bool, todo: list[dict],
                            ahead: ParseAhead, returns: ReturnsLater, checkpoints: DeferredCheckpoints) -> None:
    """Take files off `todo` until one raises (recorded in `failed`: the caller opens a fresh connection)."""
    while todo:
        info = todo.pop(0)
        parsed = ahead.take(info)
        if todo and not reprocess:
            ahead.start(todo[0])
        try:
            counts = _ingest_with_retries(con, home, ref, info, settings, reprocess, parsed, returns.pending)
        except Exception as exc:  # noqa: BLE001 - recorded against the file; the others go on
            returns.raised(info["rel_path"], exc)
            return
        returns.loaded(info["rel_path"], counts)
        checkpoints.loaded(counts["rows_read"])


def _ingest_with_retries(con, home: Home, ref, info: dict, settings: IngestSettings, reprocess: bool,
                         parsed: ParsedSubmission | None, later: list[PendingReturn]) -> dict:
    """One file; an OSError (a share that blinked) reads it again, up to RETRIES times."""
    attempt = 0
    while True:
        try:
            return ingest_file(con, home, ref, candidate_from_fields(home, info), settings, parsed=parsed,
                               reprocess=reprocess, later=later).counts()
        except OSError:
            if attempt == RETRIES:
                raise
            attempt += 1
            log().warning("file %s: OSError, read again in %s s", info["rel_path"], RETRY_DELAY_SECONDS)
            time.sleep(RETRY_DELAY_SECONDS)
            parsed = None


@step
def notify_towns(home_root: str, run_id: str, as_of: str, cycle_id: str | None = None) -> dict[str, str]:
    """One digest per town about what this run returned to it (read from the warehouse); queued in a cycle."""
    home = home_of(home_root)
    with open_warehouse(home, flow="ingest", ref=reference(home)) as con:
        return tell_ingest(con, home, reference(home), run_id, parse_as_of(as_of), cycle_id)


@flow(name="ingest", on_failure=[report_failure])
def ingest_flow(home: str | None = None, as_of: str | None = None, baseline: bool = False,
                reprocess: str | None = None, notify: bool = True, cycle_id: str | None = None,
                parse_workers: int = 0, dask_address: str | None = None) -> dict:
    """Read every new submission under inbox/<town_code>/ (or re-read one by SHA).

    parse_workers / dask_address: parse the new files ahead on a Dask cluster (see the module doc)."""
    home = str(Home.resolve(home).require().root)
    as_of = (parse_as_of(as_of) or today_shanghai()).isoformat()
    found = call(find_new_submissions, home, as_of)
    files = found["files"]
    if reprocess:
        files = [f for f in files if sha256_of(Path(home) / f).startswith(reprocess)][:1]
        if not files:
            raise ValueError(f"no submission in the inbox has SHA-256 {reprocess}")
    for folder in found["unknown_folders"]:
        log().warning("inbox folder %s is not one of the 21 towns: its cases are rejected (V02)", folder)
    failed: dict[str, BaseException] = {}  # files that got no receipt, and why
    with audited("ingest", home, as_of, {"baseline": baseline, "reprocess": reprocess},
                 inputs=partial(ingest_run.files_digest, files), apply_actions=True) as run:
        fresh, known = (files, {}) if reprocess else run(split_known, home, files)
        outcomes: list[dict] = []
        if known:
            try:
                outcomes += run(acknowledge_known_files, home, [found["candidates"][f] for f in known], known,
                                run.run_id)
            except Exception as exc:  # returns of old files lost and not rewritable: the new files still go on
                run.error, failed[f"{len(known)} files read before"] = f"files read before: {type(exc).__name__}", exc
                log().error("noting the %s files read before failed: %s", len(known), type(exc).__name__)
        spread = (parse_workers > 0 or bool(dask_address)) and not reprocess
        parsed = parse_ahead(home, [found["candidates"][f] for f in fresh], parse_workers, dask_address) \
            if spread and fresh else {}
        parsed_ahead = len(parsed)
        if fresh:
            try:
                loaded, raised = run(ingest_new_files, home, [found["candidates"][f] for f in fresh], as_of,
                                     run.run_id, baseline, bool(reprocess), parsed)
            except Exception as exc:  # no connection at all (the warehouse busy past the timeout, ...)
                loaded, raised = [], {f"{len(fresh)} new files": exc}
            outcomes += loaded
            failed |= raised
            if raised:
                first = next(iter(raised))
                run.error = run.error or f"{first}: {type(raised[first]).__name__}"
        run.summary |= ingest_run.run_summary(found, files, outcomes, len(failed))
        if spread:
            run.summary["parsed_ahead"] = parsed_ahead
        if notify:  # also when nothing is new: a killed run's items are queued and sent by this one
            run.summary["notified"] = run(notify_towns, home, run.run_id, as_of, cycle_id)
        beyond = ingest_run.calendar_fallback_years(reference(home_of(home)))
        if beyond:  # one warning per run (SPEC §4 holidays)
            log().warning("working days in %s are counted Monday-Friday: outside the years of the holidays table "
                          "(a newer year needs a newer holidays.csv in reference/)", ", ".join(map(str, beyond)))
            run.summary["calendar_fallback_years"] = beyond
    s = run.summary
    log().info("ingest: %s new files, %s rows read, %s accepted, %s rejected, %s warned", s["files_new"],
               s["rows_read"], s["rows_accepted"], s["rows_rejected"], s["rows_warned"])
    if s["files_new"]:
        artifact("table", key="ingest-files", table=ingest_run.file_table(outcomes),
                 description=f"Ingest {as_of}: files and row counts (no personal data)")
    if failed:  # the others were loaded and told; the run still ends failed, and so does the command
        raise failed_files(failed, len(files), run.run_id)
    return s

