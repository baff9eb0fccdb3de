"""Reference tables (SPEC §4): shipped as CSV, dated, overridable per home.

Every layer reads reference data through this module. A file of the same name
in `<home>/reference/` replaces the shipped one. Every table is a Polars frame
with declared types; rows carry an effective date so that a past month is
always computed with the rules of that month.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path

import polars as pl

SHIPPED = Path(__file__).resolve().parent / "reference_data"

D, S, I, F = pl.Date, pl.String, pl.Int64, pl.Float64  # noqa: E741
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "towns": {"code": S, "name": S, "kind": S, "wave": I, "authority_from": D},
    "standards": {"effective_from": D, "standard": S, "amount": S},
    "programs": {"program": S, "label": S, "family": S, "standard": S},
    "classified_extras": {"effective_from": D, "extra": S, "amount": S, "min_age": I},
    "care_subsidies": {"effective_from": D, "self_care": S, "amount": S},
    "time_limits": {"effective_from": D, "limit_key": S, "value": I, "unit": S},
    "spot_check": {
        "effective_from": D,
        "ratio": F,
        "minimum_per_town": I,
        "error_rate_threshold": F,
        "ratio_step": F,
        "ratio_max": F,
    },
    "asset_thresholds": {"effective_from": D, "threshold": S, "value": S},
    "eligibility": {"effective_from": D, "rule": S, "value": I},
    "tekun_disability": {"effective_from": D, "disability_type": S, "max_grade": I},
    "holidays": {"date": D, "kind": S, "name": S},
    "header_synonyms": {"field": S, "header": S, "level": S, "required": pl.Boolean},
    "codes": {"field": S, "label": S, "code": S},
    "officers": {"officer": S, "name": S, "role": S, "active_from": D, "active_to": D},
    "settings": {"key": S, "value": S},
    "registry_sources": {"source": S, "label": S},
}


class ReferenceError(ValueError):
    """A reference table cannot be used; the message names the file and the problem."""


# Columns read as text but used as money or amounts: each must parse as a Decimal.
DECIMAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "standards": ("amount",),
    "classified_extras": ("amount",),
    "care_subsidies": ("amount",),
    "asset_thresholds": ("value",),
}
# Columns no row may leave blank: the date a row takes effect, and the amounts.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    name: (("effective_from",) if "effective_from" in schema else ()) + DECIMAL_COLUMNS.get(name, ())
    for name, schema in SCHEMAS.items()
} | {"holidays": ("date",), "towns": ("code",), "settings": ("key",)}
_EXPECTED = {pl.Date: "a date (YYYY-MM-DD)", pl.Int64: "a whole number", pl.Float64: "a number"}


def _csv_lines(path: Path) -> list[int]:
    """The 1-based line on which each data row of the CSV starts (the header is line 1)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        starts, start = [], 1
        for i, _row in enumerate(reader):
            if i:
                starts.append(start)
            start = reader.line_num + 1
    return starts


def _refuse(path: Path, index: int, col: str, value: object, expected: str) -> ReferenceError:
    lines = _csv_lines(path)
    line = lines[index] if index < len(lines) else index + 2
    shown = "blank" if value is None else repr(value)
    return ReferenceError(f"{path}: line {line}, column {col}: {shown} is not {expected}")


def _is_decimal(text: str | None) -> bool:
    try:
        return text is not None and Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _read_table(name: str, path: Path) -> pl.DataFrame:
    """One reference CSV, typed; a cell that cannot be read is refused naming the file, line and column."""
    schema = SCHEMAS[name]
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported the same way
        raise ReferenceError(f"{path}: cannot be read as CSV ({' '.join(str(exc).split())})") from exc
    raw = raw.rename({c: c.strip().lstrip("\ufeff") for c in raw.columns})
    missing = [c for c in schema if c not in raw.columns]
    if missing:
        raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)} in its header (line 1)")
    out = raw.with_columns(pl.col(c).str.strip_chars() for c in raw.columns)
    casts = []
    for col, dtype in schema.items():
        expr = pl.col(col).replace("", None)
        if dtype == pl.Date:
            casts.append(expr.str.to_date("%Y-%m-%d", strict=False).alias(col))
        elif dtype == pl.Boolean:
            casts.append(expr.str.to_lowercase().is_in(["true", "1", "yes", "是"]).alias(col))
        else:
            casts.append(expr.cast(dtype, strict=False).alias(col))
    typed = out.with_columns(casts)
    for col, dtype in schema.items():
        given = out[col].replace("", None)
        if col in REQUIRED_COLUMNS.get(name, ()):
            blank = given.is_null().arg_true()
            if blank.len():
                raise _refuse(path, blank[0], col, None, _EXPECTED.get(dtype, "a value") + " (it is required)")
        if dtype in _EXPECTED:
            bad = (typed[col].is_null() & given.is_not_null()).arg_true()
            if bad.len():
                raise _refuse(path, bad[0], col, given[bad[0]], _EXPECTED[dtype])
    for col in DECIMAL_COLUMNS.get(name, ()):
        for i, text in enumerate(out[col].to_list()):
            if not _is_decimal(text):
                raise _refuse(path, i, col, text, "an amount (a decimal number such as 1260 or 12.5)")
    return typed


@dataclass(frozen=True)
class Reference:
    """All reference tables, with the few lookups every layer needs."""

    tables: dict[str, pl.DataFrame]
    sources: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    # ---- settings
    @cached_property
    def _settings(self) -> dict[str, str | None]:
        """key -> value (the first row of a key), built once: a lookup is asked per file and per
        step, and a filter of the table cost ~0.4 ms each (~3 s of the demo)."""
        t = self.tables["settings"]
        out: dict[str, str | None] = {}
        for key, value in zip(t["key"].to_list(), t["value"].to_list(), strict=True):
            out.setdefault(key, value)
        return out

    def setting(self, key: str, default: str | None = None) -> str | None:
        value = self._settings.get(key)
        return default if value is None else value

    def setting_int(self, key: str, default: int) -> int:
        return int(self.setting(key, str(default)))

    def setting_decimal(self, key: str, default: str) -> Decimal:
        return Decimal(self.setting(key, default))

    # ---- towns and codes
    @property
    def town_codes(self) -> list[str]:
        return self.tables["towns"]["code"].to_list()

    def town(self, code: str) -> dict | None:
        rows = self.tables["towns"].filter(pl.col("code") == code).to_dicts()
        return rows[0] if rows else None

    @cached_property
    def _code_maps(self) -> dict[str, dict[str, str]]:
        t = self.tables["codes"]
        out: dict[str, dict[str, str]] = {}
        for field_name, label, code in zip(t["field"].to_list(), t["label"].to_list(), t["code"].to_list(),
                                           strict=True):
            out.setdefault(field_name, {})[label] = code
        return out

    def code_map(self, field_name: str) -> dict[str, str]:
        """Chinese label -> code for one coded field (SPEC §2 value lists); a copy, the caller's to keep."""
        return dict(self._code_maps.get(field_name, {}))

    def source_labels(self) -> dict[str, str]:
        """Registry source -> its Chinese name, as the 核对报告 shows it (registry_sources table)."""
        t = self.tables["registry_sources"]
        return dict(zip(t["source"].to_list(), t["label"].to_list(), strict=True))

    def header_map(self) -> dict[str, str]:
        """Any accepted header (Chinese, English, synonym) -> canonical field."""
        t = self.tables["header_synonyms"]
        return dict(zip(t["header"].to_list(), t["field"].to_list(), strict=True))

    def required_fields(self) -> list[str]:
        t = self.tables["header_synonyms"].filter(pl.col("required"))
        return t["field"].unique(maintain_order=True).to_list()

    def is_officer(self, officer: str, on: date) -> bool:
        t = self.tables["officers"].filter(
            ((pl.col("officer") == officer) | (pl.col("name") == officer))
            & (pl.col("active_from") <= on)
            & (pl.col("active_to").is_null() | (pl.col("active_to") >= on))
        )
        return t.height > 0

    # ---- dated values
    def dated(self, name: str, key_col: str, key: str, on: date, value_col: str = "value"):
        """The value of the row with the latest effective date on or before `on`."""
        t = self.tables[name].filter((pl.col(key_col) == key) & (pl.col("effective_from") <= on))
        if t.height == 0:
            raise ReferenceError(f"reference table {name}: no row for {key} in force on {on}")
        return t.sort("effective_from")[value_col][-1]

    def time_limit(self, key: str, on: date) -> int:
        return int(self.dated("time_limits", "limit_key", key, on))

    def eligibility(self, rule: str, on: date) -> int:
        return int(self.dated("eligibility", "rule", rule, on))

    def asset_threshold(self, key: str, on: date) -> Decimal:
        return Decimal(self.dated("asset_thresholds", "threshold", key, on))

    def spot_check(self, on: date) -> dict:
        t = self.tables["spot_check"].filter(pl.col("effective_from") <= on).sort("effective_from")
        if t.height == 0:
            raise ReferenceError(f"reference table spot_check: no row in force on {on}")
        return t.row(-1, named=True)

    def fingerprint(self) -> str:
        """A hash of every table's content, for audit and cache keys."""
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self.tables):
            h.update(name.encode())
            h.update(self.tables[name].write_csv().encode())
        return h.hexdigest()


_LOADED: dict[tuple, Reference] = {}


def load_reference(override_dir: Path | None = None) -> Reference:
    """Shipped tables, each replaced by a same-named CSV in `override_dir` if present.

    Loaded once per process for the same files (keyed by path, size and
    modification time), so a flow's tasks can each ask for it cheaply."""
    chosen = {}
    for name in SCHEMAS:
        path = SHIPPED / f"{name}.csv"
        if override_dir is not None and (override_dir / f"{name}.csv").is_file():
            path = override_dir / f"{name}.csv"
        chosen[name] = path
    key = tuple((name, str(path), path.stat().st_mtime_ns, path.stat().st_size) for name, path in chosen.items())
    if key not in _LOADED:
        tables = {name: _read_table(name, path) for name, path in chosen.items()}
        _LOADED[key] = Reference(tables=tables, sources={name: str(path) for name, path in chosen.items()})
    return _LOADED[key]


def build_holidays_rows(first_year: int = 2020) -> list[tuple[str, str, str]]:
    """Weekday holidays and weekend make-up working days from the chinesecalendar
    package, for every year it covers from `first_year` (the official notices)."""
    import chinese_calendar

    rows = [
        (d.isoformat(), "holiday", str(name))
        for d, name in chinese_calendar.holidays.items()
        if d.year >= first_year and d.weekday() < 5
    ] + [
        (d.isoformat(), "workday", str(name))
        for d, name in chinese_calendar.workdays.items()
        if d.year >= first_year and d.weekday() >= 5
    ]
    return sorted(rows)


def write_holidays_csv(path: Path, first_year: int = 2020) -> int:
    rows = build_holidays_rows(first_year)
    years = sorted({r[0][:4] for r in rows})
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "kind", "name"])
        w.writerows(rows)
        # an explicit marker per covered year, so a year with no weekday holiday
        # would still count as covered
        w.writerows((f"{y}-01-01", "covered", "year covered by an official notice") for y in years)
    return len(rows)
