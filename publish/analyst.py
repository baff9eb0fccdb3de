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
- `batch_no`: kept as the close wrote it (`YYYYMM-<QJ or the paying town's code>-<program>-<nn>`:
  no person in it), so batches stay apart; any other value is masked as text below;
- `evidence_key`: a file hash shortened; one that holds an identifier (an account for X09)
  becomes a keyed hash; a plate or a property number stays;
- every other text column, case numbers, remarks, messages and JSON included: each ID number,
  account and phone number in it masked (transforms.identifiers.mask_identifiers_expr); a
  list, struct, map or JSON column is copied as its text, masked the same way.

Tables that need no masking are copied by DuckDB alone; the others are streamed through Polars
in batches, so memory stays bounded whatever the size of the warehouse.

Periods: every month column stored as a DATE in the warehouse (`period`, `period_owed`,
`effective_month`, ...) is text 'YYYY-MM' in the copy, like the marts' periods.

Comments: every table and column carries a `COMMENT` from `publish/analyst_comments.csv`
(docs/warehouse.md is rendered from the same file).

The run that builds the copy: a report run is still `running` in the warehouse while it builds the
copy, and finishes right after; the copy shows it `completed`, finished at the copy's build time.

Rebuilding only what changed (issue 18): each table's warehouse rows get a fingerprint (row count
and the sum of DuckDB's row hashes, with the recipe of the copy: columns, masking, code, the key;
HMAC'd under the analyst key), kept in the copy's `meta.sources` and in the manifest. The build
starts from a file copy of the previous analyst.duckdb and replaces only the tables whose
fingerprint changed; `pay.payments` is fingerprinted per batch and only the batches that changed
are deleted and copied again. A Parquet file whose table was kept, and whose own fingerprint
(Parquet key-value metadata `jiuzhu_fingerprint`) matches, is left as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

import transforms.identifiers as identifiers_module
import warehouse.hashing as hashing_module
from core.files import atomic_target, write_text_atomic
from core.home import Home, code_version, now_shanghai
from core.permissions import FILE_MODE
from publish.analyst_comments import comment_statements
from transforms.identifiers import (
    mask_expr,
    mask_identifiers_expr,
    surname_expr,
)
from warehouse.audit import this_process
from warehouse.hashing import keyed_hash_expr
from warehouse.sqlfiles import naming, quote_identifier, run, sql

ID_COLUMNS = {"id_no", "head_id_no"}
NAME_COLUMNS = {"name", "payee_name", "head_name"}
DROPPED_COLUMNS = {"account_no", "account_holder"}
KEYED_COLUMNS = {"version_id", "first_version_id", "finding_id"}
SHORT_COLUMNS = {"run_id", "first_seen_run", "last_seen_run", "token", "seed_hex"}
# a batch number as the close and one-off payments write it: a month, the payer (the bureau, QJ, or the
# paying town's 9-digit code), the program and a number; the town code would pass for an ID's digits
BATCH_COLUMNS = {"batch_no"}
BATCH_NO = r"^\d{6}-(QJ|\d{9})-[a-z_]+-Y?\d{2,}$"
CASE_KEY = "case_key"
# months stored as DATE in the warehouse (the first day): text 'YYYY-MM' in the copy
PERIOD_COLUMNS = {"period", "period_owed", "effective_month", "raised_period"}
PERIOD_FORMAT = "%Y-%m"
# left out of the copy where they are heavy and add nothing an analyst needs
# (the version of a payment line follows from its case and month owed)
OMITTED = {("pay", "payments"): {"version_id", "bank"}}
# no identifier is shorter than this (a landline with a 3-digit area code and 7 digits): a text
# column whose longest value is shorter is copied as it is
SHORTEST_IDENTIFIER = 10
BATCH_ROWS = 1_000_000
KEY_FILE = "analyst.key"
_HEX64 = r"^[0-9a-f]{64}$"
ALIAS = "analyst_copy"  # the copy's catalog while it is built (written out in the fixed statements)
# tables refreshed part by part: (schema, table) -> the part column, and the statement that deletes
# parts from the copy (written out whole: the one table it serves is fixed)
PARTITIONED = {
    ("pay", "payments"): (
        "batch_no",
        "DELETE FROM analyst_copy.pay.payments WHERE batch_no IN (SELECT unnest(?::VARCHAR[]))",
    ),
}
WHOLE = ""  # the part of meta.sources that stands for the whole table
FINGERPRINT_KEY = "jiuzhu_fingerprint"  # Parquet key-value metadata
COMPLETE_RUN = (
    "UPDATE analyst_copy.audit.runs SET status = 'completed', finished_at = ? WHERE run_id = ? AND status = 'running'"
)
BUILDING_RUN = (
    "SELECT run_id FROM audit.runs WHERE status = 'running' AND flow = 'report' AND pid = ? AND host = ? "
    "AND process_start IS NOT DISTINCT FROM ? ORDER BY started_at DESC LIMIT 1"
)


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


def column_treatment(
    column: str, data_type: str, max_length: int | None = None, *, reference: bool = False
) -> str:
    """How one column is copied: drop, id, name, keyed, short, evidence, batch, text, as_text, period or keep.

    `max_length`, the longest value of a text column, spares the scan where no value is long
    enough to hold an identifier (IDs and names are masked whatever their length). In the
    reference tables (`reference`) a name is a town's or a program's, not a person's."""
    if column in DROPPED_COLUMNS:
        return "drop"
    if data_type == "DATE" and column in PERIOD_COLUMNS:
        return "period"
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
    if column in BATCH_COLUMNS:
        return "batch"
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
    return any(t not in ("keep", "period") for _, t in plan) or {"town_code", "case_no"} <= names


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
        elif treatment == "batch":
            col = pl.when(col.str.contains(BATCH_NO)).then(col).otherwise(mask_identifiers_expr(col))
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
    longest = [duckdb.CoalesceOperator(duckdb.FunctionExpression("max", duckdb.FunctionExpression(
        "length", duckdb.ColumnExpression(c))), duckdb.ConstantExpression(0)) for c in text]
    row = con.table(f"{quote_identifier(schema)}.{quote_identifier(table)}").aggregate(longest).fetchall()[0]
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


# ---------------------------------------------------------------- fingerprints


@dataclass
class Source:
    """One warehouse table of the copy, and the fingerprints of its rows by part."""

    schema: str
    table: str
    columns: list[tuple[str, str]]
    parts: dict[str, tuple[int, str]] = field(default_factory=dict)  # part -> (rows, fingerprint)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def source(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.table)}"

    @property
    def target(self) -> str:
        return f"{ALIAS}.{quote_identifier(self.schema)}.{quote_identifier(self.table)}"

    @property
    def fingerprint(self) -> str:
        return self.parts[WHOLE][1]

    @property
    def rows(self) -> int:
        return self.parts[WHOLE][0]


_SOURCE_ROW = "analyst_source_row"  # the alias whose hash() is the hash of a whole row
_code_digests: dict[str, str] = {}


def _code_digest() -> str:
    """The code that decides what the copy holds (this module, the masking), and the versions
    of DuckDB and Polars: a change to any of them copies every table again."""
    if "code" not in _code_digests:
        digest = hashlib.sha256(f"duckdb {duckdb.__version__} polars {pl.__version__}".encode())
        for path in (Path(__file__), Path(identifiers_module.__file__), Path(hashing_module.__file__)):
            digest.update(path.read_bytes())
        _code_digests["code"] = digest.hexdigest()
    return _code_digests["code"]


def _seal(key: bytes, *values: object) -> str:
    """A keyed fingerprint: nobody without the key can test a guess of the rows against it."""
    message = "\x1f".join(str(v) for v in values).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def source_fingerprints(
    con: duckdb.DuckDBPyConnection, src: Source, key: bytes, extra: str = ""
) -> dict[str, tuple[int, str]]:
    """(rows, fingerprint) of the table (part WHOLE) and, for a PARTITIONED table, of each part.

    A fingerprint seals the row count and the sum of DuckDB's hash of every row with the recipe:
    the columns and their types, the masking by column name, the code, and `extra`."""
    recipe = json.dumps([src.name, masking_plan(src.columns, None, src.schema), extra, _code_digest()])
    rel = con.table(src.source).set_alias(_SOURCE_ROW)
    row_hash = f"coalesce(sum(hash({_SOURCE_ROW})), 0)"
    partition = PARTITIONED.get((src.schema, src.table))
    if partition is None:
        rows, total = rel.aggregate(f"count(*), {row_hash}").fetchall()[0]
        return {WHOLE: (rows, _seal(key, recipe, rows, total))}
    column = quote_identifier(partition[0])
    parts = {
        str(part): (rows, _seal(key, recipe, part, rows, total))
        for part, rows, total in rel.aggregate(f"{column}, count(*), {row_hash}", column).fetchall()
    }
    whole = _seal(key, recipe, *sorted(f"{p}:{fp}" for p, (_r, fp) in parts.items()))
    return {WHOLE: (sum(r for r, _fp in parts.values()), whole), **parts}


def _building_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The report run of this process that is building the copy (still `running` in the warehouse)."""
    found = con.execute(BUILDING_RUN, list(this_process())).fetchall()
    return found[0][0] if found else None


# ---------------------------------------------------------------- building


def _copy_table(
    con: duckdb.DuckDBPyConnection,
    target: str,
    source: str,
    plan: list[tuple[str, str]],
    key: bytes,
    parts: tuple[str, list[str]] | None = None,
) -> None:
    """CREATE TABLE target from source: by DuckDB alone when nothing is masked, else streamed
    through `mask_frame` in batches of BATCH_ROWS (the reader on its own cursor). With `parts`
    (a column and its values), only those rows, appended to the existing target."""
    columns = ", ".join(_projection(c, t) for c, t in plan)
    if parts is None and not needs_masking(plan):
        con.table(source).project(columns).create(target)  # identifiers through the relation API
        return
    reader_con = con.cursor()
    try:
        relation = reader_con.table(source)
        if parts is not None:
            column, values = parts
            relation = relation.filter(
                duckdb.ColumnExpression(column).isin(*(duckdb.ConstantExpression(v) for v in values))
            )
        reader = relation.project(columns).fetch_record_batch(BATCH_ROWS)
        created = parts is not None
        for batch in reader:
            masked = mask_frame(pl.from_arrow(batch), plan, key)
            _write(con, target, masked, created)
            created = True
        if not created:  # an empty table keeps its columns
            empty = pl.from_arrow(reader.schema.empty_table())
            _write(con, target, mask_frame(empty, plan, key), False)
    finally:
        reader_con.close()


def _projection(column: str, treatment: str) -> str:
    quoted = quote_identifier(column)
    if treatment == "as_text":
        return f"CAST({quoted} AS VARCHAR) AS {quoted}"
    if treatment == "period":
        return f"strftime({quoted}, '{PERIOD_FORMAT}') AS {quoted}"
    return quoted


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


@dataclass
class Previous:
    """What the previous copy holds: its tables, their fingerprints by part, when each was copied."""

    tables: set[str] = field(default_factory=set)
    parts: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)
    copied_at: dict[str, datetime] = field(default_factory=dict)


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    # storage that DuckDB 1.1 and later open (a DuckDB 2 file opens in no 1.x client: docs/warehouse.md)
    run(con, "analyst/attach_copy", {"path": str(path)})


def _open_copy(con: duckdb.DuckDBPyConnection, target: Path, tmp: Path) -> Previous:
    """Attach `tmp` as ALIAS: a file copy of the previous copy when it has fingerprints (meta.sources),
    else a new file."""
    if target.exists():
        try:
            shutil.copyfile(target, tmp)
            _attach(con, tmp)
            previous = _previous(con)
            if previous is not None:
                return previous
        except (duckdb.Error, OSError):
            pass
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH analyst_copy")
    tmp.unlink(missing_ok=True)  # DuckDB takes no empty file for a database: it creates its own
    _attach(con, tmp)
    return Previous()


def _previous(con: duckdb.DuckDBPyConnection) -> Previous | None:
    tables = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'analyst_copy'"
        ).fetchall()
    }
    if not {"meta.sources", "meta.about"} <= tables:
        return None  # a copy from before fingerprints: built again from nothing
    previous = Previous(tables)
    for table, part, rows, fingerprint in con.execute(
        "SELECT table_name, part, rows, fingerprint FROM analyst_copy.meta.sources"
    ).fetchall():
        previous.parts.setdefault(table, {})[part] = (rows, fingerprint)
    previous.copied_at = dict(
        con.execute("SELECT table_name, copied_at FROM analyst_copy.meta.about").fetchall()
    )
    return previous


@dataclass
class Refresh:
    """What one build does to each table: keep it, copy it whole, or replace some of its parts."""

    kept: list[Source] = field(default_factory=list)
    whole: list[Source] = field(default_factory=list)
    parts: list[tuple[Source, list[str], list[str]]] = field(default_factory=list)  # (table, stale, fresh)
    dropped: list[str] = field(default_factory=list)  # tables of the previous copy to drop

    @property
    def copied(self) -> set[str]:
        return {s.name for s in self.whole} | {s.name for s, _st, _fr in self.parts}


def plan_refresh(sources: list[Source], previous: Previous) -> Refresh:
    """Keep a table whose fingerprint is unchanged; replace the changed parts of a partitioned one;
    copy every other table whole. Tables the previous copy holds and this one does not are dropped."""
    refresh = Refresh()
    for src in sources:
        before = previous.parts.get(src.name, {})
        if src.name not in previous.tables or WHOLE not in before:
            refresh.whole.append(src)
        elif before[WHOLE] == src.parts[WHOLE]:
            refresh.kept.append(src)
        elif (src.schema, src.table) in PARTITIONED:
            old = {p: v for p, v in before.items() if p != WHOLE}
            new = {p: v for p, v in src.parts.items() if p != WHOLE}
            stale = sorted(p for p in old if new.get(p) != old[p])
            fresh = sorted(p for p in new if old.get(p) != new[p])
            refresh.parts.append((src, stale, fresh))
        else:
            refresh.whole.append(src)
    ours = {s.name for s in sources}
    refresh.dropped = sorted((previous.tables - ours) | ({s.name for s in refresh.whole} & previous.tables))
    return refresh


def _apply_refresh(con: duckdb.DuckDBPyConnection, refresh: Refresh, key: bytes) -> None:
    """Drops and deletes first, a checkpoint (their blocks are then free for what is written next),
    then the copies."""
    for name in refresh.dropped:
        con.execute(naming("analyst/drop_table", {"table": f"{ALIAS}.{name}"}))
    for src, stale, _fresh in refresh.parts:
        if stale:
            column, delete = PARTITIONED[(src.schema, src.table)]
            treatment = column_treatment(column, "VARCHAR")  # the part's value as the copy holds it
            masked = mask_frame(pl.DataFrame({column: stale}), [(column, treatment)], key)[column].to_list()
            con.execute(delete, [sorted(set(stale) | set(masked))])
    con.execute("CHECKPOINT analyst_copy")
    for src in refresh.whole:
        con.execute(naming("analyst/create_schema", {"schema": f"{ALIAS}.{src.schema}"}))
        plan = masking_plan(src.columns, text_lengths(con, src.schema, src.table, src.columns), src.schema)
        _copy_table(con, src.target, src.source, plan, key)
    for src, _stale, fresh in refresh.parts:
        if fresh:  # a few parts: every text column scanned, sparing the scan of the whole table's lengths
            plan = masking_plan(src.columns, None, src.schema)
            _copy_table(con, src.target, src.source, plan, key, (PARTITIONED[(src.schema, src.table)][0], fresh))


def _rows(con: duckdb.DuckDBPyConnection, target: str) -> int:
    return con.table(target).aggregate("count(*)").fetchall()[0][0]


def _complete_building_run(con: duckdb.DuckDBPyConnection, run_id: str | None, key: bytes, at: datetime) -> None:
    """The copy shows the report run that builds it as completed, finished at the copy's build time."""
    if run_id is None:
        return
    short = mask_frame(pl.DataFrame({"run_id": [run_id]}), [("run_id", "short")], key)["run_id"][0]
    con.execute(COMPLETE_RUN, [at, short])


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    sources: list[Source],
    rows: dict[str, int],
    copied_at: dict[str, datetime],
    period: str | None,
    built_at: datetime,
) -> None:
    """meta.about (a row per table) and meta.sources (the fingerprints), written anew every build."""
    con.execute("CREATE SCHEMA IF NOT EXISTS analyst_copy.meta")
    con.execute("DROP TABLE IF EXISTS analyst_copy.meta.about")
    con.execute("DROP TABLE IF EXISTS analyst_copy.meta.sources")
    names = [s.name for s in sources] + ["meta.about", "meta.sources"]
    parts = [(s.name, part, n, fp) for s in sources for part, (n, fp) in sorted(s.parts.items())]
    about = pl.DataFrame(
        {
            "table_name": names,
            "rows": [rows.get(n, 0) for n in names[:-2]] + [len(names), len(parts)],
            "period": [period] * len(names),
            "built_at": [built_at] * len(names),
            "code_version": [code_version()] * len(names),
            "copied_at": [copied_at.get(n, built_at) for n in names],
        },
        schema_overrides={"rows": pl.Int64, "period": pl.String},
    )
    sources_frame = pl.DataFrame(
        parts, schema={"table_name": pl.String, "part": pl.String, "rows": pl.Int64, "fingerprint": pl.String},
        orient="row",
    )
    _write(con, "analyst_copy.meta.about", about, False)
    _write(con, "analyst_copy.meta.sources", sources_frame, False)
    rows["meta.about"], rows["meta.sources"] = about.height, sources_frame.height


def _comment(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT ON every table and column of the copy described in publish/analyst_comments.csv."""
    present: dict[str, list[str]] = {}
    existing: dict[tuple[str, str], str | None] = {}
    for schema, table, column, comment in con.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = 'analyst_copy' ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        present.setdefault(f"{schema}.{table}", []).append(column)
        existing[(f"{schema}.{table}", column)] = comment
    for schema, table, comment in con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = 'analyst_copy'"
    ).fetchall():
        existing[(f"{schema}.{table}", "")] = comment
    statements = comment_statements(ALIAS, present, existing)  # kept tables keep their comments
    if statements:
        con.execute(";\n".join(statements))  # one script: hundreds of statements, one call


def _parquet_fingerprint(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    try:
        found = con.execute(
            "SELECT CAST(value AS VARCHAR) FROM parquet_kv_metadata(?) WHERE CAST(key AS VARCHAR) = ?",
            [str(path), FINGERPRINT_KEY],
        ).fetchall()
    except duckdb.Error:
        return None
    return found[0][0] if found else None


def _write_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, names: list[str], fingerprints: dict[str, str], kept: set[str]
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Each table of the copy as out/analyst/<schema>.<table>.parquet, to a temporary file: a kept
    table whose file carries its fingerprint is left alone. Returns (temporary, final) pairs to rename
    and the names of every file of this copy."""
    written: list[tuple[Path, Path]] = []
    try:
        for name in names:
            final = folder / f"{name}.parquet"
            fingerprint = fingerprints.get(name)
            if name in kept and fingerprint and _parquet_fingerprint(con, final) == fingerprint:
                continue
            part = atomic_target(final)
            written.append((part, final))
            # DuckDB's write_parquet has no key-value metadata: COPY, the fingerprint under FINGERPRINT_KEY
            run(con, "analyst/copy_to_parquet_sealed" if fingerprint else "analyst/copy_to_parquet",
                {"table": f"analyst_copy.{name}", "path": str(part), "fingerprint": fingerprint})
    except BaseException:
        for part, _final in written:
            part.unlink(missing_ok=True)
        raise
    return written, [f"{n}.parquet" for n in names]


def build_analyst_copy(con: duckdb.DuckDBPyConnection, home: Home, *, period: str | None = None) -> dict:
    """Rebuild warehouse/analyst.duckdb and out/analyst/*.parquet from the warehouse `con`, copying
    again only the tables (for pay.payments the batches) whose rows changed since the last build."""
    home.analyst.parent.mkdir(parents=True, exist_ok=True)
    key = analyst_key(home)
    parquet_dir = analyst_dir(home)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    building_run = _building_run(con)
    sources = [Source(schema, table, columns) for (schema, table), columns in sorted(exported_columns(con).items())]
    for src in sources:
        extra = f"completed:{building_run}" if src.name == "audit.runs" and building_run else ""
        src.parts = source_fingerprints(con, src, key, extra)
    tmp = atomic_target(home.analyst)
    built = _build(con, home.analyst, tmp, sources, key, building_run, period, parquet_dir)
    _publish(built, tmp, home.analyst, parquet_dir, sources, period)
    return {
        "tables": len(built.files),
        "rows": sum(built.rows.values()),
        "path": str(home.analyst),
        "parquet_dir": str(parquet_dir),
        "tables_copied": len(built.copied),
        "tables_kept": len(sources) - len(built.copied),
    }


@dataclass
class Built:
    """A copy built into its temporary file, with its Parquet files waiting to be renamed."""

    rows: dict[str, int]
    copied: set[str]
    built_at: datetime
    written: list[tuple[Path, Path]]  # (temporary, final) Parquet files
    files: list[str]  # every Parquet file of this copy


def _build(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    tmp: Path,
    sources: list[Source],
    key: bytes,
    building_run: str | None,
    period: str | None,
    parquet_dir: Path,
) -> Built:
    """The copy in `tmp` (attached, refreshed, described, checkpointed, detached) and its Parquet files
    under temporary names; on any error, nothing is left behind."""
    written: list[tuple[Path, Path]] = []
    order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")  # lets DuckDB write the tables in parallel
    try:
        previous = _open_copy(con, target, tmp)
        refresh = plan_refresh(sources, previous)
        _apply_refresh(con, refresh, key)
        rows = {s.name: _rows(con, s.target) for s in sources}
        wrong = [s for s in sources if rows[s.name] != s.rows]
        if wrong:  # a copy that does not add up (edited by hand?): those tables again, whole
            _apply_refresh(con, Refresh(whole=wrong, dropped=[s.name for s in wrong]), key)
            rows.update({s.name: _rows(con, s.target) for s in wrong})
        built_at = now_shanghai()
        if any(s.name == "audit.runs" for s in sources):
            _complete_building_run(con, building_run, key, built_at)
        copied = refresh.copied | {s.name for s in wrong}
        copied_at = {s.name: previous.copied_at.get(s.name, built_at) for s in sources if s.name not in copied}
        _write_meta(con, sources, rows, copied_at, period, built_at)
        _comment(con)
        names = [s.name for s in sources] + ["meta.about", "meta.sources"]
        fingerprints = {s.name: s.fingerprint for s in sources}
        written, files = _write_parquet(con, parquet_dir, names, fingerprints, {s.name for s in sources} - copied)
        con.execute("CHECKPOINT analyst_copy")
        con.execute("DETACH analyst_copy")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH analyst_copy")
        for part, _ in written:
            part.unlink(missing_ok=True)
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("SET preserve_insertion_order = ?", [bool(order)])
    return Built(rows, copied, built_at, written, files)


def _publish(
    built: Built, tmp: Path, target: Path, parquet_dir: Path, sources: list[Source], period: str | None
) -> None:
    """Rename the copy and its new Parquet files into place, remove the files of tables no longer
    exported (by the previous manifest), and write the manifest last."""
    os.chmod(tmp, FILE_MODE)  # DuckDB made the file; the home's mode, as atomic_target gives
    os.replace(tmp, target)
    previous_files = _previous_files(parquet_dir)
    for part, final in built.written:
        os.replace(part, final)
    for name in previous_files - set(built.files):
        with contextlib.suppress(FileNotFoundError):
            (parquet_dir / name).unlink()
    fingerprints = {s.name: s.fingerprint for s in sources}
    manifest = {
        "period": period,
        "built_at": built.built_at.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "analyst_duckdb": str(target),
        "tables": built.rows,
        "files": sorted(built.files),
        "fingerprints": fingerprints,
        "copied": sorted(built.copied),
        "kept": sorted(fingerprints.keys() - built.copied),
    }
    write_text_atomic(parquet_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


def _previous_files(folder: Path) -> set[str]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {name for name in manifest.get("files", []) if name.endswith(".parquet") and "/" not in name}

