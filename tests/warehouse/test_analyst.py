"""The analysts' copy (SPEC §7, issue 7): analyst.duckdb and out/analyst/*.parquet hold
materialised, masked tables only — no resident ID, no account number in any text
column of any table — rebuilt in a temporary file and renamed into place."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from helpers import REF, at, case_rows, drop_cases, ingest_all, make_id

from core.home import Home
from flows.close_month import close_period
from publish.analyst import build_analyst_copy
from transforms.identifiers import id_is_valid, mask
from warehouse.connection import open_warehouse
from warehouse.mart import build_marts

GUNAN = "500110001"
ACCOUNT = "6222021234567890128"
OUYANG = ("欧阳娜娜", make_id("19800101", "001"), "户主", "300")
ZHANG = ("张三丰", make_id("19820202", "002"), "户主", "0")
CHILD = ("张小明", make_id("20150303", "003"), "子女", "0")
ID_CANDIDATE = re.compile(r"(?=(\d{17}[\dXx]))")
LONG_DIGITS = re.compile(r"\d{16,}")


def leaks(value: str) -> list[str]:
    found = [m for m in ID_CANDIDATE.findall(value) if id_is_valid(m.upper(), date(2030, 1, 1))]
    return found + LONG_DIGITS.findall(value)


@pytest.fixture(scope="module")
def copied(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("analyst")).ensure()
    remark = f"户主身份证{ZHANG[1]}，原账号{ACCOUNT}"
    rows = case_rows("GN-1", GUNAN, [OUYANG], account=ACCOUNT)
    rows += case_rows("GN-2", GUNAN, [ZHANG, CHILD], benefit="1500")
    drop_cases(home, GUNAN, "a.csv", rows, at(25))
    ingest_all(home, date(2025, 3, 25))
    with open_warehouse(home, flow="test") as con:  # free text and evidence as other flows write them
        con.execute("UPDATE core.case_versions SET remark = ? WHERE case_no = 'GN-2'", [remark])
        con.execute(
            "INSERT INTO checks.findings (finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no, "
            "evidence_key, message, first_seen_run, last_seen_run, status, first_seen_on, evidence) VALUES "
            "(?, 'X09', 'warning', false, ?, 'GN-1', ?, ?, ?, 'r', 'r', 'open', DATE '2025-04-01', ?)",
            ["f" * 64, GUNAN, OUYANG[1], ACCOUNT, f"账号{ACCOUNT}被多个案件使用", f"账号 {ACCOUNT}"],
        )
    close_period.fn(str(home.root), "2025-04", "2025-04-01", False)
    with open_warehouse(home, flow="test") as con:
        build_marts(con, REF, "2025-04", "2025-04")
        build_analyst_copy(con, home, period="2025-04")
    return home


def test_no_text_column_of_any_table_holds_an_id_or_an_account(copied):
    con = duckdb.connect(str(copied.analyst), read_only=True)
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
    assert {
        ("core", "members_current"),
        ("core", "cases_current"),
        ("checks", "findings"),
        ("pay", "payments"),
        ("pay", "batches"),
        ("audit", "runs"),
        ("mart", "monthly_statistics"),
    } <= set(tables)
    scanned = 0
    for schema, table in tables:
        columns = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
            "AND data_type = 'VARCHAR'",
            [schema, table],
        ).fetchall()
        for (column,) in columns:
            values = con.execute(
                f'SELECT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()
            for (value,) in values:
                assert not leaks(value), (schema, table, column, value)
                scanned += 1
    assert scanned > 100


def test_no_text_column_of_any_parquet_file_holds_an_id_or_an_account(copied):
    folder = copied.out / "analyst"
    files = sorted(folder.glob("*.parquet"))
    assert {"core.members_current.parquet", "pay.payments.parquet", "checks.findings.parquet"} <= {
        f.name for f in files
    }
    for path in files:
        table = pq.read_table(path)  # pyarrow, not our DuckDB: what an older tool sees
        for name, column in zip(table.column_names, table.columns, strict=True):
            if str(column.type) in ("string", "large_string"):
                for value in column.to_pylist():
                    assert value is None or not leaks(value), (path.name, name, value)


def test_ids_are_masked_names_reduced_to_the_surname_accounts_dropped(copied):
    con = duckdb.connect(str(copied.analyst), read_only=True)
    members = dict(con.execute("SELECT id_no, name FROM core.members_current").fetchall())
    assert members == {mask(OUYANG[1]): "欧阳", mask(ZHANG[1]): "张", mask(CHILD[1]): "张"}
    columns = {c for (c,) in con.execute("SELECT DISTINCT column_name FROM duckdb_columns()").fetchall()}
    assert "account_no" not in columns and "has_account" in columns
    payee = con.execute("SELECT DISTINCT id_no, payee_name FROM pay.payments ORDER BY 1").fetchall()
    assert payee == sorted([(mask(OUYANG[1]), "欧阳"), (mask(ZHANG[1]), "张")])
    remark = con.execute("SELECT remark FROM core.case_versions WHERE case_no = 'GN-2'").fetchall()[0][0]
    assert "户主身份证" in remark and ZHANG[1] not in remark and ACCOUNT not in remark
    x09 = con.execute("SELECT evidence_key, message FROM checks.findings WHERE rule_id = 'X09'").fetchall()[0]
    assert ACCOUNT not in x09[0] and ACCOUNT not in x09[1] and "被多个案件使用" in x09[1]


def test_only_materialised_tables_no_views_no_attached_database(copied):
    con = duckdb.connect(str(copied.analyst), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]
    assert {
        d
        for (d,) in con.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()
    } == {"analyst"}
    leftovers = [
        p.name
        for p in copied.warehouse_dir.iterdir()
        if p.name.endswith((".tmp", ".wal")) and "analyst" in p.name
    ]
    assert leftovers == []


def test_analysts_read_their_copy_while_the_warehouse_is_being_written(copied):
    with open_warehouse(copied, flow="test") as writer:
        writer.execute("CREATE TEMP TABLE busy AS SELECT 1")  # the main file is held for writing
        with pytest.raises(duckdb.Error):
            duckdb.connect(str(copied.warehouse), read_only=True)
        analyst = duckdb.connect(str(copied.analyst), read_only=True)
        households = analyst.execute("SELECT sum(households_closing) FROM mart.monthly_statistics").fetchall()
        analyst.close()
    assert households == [(2,)]


def test_rebuild_replaces_the_copy_and_only_our_stale_parquet_files(copied, tmp_path):
    folder = copied.out / "analyst"
    foreign = folder / "my_notes.txt"
    foreign.write_text("mine", encoding="utf-8")
    stale = folder / "core.old_table.parquet"
    stale.write_bytes(b"x")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"].append(stale.name)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    reader = duckdb.connect(str(copied.analyst), read_only=True)  # an analyst has the old copy open
    old_inode = Path(copied.analyst).stat().st_ino
    with open_warehouse(copied, flow="test", read_only=True) as con:
        summary = build_analyst_copy(con, copied, period="2025-04")
    assert Path(copied.analyst).stat().st_ino != old_inode  # renamed into place
    assert reader.execute("SELECT count(*) FROM core.members_current").fetchall() == [(3,)]
    reader.close()
    assert foreign.exists() and not stale.exists()
    assert summary["tables"] == len(
        json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    )
