"""Reading registry extracts into the `registry` schema (SPEC §3, migration 0005): the use case.

Reading and staging an extract is intake's (intake.registries); storing it is the
warehouse's (warehouse.registry_store); this module calls both.

Each extract file is read once (by content hash): its rows are typed, its IDs
normalised (15 -> 18) and invalid ones dropped and counted. Every source but
deaths is a full snapshot: the extract with the newest date is current and its
rows replace the source's table. Deaths accumulate: every death extract adds
the deaths not yet recorded, and nothing ever removes one. An extract is
refused (and the previous one stays current) only when a required column is
missing, the file cannot be read, or its share of invalid IDs exceeds the
`registry_invalid_id_limit` setting. `registry.extracts` keeps the hash, date
and counts of every extract read, current or not.

    outcomes = load_registries(con, home, ref, as_of, run_id)
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl

from core.home import Home
from core.reference import Reference
from intake.registries import (
    ACCUMULATING,
    DECODED_VIEW,
    ExtractFile,
    ExtractUnreadable,
    discover_extracts,
    normalise_registry_ids,
    read_extract,
    sha256_of,
)
from warehouse.registry_store import COUNTS, record_extract
from warehouse.sqlfiles import sql

log = logging.getLogger("jiuzhu.registry")
DEFAULT_INVALID_ID_LIMIT = "0.01"
_STAGE, _IDS = "_reg_stage", "_reg_ids"
_READ_VIEW = "_reg_read"
# Identifiers cannot be bound, so the statements that name a table are fixed
# here once, from our own constants (never from input).
_STAGE_FROM_VIEW = "CREATE OR REPLACE TEMP TABLE _reg_stage AS SELECT * FROM _reg_read"
_DROP_VIEW = "DROP VIEW IF EXISTS _reg_read"
_DROP_STAGE = "DROP TABLE IF EXISTS _reg_stage"
_DROP_STAGE_VIEW = "DROP VIEW IF EXISTS _reg_stage"
_STAGED_RAW_IDS = "SELECT DISTINCT raw_id FROM _reg_stage WHERE raw_id IS NOT NULL"


@dataclass
class ExtractOutcome:
    source: str
    extract_date: date
    rel_path: str
    sha256: str
    status: str  # loaded, refused, known
    rows_read: int = 0
    rows_loaded: int = 0
    invalid_ids: int = 0
    upgraded_ids: int = 0
    is_current: bool = False
    reason: str | None = None

    def counts(self) -> dict:
        """For summaries and artifacts: paths, dates and counts, no personal data."""
        out = asdict(self)
        out["extract_date"] = self.extract_date.isoformat()
        return out


def invalid_id_limit(ref: Reference) -> Decimal:
    return Decimal(
        ref.setting("registry_invalid_id_limit", DEFAULT_INVALID_ID_LIMIT) or DEFAULT_INVALID_ID_LIMIT
    )


def load_registries(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, as_of: date, run_id: str | None
) -> list[ExtractOutcome]:
    """Load every extract under registries/ dated on or before `as_of` that the warehouse has not read yet."""
    found = discover_extracts(home, as_of)
    for rel in found.ignored:
        log.warning("registries: %s is not <source>/<YYYY-MM-DD>.csv|parquet of a known source; ignored", rel)
    outcomes = []
    for extract in found.extracts:
        outcomes.append(load_extract(con, extract, ref, run_id))
    return outcomes


def load_extracts_summary(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, as_of: date,
                          run_id: str) -> dict:
    """`load_registries`, told in counts: extracts loaded, refused (their paths), rows, invalid IDs."""
    new = [o for o in load_registries(con, home, ref, as_of, run_id) if o.status != "known"]
    return {
        "extracts_loaded": sum(o.status == "loaded" for o in new),
        "extracts_refused": [o.rel_path for o in new if o.status == "refused"],
        "registry_rows_loaded": sum(o.rows_loaded for o in new if o.status == "loaded"),
        "registry_invalid_ids": sum(o.invalid_ids for o in new),
    }


def load_extract(
    con: duckdb.DuckDBPyConnection, extract: ExtractFile, ref: Reference, run_id: str | None
) -> ExtractOutcome:
    """Read one extract into the warehouse (or record why it was refused). A known file changes nothing."""
    sha = sha256_of(extract.path)
    outcome = ExtractOutcome(extract.source, extract.extract_date, extract.rel_path, sha, "loaded")
    known = con.execute(
        "SELECT count(*) FROM registry.extracts WHERE source = ? AND extract_date = ? AND file_sha256 = ?",
        [extract.source, extract.extract_date, sha],
    ).fetchall()[0][0]
    if known:
        outcome.status = "known"
        return outcome
    con.execute(sql("registry/macros"))
    try:
        try:
            _stage(con, extract, ref)
        except ExtractUnreadable as exc:
            outcome.status, outcome.reason = "refused", str(exc)
        if outcome.status == "loaded":
            rows_read, invalid, upgraded = con.execute(sql("registry/id_counts")).fetchall()[0]
            outcome.rows_read, outcome.invalid_ids, outcome.upgraded_ids = rows_read, invalid, upgraded
            outcome.rows_loaded = rows_read - invalid
            limit = invalid_id_limit(ref)
            if rows_read and Decimal(invalid) / Decimal(rows_read) > limit:
                outcome.status = "refused"
                outcome.reason = (
                    f"无效身份证号 {invalid} 行，占 {Decimal(invalid) / Decimal(rows_read):.2%}，超过 {limit:.2%} "
                    f"(invalid IDs exceed the limit)"
                )
                outcome.rows_loaded = 0
        outcome.is_current = record_extract(
            con, source=extract.source, extract_date=extract.extract_date, rel_path=extract.rel_path,
            size_bytes=extract.size, file_format=extract.file_format, sha256=outcome.sha256, status=outcome.status,
            reason=outcome.reason, counts={k: getattr(outcome, k) for k in COUNTS}, run_id=run_id,
            accumulating=extract.source in ACCUMULATING,
        )
    finally:
        for drop in (_DROP_STAGE, _DROP_STAGE_VIEW):
            with contextlib.suppress(duckdb.Error):
                con.execute(drop)
        for name in (_IDS, DECODED_VIEW):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    if outcome.status == "refused":
        log.warning("registries: %s refused: %s", extract.rel_path, outcome.reason)
    else:
        log.info(
            "registries: %s loaded, %d rows, %d invalid IDs dropped%s",
            extract.rel_path,
            outcome.rows_read,
            outcome.invalid_ids,
            " (current)" if outcome.is_current else "",
        )
    return outcome


def _stage(con: duckdb.DuckDBPyConnection, extract: ExtractFile, ref: Reference) -> None:
    """The extract's rows as _reg_stage and its distinct valid IDs as _reg_ids.

    A Parquet extract stays a view over the file (columnar: scanning it three times is
    cheaper than copying 8M rows into a temp table); a CSV is copied once into a temp table."""
    rel = read_extract(con, extract, ref.header_map())
    if extract.file_format == "parquet":
        try:
            rel.create_view(_STAGE, replace=True)
            rel.limit(1).fetchall()  # a file that cannot be read says so now
        except duckdb.Error as exc:
            raise ExtractUnreadable(f"文件无法读取 (cannot be read: {' '.join(str(exc).split())[:200]})") from None
        _register_ids(con, extract)
        return
    view = _READ_VIEW
    try:
        rel.create_view(view, replace=True)
    except (
        duckdb.InvalidInputException
    ):  # a relation over Python data (the GB18030 fallback) cannot be a view
        con.register(view, rel.to_arrow_table())
    try:
        con.execute(_STAGE_FROM_VIEW)
    except duckdb.Error as exc:
        raise ExtractUnreadable(
            f"文件无法读取 (cannot be read: {' '.join(str(exc).split())[:200]})"
        ) from None
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(_DROP_VIEW)
        with contextlib.suppress(duckdb.Error):
            con.unregister(view)
    _register_ids(con, extract)


def _register_ids(con: duckdb.DuckDBPyConnection, extract: ExtractFile) -> None:
    """_reg_ids: the distinct raw IDs of _reg_stage, normalised once each (invalid ones left out)."""
    raw_ids = con.sql(_STAGED_RAW_IDS).pl()
    if raw_ids.height == 0:
        raw_ids = pl.DataFrame(schema={"raw_id": pl.String})
    ids = normalise_registry_ids(raw_ids, extract.extract_date).filter(pl.col("id_no").is_not_null())
    con.register(_IDS, ids.to_arrow())


