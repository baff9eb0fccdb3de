"""The analysts' copy (SPEC §7): `warehouse/analyst.duckdb` and `out/analyst/*.parquet`.

Materialised, already-masked tables — no views, no ATTACH onto the main file —
built into a temporary file beside the target and renamed into place, so an
analyst who has the old copy open keeps reading it while the main warehouse is
being written. The same tables go to Parquet for tools whose DuckDB is older
than ours (each file written to a temporary name and renamed; files of tables
no longer exported are removed by the manifest, never by deleting the folder).

The copy carries no free identifier (SPEC §9, issue 14). Masking is decided per
column name, so a column added later is covered too, and every expression comes
from transforms.identifiers (the one owner of masking):

- ID numbers (`id_no`, `head_id_no`): first 4 and last 4 characters;
- names (`name`, `payee_name`, `head_name`): the surname;
- account numbers and holders (`account_no`, `account_holder`): dropped (`has_account` says
  whether there is an account);
- keys that embed a case number or an ID (`version_id`, `first_version_id`, `finding_id`):
  keyed hashes (HMAC-SHA256 under the home's `warehouse/analyst.key`), stable across rebuilds,
  so they still join; every table with `town_code` and `case_no` gains `case_key`, the keyed
  hash of the two, which joins cases even where a case number had to be masked;
- file hashes and run ids: the first 12 characters;
- `evidence_key`: a file hash shortened; one that holds an identifier (an account for X09)
  becomes a keyed hash; a plate or a property number stays;
- every other text column, case numbers, remarks, messages and JSON included: each ID number,
  account and phone number in it masked (transforms.identifiers.mask_identifiers_expr); a
  list, struct, map or JSON column is copied as its text, masked the same way.

Tables that need no masking are copied by DuckDB alone; the others are streamed through Polars
in batches, so memory stays bounded whatever the size of the warehouse.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from core.home import Home, code_version, now_shanghai
from transforms.identifiers import (
    keyed_hash_expr,
    mask_expr,
    mask_identifiers_expr,
    surname_expr,
)
from warehouse.sqlfiles import sql

ID_COLUMNS = {"id_no", "head_id_no"}
NAME_COLUMNS = {"name", "payee_name", "head_name"}
DROPPED_COLUMNS = {"account_no", "account_holder"}
KEYED_COLUMNS = {"version_id", "first_version_id", "finding_id"}
SHORT_COLUMNS = {"run_id", "first_seen_run", "last_seen_run", "token", "seed_hex"}
CASE_KEY = "case_key"
# left out of the copy where they are heavy and add nothing an analyst needs
# (the version of a payment line follows from its case and month owed)
OMITTED = {("pay", "payments"): {"version_id", "bank"}}
# no identifier is shorter than this (a landline with a 3-digit area code and 7 digits): a text
# column whose longest value is shorter is copied as it is
SHORTEST_IDENTIFIER = 10
BATCH_ROWS = 1_000_000
KEY_FILE = "analyst.key"
_HEX64 = r"^[0-9a-f]{64}$"


@dataclass(frozen=True)
class Exported:
    schema: str
    table: str
    rows: int

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


# ---------------------------------------------------------------- the key


def analyst_key_path(home: Home) -> Path:
    """The key of the copy's pseudonyms: in the warehouse folder, never under out/."""
    return home.warehouse_dir / KEY_FILE


def analyst_key(home: Home) -> bytes:
    """The home's analyst key: 32 random bytes written once (0600, as hex) and read ever after,
    so the keyed hashes are the same in every rebuild. Losing the file changes every pseudonym."""
    path = analyst_key_path(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(part, path)  # never replaces a key that another process wrote first
        except FileExistsError:
            pass
        finally:
            part.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError(
            f"{path} does not hold a 64-hex-digit key: restore it from a backup (deleting it changes "
            "every version_id, finding_id and case_key of the analysts' copy)"
        )
    return key


# ---------------------------------------------------------------- masking plan


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def column_treatment(
    column: str, data_type: str, max_length: int | None = None, *, reference: bool = False
) -> str:
    """How one column is copied: drop, id, name, keyed, short, evidence, text, as_text or keep.

    `max_length`, the longest value of a text column, spares the scan where no value is long
    enough to hold an identifier (IDs and names are masked whatever their length). In the
    reference tables (`reference`) a name is a town's or a program's, not a person's."""
    if column in DROPPED_COLUMNS:
        return "drop"
    if data_type != "VARCHAR":
        # a list, struct, map or JSON column could carry text: copied as text and scanned
        return (
            "as_text" if any(t in data_type for t in ("VARCHAR", "JSON", "BLOB", "MAP", "STRUCT")) else "keep"
        )
    if column in ID_COLUMNS:
        return "id"
    if column in NAME_COLUMNS and not reference:
        return "name"
    if column in KEYED_COLUMNS:
        return "keyed"
    if column in SHORT_COLUMNS or column.endswith("sha256"):
        return "short"
    if column == "evidence_key":  # the file hash for P/V findings, else a plate, property, account ...
        return "evidence"
    if max_length is not None and max_length < SHORTEST_IDENTIFIER:
        return "keep"
    return "text"


def masking_plan(
    columns: list[tuple[str, str]], lengths: dict[str, int | None] | None = None, schema: str = ""
) -> list[tuple[str, str]]:
    """(column, treatment) for every column of a table, in order."""
    lengths = lengths or {}
    return [
        (name, column_treatment(name, kind, lengths.get(name), reference=schema == "ref"))
        for name, kind in columns
    ]


def needs_masking(plan: list[tuple[str, str]]) -> bool:
    names = {c for c, _ in plan}
    return any(t != "keep" for _, t in plan) or {"town_code", "case_no"} <= names


def mask_frame(frame: pl.DataFrame, plan: list[tuple[str, str]], key: bytes) -> pl.DataFrame:
    """One batch of a table, masked by its plan (pure: frame in, frame out)."""
    exprs: list[pl.Expr] = []
    for name, treatment in plan:
        col = pl.col(name)
        if treatment == "drop":
            continue
        if treatment == "id":
            col = mask_expr(col)
        elif treatment == "name":
            col = surname_expr(col)
        elif treatment == "keyed":
            col = keyed_hash_expr(col, key)
        elif treatment == "short":
            col = col.str.slice(0, 12)
        elif treatment == "evidence":
            masked = mask_identifiers_expr(col)
            col = (
                pl.when(col.str.contains(_HEX64))
                .then(col.str.slice(0, 12))
                .when(masked != col)
                .then(keyed_hash_expr(col, key))
                .otherwise(col)
            )
        elif treatment in ("text", "as_text"):
            col = mask_identifiers_expr(col)
        exprs.append(col.alias(name))
    names = {c for c, _ in plan}
    if {"town_code", "case_no"} <= names:
        exprs.append(
            keyed_hash_expr(
                pl.concat_str([pl.col("town_code"), pl.col("case_no")], separator="\x1f"), key
            ).alias(CASE_KEY)
        )
    if "account_no" in names:
        exprs.append(pl.col("account_no").is_not_null().alias("has_account"))
    return frame.select(exprs)


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


# ---------------------------------------------------------------- building


def _copy_table(
    con: duckdb.DuckDBPyConnection,
    target: str,
    source: str,
    plan: list[tuple[str, str]],
    key: bytes,
) -> None:
    """CREATE TABLE target from source: by DuckDB alone when nothing is masked, else streamed
    through `mask_frame` in batches of BATCH_ROWS (the reader on its own cursor)."""
    columns = ", ".join(
        f"CAST({_quote(c)} AS VARCHAR) AS {_quote(c)}" if t == "as_text" else _quote(c) for c, t in plan
    )
    if not needs_masking(plan):
        con.table(source).project(columns).create(target)  # identifiers through the relation API
        return
    reader_con = con.cursor()
    try:
        reader = reader_con.table(source).project(columns).fetch_record_batch(BATCH_ROWS)
        created = False
        for batch in reader:
            masked = mask_frame(pl.from_arrow(batch), plan, key)
            _write(con, target, masked, created)
            created = True
        if not created:  # an empty table keeps its columns
            empty = pl.from_arrow(reader.schema.empty_table())
            _write(con, target, mask_frame(empty, plan, key), False)
    finally:
        reader_con.close()


def _write(con: duckdb.DuckDBPyConnection, target: str, frame: pl.DataFrame, append: bool) -> None:
    con.register("analyst_batch", frame.to_arrow())
    try:
        batch = con.table("analyst_batch")
        if append:
            batch.insert_into(target)
        else:
            batch.create(target)
    finally:
        con.unregister("analyst_batch")


def build_analyst_copy(con: duckdb.DuckDBPyConnection, home: Home, *, period: str | None = None) -> dict:
    """Rebuild warehouse/analyst.duckdb and out/analyst/*.parquet from the warehouse `con`."""
    target = home.analyst
    target.parent.mkdir(parents=True, exist_ok=True)
    key = analyst_key(home)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    parquet_dir = analyst_dir(home)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    tables = exported_columns(con)
    exported: list[Exported] = []
    written: list[tuple[Path, Path]] = []
    alias = "analyst_copy"
    order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")  # lets DuckDB write the tables in parallel
    # storage that DuckDB 1.1 and later open (a DuckDB 2 file opens in no 1.x client: docs/warehouse.md).
    # ATTACH takes no bound parameters: the path is the home's own temp file, quoted by _path_literal.
    con.execute("ATTACH '" + _path_literal(tmp) + "' AS analyst_copy (READ_ONLY false, STORAGE_VERSION 'v1.1.0')")
    try:
        for (schema, table), columns in sorted(tables.items()):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.{_quote(schema)}")
            plan = masking_plan(columns, text_lengths(con, schema, table, columns), schema)
            name = f"{alias}.{_quote(schema)}.{_quote(table)}"
            _copy_table(con, name, f"{_quote(schema)}.{_quote(table)}", plan, key)
            rows = con.table(name).aggregate("count(*)").fetchall()[0][0]
            exported.append(Exported(schema, table, rows))
        built_at = now_shanghai()
        about = pl.DataFrame(
            {
                "table_name": [e.name for e in exported],
                "rows": [e.rows for e in exported],
            }
        ).with_columns(period=pl.lit(period), built_at=pl.lit(built_at), code_version=pl.lit(code_version()))
        con.execute("CREATE SCHEMA IF NOT EXISTS analyst_copy.meta")
        _write(con, f"{alias}.meta.about", about, False)
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
