"""Sub-commands of `jiuzhu` that run no flow (they never import Prefect)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def fail(reason: str) -> None:
    """Exit non-zero with a one-line reason (every command fails this way)."""
    typer.echo(f"jiuzhu: {' '.join(str(reason).split())}", err=True)
    raise typer.Exit(code=1)


def existing_home(value: Path | None) -> Path | None:
    """--home of a command that works on a data home: it must exist (a typo is never created).
    `jiuzhu init` creates one; `demo`, `synth` and `restore` make their own."""
    from core.home import Home, HomeMissing

    try:
        Home.resolve(value).check()
    except HomeMissing as exc:
        fail(str(exc))
    return value


# options every command shares
HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Data home (default: $JIUZHU_HOME or ./jiuzhu-data); it must exist.",
                 show_default=False, callback=existing_home),
]
NewHomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Data home (default: $JIUZHU_HOME or ./jiuzhu-data).", show_default=False),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Stand-in for today (YYYY-MM-DD, Asia/Shanghai).", show_default=False)
]
