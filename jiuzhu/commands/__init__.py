"""Sub-commands of `jiuzhu` that run no flow (they never import Prefect)."""

from __future__ import annotations

import typer


def fail(reason: str) -> None:
    """Exit non-zero with a one-line reason (every command fails this way)."""
    typer.echo(f"jiuzhu: {reason}", err=True)
    raise typer.Exit(code=1)
