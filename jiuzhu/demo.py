"""`jiuzhu demo`: build a synthetic district and run the whole cycle on it.

The demo creates its home itself (`synth`, then what `jiuzhu init` does: the
warehouse, the reference tables, the file permissions). The synthetic home's
year is replayed in order: the go-live baseline load, then one district cycle
(ingest → crosscheck → close-month → sample → report → one digest per town) on
each month's close day, with `--as-of` standing in for today, and one after the
year's last registry extracts. It ends with the planted anomalies beside what
was found, per rule. Everything runs through Prefect (its temporary local server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.home import Home

if TYPE_CHECKING:
    from flows.local_server import LocalServer

SQL_DIR = Path(__file__).resolve().parent / "sql"  # jiuzhu/sql/, the command line's statements


def run_demo(home: Home, *, households: int, echo: Callable[[str], None],
             server: LocalServer | None = None) -> None:
    """`server`: the temporary Prefect server started by the command (waited for before the first flow)."""
    from jiuzhu.progress import stage_progress
    from synth import generate

    echo(f"Building a synthetic district of {households:,} households in {home.root} ...")
    with stage_progress() as progress:
        summary = generate(home.root, households=households, progress=progress)
    echo(summary.describe())
    from jiuzhu.commands.init import init_home

    init_home(home.root)  # the demo creates its home on purpose, like `jiuzhu init`
    # the flows (and Great Expectations, 3 s, else imported by the first cycle) load while the server boots
    from checks.gx_suite import preload
    from flows.cycle import cycle_flow
    from flows.ingest import ingest_flow
    from flows.reference import reference_flow
    from flows.runtime import without_heartbeats
    from warehouse.connection import hold_warehouse

    if server is not None:
        preload()
        started = time.perf_counter()
        server.wait()
        echo(f"Prefect: temporary server at {server.api_url} (waited {time.perf_counter() - started:.1f} s for it)")

    started = time.perf_counter()
    # a temporary server: nobody watches these runs beat; one open warehouse for the whole year
    with without_heartbeats(), hold_warehouse(home, flow="demo"):
        echo("Prefect: loading the reference tables ...")
        reference_flow(home=str(home.root), as_of=summary.baseline_as_of.isoformat())
        echo(f"Prefect: go-live baseline load as of {summary.baseline_as_of} ...")
        ingest_flow(home=str(home.root), as_of=summary.baseline_as_of.isoformat(), baseline=True)
        days = cycle_days(summary.submission_days, summary.as_of)
        for n, day in enumerate(days, 1):
            echo(f"Prefect: district cycle {n}/{len(days)} as of {day} ...")
            cycle_flow(home=str(home.root), as_of=day.isoformat())
    echo(f"Replayed {len(days)} cycles in {time.perf_counter() - started:,.0f} s.")
    echo("")
    echo("Planted anomalies (ground_truth.csv) and what the pipeline found:")
    for line in planted_table(planted_and_found(home)):
        echo("  " + line)
    from core.accounts import add_demo_accounts

    echo("")
    echo(f"The workbench: .venv/bin/jiuzhu web --home {home.root}   then open http://127.0.0.1:8800/")
    for line in add_demo_accounts(home):
        echo(f"  {line}")
    echo("")
    echo("What is where:")
    for label, path in places(home):
        echo(f"  {label:<34} {path}  ({_count(path)})")
    echo("")
    for line in next_steps(home, temporary_server=server is not None):
        echo(line)


CLOSE_DAY = 25  # the synthetic towns file on the 5th, 15th and 25th; the district closes on the 25th


def cycle_days(submission_days: list[date], year_end: date) -> list[date]:
    """The days the demo runs a district cycle: each close day (its cycle ingests the month's
    files so far, cross-checks, closes, and the month's first cycle samples and reports the
    month before), then one cycle after the year's last registry extracts (dated `year_end`),
    which reports December and cross-checks against those extracts."""
    days = sorted({d for d in submission_days if d.day == CLOSE_DAY} | {max(submission_days)})
    return [*days, year_end + timedelta(days=5)]


def planted_and_found(home: Home) -> list[tuple[str, int, int]]:
    """(rule, planted, found) per rule of ground_truth.csv: a planted case counts as found
    when the warehouse holds a finding of that rule on that case (any status, since a
    finding may since have been cleared or superseded); a planted file (P01/P02) when its
    file got a finding of that rule."""
    import polars as pl

    from warehouse.connection import open_warehouse
    from warehouse.sqlfiles import sql

    truth = pl.read_csv(home.ground_truth, infer_schema=False).with_columns(pl.all().replace("", None))
    with open_warehouse(home, flow="demo", read_only=True) as con:
        found = con.sql(sql("demo_found", folder=SQL_DIR)).pl()
    by_case = truth.filter(pl.col("case_no").is_not_null()).join(
        found.select("rule_id", "town_code", "case_no").unique().with_columns(hit=pl.lit(True)),
        on=["rule_id", "town_code", "case_no"], how="left")
    by_file = truth.filter(pl.col("case_no").is_null()).join(
        found.select("rule_id", pl.col("rel_path").alias("file")).unique().with_columns(hit=pl.lit(True)),
        on=["rule_id", "file"], how="left")
    rows = pl.concat([by_case, by_file], how="diagonal_relaxed").group_by("rule_id").agg(
        planted=pl.len(), found=pl.col("hit").fill_null(False).sum()).sort("rule_id")
    return [(r, int(p), int(f)) for r, p, f in rows.iter_rows()]


def planted_table(rows: list[tuple[str, int, int]]) -> list[str]:
    from transforms.catalogue import RULES

    lines = ["规则  埋设  发现  名称", "----  ----  ----  ----"]
    lines += [f"{r:<4}  {p:>4}  {f:>4}  {RULES[r].title_zh if r in RULES else ''}" for r, p, f in rows]
    lines.append(f"合计  {sum(p for _, p, _ in rows):>4}  {sum(f for _, _, f in rows):>4}")
    return lines


def next_steps(home: Home, *, temporary_server: bool) -> list[str]:
    reports = sorted((home.out / "reports").glob("*/report.html"))
    report = reports[-1] if reports else home.out / "reports"
    return [
        "Where to look next:",
        f"  the monthly report      open {report} in a browser (it works offline)",
        *_prefect_lines(home, temporary_server),
        f"  a DuckDB query          .venv/bin/python -c \"import duckdb; print(duckdb.connect('{home.analyst}',"
        " read_only=True).sql('SELECT period, sum(households_closing) FROM mart.caseload_monthly"
        " GROUP BY ALL ORDER BY 1'))\"",
        f"  open findings           .venv/bin/jiuzhu findings list --home {home.root}",
    ]


def _prefect_lines(home: Home, temporary_server: bool) -> list[str]:
    import os

    prefect_home = home.root / "prefect"
    if not temporary_server or os.environ.get("PREFECT_HOME") != str(prefect_home):
        return ["  the runs in Prefect     in the Prefect server the demo ran against (its UI, Runs)"]
    return [
        f"  the runs in Prefect     PREFECT_HOME={prefect_home} .venv/bin/prefect server start",
        "                          then open http://127.0.0.1:4200/runs (the demo's temporary server kept",
        "                          its runs in the demo home)",
    ]


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

