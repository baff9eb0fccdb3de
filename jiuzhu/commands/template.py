"""`jiuzhu template [--town CODE]`: the towns' submission workbook (publish/template.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from jiuzhu.commands import AsOfOpt, HomeOpt, fail

TownOpt = Annotated[str | None, typer.Option("--town", help="One town's 9-digit code (default: every town).")]


def template(town: TownOpt = None, home: HomeOpt = None, as_of: AsOfOpt = None) -> None:
    """Write out/templates/<town_code>/救助台账模板.xlsx: the headers, drop-down lists, date and ID checks,
    and a 填表说明 sheet with the standards and limits in force."""
    from core.home import Home, parse_as_of, today_shanghai
    from core.reference import ReferenceError, load_reference
    from publish.template import write_templates

    h = Home.resolve(home)
    try:
        paths = write_templates(h, load_reference(h.reference), parse_as_of(as_of) or today_shanghai(), town)
    except (ReferenceError, ValueError) as exc:
        fail(str(exc))
    for path in paths:
        typer.echo(str(path))
