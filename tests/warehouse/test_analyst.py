"""The analysts' copy (SPEC §7, issue 7): analyst.duckdb and out/analyst/*.parquet hold
materialised, masked tables only — no resident ID, no account number in any text
column of any table — rebuilt in a temporary file and renamed into place."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from helpers import REF, at, case_rows, drop_cases, ingest_all, make_id

from core.home import Home
from flows.close_month import close_month_flow
from publish.analyst import build_analyst_copy, mask_frame, masking_plan
from publish.analyst_comments import load_comments
from transforms.identifiers import id_is_valid, mask
from warehouse.audit import finish_run, start_run
from warehouse.connection import open_warehouse
from warehouse.mart import build_marts

GUNAN = "500110001"
ACCOUNT = "6222021234567890128"
OUYANG = ("欧阳娜娜", make_id("19800101", "001"), "户主", "300")
ZHANG = ("张三丰", make_id("19820202", "002"), "户主", "0")
CHILD = ("张小明", make_id("20150303", "003"), "子女", "0")
ID_CANDIDATE = re.compile(r"(?=(\d{17}[\dXx]))")
# a run of digits inside a hex digest (a fingerprint: 397a46d5831994814020843ebb8d63ad) is no account
LONG_DIGITS = re.compile(r"(?<![0-9a-f])\d{16,}(?![0-9a-f])")


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
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=False)
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


# ---------------------------------------------------------------- comments, periods, the building run


def test_every_table_and_column_of_the_copy_has_the_comment_and_type_of_the_reference_file(copied):
    comments = load_comments()
    con = duckdb.connect(str(copied.analyst), read_only=True)
    tables = con.execute("SELECT schema_name || '.' || table_name, comment FROM duckdb_tables()").fetchall()
    assert {t for t, _ in tables} <= set(comments)
    for table, comment in tables:
        assert comment == comments[table].comment, table
    columns = con.execute(
        "SELECT schema_name || '.' || table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE NOT internal ORDER BY schema_name, table_name, column_index"
    ).fetchall()
    described = {(t, c): (ty, text) for t, doc in comments.items() for c, ty, text in doc.columns}
    missing = [(t, c) for t, c, _ty, _text in columns if (t, c) not in described]
    assert not missing, f"add these to publish/analyst_comments.csv: {missing}"
    for table, column, data_type, comment in columns:
        assert (data_type, comment) == described[(table, column)], (table, column)


def test_every_period_of_the_copy_is_text_yyyy_mm_while_the_warehouse_keeps_dates(copied):
    con = duckdb.connect(str(copied.analyst), read_only=True)
    typed = dict(
        con.execute(
            "SELECT schema_name || '.' || table_name || '.' || column_name, data_type FROM duckdb_columns() "
            "WHERE column_name IN ('period', 'period_owed', 'effective_month', 'base_period')"
        ).fetchall()
    )
    assert {"pay.batches.period", "pay.payments.period_owed", "pay.holds.period_owed",
            "core.case_versions.effective_month", "mart.monthly_statistics.period"} <= set(typed)
    assert set(typed.values()) == {"VARCHAR"}, typed
    assert con.execute("SELECT DISTINCT period_owed FROM pay.payments").fetchall() == [("2025-04",)]
    assert con.execute("SELECT DISTINCT period FROM pay.batches").fetchall() == [("2025-04",)]
    parquet = pq.read_table(copied.out / "analyst" / "pay.payments.parquet")
    assert str(parquet.schema.field("period_owed").type) in ("string", "large_string")
    with open_warehouse(copied, flow="test", read_only=True) as wh:
        kinds = wh.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = 'pay' "
            "AND table_name = 'payments' AND column_name = 'period_owed'"
        ).fetchall()
    assert kinds == [("DATE",)]


def test_the_report_run_that_builds_the_copy_reads_completed_in_the_copy(copied, tmp_path):
    home = _clone(copied, tmp_path)
    with open_warehouse(home, flow="report") as con:
        run_id = start_run(con, "report", date(2025, 5, 3), None, {"period": "2025-04"})
    with open_warehouse(home, flow="report", read_only=True) as con:
        build_analyst_copy(con, home, period="2025-04")
    with open_warehouse(home, flow="report") as con:
        assert con.execute("SELECT status FROM audit.runs WHERE run_id = ?", [run_id]).fetchall() == [("running",)]
        finish_run(con, run_id, "completed", {})
    analyst = duckdb.connect(str(home.analyst), read_only=True)
    status, finished, built = analyst.execute(
        "SELECT r.status, r.finished_at, a.built_at FROM audit.runs r, meta.about a "
        "WHERE r.run_id = ? AND a.table_name = 'audit.runs'",
        [run_id[:12]],
    ).fetchall()[0]
    assert status == "completed" and finished == built
    assert analyst.execute("SELECT count(*) FROM audit.runs WHERE status = 'running'").fetchall() == [(0,)]


# ---------------------------------------------------------------- rebuilding only what changed


def _clone(home: Home, tmp_path: Path) -> Home:
    root = tmp_path / "home"
    shutil.copytree(home.root, root, ignore=shutil.ignore_patterns("*.lock", "*.lock.json"))
    return Home(root)


def _contents(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall():
        if schema != "meta":
            out[f"{schema}.{table}"] = sorted(
                con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall(), key=repr
            )
    con.close()
    return out


def _build(home: Home) -> dict:
    with open_warehouse(home, flow="test", read_only=True) as con:
        return build_analyst_copy(con, home, period="2025-04")


def _manifest(home: Home) -> dict:
    return json.loads((home.out / "analyst" / "manifest.json").read_text(encoding="utf-8"))


def test_an_unchanged_rebuild_keeps_every_table_and_file_with_identical_contents(copied, tmp_path):
    home = _clone(copied, tmp_path)
    _build(home)
    before = _contents(home.analyst)
    files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (home.out / "analyst").glob("*.parquet")}
    summary = _build(home)
    assert summary["tables_copied"] == 0 and summary["tables_kept"] == len(before)
    assert _contents(home.analyst) == before
    manifest = _manifest(home)
    assert manifest["copied"] == [] and set(manifest["kept"]) == set(before)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (home.out / "analyst").glob("*.parquet")}
    assert {n: v for n, v in after.items() if not n.startswith("meta.")} == {
        n: v for n, v in files.items() if not n.startswith("meta.")
    }


def test_a_changed_source_is_copied_again_and_the_copy_equals_one_built_from_nothing(copied, tmp_path):
    home = _clone(copied, tmp_path)
    _build(home)
    with open_warehouse(home, flow="test") as con:
        con.execute("UPDATE pay.payments SET status = 'paid' WHERE line_no = 1")
        con.execute("UPDATE checks.findings SET status = 'cleared' WHERE rule_id = 'X09'")
    summary = _build(home)
    manifest = _manifest(home)
    assert {"pay.payments", "checks.findings"} <= set(manifest["copied"])
    assert "core.members_current" in manifest["kept"] and summary["tables_kept"] > 0
    analyst = duckdb.connect(str(home.analyst), read_only=True)
    assert analyst.execute("SELECT status FROM pay.payments WHERE line_no = 1").fetchall() == [("paid",)]
    assert analyst.execute("SELECT status FROM checks.findings WHERE rule_id = 'X09'").fetchall() == [("cleared",)]
    analyst.close()
    paid = pq.read_table(home.out / "analyst" / "pay.payments.parquet").to_pydict()
    assert "paid" in paid["status"]
    incremental = _contents(home.analyst)
    home.analyst.unlink()
    _build(home)
    assert _manifest(home)["kept"] == []
    assert _contents(home.analyst) == incremental


def test_a_new_batch_of_payment_lines_is_added_to_the_copy_without_copying_the_others(copied, tmp_path):
    home = _clone(copied, tmp_path)
    _build(home)
    with open_warehouse(home, flow="test") as con:
        batches = [b for (b,) in con.execute("SELECT DISTINCT batch_no FROM pay.payments").fetchall()]
        con.execute(
            "INSERT INTO pay.payments SELECT * REPLACE ('NEW-' || batch_no AS batch_no, "
            "period_owed + INTERVAL 1 MONTH AS period_owed) FROM pay.payments"
        )
    _build(home)
    analyst = duckdb.connect(str(home.analyst), read_only=True)
    parts = dict(analyst.execute("SELECT part, fingerprint FROM meta.sources WHERE table_name = 'pay.payments'").fetchall())
    assert set(parts) == {""} | set(batches) | {f"NEW-{b}" for b in batches}
    months = analyst.execute("SELECT DISTINCT period_owed FROM pay.payments ORDER BY 1").fetchall()
    assert months == [("2025-04",), ("2025-05",)]
    copied_at = dict(analyst.execute("SELECT table_name, copied_at < built_at FROM meta.about").fetchall())
    assert copied_at["pay.payments"] is False and copied_at["core.members_current"] is True
    analyst.close()
    incremental = _contents(home.analyst)
    home.analyst.unlink()
    _build(home)
    assert _contents(home.analyst) == incremental


def test_batch_numbers_stay_apart_and_anything_else_in_batch_no_is_masked():
    """A paying town's code in a batch number would pass for an ID's digits: masked, every month's
    batch of one town and program read the same and the copy could not tell batches apart."""
    numbers = ["202501-500110001-tekun_home-01", "202502-500110001-tekun_home-01", "202510-QJ-dibao_rural-Y02"]
    odd = f"x{OUYANG[1]}"
    frame = pl.DataFrame({"batch_no": [*numbers, odd]})
    out = mask_frame(frame, masking_plan([("batch_no", "VARCHAR")]), b"k" * 32)["batch_no"].to_list()
    assert out[:3] == numbers
    assert OUYANG[1] not in out[3] and out[3] == "x" + mask(OUYANG[1])
