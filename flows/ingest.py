"""Flow `ingest` (SPEC §2): town submissions into the warehouse, every row
accounted for, a return file and receipt for each, one digest per town.

Scale-out (docs/scaling.md): with `parse_workers=N` (a local Dask cluster of N
processes) or `dask_address` (an existing cluster whose workers see the same
data home), the new files are first read and normalised in parallel by the
subflow `ingest-parse` on Prefect's Dask task runner. That work touches no
warehouse; the V-rules, the load and the return files still run here, in the
one writer process, file after file in arrival order.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from core.home import Home, parse_as_of, today_shanghai
from core.reference import load_reference
from flows.officer_actions import apply_queued_actions
from flows.runtime import report_failure
from intake.discover import candidate_fields, candidate_from_fields, discover, sha256_of
from intake.pipeline import IngestSettings, ParsedSubmission, acknowledge_known, ingest_file, parse_submission
from notify.queue import notify_or_queue, open_counts_by_tag
from notify.sources import ingest_items
from warehouse.audit import RunFailed, finish_run, inputs_digest, start_run
from warehouse.connection import open_warehouse
from warehouse.ingest_load import known_hashes


@task(cache_policy=NO_CACHE)
def find_new_submissions(home_root: str, as_of: str) -> dict:
    home, ref = Home(Path(home_root)), load_reference(Path(home_root) / "reference")
    found = discover(home, frozenset(ref.town_codes), parse_as_of(as_of))
    return {
        "files": [c.rel_path for c in found.candidates],
        "candidates": {c.rel_path: candidate_fields(c) for c in found.candidates},
        "ignored": found.ignored,
        "unknown_folders": found.unknown_folders,
        "not_yet_arrived": found.not_yet_arrived,
    }


@task(cache_policy=NO_CACHE)
def open_run(home_root: str, as_of: str, files: list[str], params: dict) -> str:
    home = Home(Path(home_root))
    digest = inputs_digest(sha256_of(home.root / f) for f in files)
    with open_warehouse(home, flow="ingest") as con:
        apply_queued_actions(con, home, load_reference(home.reference))  # officers' actions queued meanwhile
        return start_run(con, "ingest", parse_as_of(as_of), digest, params)


@task(cache_policy=NO_CACHE)
def split_known(home_root: str, files: list[str]) -> tuple[list[str], dict[str, str]]:
    """The files whose content the warehouse has not seen, and the others with their SHA-256."""
    home = Home(Path(home_root))
    with open_warehouse(home, flow="ingest") as con:
        known = known_hashes(con)
    hashes = {f: sha256_of(home.root / f) for f in files}
    return [f for f in files if hashes[f] not in known], {f: h for f, h in hashes.items() if h in known}


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=3)
def acknowledge_known_files(home_root: str, candidates: list[dict], hashes: dict[str, str], run_id: str) -> list[dict]:
    """Files read in an earlier run, in one go: their paths noted, lost return files written again."""
    home = Home(Path(home_root))
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="ingest", ref=ref) as con:
        return [
            acknowledge_known(con, home, ref, c, hashes[c.rel_path], run_id).counts()
            for c in (candidate_from_fields(home, info) for info in candidates)
        ]


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=3)
def parse_one_file(home_root: str, candidate_info: dict) -> ParsedSubmission:
    """Read and normalise one file; no warehouse (runs on a Dask worker)."""
    home = Home(Path(home_root))
    return parse_submission(candidate_from_fields(home, candidate_info), load_reference(home.reference))


@flow(name="ingest-parse")
def parse_files(home_root: str, candidates: list[dict]) -> dict[str, ParsedSubmission]:
    """Parse files in parallel on this flow's task runner. A file whose parse failed is left out:
    the writer parses it again itself, where its error is recorded against the file."""
    futures = parse_one_file.map(unmapped(home_root), candidates)
    parsed = {}
    for info, future in zip(candidates, futures, strict=True):
        future.wait()
        if future.state.is_completed():
            parsed[info["rel_path"]] = future.result()
        else:
            get_run_logger().warning("parsing %s ahead failed; the writer reads it itself", info["rel_path"])
    return parsed


def dask_task_runner(parse_workers: int, dask_address: str | None):
    """Prefect's Dask task runner: an existing cluster, or a local one of `parse_workers` processes."""
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address, client_kwargs={"timeout": "10s"})  # a cluster down fails fast
    return DaskTaskRunner(cluster_kwargs={"n_workers": parse_workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=3,
      retry_condition_fn=lambda task, run, state: isinstance(state.result(raise_on_failure=False), OSError))
def ingest_one_file(home_root: str, candidate_info: dict, as_of: str, run_id: str, baseline: bool,
                    reprocess: bool = False, parsed: ParsedSubmission | None = None) -> dict:
    home = Home(Path(home_root))
    ref = load_reference(home.reference)
    candidate = candidate_from_fields(home, candidate_info)
    with open_warehouse(home, flow="ingest", ref=ref) as con:
        outcome = ingest_file(con, home, ref, candidate, IngestSettings(parse_as_of(as_of), run_id, baseline),
                              parsed=parsed, reprocess=reprocess)
    return outcome.counts()


@task(cache_policy=NO_CACHE)
def notify_towns(home_root: str, run_id: str, as_of: str, cycle_id: str | None = None) -> dict[str, str]:
    """One digest per town about what this run returned to it (read from the
    warehouse, so no personal data passes between tasks); queued inside a cycle."""
    home = Home(Path(home_root))
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="ingest", ref=ref) as con:
        return notify_or_queue(con, home, ref, run_id, ingest_items(con, run_id), open_counts_by_tag(con), "报送接收",
                               parse_as_of(as_of), cycle_id, "ingest")


@task(cache_policy=NO_CACHE)
def close_run(home_root: str, run_id: str, summary: dict, error: str | None) -> None:
    with open_warehouse(Home(Path(home_root)), flow="ingest") as con:
        finish_run(con, run_id, "failed" if error else "completed", summary, error)


def _total_seconds(per_file) -> dict[str, float]:
    """Seconds per ingest step, summed over files (read, normalise, validate = the V-rules, load, ...)."""
    total: dict[str, float] = {}
    for seconds in per_file:
        for step, s in seconds.items():
            total[step] = round(total.get(step, 0.0) + s, 3)
    return total


def calendar_fallback_years(home_root: str) -> list[int]:
    """Years this process counted Monday-Friday because the holidays table ends before them."""
    from checks.validation import working_calendar

    ref = load_reference(Home(Path(home_root)).reference)
    return sorted(working_calendar(ref["holidays"]).fallback_years)


def failed_files(failed: dict[str, BaseException], files: int, run_id: str) -> RunFailed:
    """The one line (and the tracebacks) when files got no receipt; the other files were loaded."""
    from flows.runtime import failure_details

    first, exc = next(iter(failed.items()))
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    line = (f"ingest failed: {len(failed)} of {files} file(s) got no receipt ({first}: {type(exc).__name__}{more}); "
            f"the other files were loaded; audit.runs run {run_id}")
    return RunFailed(line, "\n".join(f"--- {rel}\n{failure_details(e)}" for rel, e in failed.items()))


@flow(name="ingest", on_failure=[report_failure])
def ingest_flow(home: str | None = None, as_of: str | None = None, baseline: bool = False,
                reprocess: str | None = None, notify: bool = True, cycle_id: str | None = None,
                parse_workers: int = 0, dask_address: str | None = None) -> dict:
    """Read every new submission under inbox/<town_code>/ (or re-read one by SHA).

    parse_workers / dask_address: parse the new files ahead on a Dask cluster (see the module doc)."""
    log = get_run_logger()
    home = str(Home.resolve(home).require().root)
    as_of = (parse_as_of(as_of) or today_shanghai()).isoformat()
    found = find_new_submissions(home, as_of)
    files = found["files"]
    if reprocess:
        files = [f for f in files if sha256_of(Path(home) / f).startswith(reprocess)][:1]
        if not files:
            raise ValueError(f"no submission in the inbox has SHA-256 {reprocess}")
    for folder in found["unknown_folders"]:
        log.warning("inbox folder %s is not one of the 21 towns: its cases are rejected (V02)", folder)
    run_id = open_run(home, as_of, files, {"baseline": baseline, "reprocess": reprocess})
    # files read before cost one task in all, not one each (the inbox keeps every file of the year)
    fresh, known = (files, {}) if reprocess else split_known(home, files)
    outcomes: list[dict] = []
    error = None
    failed: dict[str, BaseException] = {}  # files that got no receipt, and why
    if known:
        try:
            outcomes += acknowledge_known_files(home, [found["candidates"][f] for f in known], known, run_id)
        except Exception as exc:  # returns of old files lost and not rewritable: the new files still go on
            error = f"files read before: {type(exc).__name__}"
            failed[f"{len(known)} files read before"] = exc
            log.error("noting the %s files read before failed: %s", len(known), type(exc).__name__)
    parsed: dict[str, ParsedSubmission] = {}
    spread = (parse_workers > 0 or bool(dask_address)) and not reprocess
    if spread and fresh:
        try:
            parsed = parse_files.with_options(task_runner=dask_task_runner(parse_workers, dask_address))(
                home, [found["candidates"][f] for f in fresh])
        except Exception as exc:  # no cluster: slower, not stopped
            log.warning("parsing ahead on Dask failed (%s: %s); the writer reads the files itself",
                        type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
    parsed_ahead = len(parsed)
    for rel in fresh:
        try:
            outcomes.append(
                ingest_one_file(home, found["candidates"][rel], as_of, run_id, baseline, bool(reprocess),
                                parsed.pop(rel, None))
            )
        except Exception as exc:  # one bad file never stops the others
            error = error or f"{rel}: {type(exc).__name__}"
            failed[rel] = exc
            log.error("file %s failed: %s", rel, type(exc).__name__)
    new = [o for o in outcomes if o["status"] != "known"]
    summary = {
        "files_seen": len(files), "files_new": len(new), "files_known": len(outcomes) - len(new),
        "rows_read": sum(o["rows_read"] for o in new), "rows_accepted": sum(o["rows_accepted"] for o in new),
        "rows_rejected": sum(o["rows_rejected"] for o in new), "rows_warned": sum(o["rows_warned"] for o in new),
        "ignored": len(found["ignored"]), "unknown_folders": found["unknown_folders"],
        "not_yet_arrived": found["not_yet_arrived"],
        "seconds": _total_seconds(o["seconds"] for o in new),
        "files_failed": len(failed),
    }
    if spread:
        summary["parsed_ahead"] = parsed_ahead
    if notify:  # also when nothing is new: a killed run's items are queued and sent by this one
        summary["notified"] = notify_towns(home, run_id, as_of, cycle_id)
    beyond = calendar_fallback_years(home)
    if beyond:  # one warning per run (SPEC §4 holidays)
        log.warning("working days in %s are counted Monday-Friday: outside the years of the holidays table "
                    "(a newer year needs a newer holidays.csv in reference/)", ", ".join(map(str, beyond)))
        summary["calendar_fallback_years"] = beyond
    close_run(home, run_id, summary, error)
    log.info("ingest: %s new files, %s rows read, %s accepted, %s rejected, %s warned",
             summary["files_new"], summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"],
             summary["rows_warned"])
    if new:
        create_table_artifact(
            key="ingest-files",
            table=[{k: o[k] for k in ("folder", "status", "rows_read", "rows_accepted", "rows_rejected",
                                      "rows_warned", "cases")} | {"file": Path(o["rel_path"]).name} for o in new],
            description=f"Ingest {as_of}: files and row counts (no personal data)",
        )
    if failed:  # the others were loaded and told; the run still ends failed, and so does the command
        raise failed_files(failed, len(files), run_id)
    return summary
