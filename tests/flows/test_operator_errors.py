"""Operator errors, killed runs and file permissions (issue 14, items 5, 8, 10 and 11).

A typo in --home never becomes an empty warehouse; `jiuzhu init` makes a home
on purpose. A killed writer's run is marked crashed and its temporary files
removed by the next writer. A failed step or a file without a receipt makes
the command exit 1 with one line saying what failed and where the details are,
and tells the district. Nothing a home holds is readable by others.
"""

from __future__ import annotations

import decimal
import grp
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from helpers import at, case_rows, drop_cases, ingest_all, make_id, query
from typer.testing import CliRunner

from core import permissions
from core.home import Home, HomeMissing
from core.reference import SHIPPED, ReferenceError, load_reference
from jiuzhu.cli import app
from warehouse.audit import start_run
from warehouse.connection import holder_path, open_warehouse

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
ZHANG = ("张三", make_id("19800101", "001"), "户主", "300")
LI = ("李四", make_id("19820202", "002"), "户主", "0")


def one_line_failure(result) -> str:
    """The command failed with exit 1 and its last word is one line starting `jiuzhu: `."""
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("jiuzhu: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr.split("jiuzhu: ")[-1]
    return last


def bad_standards(home: Home) -> Path:
    """A standards override whose 4th line has an amount that is no number."""
    lines = (SHIPPED / "standards.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[3].split(",")
    fields[2] = "12x0"
    lines[3] = ",".join(fields)
    home.reference.mkdir(parents=True, exist_ok=True)
    path = home.reference / "standards.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- item 10: a missing home


def test_a_run_against_a_missing_home_fails_in_one_line_and_creates_nothing(tmp_path):
    typo = tmp_path / "jiuzhu-dat"
    for args in (["run", "close-month"], ["run", "ingest"], ["findings", "list"], ["backup"]):
        result = runner.invoke(app, [*args, "--home", str(typo)])
        line = one_line_failure(result)
        assert f"no data home at {typo}" in line and "jiuzhu init" in line, args
    assert not typo.exists()

    from flows.close_month import close_month_flow

    with pytest.raises(HomeMissing):  # a worker or `serve` runs the flow itself: it refuses too
        close_month_flow.fn(home=str(typo), as_of="2025-04-01")
    assert not typo.exists()


def test_init_creates_a_home_on_purpose_and_refuses_a_foreign_folder(tmp_path):
    root = tmp_path / "home"
    first = runner.invoke(app, ["init", "--home", str(root)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"created data home {root}")
    home = Home(root)
    assert home.is_home() and home.warehouse.is_file()
    for folder in (home.inbox, home.registries, home.reference, home.out, home.out / "returns" / "500110001"):
        assert folder.is_dir(), folder
    tables = dict(query(home, "SELECT name, rows FROM ref.loaded"))
    assert tables["towns"] == len(load_reference().town_codes) and tables["standards"] > 0
    assert query(home, "SELECT flow, status FROM audit.runs") == [("init", "completed")]

    again = runner.invoke(app, ["init", "--home", str(root)])  # an existing home: brought up to date
    assert again.exit_code == 0 and "brought up to date" in again.output

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"jpg")
    line = one_line_failure(runner.invoke(app, ["init", "--home", str(foreign)]))
    assert "is not empty and is no data home" in line and "holiday.jpg" in line
    assert sorted(p.name for p in foreign.iterdir()) == ["holiday.jpg"]


# ---------------------------------------------------------------- item 11: bad reference overrides


def test_a_bad_reference_override_is_refused_naming_the_file_line_and_column(tmp_path):
    home = Home(tmp_path / "h").ensure()
    path = bad_standards(home)
    with pytest.raises(ReferenceError) as err:
        load_reference(home.reference)
    assert (
        str(err.value)
        == f"{path}: line 4, column amount: '12x0' is not an amount (a decimal number such as 1260 or 12.5)"
    )

    path.unlink()
    (home.reference / "towns.csv").write_text(
        "code,name,kind,wave,authority_from\n500110001,古南街道,街道,2,2021-12-01\n"
        '500110002,"文龙\n街道",街道,2,2021-13-01\n',
        encoding="utf-8",
    )  # a quoted line break: the row starts on line 3
    with pytest.raises(
        ReferenceError, match=r"towns.csv: line 3, column authority_from: '2021-13-01' is not a date"
    ):
        load_reference(home.reference)


def test_run_ingest_with_a_bad_standards_override_exits_non_zero_naming_file_and_line(tmp_path):
    home = Home(tmp_path / "h").ensure()
    drop_cases(home, "500110001", "a.csv", case_rows("GN-1", "500110001", [ZHANG]), at(25))
    path = bad_standards(home)
    line = one_line_failure(
        runner.invoke(app, ["run", "ingest", "--home", str(home.root), "--as-of", "2025-03-25"])
    )
    assert (
        line
        == f"jiuzhu: {path}: line 4, column amount: '12x0' is not an amount (a decimal number such as 1260 or 12.5)"
    )
    assert not home.warehouse.exists()  # refused before anything ran


# ---------------------------------------------------------------- item 8: killed runs


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.home import Home
    from publish.files import atomic_target
    from warehouse.audit import start_run
    from warehouse.connection import open_warehouse

    home = Home(Path(sys.argv[1]))
    with open_warehouse(home, flow="close-month") as con:
        run_id = start_run(con, "close-month", None, None, {"period": "2025-04"})
        part = atomic_target(home.out / "payments" / "2025-04" / "发放批次_城市低保.xlsx")
        part.write_bytes(b"PK half a workbook with 50011019800101001X")
        print(run_id, flush=True)
        time.sleep(120)  # killed here, holding the lock, mid-write
""")


def test_a_killed_writer_is_marked_crashed_and_its_temp_files_removed_by_the_next_writer(tmp_path):
    home = Home(tmp_path / "h").ensure()
    with open_warehouse(home, flow="test"):
        pass
    keep = [home.out / "payments" / "notes.tmp", home.inbox / "500110001" / ".a.csv.abcd1234.tmp"]
    for p in keep:  # not one of our temporary names, or not under out/ and warehouse/: never touched
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x", encoding="utf-8")

    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(home.root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    run_id = proc.stdout.readline().strip()
    assert run_id, "the writer did not start"
    partial = list((home.out / "payments" / "2025-04").glob(".*.tmp"))
    assert len(partial) == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert holder_path(home).exists()  # killed while holding the lock

    # a run of a live process (this one) is left alone
    with open_warehouse(home, flow="test") as con:
        live = start_run(con, "report", None, None, {})
    with open_warehouse(home, flow="test") as con:
        runs = dict(con.execute("SELECT run_id, status FROM audit.runs").fetchall())
        pid, host, error = con.execute(
            "SELECT pid, host, error FROM audit.runs WHERE run_id = ?", [run_id]
        ).fetchall()[0]
    assert runs[run_id] == "crashed" and runs[live] == "running"
    assert (
        pid == proc.pid and host == socket.gethostname() and error.startswith(f"crashed: process {proc.pid}")
    )
    assert not partial[0].exists()  # the half-written workbook with an ID in it is gone
    assert all(p.exists() for p in keep)
    events = query(home, "SELECT kind FROM audit.events WHERE kind = 'crash_recovery'")
    assert events == [("crash_recovery",)]


def test_a_warehouse_of_older_code_gets_its_stuck_running_runs_marked_crashed(tmp_path):
    import duckdb

    from warehouse.migrate import migrate

    home = Home(tmp_path / "h").ensure()
    con = duckdb.connect(str(home.warehouse))
    migrate(con, upto=15)
    con.execute(
        "INSERT INTO audit.runs (run_id, flow, started_at, status, code_version) "
        "VALUES ('old', 'ingest', now(), 'running', '0.1.0')"
    )
    con.close()
    assert query(home, "SELECT status FROM audit.runs WHERE run_id = 'old'") == [("crashed",)]


# ---------------------------------------------------------------- item 11: failures are not successes


@pytest.fixture
def district_home(tmp_path) -> Home:
    home = Home(tmp_path / "h").ensure()
    decided = {"decided": "2025-03-10", "publicity": ("2025-03-11", "2025-03-17")}  # payable from April
    drop_cases(home, "500110001", "a.csv", case_rows("GN-1", "500110001", [ZHANG], **decided), at(24))
    drop_cases(
        home, "500110002", "b.csv", case_rows("WL-1", "500110002", [LI], benefit="750", **decided), at(24)
    )
    return home


def district_notices(home: Home) -> list[str]:
    folder = home.outbox / "district"
    return [p.read_text("utf-8") for p in sorted(folder.glob("*.md"))] if folder.is_dir() else []


@pytest.mark.flow
def test_ingest_exits_non_zero_when_one_file_raised_and_loads_the_others(
    district_home, prefect_harness, monkeypatch
):
    import flows.ingest

    real = flows.ingest.ingest_file

    def ingest_file(con, home, ref, candidate, *args, **kw):
        if candidate.rel_path.endswith("b.csv"):
            raise RuntimeError("injected failure reading 50011019800101001X")
        return real(con, home, ref, candidate, *args, **kw)

    monkeypatch.setattr(flows.ingest, "ingest_file", ingest_file)
    home = district_home
    result = runner.invoke(app, ["run", "ingest", "--home", str(home.root), "--as-of", "2025-03-25"])
    line = one_line_failure(result)
    assert line.startswith(
        "jiuzhu: ingest failed: 1 of 2 file(s) got no receipt "
        "(inbox/500110002/b.csv: RuntimeError); the other files were loaded"
    )
    log = Path(line.rsplit("details: ", 1)[1])
    assert log.parent == home.warehouse_dir / "logs" and "RuntimeError: injected failure" in log.read_text(
        "utf-8"
    )
    assert "50011019800101001X" not in log.read_text("utf-8")  # masked
    assert query(home, "SELECT rel_path FROM raw.files") == [("inbox/500110001/a.csv",)]
    assert query(home, "SELECT case_no FROM core.case_versions") == [("GN-1",)]
    assert query(home, "SELECT status FROM audit.runs WHERE flow = 'ingest'") == [("failed",)]
    notices = district_notices(home)
    assert len(notices) == 1 and "ingest" in notices[0] and str(log) in notices[0]


@pytest.mark.flow
def test_close_month_error_is_one_line_with_the_traceback_in_a_log(
    district_home, prefect_harness, monkeypatch
):
    import flows.close_month

    def run_close(*args, **kw):
        return decimal.Decimal("") + 1

    monkeypatch.setattr(flows.close_month, "run_close", run_close)
    home = district_home
    line = one_line_failure(
        runner.invoke(app, ["run", "close-month", "--home", str(home.root), "--as-of", "2025-04-01"])
    )
    assert line.startswith("jiuzhu: close-month failed: InvalidOperation")
    log = Path(line.rsplit("details: ", 1)[1])
    assert "Traceback" in log.read_text("utf-8") and "decimal.InvalidOperation" in log.read_text("utf-8")
    assert query(home, "SELECT DISTINCT status FROM audit.runs WHERE flow = 'close-month'") == [
        ("failed",)
    ]  # and its retry
    assert any("close-month" in n for n in district_notices(home))


@pytest.mark.flow
def test_the_cycle_still_closes_the_month_when_a_step_failed_and_exits_non_zero(
    district_home, prefect_harness, monkeypatch
):
    import flows.crosscheck

    def run_checks(*args, **kw):
        raise RuntimeError("registry service down")

    monkeypatch.setattr(flows.crosscheck, "run_checks", run_checks)
    home = district_home
    line = one_line_failure(
        runner.invoke(
            app, ["run", "cycle", "--home", str(home.root), "--as-of", "2025-03-25", "--period", "2025-04"]
        )
    )
    assert line.startswith(
        "jiuzhu: cycle 2025-03-25: step(s) failed: crosscheck (RuntimeError: registry service down)"
    )
    assert "close-month" in line.split("completed: ")[1]
    assert query(home, "SELECT status FROM audit.runs WHERE flow = 'close-month'") == [("completed",)]
    assert query(home, "SELECT DISTINCT strftime(period, '%Y-%m') FROM pay.batches") == [("2025-04",)]
    notices = district_notices(home)
    assert len(notices) == 1 and "cycle" in notices[0]  # the failed step is told once, by the cycle


# ---------------------------------------------------------------- item 5: file permissions


def test_permission_policy_maps_paths_to_groups_and_modes():
    g = permissions.Groups("ops", "ana", "town-")
    P = permissions.PurePosixPath
    assert permissions.group_for(P("warehouse/jiuzhu.duckdb"), g) == "ops"
    assert permissions.group_for(P("warehouse/analyst.duckdb"), g) == "ana"
    assert permissions.group_for(P("out/analyst/core.case_versions.parquet"), g) == "ana"
    assert permissions.group_for(P("out/returns/500110001/a.回执.json"), g) == "town-500110001"
    assert permissions.group_for(P("out/returns/bank/x.json"), g) == "ops"
    assert permissions.group_for(P("out/payments/2025-04/批次.csv"), g) == "ops"
    assert permissions.mode_for(P("out/payments/2025-04/批次.csv"), False) == 0o640
    assert permissions.mode_for(P("warehouse/analyst.key"), False) == 0o600
    assert permissions.mode_for(P("out/returns"), True) == 0o2751
    assert permissions.mode_for(P("out/returns/500110001"), True) == 0o2750


def _another_group() -> grp.struct_group | None:
    """A group this process may give files to, other than its own."""
    mine = os.getegid()
    candidates = [g for g in os.getgroups() if g != mine]
    if os.geteuid() == 0:
        candidates += [g.gr_gid for g in grp.getgrall() if g.gr_gid != mine]
    return grp.getgrgid(candidates[0]) if candidates else None


def test_after_ingest_and_close_nothing_in_the_home_is_readable_by_others(tmp_path):
    from flows.close_month import close_month_flow

    root = tmp_path / "h"
    group = _another_group()
    assert runner.invoke(app, ["init", "--home", str(root)]).exit_code == 0
    home = Home(root)
    if group:  # the operators' group exists on this machine: the warehouse and payment files get it
        settings = (SHIPPED / "settings.csv").read_text(encoding="utf-8")
        settings = settings.replace("group_operators,jiuzhu-operators,", f"group_operators,{group.gr_name},")
        (home.reference / "settings.csv").write_text(settings, encoding="utf-8")
        assert runner.invoke(app, ["init", "--home", str(root)]).exit_code == 0
    drop_cases(home, "500110001", "a.csv", case_rows("GN-1", "500110001", [ZHANG]), at(25))
    drop_cases(home, "500110002", "b.csv", case_rows("WL-1", "500110002", [LI]) + ["坏行"], at(25))
    ingest_all(home, date(2025, 3, 25))
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=False)

    payment_files = [p for p in (home.out / "payments").rglob("*") if p.is_file()]
    assert payment_files and list((home.out / "returns").rglob("*.回执.json"))
    assert permissions.world_readable(home.root) == []
    assert stat.S_IMODE(home.warehouse.stat().st_mode) == 0o640
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o2751  # others may only pass through to their folder
    assert stat.S_IMODE((home.out / "returns" / "500110001").stat().st_mode) == 0o2750
    assert {stat.S_IMODE(p.stat().st_mode) for p in payment_files} == {0o640}  # operators read, nobody else
    if group:
        assert home.warehouse.stat().st_gid == group.gr_gid
        assert {p.stat().st_gid for p in payment_files} == {group.gr_gid}
