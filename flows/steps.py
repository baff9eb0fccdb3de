"""One runner for the steps of every flow.

A flow body names its steps in the order of the procedure and nothing else:

    with audited(FLOW, home, day, {"period": period}) as run:
        run.summary["marts"] = run(build_statistics, home, period, day)
        run.summary["reports"] = run(write_reports, home, period, day)

`audited` holds the warehouse for the whole run (one open file for all its steps:
warehouse.connection.hold_warehouse), records the run in `audit.runs` (step `open-run`:
officers' queued actions first when asked, then the run started), yields a `Run`, and at the end
records it completed, or failed with the one-line error of the exception, which
it re-raises (step `close-run`). `run(step, ...)` calls a step as its Prefect
task inside a flow run, and as the plain function outside one: the flows'
`.fn(...)` runs the same steps in this process without Prefect (tests, scripts,
benchmarks). Steps pass paths, dates and counts, never people (SPEC §9).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from core.home import Home, parse_as_of
from core.reference import Reference, load_reference
from flows.officer_actions import apply_queued_actions
from warehouse.audit import finish_run, inputs_digest, start_run
from warehouse.connection import hold_warehouse, open_warehouse


def step(fn: Callable | None = None, **options):
    """A named step: a Prefect task (no cache; its name the function's, with hyphens)."""

    def wrap(f: Callable):
        return task(f, name=f.__name__.replace("_", "-"), cache_policy=NO_CACHE, **options)

    return wrap(fn) if fn is not None else wrap


def in_flow_run() -> bool:
    """True inside a Prefect flow run (and not inside one of its tasks)."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None and TaskRunContext.get() is None


def call(fn, *args, **kwargs):
    """Run one step: its Prefect task inside a flow run, the plain function outside one."""
    return fn(*args, **kwargs) if in_flow_run() else fn.fn(*args, **kwargs)


def log() -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger, or the jiuzhu logger outside a flow run."""
    if in_flow_run():
        from prefect import get_run_logger

        return get_run_logger()
    return logging.getLogger("jiuzhu.flows")


def artifact(kind: str, **kwargs) -> None:
    """A Prefect markdown or table artifact of the flow run (none outside a flow run)."""
    if not in_flow_run():
        return
    from prefect import artifacts

    getattr(artifacts, f"create_{kind}_artifact")(**kwargs)


def home_of(home_root: str) -> Home:
    return Home(Path(home_root)).require()


@cache
def _reference_cached(folder: str, stamp: tuple) -> Reference:
    return load_reference(Path(folder))


def reference(home: Home) -> Reference:
    """The home's reference tables, read again only when a file in reference/ changed."""
    files = sorted(home.reference.glob("*.csv")) if home.reference.is_dir() else []
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _reference_cached(str(home.reference), stamp)


def reference_digest(home: Home) -> str:
    """The inputs of a run that reads only the reference tables: their fingerprint."""
    return inputs_digest([reference(home).fingerprint()])


@step
def open_run(home_root: str, flow: str, as_of: str, params: dict, inputs: Callable[[Home], str] | None,
             apply_actions: bool) -> str:
    """Officers' queued actions (writer flows), then the run recorded as started."""
    home = Home(Path(home_root))
    digest = inputs(home) if inputs is not None else None
    with open_warehouse(home, flow=flow) as con:
        if apply_actions:
            apply_queued_actions(con, home, reference(home))
        return start_run(con, flow, parse_as_of(as_of), digest, params)


@step
def close_run(home_root: str, flow: str, run_id: str, summary: dict | None, error: str | None) -> None:
    with open_warehouse(Home(Path(home_root)), flow=flow) as con:
        finish_run(con, run_id, "failed" if error else "completed", summary, error)


class Run:
    """One audited run: `run(step, *args)` calls a step; `summary` is what audit.runs records."""

    def __init__(self, flow: str, home_root: str) -> None:
        self.flow, self.home_root = flow, home_root
        self.run_id = ""
        self.summary: dict = {}
        self.error: str | None = None  # a run that did its steps but ends failed (a file without a receipt)

    def __call__(self, fn, *args, **kwargs):
        return call(fn, *args, **kwargs)


@contextlib.contextmanager
def audited(flow: str, home_root: str, as_of: str, params: dict, *, inputs: Callable[[Home], str] | None = None,
            apply_actions: bool = False, audit_view: Callable[[dict], dict] | None = None) -> Iterator[Run]:
    """Open the run, yield it, finish it completed (or failed, with `run.error` or the exception, re-raised).

    `inputs`: the digest of the run's input files, from the home; `apply_actions`: apply officers' queued
    actions first (writer flows); `audit_view`: the part of the summary audit.runs records."""
    run = Run(flow, home_root)
    view = audit_view or (lambda s: s)
    with hold_warehouse(Home(Path(home_root)), flow=flow):  # one open warehouse for all its steps
        run.run_id = run(open_run, home_root, flow, as_of, params, inputs, apply_actions)
        try:
            yield run
        except Exception as exc:
            run(close_run, home_root, flow, run.run_id, view(run.summary), f"{type(exc).__name__}: {exc}")
            raise
        run(close_run, home_root, flow, run.run_id, view(run.summary), run.error)
