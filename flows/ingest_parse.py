"""Subflow `ingest-parse` (docs/scaling.md): the new files read and normalised ahead,
in parallel on Prefect's Dask task runner. It touches no warehouse; the writer
(flows/ingest.py) validates and loads each file itself, in arrival order."""

from __future__ import annotations

from prefect import flow, unmapped

from core.reference import load_reference
from flows.steps import home_of, log, step
from intake.discover import candidate_from_fields
from intake.pipeline import ParsedSubmission, parse_submission


@step(retries=1, retry_delay_seconds=3)
def parse_one_file(home_root: str, candidate_info: dict) -> ParsedSubmission:
    """Read and normalise one file; no warehouse (runs on a Dask worker)."""
    home = home_of(home_root)
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
            log().warning("parsing %s ahead failed; the writer reads it itself", info["rel_path"])
    return parsed


def dask_task_runner(parse_workers: int, dask_address: str | None):
    """Prefect's Dask task runner: an existing cluster, or a local one of `parse_workers` processes."""
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address, client_kwargs={"timeout": "10s"})  # a cluster down fails fast
    return DaskTaskRunner(cluster_kwargs={"n_workers": parse_workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


def parse_ahead(home_root: str, candidates: list[dict], parse_workers: int, dask_address: str | None) -> dict:
    """The files parsed ahead on Dask, by path; none when no cluster could be had (slower, not stopped)."""
    try:
        return parse_files.with_options(task_runner=dask_task_runner(parse_workers, dask_address))(
            home_root, candidates)
    except Exception as exc:  # noqa: BLE001 - no cluster: the writer reads the files itself
        log().warning("parsing ahead on Dask failed (%s: %s); the writer reads the files itself",
                      type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
        return {}
