"""The `jiuzhu` command line (SPEC §8).

Commands that run no flow (help, synth, verify, findings list) never import
Prefect: flows are imported inside the commands that run them.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from core.home import Home, parse_as_of
from core.periods import parse_period
from core.permissions import restrict_umask
from jiuzhu.commands import AsOfOpt, HomeOpt, NewHomeOpt, fail

app = typer.Typer(
    name="jiuzhu",
    help="救助 jiuzhu: the district bureau's dibao/tekun data pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


DEMO_MARKER = ".jiuzhu-demo"
PERIOD_FLOWS = ("close-month", "sample", "report", "cycle")
# flow name -> (module, function); modules are imported only when a flow runs
FLOWS: dict[str, tuple[str, str]] = {
    "reference": ("flows.reference", "reference_flow"),
    "ingest": ("flows.ingest", "ingest_flow"),
    "validate": ("flows.validate", "validate_flow"),
    "crosscheck": ("flows.crosscheck", "crosscheck_flow"),
    "close-month": ("flows.close_month", "close_month_flow"),
    "sample": ("flows.sample", "sample_flow"),
    "inspections": ("flows.sample", "inspections_flow"),
    "report": ("flows.report", "report_flow"),
    "cycle": ("flows.cycle", "cycle_flow"),
}


def _as_of(text: str | None) -> date | None:
    try:
        return parse_as_of(text)
    except ValueError:
        fail(f"--as-of must be YYYY-MM-DD, got {text!r}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the synthetic data home into.")],
    households: Annotated[int, typer.Option(help="Number of households.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed and as-of give identical files).")] = 20251231,
    as_of: AsOfOpt = None,
    formats: Annotated[str, typer.Option(help="mixed (every format and messy variant) or csv.")] = "mixed",
) -> None:
    """Write a synthetic district (submissions, registries, ground truth) into a data home."""
    from jiuzhu.progress import stage_progress
    from synth import DEFAULT_AS_OF, generate

    restrict_umask()
    with stage_progress() as progress:
        summary = generate(
            out, households=households, seed=seed, as_of=_as_of(as_of) or DEFAULT_AS_OF, formats=formats,
            progress=progress,
        )
    _guarded(lambda: Home(out.expanduser().resolve()).ensure())  # synth creates its home (SPEC §8)
    typer.echo(summary.describe())


@app.command()
def run(
    flow: Annotated[str, typer.Argument(help="Flow to run now: " + ", ".join(FLOWS) + ".")],
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="ingest: load the go-live caseload.")] = False,
    reprocess: Annotated[
        str | None, typer.Option("--reprocess", help="ingest: re-read the file with this SHA-256 (or prefix).")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="validate: re-check every current version.")
    ] = False,
    period: Annotated[
        str | None,
        typer.Option("--period", help="YYYY-MM: close-month (default this month), sample and report (last month).",
                     show_default=False),
    ] = None,
    parse_workers: Annotated[
        int, typer.Option("--parse-workers", min=0,
                          help="ingest, cycle: parse new files ahead on a local Dask cluster of N processes.")
    ] = 0,
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", show_default=False,
                                 help="ingest, cycle: parse on this Dask scheduler (tcp://host:8786) instead.")
    ] = None,
) -> None:
    """Run one flow now (through Prefect).

    Exits 1 with one line when any part failed (a file without a receipt, a step of the
    cycle), naming it and the log file with the details."""
    if flow not in FLOWS:
        fail(f"unknown flow {flow!r}; choose one of: {', '.join(FLOWS)}")
    h = Home.resolve(home)  # --home's callback refused a missing home
    restrict_umask()
    _as_of(as_of)
    if (baseline or reprocess) and flow != "ingest":
        fail("--baseline and --reprocess belong to `jiuzhu run ingest`")
    if all_versions and flow != "validate":
        fail("--all belongs to `jiuzhu run validate`")
    if (parse_workers or dask_address) and flow not in ("ingest", "cycle"):
        fail("--parse-workers and --dask-address belong to `jiuzhu run ingest` and `jiuzhu run cycle`")
    module, function = FLOWS[flow]
    import importlib

    flow_fn = getattr(importlib.import_module(module), function)
    params: dict = {"home": str(h.root), "as_of": as_of}
    if flow == "ingest":
        params |= {"baseline": baseline, "reprocess": reprocess}
    if flow == "validate":
        params |= {"all": all_versions}
    if parse_workers or dask_address:
        params |= {"parse_workers": parse_workers, "dask_address": dask_address}
    if period is not None:
        if flow not in PERIOD_FLOWS:
            fail(f"--period does not apply to {flow}")
        _guarded(lambda: parse_period(period))
        params["period"] = period
    _guarded(lambda: _load_reference(h))
    _guarded(lambda: _check_notify_yaml(h))  # a bad reference override is refused before Prefect starts
    result = _run_flow(flow, h, lambda: flow_fn(**params))
    if isinstance(result, dict):
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def _load_reference(h: Home):
    from core.reference import load_reference

    return load_reference(h.reference)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _operator_errors() -> tuple[type[BaseException], ...]:
    """Errors whose one line says all there is (no traceback is worth keeping)."""
    from core.home import HomeMissing
    from core.reference import ReferenceError
    from jiuzhu.commands.backup import BackupError
    from jiuzhu.commands.init import NotAHomeFolder
    from warehouse.connection import WarehouseBusy, WarehouseMissing
    from warehouse.migrate import MigrationError

    return (HomeMissing, ReferenceError, WarehouseBusy, WarehouseMissing, MigrationError, BackupError,
            NotAHomeFolder)


def _guarded(call):
    """Run a command's work; any failure exits 1 with one line."""
    try:
        return call()
    except typer.Exit:
        raise
    except _operator_errors() as exc:
        fail(_first_line(exc))
    except (ValueError, OSError) as exc:
        fail(_first_line(exc))
    except Exception as exc:  # noqa: BLE001 - every command fails with one line (SPEC §8)
        fail(f"{type(exc).__name__}: {_first_line(exc)}")


def _run_flow(name: str, home: Home, call):
    """Run a flow; on failure exit 1 with one line naming what failed and the log with its details
    (written by the flow's failure hook, or here when the flow never started)."""
    from flows.runtime import FAILURE_LOGS, failure_details, failure_line
    from warehouse.audit import write_failure_log

    before = set(FAILURE_LOGS)
    try:
        return call()
    except typer.Exit:
        raise
    except _operator_errors() as exc:
        fail(_first_line(exc))
    except Exception as exc:  # noqa: BLE001 - a step that raised, or files without a receipt
        logs = [path for run, path in FAILURE_LOGS.items() if run not in before]
        log_path = logs[-1] if logs else write_failure_log(home, name, "command", failure_details(exc))
        line = failure_line(name, exc)
        fail(f"{line}; details: {log_path}" if log_path else line)


@app.command()
def serve(home: HomeOpt = None) -> None:
    """Serve every flow on its schedule (Asia/Shanghai) against the Prefect server in PREFECT_API_URL."""
    import os

    from jiuzhu.serve import ServeClash
    from jiuzhu.serve import serve as serve_all

    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: start `prefect server start` and export "
             "PREFECT_API_URL=http://127.0.0.1:4200/api first (schedules only fire on a real server)")
    restrict_umask()
    h = Home.resolve(home)
    _guarded(lambda: _load_reference(h))
    _guarded(lambda: _check_notify_yaml(h))
    try:
        serve_all(home=str(h.root))
    except ServeClash as exc:
        fail(str(exc))


def _check_notify_yaml(h: Home) -> None:
    """A notify.yaml URL apprise cannot use is an error at start, naming the line."""
    if h.notify_yaml.is_file():
        from notify import check_notify_config

        check_notify_config(h.notify_yaml)


@app.command()
def init(home: NewHomeOpt = None) -> None:
    """Create a data home on purpose: folders, warehouse, reference tables, file permissions.

    On an existing home: bring the schema up to date, reload the reference tables and
    re-apply the file permissions to every file. Refuses a non-empty folder that is no home."""
    from jiuzhu.commands.init import init_home

    restrict_umask()
    root = Home.resolve(home).root
    done = _guarded(lambda: init_home(root))
    what = "created data home" if done["created"] else "data home brought up to date:"
    typer.echo(f"{what} {root} (warehouse migrated, {done['reference_rows']:,} reference rows loaded, "
               f"permissions applied to {done['paths_secured']:,} paths)")


@app.command()
def backup(
    home: HomeOpt = None,
    to: Annotated[Path | None, typer.Option(
        "--to", show_default=False,
        help="Archive to write (.tar, or .tar.gz/.tgz compressed), or a folder for it "
             "(default: ./jiuzhu-backup-<home>-<time>.tar).")] = None,
    with_out: Annotated[bool, typer.Option("--with-out", help="Also everything under out/.")] = False,
    with_inputs: Annotated[bool, typer.Option("--with-inputs", help="Also inbox/ and registries/.")] = False,
) -> None:
    """Back up the warehouse and the home's state into one archive, under the writer lock."""
    from jiuzhu.commands.backup import backup as make_backup
    from jiuzhu.progress import stage_progress

    restrict_umask()
    with stage_progress() as progress:
        result = _guarded(lambda: make_backup(Home.resolve(home), to, with_out=with_out,
                                              with_inputs=with_inputs, progress=progress))
    typer.echo(result.describe())


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A backup written by `jiuzhu backup`.")],
    home: Annotated[Path, typer.Option("--home", help="A new or empty folder to restore the home into.")],
) -> None:
    """Restore a backup into a new data home (never over an existing one)."""
    from jiuzhu.commands.backup import restore as restore_backup
    from jiuzhu.progress import stage_progress

    restrict_umask()
    with stage_progress() as progress:
        done = _guarded(lambda: restore_backup(archive, home, progress=progress))
    typer.echo(f"restored {done['files']} files of the backup of {done['backup_created_at']} into {done['home']}"
               f" ({done['runs_marked_crashed']} run(s) in progress at backup time marked crashed)")


@app.command()
def demo(
    home: Annotated[Path, typer.Option("--home", help="Demo home; refused if jiuzhu's demo did not create it.")] = Path(
        "jiuzhu-demo"
    ),
    households: Annotated[int, typer.Option(help="Households in the synthetic district.")] = 300,
) -> None:
    """Build a synthetic district and run the whole cycle once, printing what it produced and where."""
    from jiuzhu.demo import run_demo

    root = home.expanduser().resolve()
    if root.exists() and any(root.iterdir()) and not (root / DEMO_MARKER).exists():
        fail(f"{root} exists and was not created by `jiuzhu demo`; choose another --home")
    if (root / DEMO_MARKER).exists():
        shutil.rmtree(root)
    restrict_umask()
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("created by jiuzhu demo\n", encoding="utf-8")
    server = None
    if not os.environ.get("PREFECT_API_URL"):  # a temporary server keeps the demo's runs in the demo home
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
        from flows.local_server import LocalServer
        from flows.prefect_db import seed_prefect_home

        seed_prefect_home(Path(os.environ["PREFECT_HOME"]))  # migrated at installation (flows/prefect_db.py)
        server = LocalServer()  # boots while the district is built (flows/local_server.py)
        os.environ["PREFECT_API_URL"] = server.start()
        os.environ.setdefault("PREFECT_UI_URL", "")  # it serves no UI: no "View at" links to it
    _run_flow("demo", Home(root), lambda: run_demo(Home(root), households=households, echo=typer.echo,
                                                    server=server))


from jiuzhu.commands.findings import app as findings_app  # noqa: E402
from jiuzhu.commands.payments import app as payments_app  # noqa: E402
from jiuzhu.commands.sample import app as sample_app  # noqa: E402
from jiuzhu.commands.template import template as template_command  # noqa: E402
from jiuzhu.commands.users import app as users_app  # noqa: E402
from jiuzhu.commands.web import web as web_command  # noqa: E402

app.add_typer(findings_app, name="findings")
app.add_typer(payments_app, name="payments")
app.add_typer(sample_app, name="sample")
app.command("template")(template_command)
app.add_typer(users_app, name="users")
app.command("web")(web_command)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
