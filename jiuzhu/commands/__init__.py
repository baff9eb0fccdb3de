"""Sub-commands of `jiuzhu` that run no flow (they never import Prefect)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def fail(reason: str) -> None:
    """Exit non-zero with a one-line reason (every command fails this way)."""
    typer.echo(f"jiuzhu: {reason}", err=True)
    raise typer.Exit(code=1)


# options every command shares
HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Data home (default: $JIUZHU_HOME or ./jiuzhu-data).", show_default=False),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Stand-in for today (YYYY-MM-DD, Asia/Shanghai).", show_default=False)
]
OfficerOpt = Annotated[str, typer.Option("--officer", help="Officer number or name from the officers table.")]
