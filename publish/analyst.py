"""The analysts' copy (SPEC §7): `warehouse/analyst.duckdb` and `out/analyst/*.parquet`.

Materialised, already-masked tables — no views, no ATTACH onto the main file —
built into a temporary file beside the target and renamed into place, so an
analyst who has the old copy open keeps reading it while the main warehouse is
being written. The same tables go to Parquet for tools whose DuckDB is older
than ours (each file written to a temporary name and renamed; files of tables
no longer exported are removed by the manifest, never by deleting the folder).

Masking is decided per column name, so a column added later is covered too:

- ID numbers (`id_no`, `head_id_no`): first 4 and last 4 characters;
- names (`name`, `payee_name`, `head_name`): the surname;
- account numbers and holders (`account_no`, `account_holder`): dropped (`has_account` says
  whether there is an account);
- hashes and run ids: the first 12 characters (version ids keep town and case);
- free text (messages, evidence, remarks, reasons, JSON): digit runs of 12+ masked;
- every other text column: digit runs of 16+ masked (a last guard).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from jiuzhu.home import Home, code_version, now_shanghai
from warehouse.sqlfiles import sql

ID_COLUMNS = {"id_no", "head_id_no"}
NAME_COLUMNS = {"name", "payee_name", "head_name"}
DROPPED_COLUMNS = {"account_no", "account_holder"}
SHORT_COLUMNS = {"finding_id", "run_id", "first_seen_run", "last_seen_run", "token", "seed_hex"}
VERSION_COLUMNS = {"version_id", "first_version_id"}
# left out of the copy where they are heavy and add nothing an analyst needs
# (the version of a payment line follows from its case and month owed)
OMITTED = {("pay", "payments"): {"version_id", "bank"}}
GUARD_DIGITS = 16  # runs of this many digits are masked in any text column
SCRUB_DIGITS = 12  # ... and of this many in free text
FREE_TEXT_COLUMNS = {
    "message",
    "evidence",
    "remark",
    "clear_reason",
    "void_reason",
    "bank_reason",
    "error",
    "problem",
    "params_json",
    "summary_json",
    "detail_json",
    "village",
    "reason",
    "note",
    "decided_by",
}


@dataclass(frozen=True)
class Exported:
    schema: str
    table: str
    rows: int

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def column_expression(column: str, data_type: str, max_length: int | None = None) -> str | None:
    """The masked SELECT expression of one column (None: the column is dropped).

    `max_length`, the longest value of a text column, spares the digit-run scrubbing where no
    value is long enough to hold such a run (IDs and names are masked whatever their length)."""
    q = _quote(column)
    if column in DROPPED_COLUMNS:
        return None
    if data_type != "VARCHAR":
        return q
    if column in ID_COLUMNS:
        return f"jz_mask({q}) AS {q}"
    if column in NAME_COLUMNS:
        return f"jz_surname({q}) AS {q}"
    if column in VERSION_COLUMNS:
        return f"jz_version({q}) AS {q}"
    if column in SHORT_COLUMNS or column.endswith("sha256"):
        return f"jz_short({q}) AS {q}"
    if column == "evidence_key":  # the file hash for P/V findings, else a plate, property, company ...
        return (
            f"CASE WHEN regexp_matches({q}, '^[0-9a-f]{{64}}$') THEN jz_short({q}) ELSE jz_scrub({q}) END "
            f"AS {q}"
        )
    short = max_length is not None
    if column in FREE_TEXT_COLUMNS or column.startswith("raw_"):
        return q if short and max_length < SCRUB_DIGITS else f"jz_scrub({q}) AS {q}"
    return q if short and max_length < GUARD_DIGITS else f"jz_guard({q}) AS {q}"


def select_list(columns: list[tuple[str, str]], lengths: dict[str, int | None] | None = None) -> str:
    lengths = lengths or {}
    parts = [
        e for name, kind in columns if (e := column_expression(name, kind, lengths.get(name))) is not None
    ]
    if any(name == "account_no" for name, _ in columns):
        parts.append('"account_no" IS NOT NULL AS has_account')
    return ", ".join(parts)


def text_lengths(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list[tuple[str, str]]
) -> dict[str, int | None]:
    """The longest value of each text column (0 for an empty table)."""
    text = [c for c, kind in columns if kind == "VARCHAR"]
    if not text:
        return {}
    expr = ", ".join(f"coalesce(max(length({_quote(c)})), 0)" for c in text)
    row = con.execute(f"SELECT {expr} FROM {_quote(schema)}.{_quote(table)}").fetchall()[0]
    return dict(zip(text, row, strict=True))


def exported_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    rows = con.execute(sql("mart/analyst_columns")).fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type, _pos in rows:
        if column not in OMITTED.get((schema, table), set()):
            out.setdefault((schema, table), []).append((column, data_type))
    return out


def analyst_dir(home: Home) -> Path:
    return home.out / "analyst"


def build_analyst_copy(con: duckdb.DuckDBPyConnection, home: Home, *, period: str | None = None) -> dict:
    """Rebuild warehouse/analyst.duckdb and out/analyst/*.parquet from the warehouse `con`."""
    target = home.analyst
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    parquet_dir = analyst_dir(home)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    con.execute(sql("mart/analyst_macros"))
    tables = exported_columns(con)
    exported: list[Exported] = []
    written: list[tuple[Path, Path]] = []
    alias = "analyst_copy"
    order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")  # lets DuckDB write the tables in parallel
    con.execute(f"ATTACH '{_path_literal(tmp)}' AS {alias} (READ_ONLY false)")
    try:
        for (schema, table), columns in sorted(tables.items()):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.{_quote(schema)}")
            lengths = text_lengths(con, schema, table, columns)
            con.execute(
                f"CREATE TABLE {alias}.{_quote(schema)}.{_quote(table)} AS "
                f"SELECT {select_list(columns, lengths)} FROM {_quote(schema)}.{_quote(table)}"
            )
            rows = con.execute(f"SELECT count(*) FROM {alias}.{_quote(schema)}.{_quote(table)}").fetchall()[
                0
            ][0]
            exported.append(Exported(schema, table, rows))
        built_at = now_shanghai()
        about = pl.DataFrame(
            {
                "table_name": [e.name for e in exported],
                "rows": [e.rows for e in exported],
            }
        ).with_columns(period=pl.lit(period), built_at=pl.lit(built_at), code_version=pl.lit(code_version()))
        con.register("analyst_about", about.to_arrow())
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.meta")
            con.execute(f"CREATE TABLE {alias}.meta.about AS SELECT * FROM analyst_about")
        finally:
            con.unregister("analyst_about")
        exported.append(Exported("meta", "about", about.height))
        for e in exported:
            final = parquet_dir / f"{e.name}.parquet"
            part = parquet_dir / f".{e.name}.{uuid.uuid4().hex[:8]}.parquet.tmp"
            con.execute(
                f"COPY {alias}.{_quote(e.schema)}.{_quote(e.table)} TO '{_path_literal(part)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            written.append((part, final))
        con.execute(f"CHECKPOINT {alias}")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {alias}")
        with contextlib.suppress(duckdb.Error):
            con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}")
        for part, _ in written:
            part.unlink(missing_ok=True)
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    con.execute(f"DETACH {alias}")
    con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}")
    os.replace(tmp, target)
    previous = _previous_files(parquet_dir)
    for part, final in written:
        os.replace(part, final)
    keep = {final.name for _, final in written}
    for name in previous - keep:
        with contextlib.suppress(FileNotFoundError):
            (parquet_dir / name).unlink()
    manifest = {
        "period": period,
        "built_at": built_at.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "analyst_duckdb": str(target),
        "tables": {e.name: e.rows for e in exported},
        "files": sorted(keep),
    }
    manifest_path = parquet_dir / "manifest.json"
    part = manifest_path.with_name(f".manifest.{uuid.uuid4().hex[:8]}.tmp")
    part.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(part, manifest_path)
    return {
        "tables": len(exported),
        "rows": sum(e.rows for e in exported),
        "path": str(target),
        "parquet_dir": str(parquet_dir),
    }


def _previous_files(folder: Path) -> set[str]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {name for name in manifest.get("files", []) if name.endswith(".parquet") and "/" not in name}


def _path_literal(path: Path) -> str:
    """A path inside the data home as a SQL string literal (ATTACH and COPY take no parameters)."""
    return str(path).replace("'", "''")
