"""`jiuzhu sample verify MANIFEST` (SPEC §6, §8): re-derive a month's spot-check
sample from its published manifest alone and report any difference.

Imports neither Prefect nor DuckDB: an auditor needs only the manifest (and
docs/spotcheck-method.md to re-implement the check independently).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jiuzhu.commands import fail

app = typer.Typer(
    name="sample",
    help="Spot-inspection samples: verify a published manifest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def sample() -> None:
    """Spot-inspection samples (out/spotcheck/<YYYY-MM>/manifest.json)."""


@app.command()
def verify(
    manifest: Annotated[
        Path, typer.Argument(help="The manifest.json of a sampled month.", show_default=False)
    ],
) -> None:
    """Re-derive the sample from MANIFEST alone and report every difference.

    Checks the seed, each town's population count, ratio and k, the mandatory
    cases, every hash and the selected cases; exits non-zero when the manifest
    does not verify.
    """
    from transforms.sampling import verify_manifest

    try:
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {manifest}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{manifest} is not valid JSON: {exc}")
    if not isinstance(data, dict):
        fail(f"{manifest} is not a spot-check manifest (expected a JSON object)")
    problems = verify_manifest(data)
    period = data.get("period", "?")
    if problems:
        for line in problems:
            typer.echo(f"不一致：{line}")
        fail(f"manifest {period} does not verify: {len(problems)} difference(s) from the method")
    totals = data.get("totals", {})
    typer.echo(
        f"已核验：{period} 抽查名单与按方法重算的结果一致"
        f"（{totals.get('towns', 0)} 个镇街，总体 {totals.get('population', 0)} 件，抽中 {totals.get('selected', 0)} 件）。"
    )
