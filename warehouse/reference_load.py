"""Loading the reference tables into the warehouse (SPEC §4).

Every frame of a `Reference` (shipped CSV, or the same-named CSV from
`<home>/reference/` that replaces it) becomes the table `ref.<name>`, replaced
as a whole, and `ref.loaded` records where each came from, its row count and
the SHA-256 of its file. All tables are replaced in one transaction.

Money columns (any column named `amount`) are strings in the frames; they are
stored as DECIMAL(12,2) yuan, and a value with more than two decimals or that
is not a number stops the load with a `ReferenceError` naming the table.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import polars as pl

from core.home import now_shanghai
from core.reference import Reference, ReferenceError

MONEY_COLUMNS = frozenset({"amount"})
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = frozenset({"loaded"})
_VIEW = "_jiuzhu_reference_frame"

_PREVIOUS = "SELECT rows, sha256, loaded_at FROM ref.loaded WHERE name = ?"
_RECORD = """
INSERT INTO ref.loaded (name, source_path, rows, sha256, loaded_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    source_path = excluded.source_path, rows = excluded.rows,
    sha256 = excluded.sha256, loaded_at = excluded.loaded_at
"""


def _money_column(name: str, frame: pl.DataFrame, column: str) -> pl.Expr:
    for value in frame[column].drop_nulls().unique().to_list():
        text = str(value).strip()
        if text == "":
            continue
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ReferenceError(f"reference table {name}: {column} {text!r} is not an amount") from None
        if not amount.is_finite() or amount.as_tuple().exponent < -2 or abs(amount) >= Decimal("1e10"):
            raise ReferenceError(
                f"reference table {name}: {column} {text!r} is not an amount in yuan with at most 2 decimals"
            )
    return pl.col(column).cast(pl.String).str.strip_chars().replace("", None).cast(pl.Decimal(12, 2))


def warehouse_frame(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as stored in `ref.<name>`: money columns as Decimal(12,2)."""
    money = [
        _money_column(name, frame, c)
        for c in frame.columns
        if c in MONEY_COLUMNS and frame.schema[c] in (pl.String, pl.Null)
    ]
    return frame.with_columns(money) if money else frame


def _source_sha256(source: str | None, frame: pl.DataFrame) -> str:
    if source and Path(source).is_file():
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return hashlib.sha256(frame.write_csv().encode("utf-8")).hexdigest()


def load_reference_tables(con: duckdb.DuckDBPyConnection, ref: Reference) -> dict[str, int]:
    """Replace every `ref.<name>` table with the reference frames; returns rows per table.

    `ref.loaded.loaded_at` changes only when a table's file content changes, so
    re-loading the same reference leaves the warehouse as it was.
    """
    prepared = {}
    for name in sorted(ref.tables):
        if not _TABLE_NAME.match(name) or name in _RESERVED:
            raise ReferenceError(f"reference table name {name!r} cannot be a warehouse table")
        prepared[name] = warehouse_frame(name, ref.tables[name])

    counts: dict[str, int] = {}
    now = now_shanghai()
    con.begin()
    try:
        for name, frame in prepared.items():
            source = ref.sources.get(name)
            sha = _source_sha256(source, ref.tables[name])
            con.register(_VIEW, frame.to_arrow())
            try:
                # `name` is checked against _TABLE_NAME above: identifiers cannot be bound
                con.execute("CREATE OR REPLACE TABLE ref." + name + " AS SELECT * FROM " + _VIEW)
            finally:
                con.unregister(_VIEW)
            found = con.execute(_PREVIOUS, [name]).fetchall()  # fetch all: see docs/warehouse.md
            previous = found[0] if found else None
            loaded_at = previous[2] if previous and previous[:2] == (frame.height, sha) else now
            con.execute(_RECORD, [name, source or "(in memory)", frame.height, sha, loaded_at])
            counts[name] = frame.height
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts
