"""Storing registry extracts (SPEC §3, migration 0005): what the warehouse keeps of them.

An extract staged by intake (`_reg_stage`, `_reg_ids`) becomes the source's rows when it is
the newest (or, for deaths, adds the deaths not yet recorded), and `registry.extracts`
keeps the hash, date and counts of every extract read, current or not.
"""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import polars as pl

from core.home import now_shanghai
from warehouse.sqlfiles import sql

COUNTS = ("rows_read", "rows_loaded", "invalid_ids", "upgraded_ids")
# Identifiers cannot be bound: the statement that empties a source is fixed here, per table of the schema
REGISTRY_TABLES = ("deaths", "vehicles", "real_estate", "business", "social_insurance", "provident_fund",
                   "public_payroll", "deposits")  # fmt: skip
_CLEAR_SOURCE = {source: "DELETE FROM registry." + source for source in REGISTRY_TABLES}
_INSERT_SOURCE = {source: "registry/" + source for source in REGISTRY_TABLES}  # warehouse/sql/registry/<source>.sql


def record_extract(
    con: duckdb.DuckDBPyConnection, *, source: str, extract_date: date, rel_path: str, size_bytes: int,
    file_format: str, sha256: str, status: str, reason: str | None, counts: dict[str, int], run_id: str | None,
    accumulating: bool,
) -> bool:
    """One transaction: the source's rows (when the extract becomes current, or always for an
    accumulating source) and its registry.extracts row. Returns whether it is now current."""
    params = {"source": source}
    current_date = con.execute(sql("registry/current_date"), params).fetchall()[0][0]
    loaded = status == "loaded"
    is_current = loaded and (current_date is None or extract_date >= current_date)
    con.execute("BEGIN TRANSACTION")
    try:
        if loaded and (is_current or accumulating):
            if not accumulating:
                con.execute(_CLEAR_SOURCE[source])
            con.execute(sql(_INSERT_SOURCE[source]), {"extract_date": extract_date, "sha": sha256})
        if is_current:
            con.execute(
                "UPDATE registry.extracts SET is_current = false WHERE source = $source AND is_current", params
            )
        con.execute(
            sql("registry/insert_extract"),
            {
                "sha": sha256, "source": source, "extract_date": extract_date, "rel_path": rel_path,
                "size_bytes": size_bytes, "file_format": file_format, "status": status, "reason": reason,
                **counts, "is_current": is_current, "loaded_at": now_shanghai(), "run_id": run_id,
            },
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return is_current


def registry_digest(con: duckdb.DuckDBPyConnection) -> str:
    """SHA-256 over the extracts whose rows are in force: changes exactly when a new extract is loaded."""
    h = hashlib.sha256()
    for (sha,) in con.execute(sql("registry/digest_inputs")).fetchall():
        h.update(sha.encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def current_extracts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """source, extract_date, rows_loaded of each source's current extract (no personal data)."""
    return con.sql(
        "SELECT source, extract_date, rows_loaded, invalid_ids FROM registry.extracts "
        "WHERE status = 'loaded' AND is_current ORDER BY source"
    ).pl()
