"""Registry extracts of other departments (SPEC §3): finding and reading them.

`registries/<source>/<extract_date>.csv|parquet`, the date as YYYY-MM-DD. An
extract dated after the run's as-of date has not arrived yet. Files are read
with DuckDB's own CSV and Parquet readers (fast on tens of millions of rows),
every column as text; the header is matched to the source's columns
(case-insensitive, spaces and BOM stripped; the submission header synonyms of
`id_no` and `name`, e.g. 身份证号, are accepted too).

IDs are normalised once per distinct value with the one owner of ID rules,
`transforms.identifiers` (trim, full-width digits, upper-case X, 15 -> 18
upgrade), and checked on the extract's date; rows whose ID is still invalid
are dropped and counted. Nothing here writes the warehouse: that is
`intake.registry_load`, which stores through `warehouse.registry_store`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from core.files import sha256_of
from core.home import Home
from transforms.identifiers import CANONICAL_ID, id_problem_expr, normalise_id_expr
from transforms.text import apply_where
from warehouse.audit import inputs_digest

# column kinds: id, text, date, money, bool, period
SOURCES: dict[str, dict[str, str]] = {
    "deaths": {"id_no": "id", "name": "text", "died_on": "date"},
    "vehicles": {
        "id_no": "id",
        "plate": "text",
        "vehicle_type": "text",
        "registered_on": "date",
        "status": "text",
        "disability_vehicle": "bool",
    },
    "real_estate": {
        "id_no": "id",
        "property_id": "text",
        "use": "text",
        "area_m2": "money",
        "registered_on": "date",
    },
    "business": {
        "id_no": "id",
        "uscc": "text",
        "role": "text",
        "status": "text",
        "registered_capital": "money",
    },
    "social_insurance": {"id_no": "id", "kind": "text", "monthly_amount": "money", "period": "period"},
    "provident_fund": {"id_no": "id", "monthly_contribution": "money", "status": "text"},
    "public_payroll": {"id_no": "id", "employer": "text", "since": "date"},
    "deposits": {"id_no": "id", "institution": "text", "balance": "money", "as_of": "date"},
}
ACCUMULATING = frozenset({"deaths"})  # a recorded death is never cleared by a later extract
SUFFIXES = (".csv", ".parquet")
DECODED_VIEW = "_reg_decoded"  # a GB18030 CSV decoded in Python, registered for the duration of one load
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.csv|\.parquet)$", re.IGNORECASE)


@dataclass(frozen=True)
class ExtractFile:
    source: str
    extract_date: date
    path: Path
    rel_path: str
    size: int
    file_format: str  # csv, parquet

    @property
    def sort_key(self) -> tuple:
        return (self.source, self.extract_date, self.path.name)


@dataclass
class ExtractDiscovery:
    extracts: list[ExtractFile]
    not_yet_arrived: int = 0  # dated after the as-of date
    ignored: list[str] = field(default_factory=list)  # unknown sources, badly named files (home-relative)


class ExtractUnreadable(ValueError):
    """The extract cannot be used; the message is the one-line reason."""


def discover_extracts(home: Home, as_of: date) -> ExtractDiscovery:
    """Every extract file of a known source dated on or before `as_of`, in (source, date, name) order."""
    found = ExtractDiscovery([])
    root = home.registries
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir()):
        rel_folder = folder.relative_to(home.root).as_posix()
        if folder.name.startswith(".") or folder.is_symlink():
            continue
        if not folder.is_dir() or folder.name not in SOURCES:
            found.ignored.append(rel_folder)
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "~$")) or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(home.root).as_posix()
            match = _NAME.match(path.name)
            if not match:
                found.ignored.append(rel)
                continue
            try:
                day = date.fromisoformat(match.group(1))
            except ValueError:
                found.ignored.append(rel)
                continue
            if day > as_of:
                found.not_yet_arrived += 1
                continue
            found.extracts.append(
                ExtractFile(
                    folder.name, day, path, rel, path.stat().st_size, match.group(2).lower().lstrip(".")
                )
            )
    found.extracts.sort(key=lambda e: e.sort_key)
    return found


def _header_key(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def column_mapping(
    source: str, columns: list[str], header_synonyms: dict[str, str] | None = None
) -> dict[str, str]:
    """File column -> source column for the source's columns found in `columns`.

    Raises ExtractUnreadable naming the missing required column(s)."""
    wanted = SOURCES[source]
    synonyms = {_header_key(h): f for h, f in (header_synonyms or {}).items() if f in ("id_no", "name")}
    mapping: dict[str, str] = {}
    for col in columns:
        key = _header_key(col)
        target = key if key in wanted else synonyms.get(key)
        if target in wanted and target not in mapping.values():
            mapping[col] = target
    missing = [c for c in wanted if c not in mapping.values()]
    if missing:
        raise ExtractUnreadable(f"缺少必需列 {', '.join(missing)} (missing required column(s))")
    return mapping


def read_extract(
    con: duckdb.DuckDBPyConnection, extract: ExtractFile, header_synonyms: dict[str, str] | None = None
) -> duckdb.DuckDBPyRelation:
    """The extract as a relation with exactly the source's columns, all VARCHAR (`raw_id` holds the ID as read).

    Raises ExtractUnreadable when the file cannot be read or a required column is missing."""
    try:
        if extract.file_format == "parquet":
            rel = con.read_parquet(str(extract.path))
        else:
            rel = _read_csv(con, extract.path)
        columns = list(rel.columns)
    except duckdb.Error as exc:
        raise ExtractUnreadable(f"文件无法读取 (cannot be read: {_one_line(exc)})") from None
    mapping = column_mapping(extract.source, columns, header_synonyms)
    exprs = [
        duckdb.ColumnExpression(col)
        .cast(duckdb.sqltype("VARCHAR"))
        .alias("raw_id" if target == "id_no" else target)
        for col, target in mapping.items()
    ]
    return rel.select(*exprs)


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation:
    try:
        rel = con.read_csv(str(path), all_varchar=True, header=True)
        rel.limit(1).fetchall()  # surfaces encoding errors of the sniffed sample now
        return rel
    except duckdb.Error as exc:
        if "unicode" not in str(exc).lower() and "utf" not in str(exc).lower():
            raise
    # not UTF-8: GB18030 (a superset of GBK), decoded here and handed over as text
    try:
        text = path.read_bytes().decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ExtractUnreadable("文件编码无法识别 (neither UTF-8 nor GB18030)") from exc
    frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    con.register(DECODED_VIEW, frame.to_arrow())
    return con.view(DECODED_VIEW)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


def normalise_registry_ids(raw_ids: pl.DataFrame, on: date) -> pl.DataFrame:
    """raw_id -> id_no for distinct raw IDs (pure Polars, via transforms.identifiers).

    Returns columns raw_id, id_no (null when still invalid after the upgrade), upgraded (15 -> 18).
    """
    raw = raw_ids.select(pl.col("raw_id").cast(pl.String))
    # most extract IDs are canonical already: only the others go through normalise_id_expr
    norm = apply_where(raw["raw_id"], ~raw["raw_id"].str.contains(CANONICAL_ID), normalise_id_expr)
    return (
        raw.with_columns(norm=norm)
        .with_columns(problem=id_problem_expr(pl.col("norm"), on))
        .select(
            "raw_id",
            pl.when(pl.col("problem").is_null()).then(pl.col("norm")).otherwise(None).alias("id_no"),
            (
                pl.col("problem").is_null()
                & (pl.col("raw_id").str.replace_all(r"\s", "").str.len_chars() == 15)
            ).alias("upgraded"),
        )
    )


def extracts_digest(home: Home, as_of: date) -> str:
    """The digest of every extract dated on or before `as_of` (a cross-check run's inputs)."""
    return inputs_digest(sha256_of(e.path) for e in discover_extracts(home, as_of).extracts)
