"""The `jiuzhu` command line (SPEC §8).

Commands that run no flow (help, synth, verify, findings list) never import
Prefect: flows are imported inside the commands that run them.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from jiuzhu.commands import AsOfOpt, HomeOpt, fail
from jiuzhu.home import Home, parse_as_of

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

    with stage_progress() as progress:
        summary = generate(
            out, households=households, seed=seed, as_of=_as_of(as_of) or DEFAULT_AS_OF, formats=formats,
            progress=progress,
        )
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
    """Run one flow now (through Prefect)."""
    if flow not in FLOWS:
        fail(f"unknown flow {flow!r}; choose one of: {', '.join(FLOWS)}")
    h = Home.resolve(home)
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
        params["period"] = period
    result = _run_guarded(lambda: flow_fn(**params))
    if isinstance(result, dict):
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def _run_guarded(call):
    from jiuzhu.reference import ReferenceError
    from warehouse.connection import WarehouseBusy, WarehouseMissing
    from warehouse.migrate import MigrationError

    try:
        return call()
    except (ReferenceError, WarehouseBusy, WarehouseMissing, MigrationError, ValueError, OSError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


@app.command()
def serve(home: HomeOpt = None) -> None:
    """Serve every flow on its schedule (Asia/Shanghai) against the Prefect server in PREFECT_API_URL."""
    import os

    from jiuzhu.serve import serve as serve_all

    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: start `prefect server start` and export "
             "PREFECT_API_URL=http://127.0.0.1:4200/api first (schedules only fire on a real server)")
    serve_all(home=str(Home.resolve(home).root))


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
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("created by jiuzhu demo\n", encoding="utf-8")
    _run_guarded(lambda: run_demo(Home(root), households=households, echo=typer.echo))


from jiuzhu.commands.findings import app as findings_app  # noqa: E402
from jiuzhu.commands.payments import app as payments_app  # noqa: E402
from jiuzhu.commands.sample import app as sample_app  # noqa: E402

app.add_typer(findings_app, name="findings")
app.add_typer(payments_app, name="payments")
app.add_typer(sample_app, name="sample")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
