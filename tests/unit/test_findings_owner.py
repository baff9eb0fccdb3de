"""One writer of checks.findings (checks/lifecycle.py, its statements in
warehouse/sql/findings/), and one SQL loader and binder (warehouse/sqlfiles.py)."""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.sqlfiles import SQL_DIR, bind, parameter_names, sql

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "transforms", "warehouse", "checks", "intake", "payments", "publish", "notify", "synth",
            "flows", "jiuzhu", "web")
WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+checks\.findings\b", re.IGNORECASE)


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*") if p.suffix in (".py", ".sql")]


def test_only_the_lifecycle_writes_findings():
    writers = {
        p.relative_to(ROOT).as_posix()
        for p in _sources()
        if "migrations" not in p.parts and WRITE.search(p.read_text(encoding="utf-8"))
    }
    assert writers, "the pattern finds the lifecycle's statements"
    assert {w for w in writers if not w.startswith("warehouse/sql/findings/")} == set()
    runners = {
        p.relative_to(ROOT).as_posix()
        for p in _sources()
        if p.suffix == ".py" and re.search(r"[\"']findings/", p.read_text(encoding="utf-8"))
    }
    assert runners == {"checks/lifecycle.py"}


def test_no_other_sql_loader():
    loaders = {
        p.relative_to(ROOT).as_posix()
        for p in _sources()
        if p.suffix == ".py" and re.search(r"\.sql[\"']\)?\.read_text\(|/ f\"\{name\}\.sql\"", p.read_text("utf-8"))
    }
    assert loaders == {"warehouse/sqlfiles.py"}


def test_bind_passes_exactly_the_parameters_a_statement_names():
    text = "SELECT * FROM t WHERE a = $as_of AND b = $as_of_day AND c LIKE $prefix || '%' AND d = '$.x'"
    assert parameter_names(text) == {"as_of", "as_of_day", "prefix"}
    values = {"as_of": 1, "as_of_day": 2, "prefix": "ab", "unused": 3}
    assert bind(text, values) == {"as_of": 1, "as_of_day": 2, "prefix": "ab"}


def test_sql_reads_any_layers_folder():
    assert "checks.findings" in sql("findings/upsert_checked")
    assert sql("x01_deaths", folder=ROOT / "checks" / "sql").lstrip().startswith(("--", "SELECT", "WITH"))
    assert SQL_DIR == ROOT / "warehouse" / "sql"
