"""`jiuzhu demo`: build a synthetic district and run the whole cycle on it.

The demo creates its home itself (`synth`, then what `jiuzhu init` does: the
warehouse, the reference tables, the file permissions). The synthetic home's
year is replayed in order, the way the bureau would have lived it: the go-live baseline load, then one district cycle (ingest →
crosscheck → close-month from the close day → sample → report → one digest per
town) on every day the towns sent files, with `--as-of` standing in for
today. Everything runs through Prefect (its temporary local server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from jiuzhu.home import Home


def run_demo(home: Home, *, households: int, echo: Callable[[str], None]) -> None:
    from jiuzhu.progress import stage_progress
    from synth import generate

    echo(f"Building a synthetic district of {households:,} households in {home.root} ...")
    with stage_progress() as progress:
        summary = generate(home.root, households=households, progress=progress)
    echo(summary.describe())
    from jiuzhu.commands.init import init_home

    init_home(home.root)  # the demo creates its home on purpose, like `jiuzhu init`

    from flows.cycle import cycle_flow
    from flows.ingest import ingest_flow
    from flows.reference import reference_flow

    started = time.perf_counter()
    echo("Prefect: loading the reference tables ...")
    reference_flow(home=str(home.root), as_of=summary.baseline_as_of.isoformat())
    echo(f"Prefect: go-live baseline load as of {summary.baseline_as_of} ...")
    ingest_flow(home=str(home.root), as_of=summary.baseline_as_of.isoformat(), baseline=True)
    days = sorted(set(summary.submission_days))
    for n, day in enumerate(days, 1):
        echo(f"Prefect: district cycle {n}/{len(days)} as of {day} ...")
        cycle_flow(home=str(home.root), as_of=day.isoformat())
    echo(f"Replayed {len(days)} cycles in {time.perf_counter() - started:,.0f} s.")
    echo("")
    echo("What is where:")
    for label, path in places(home):
        echo(f"  {label:<34} {path}  ({_count(path)})")
    echo("")
    echo("Open out/reports/<month>/report.html in a browser; query warehouse/analyst.duckdb with DuckDB.")


def places(home: Home) -> list[tuple[str, Path]]:
    return [
        ("town submissions", home.inbox),
        ("registry extracts", home.registries),
        ("planted anomalies (ground truth)", home.ground_truth),
        ("return files and receipts", home.out / "returns"),
        ("cross-check reports (核对报告)", home.out / "crosscheck"),
        ("payment batches, holds, recoveries", home.out / "payments"),
        ("spot-inspection lists", home.out / "spotcheck"),
        ("monthly statistics", home.out / "reports"),
        ("validation Data Docs", home.out / "validation"),
        ("notifications (outbox)", home.outbox),
        ("analyst copy", home.analyst),
        ("warehouse", home.warehouse),
    ]


def _count(path: Path) -> str:
    if path.is_file():
        return f"{path.stat().st_size / 1e6:,.1f} MB"
    if path.is_dir():
        return f"{sum(1 for p in path.rglob('*') if p.is_file()):,} files"
    return "not produced"

