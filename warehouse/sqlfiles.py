"""The one SQL loader and parameter binder: SQL lives in .sql files beside the
layer that runs it, one statement a file, values always bound.

    from warehouse.sqlfiles import bind, run, sql

    sql("close/insert_batch")                       # warehouse/sql/close/insert_batch.sql
    sql("x01_deaths", folder=CHECKS_SQL)            # a file of another layer's sql/ folder
    con.sql(text, params=bind(text, values))        # only the parameters the statement names
    run(con, "pay/void_lines", {"batch_no": b})     # load, bind and execute

DuckDB refuses a parameter the statement does not name, so `bind` passes
exactly those a statement names (`$name`) out of a larger set of values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def sql(name: str, *, folder: Path = SQL_DIR) -> str:
    """The text of <folder>/<name>.sql (warehouse/sql/ unless another layer's folder is given), cached."""
    return _read(folder / f"{name}.sql")


@cache
def parameter_names(statement: str) -> frozenset[str]:
    """The `$name` parameters a statement names."""
    return frozenset(_PARAM.findall(statement))


def bind(statement: str, values: Mapping[str, object]) -> dict[str, object]:
    """Of `values`, exactly the parameters `statement` names (DuckDB refuses unused ones)."""
    names = parameter_names(statement)
    return {k: v for k, v in values.items() if k in names}


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    values: Mapping[str, object] | None = None,
    *,
    folder: Path = SQL_DIR,
) -> duckdb.DuckDBPyConnection:
    """Execute <folder>/<name>.sql with the values it names bound; fetch the result from what is returned."""
    text = sql(name, folder=folder)
    return con.execute(text, bind(text, values or {}))


# What DuckDB cannot bind: the names in DROP TABLE and CREATE SCHEMA, and the text of COMMENT ON
# (it parses no parameter there). Such a statement is a .sql file with {placeholders}, filled by
# `naming` alone: only for names of the warehouse's own catalog and texts shipped with the code,
# never for a value from a file a person sent. (ATTACH and COPY … TO do take bound paths.)

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def naming(name: str, names: Mapping[str, str], texts: Mapping[str, str] | None = None, *,
           folder: Path = SQL_DIR) -> str:
    """<folder>/<name>.sql with each {placeholder} of `names` a quoted identifier (a dotted name
    quoted part by part: "schema"."table") and each of `texts` a quoted string literal."""
    texts = texts or {}

    def fill(m: re.Match) -> str:
        key = m.group(1)
        if key in names:
            return ".".join(quote_identifier(part) for part in names[key].split("."))
        return quote_literal(texts[key])

    return _PLACEHOLDER.sub(fill, sql(name, folder=folder))


def quote_identifier(name: str) -> str:
    """A name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A text as a SQL string literal, quotes included."""
    return "'" + text.replace("'", "''") + "'"
