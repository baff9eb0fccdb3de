"""The analyst copy opens in DuckDB 1.x (issue 16): the newest shells on PyPI are 1.x, and a
file in DuckDB 2's storage opens in none of them. A separate environment with duckdb 1.1.3
from PyPI reads the copy the way an analyst's older tool would: its tables, the comments on
every table and column, the periods as text, after a rebuild that kept the previous copy's tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date

import pytest
from helpers import at, case_rows, drop_cases, ingest_all, make_id

from core.home import Home
from publish.analyst import build_analyst_copy
from publish.analyst_comments import load_comments
from warehouse.connection import open_warehouse

OLD_CLIENT = "duckdb==1.1.3"


@pytest.fixture(scope="module")
def old_duckdb(tmp_path_factory):
    env = tmp_path_factory.mktemp("duckdb-1.1")
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    got = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", OLD_CLIENT],
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr[-2000:]
    return env / "bin" / "python"


def test_duckdb_1_1_opens_the_analyst_copy_and_reads_its_tables(tmp_path, old_duckdb):
    home = Home(tmp_path).ensure()
    zhang = ("张三", make_id("19800101", "001"), "户主", "300")
    drop_cases(home, "500110001", "a.csv", case_rows("GN-1", "500110001", [zhang]), at(25))
    ingest_all(home, date(2025, 3, 25))
    with open_warehouse(home, flow="test") as con:
        build_analyst_copy(con, home, period="2025-03")
    with open_warehouse(home, flow="test", read_only=True) as con:  # a rebuild that keeps every table
        assert build_analyst_copy(con, home, period="2025-03")["tables_copied"] == 0
    got = subprocess.run([str(old_duckdb), "-c", READ, str(home.analyst)], capture_output=True, text=True,
                         timeout=120)
    assert got.returncode == 0, got.stderr[-2000:]
    seen = json.loads(got.stdout)
    assert seen["version"] == "1.1.3"
    assert seen["counts"] == [1, 1]
    comments = load_comments()
    assert seen["tables"] == {t: comments[t].comment for t in seen["tables"]}
    assert "core.cases_current" in seen["tables"] and "meta.about" in seen["tables"]
    described = {f"{t}.{c}": text for t, doc in comments.items() for c, _ty, text in doc.columns}
    assert seen["columns"] == {c: described[c] for c in seen["columns"]}
    assert len(seen["columns"]) > 100
    assert seen["effective_month"][0] == "VARCHAR" and re.fullmatch(r"\d{4}-\d{2}", seen["effective_month"][1])


READ = """
import duckdb, json, sys
c = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({
    "version": duckdb.__version__,
    "counts": [c.sql("SELECT count(*) FROM core.cases_current").fetchall()[0][0],
               c.sql("SELECT count(*) FROM core.members_current").fetchall()[0][0]],
    "tables": dict(c.sql("SELECT schema_name || '.' || table_name, comment FROM duckdb_tables()").fetchall()),
    "columns": dict(c.sql("SELECT schema_name || '.' || table_name || '.' || column_name, comment "
                          "FROM duckdb_columns() WHERE NOT internal").fetchall()),
    "effective_month": list(c.sql("SELECT typeof(effective_month), effective_month FROM core.cases_current").fetchall()[0]),
}))
"""
