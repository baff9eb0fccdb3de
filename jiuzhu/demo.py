"""`jiuzhu demo`: build a synthetic district and run the flows that exist, once.

The synthetic home's history is replayed in order: the baseline load at
go-live, then every submission day with `--as-of` standing in for today (see
docs/synth.md), so each version is ingested on the day its town sent it.
"""

from __future__ import annotations

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

    from flows.reference import reference_flow

    echo("Running flow `reference` (warehouse schema and reference tables) through Prefect ...")
    counts = reference_flow(home=str(home.root), as_of=summary.as_of.isoformat())
    echo(f"  loaded {len(counts)} reference tables, {sum(counts.values()):,} rows")

    echo("")
    echo("What is where:")
    for label, path in _places(home):
        echo(f"  {label:<28} {path}")


def _places(home: Home) -> list[tuple[str, Path]]:
    return [
        ("town submissions", home.inbox),
        ("registry extracts", home.registries),
        ("planted anomalies", home.ground_truth),
        ("warehouse", home.warehouse),
        ("outputs for people", home.out),
    ]
