"""The warehouse skeleton: migrations, the single-writer lock, reference loading, audit runs."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.home import Home, code_version
from core.reference import ReferenceError, load_reference
from warehouse.audit import finish_run, inputs_digest, record_event, recorded_run, start_run
from warehouse.connection import (
    WarehouseBusy,
    WarehouseMissing,
    hold_warehouse,
    holder_path,
    open_warehouse,
)
from warehouse.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate
from warehouse.reference_load import load_reference_tables

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"raw", "ref", "registry", "core", "checks", "pay", "mart", "audit"}

HOLDER = """
import sys, time
from pathlib import Path
from core.home import Home
from warehouse.connection import open_warehouse

home, marks, mode = Home.resolve(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with open_warehouse(home, flow="holder-flow", timeout=30) as con:
    con.execute("CREATE TABLE main.touched_by_holder AS SELECT 1 AS x")
    (marks / "acquired").write_text("1")
    if mode == "hold":
        time.sleep(2)
    else:  # hold until the test says stop (bounded, so a failed test never hangs)
        end = time.monotonic() + 60
        while not (marks / "stop").exists() and time.monotonic() < end:
            time.sleep(0.05)
    (marks / "releasing").write_text("1")  # written while the lock is still held
"""


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")


def catalogue(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every schema, table, column and type of the database, for comparing warehouses."""
    return con.sql(
        """
        SELECT table_schema, table_name, column_name, data_type, is_nullable
        FROM information_schema.columns
        WHERE table_catalog = current_database()
        ORDER BY ALL
        """
    ).fetchall()


def schemas(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql("SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()")
    return {r[0] for r in rows.fetchall()}


def migration_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql("SELECT version, name, sha256 FROM audit.schema_migrations ORDER BY version").fetchall()


def start_holder(home: Home, marks: Path, mode: str) -> subprocess.Popen:
    marks.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home.root), str(marks), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 60
    while not (marks / "acquired").exists():
        if proc.poll() is not None:
            raise AssertionError(f"holder exited early: {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("holder never took the warehouse")
        time.sleep(0.05)
    return proc


# ---------------------------------------------------------------- migrations


def test_fresh_warehouse_has_every_layer_and_the_audit_tables(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        assert schemas(con) >= LAYERS
        columns = {c for _, t, c, *_ in catalogue(con) if t == "runs"}
        assert {
            "run_id",
            "flow",
            "started_at",
            "finished_at",
            "status",
            "inputs_sha256",
            "code_version",
        } <= columns
        applied = [r[:2] for r in migration_rows(con)]
        assert applied[0] == (1, "schemas")
        assert applied == [(m.version, m.name) for m in discover()]
    assert home.warehouse.is_file()


def test_migrations_are_idempotent(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        before, rows_before = catalogue(con), migration_rows(con)
        assert migrate(con) == []
        assert catalogue(con) == before
        assert migration_rows(con) == rows_before
    with open_warehouse(home, flow="test", timeout=5) as con:  # re-opening applies nothing either
        assert catalogue(con) == before
        assert migration_rows(con) == rows_before


def _migrations_with_a_second_one(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(path, folder / path.name)
    (folder / "9001_extra.sql").write_text(
        "CREATE TABLE core.extra (k VARCHAR PRIMARY KEY, amount DECIMAL(12,2));\n"
        "INSERT INTO core.extra VALUES ('a;b', 1.50); -- a semicolon inside a string\n"
        "CREATE VIEW mart.extra_total AS SELECT sum(amount) AS total FROM core.extra;\n",
        encoding="utf-8",
    )
    return folder


def test_an_old_warehouse_is_upgraded_in_place(tmp_path):
    folder = _migrations_with_a_second_one(tmp_path)
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert [m.version for m in migrate(old, folder, upto=1)] == [1]
    old.execute(
        "INSERT INTO audit.runs (run_id, flow, started_at, status, code_version) "
        "VALUES ('r1', 'ingest', now(), 'completed', 'v0')"
    )
    later = [m.version for m in discover(folder) if m.version > 1]
    assert [m.version for m in migrate(old, folder)] == later
    assert later[-1] == 9001
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    migrate(fresh, folder)
    assert catalogue(old) == catalogue(fresh)
    assert migration_rows(old) == migration_rows(fresh)
    assert old.execute("SELECT total FROM mart.extra_total").fetchall()[0][0] == Decimal("1.50")
    assert old.sql("SELECT run_id FROM audit.runs").fetchall() == [("r1",)]  # data kept
    old.close()
    fresh.close()


def test_a_failing_migration_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_schemas.sql", folder)
    (folder / "0002_broken.sql").write_text(
        "CREATE TABLE core.half (x INTEGER);\nINSERT INTO core.half VALUES ('not a number');\n"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(MigrationError, match="0002_broken.sql failed"):
        migrate(con, folder)
    tables = {
        r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE schema_name='core'").fetchall()
    }
    assert "half" not in tables
    assert [r[0] for r in migration_rows(con)] == [1]


def test_a_migration_changed_after_it_was_applied_raises(tmp_path):
    folder = _migrations_with_a_second_one(tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, folder)
    path = folder / "9001_extra.sql"
    path.write_text(path.read_text() + "CREATE TABLE core.sneaked_in (x INTEGER);\n")
    with pytest.raises(MigrationError, match="9001_extra.sql changed after it was applied"):
        migrate(con, folder)
    assert "sneaked_in" not in {t for _, t, *_ in catalogue(con)}


def test_opening_a_warehouse_with_a_tampered_migration_record_raises(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        con.execute("UPDATE audit.schema_migrations SET sha256 = 'deadbeef' WHERE version = 1")
    with (
        pytest.raises(MigrationError, match="changed after it was applied"),
        open_warehouse(home, flow="t", timeout=5),
    ):
        pass


def test_a_warehouse_from_newer_code_is_refused(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        con.execute("INSERT INTO audit.schema_migrations VALUES (9999, 'future', 'x', now())")
    with pytest.raises(MigrationError, match="newer jiuzhu"), open_warehouse(home, flow="t", timeout=5):
        pass


def test_a_reader_upgrades_an_old_warehouse_and_gets_a_read_only_connection(home):
    home.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(home.warehouse))
    migrate(con, upto=0)  # bootstrap only: every shipped migration pending
    con.close()
    with open_warehouse(home, flow="reader", timeout=5, read_only=True) as ro:
        assert [r[0] for r in migration_rows(ro)] == [m.version for m in discover()]
        with pytest.raises(duckdb.Error):
            ro.execute("CREATE TABLE core.nope (x INTEGER)")


def test_a_reader_on_a_missing_warehouse_is_told_so(home):
    with (
        pytest.raises(WarehouseMissing, match="no warehouse"),
        open_warehouse(home, flow="reader", timeout=5, read_only=True),
    ):
        pass
    assert not home.warehouse.exists()


# ---------------------------------------------------------------- the lock


def test_a_second_writer_waits_for_the_first(home, tmp_path, caplog):
    marks = tmp_path / "marks"
    holder = start_holder(home, marks, "hold")
    try:
        with (
            caplog.at_level(logging.WARNING, logger="jiuzhu.warehouse"),
            open_warehouse(home, flow="second", timeout=30) as con,
        ):
            assert (marks / "releasing").exists(), "got in before the holder let go"
            assert con.sql("SELECT x FROM main.touched_by_holder").fetchall() == [(1,)]
            con.execute("CREATE TABLE main.touched_by_second AS SELECT 2 AS x")
    finally:
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    waits = [r.getMessage() for r in caplog.records if r.name == "jiuzhu.warehouse"]
    assert len(waits) == 1
    assert "holder-flow" in waits[0] and "second" in waits[0]
    assert not holder_path(home).exists()  # the sidecar goes with the lock


def test_a_writer_that_runs_out_of_time_names_the_holder(home, tmp_path):
    marks = tmp_path / "marks"
    holder = start_holder(home, marks, "until-stop")
    try:
        with pytest.raises(WarehouseBusy) as busy, open_warehouse(home, flow="impatient", timeout=1):
            pass
        message = str(busy.value)
        assert "holder-flow" in message and "impatient" in message
        assert "\n" not in message
        with pytest.raises(WarehouseBusy), open_warehouse(home, flow="reader", timeout=0, read_only=True):
            pass
    finally:
        (marks / "stop").write_text("1")
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    with open_warehouse(home, flow="after", timeout=5) as con:
        assert con.sql("SELECT x FROM main.touched_by_holder").fetchall() == [(1,)]


def test_an_error_inside_releases_the_lock_and_rolls_back(home):
    with pytest.raises(ZeroDivisionError), open_warehouse(home, flow="crash", timeout=5) as con:
        con.begin()
        con.execute("CREATE TABLE core.half_done (x INTEGER)")
        raise ZeroDivisionError
    with open_warehouse(home, flow="next", timeout=0) as con:  # no wait needed
        tables = {t for _, t, *_ in catalogue(con)}
        assert "half_done" not in tables


def test_opening_twice_in_one_thread_fails_fast_instead_of_deadlocking(home):
    with (
        open_warehouse(home, flow="outer", timeout=5),
        pytest.raises(RuntimeError, match="outer"),
        open_warehouse(home, flow="inner", timeout=30),
    ):
        pass


def test_the_holder_record_names_pid_flow_and_host_while_open(home):
    import os

    with open_warehouse(home, flow="ingest", timeout=5):
        info = json.loads(holder_path(home).read_text())
        assert info["pid"] == os.getpid() and info["flow"] == "ingest" and info["host"]
        assert info["since"]
    assert not holder_path(home).exists()


def test_a_held_warehouse_keeps_the_lock_between_steps_and_commits_each_step(home):
    with open_warehouse(home, flow="create", timeout=5) as con:
        con.execute("CREATE TABLE main.steps (n INTEGER)")
    with hold_warehouse(home, flow="cycle", timeout=5):
        for n in range(3):  # each step opens and closes as it would alone
            with open_warehouse(home, flow=f"step{n}", timeout=0) as con:
                con.execute("INSERT INTO main.steps VALUES (?)", [n])
            with open_warehouse(home, flow="reader", timeout=0, read_only=True) as con:
                assert con.execute("SELECT count(*) FROM main.steps").fetchone() == (n + 1,)
            # between steps the warehouse stays the cycle's: another process would wait
            assert json.loads(holder_path(home).read_text())["flow"] == "cycle"
        with (
            open_warehouse(home, flow="outer", timeout=0),
            pytest.raises(RuntimeError, match="outer"),
            open_warehouse(home, flow="inner", timeout=0),
        ):
            pass
        with pytest.raises(ZeroDivisionError), open_warehouse(home, flow="half", timeout=0) as con:
            con.begin()
            con.execute("INSERT INTO main.steps VALUES (99)")
            raise ZeroDivisionError
    assert not holder_path(home).exists()
    with open_warehouse(home, flow="after", timeout=0, read_only=True) as con:  # released, all written
        assert con.execute("SELECT list(n ORDER BY n) FROM main.steps").fetchone() == ([0, 1, 2],)


@pytest.mark.slow  # another process: the full tier
def test_another_process_waits_for_the_whole_hold(home, tmp_path):
    marks = tmp_path / "marks"
    with hold_warehouse(home, flow="cycle", timeout=5):
        with open_warehouse(home, flow="step", timeout=0) as con:
            con.execute("CREATE TABLE main.during_hold AS SELECT 1 AS x")
        marks.mkdir()
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home.root), str(marks), "hold"], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert not (marks / "acquired").exists(), "another process got in during the hold"
    assert holder.wait(timeout=60) == 0, holder.stderr.read()
    assert (marks / "acquired").exists()


# ---------------------------------------------------------------- reference


def test_reference_tables_are_loaded_with_their_row_counts(home):
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="test", timeout=5, ref=ref) as con:
        counts = load_reference_tables(con, ref)
        assert counts == {name: frame.height for name, frame in ref.tables.items()}
        for name, rows in counts.items():
            assert con.execute("SELECT count(*) FROM query_table($t)", {"t": f"ref.{name}"}).fetchall()[0][0] == rows
        loaded = {r[0]: r[1:] for r in con.sql("SELECT name, rows, source_path FROM ref.loaded").fetchall()}
        assert {n: r[0] for n, r in loaded.items()} == counts
        assert loaded["towns"][1] == ref.sources["towns"]
        types = dict(
            con.sql(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name='ref' AND table_name='standards'"
            ).fetchall()
        )
        assert types["amount"] == "DECIMAL(12,2)" and types["effective_from"] == "DATE"
        # the money survives to the fen, whatever the CSV says
        first = ref["standards"].row(0, named=True)
        stored = con.execute(
            "SELECT amount FROM ref.standards WHERE standard = ? AND effective_from = ?",
            [first["standard"], first["effective_from"]],
        ).fetchall()[0][0]
        assert stored == Decimal(first["amount"])


def test_a_towns_csv_in_the_home_replaces_the_shipped_one(home):
    home.reference.mkdir(parents=True)
    (home.reference / "towns.csv").write_text(
        "code,name,kind,wave,authority_from,note\n500110099,测试镇,镇,1,2021-06-01,one town\n",
        encoding="utf-8",
    )
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="test", timeout=5, ref=ref) as con:
        load_reference_tables(con, load_reference(None))  # first the shipped towns
        counts = load_reference_tables(con, ref)
        assert counts["towns"] == 1
        assert con.sql("SELECT code, name, authority_from FROM ref.towns").fetchall() == [
            ("500110099", "测试镇", date(2021, 6, 1))
        ]
        source = con.execute("SELECT source_path, rows FROM ref.loaded WHERE name = 'towns'").fetchall()[0]
        assert source == (str(home.reference / "towns.csv"), 1)


def test_reloading_the_same_reference_keeps_loaded_at(home):
    ref = load_reference(None)
    with open_warehouse(home, flow="test", timeout=5, ref=ref) as con:
        load_reference_tables(con, ref)
        first = con.sql("SELECT name, sha256, loaded_at FROM ref.loaded ORDER BY name").fetchall()
        load_reference_tables(con, ref)
        assert con.sql("SELECT name, sha256, loaded_at FROM ref.loaded ORDER BY name").fetchall() == first


def test_a_money_value_with_three_decimals_is_refused(home):
    home.reference.mkdir(parents=True)
    (home.reference / "care_subsidies.csv").write_text(
        "effective_from,self_care,amount\n2021-09-01,全护理,300.005\n", encoding="utf-8"
    )
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="test", timeout=5, ref=ref) as con:
        with pytest.raises(ReferenceError, match="care_subsidies"):
            load_reference_tables(con, ref)
        assert con.execute("SELECT count(*) FROM ref.loaded").fetchall()[0][0] == 0  # all or nothing


# ---------------------------------------------------------------- audit


def test_a_run_is_recorded_from_start_to_finish_with_the_code_version(home):
    digest = inputs_digest(["bb" * 32, "aa" * 32])
    with open_warehouse(home, flow="test", timeout=5) as con:
        run_id = start_run(con, "ingest", date(2024, 6, 3), digest, {"reprocess": None, "period": "2024-06"})
        row = con.execute(
            "SELECT flow, status, as_of, code_version, finished_at FROM audit.runs WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        assert row == ("ingest", "running", date(2024, 6, 3), code_version(), None)
        finish_run(con, run_id, "completed", {"files": 2, "rows_read": 17})
        status, finished, inputs, summary, params = con.execute(
            "SELECT status, finished_at, inputs_sha256, summary_json, params_json FROM audit.runs WHERE run_id = ?",
            [run_id],
        ).fetchall()[0]
    assert status == "completed" and finished is not None
    assert inputs == digest
    assert json.loads(summary) == {"files": 2, "rows_read": 17}
    assert json.loads(params) == {"reprocess": None, "period": "2024-06"}
    assert len(run_id) == 32


def test_a_failed_run_keeps_its_error_with_ids_masked(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        with pytest.raises(ValueError), recorded_run(con, "crosscheck", None, None, {}) as (run_id, summary):
            summary["checked"] = 4
            raise ValueError("bad row for 11010519491231002X\nsecond line")
        status, error, summary_json = con.execute(
            "SELECT status, error, summary_json FROM audit.runs WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        event_id = record_event(con, run_id, "finding_cleared", {"finding_id": "f1", "officer": "GZ001"})
        assert con.execute("SELECT kind FROM audit.events WHERE event_id = ?", [event_id]).fetchall()[0] == (
            "finding_cleared",
        )
    assert status == "failed"
    assert "11010519491231002X" not in error and "\n" not in error and error.startswith("ValueError")
    assert json.loads(summary_json) == {"checked": 4}


def test_params_with_an_id_number_are_refused(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        with pytest.raises(ValueError, match="ID or account"):
            start_run(con, "ingest", None, None, {"id_no": "11010519491231002X"})
        with pytest.raises(ValueError, match="ID or account"):
            start_run(con, "ingest", None, None, {"account": "6222021234567890123"})
        assert con.execute("SELECT count(*) FROM audit.runs").fetchall()[0][0] == 0


def test_finishing_an_unknown_run_or_with_a_bad_status_raises(home):
    with open_warehouse(home, flow="test", timeout=5) as con:
        with pytest.raises(ValueError, match="no audit run"):
            finish_run(con, "nope", "completed")
        run_id = start_run(con, "ingest", None, None, None)
        with pytest.raises(ValueError):
            finish_run(con, run_id, "running")


def test_inputs_digest_depends_on_the_set_of_hashes_not_their_order():
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    assert inputs_digest([a, b]) == inputs_digest([b, a]) == inputs_digest([b, a, a.upper()])
    assert inputs_digest([a, b]) != inputs_digest([a, c])
    assert inputs_digest([]) != inputs_digest([a])


def test_an_ingest_defers_checkpoints_to_its_end_and_loses_nothing_on_a_crash(tmp_path):
    """Commits inside `deferred_checkpoints` write only the log; the block ends with one checkpoint
    and the usual threshold again, even when it raised; a process killed inside loses no commit."""
    from warehouse.ingest_load import CHECKPOINT_EVERY_ROWS, deferred_checkpoints

    path = tmp_path / "w.duckdb"
    wal = Path(f"{path}.wal")
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range::INTEGER AS i, repeat('x', 60) AS s FROM range(900000)")
    con.execute("CHECKPOINT")
    with pytest.raises(RuntimeError), deferred_checkpoints(con) as checkpoints:
        for n in range(3):  # three "files", each past DuckDB's usual 16 MiB of log (a bulk insert goes to
            # the database file itself, with only a pointer in the log: updates are logged row by row)
            con.execute("UPDATE t SET s = repeat(?, 60) WHERE i % 3 = ?", [str(n), n])
            checkpoints.loaded(100_000)
        assert wal.stat().st_size > 3 * 16 * 2**20  # no checkpoint emptied the log at a commit
        checkpoints.loaded(CHECKPOINT_EVERY_ROWS)  # enough rows kept in memory: one checkpoint now
        assert not wal.exists() or wal.stat().st_size < 2**20
        con.execute("UPDATE t SET s = 'z' WHERE i % 3 = 0 AND i < 30")
        raise RuntimeError("a file failed")
    assert con.execute("SELECT current_setting('checkpoint_threshold')").fetchall() == [("16.0 MiB",)]
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on the way out
    assert con.execute("SELECT count(*) FROM t WHERE s = 'z'").fetchall() == [(10,)]
    con.close()

    script = (  # commits in a deferred block, then killed before it ends: the log holds them
        "import duckdb, os, signal, sys\n"
        "from warehouse.ingest_load import deferred_checkpoints\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "with deferred_checkpoints(con):\n"
        "    con.execute(\"INSERT INTO t SELECT range, 'y' FROM range(100000)\")\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], check=False)
    con = duckdb.connect(str(path))
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE s = 'y'), count(*) FILTER (WHERE s = repeat('2', 60)) "
                       "FROM t").fetchall() == [(1_000_000, 100_000, 300_000)]
    con.close()
