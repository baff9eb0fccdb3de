"""`jiuzhu backup` and `jiuzhu restore` (issue 14, item 13): a copy taken under the writer
lock that restores into a fresh home with the same business tables, row for row."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from datetime import date
from pathlib import Path

import pytest
from helpers import at, case_rows, drop_cases, ingest_all, make_id, query
from typer.testing import CliRunner

from core.home import Home
from core.reference import SHIPPED
from flows.close_month import close_month_flow
from jiuzhu.cli import app
from warehouse.audit import start_run
from warehouse.connection import open_warehouse

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
BUSINESS = ("core.case_versions", "checks.findings", "pay.payments", "pay.batches")
ZHANG = ("张三", make_id("19800101", "001"), "户主", "300")
LI = ("李四", make_id("19820202", "002"), "户主", "0")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Home:
    """A home with cases, findings, payments and batches, a reference override, a notify.yaml and a key."""
    home = Home(tmp_path_factory.mktemp("backup") / "source").ensure()
    drop_cases(home, "500110001", "a.csv", case_rows("GN-1", "500110001", [ZHANG]), at(25))
    drop_cases(
        home,
        "500110002",
        "b.csv",
        case_rows("WL-1", "500110002", [LI], benefit="750")
        + case_rows("WL-2", "500110002", [("王五", "12345", "户主", "0")]),
        at(25),
    )  # a bad ID: a finding
    ingest_all(home, date(2025, 3, 25))
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=False)
    (home.reference / "settings.csv").write_text(
        (SHIPPED / "settings.csv").read_text("utf-8"), encoding="utf-8"
    )
    home.notify_yaml.write_text("urls:\n  - json://127.0.0.1:9:\n      - tag: district\n", encoding="utf-8")
    (home.warehouse_dir / "analyst.key").write_text("ab" * 32 + "\n", encoding="ascii")
    from core.accounts import AccountStore

    AccountStore.for_home(home).add("GZ001", "officer", "pass-word-2025")  # the workbench's accounts
    with open_warehouse(home, flow="test") as con:
        start_run(con, "ingest", None, None, {})  # a run in progress while the backup is taken
    for table in BUSINESS:
        assert rows(home, table), table
    return home


def rows(home: Home, table: str) -> list[tuple]:
    with open_warehouse(home, flow="test") as con:
        return sorted(con.table(table).fetchall(), key=repr)


def test_restore_into_a_fresh_home_gives_the_same_business_tables(source, tmp_path):
    archive = tmp_path / "nightly.tar"
    made = runner.invoke(app, ["backup", "--home", str(source.root), "--to", str(archive)])
    assert made.exit_code == 0, made.output
    assert made.output.startswith(f"backup written: {archive}")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert names[-1] == "MANIFEST.json"
    assert {
        "warehouse/jiuzhu.duckdb",
        "reference/settings.csv",
        "notify.yaml",
        "warehouse/analyst.key",
        "warehouse/workbench.sqlite",
    } <= set(names)
    assert not any(n.startswith(("inbox/", "out/")) for n in names)  # only on request
    assert {e["path"] for e in manifest["files"]} == set(names) - {"MANIFEST.json"}

    new = tmp_path / "restored"
    done = runner.invoke(app, ["restore", str(archive), "--home", str(new)])
    assert done.exit_code == 0, done.output
    assert "1 run(s) in progress at backup time marked crashed" in done.output
    restored = Home(new)
    for table in BUSINESS:
        assert rows(restored, table) == rows(source, table), table
    assert (new / "notify.yaml").read_bytes() == source.notify_yaml.read_bytes()
    assert (new / "warehouse" / "analyst.key").read_bytes() == (
        source.warehouse_dir / "analyst.key"
    ).read_bytes()
    assert query(restored, "SELECT count(*) FROM audit.runs WHERE status = 'running'") == [(0,)]
    assert query(
        restored, "SELECT kind FROM audit.events WHERE kind IN ('backup', 'restored') ORDER BY 1"
    ) == [("backup",), ("restored",)]
    from core.accounts import AccountStore

    assert AccountStore.for_home(restored).authenticate("GZ001", "pass-word-2025").username == "GZ001"
    # the restored home is a home: flows and commands run on it
    assert runner.invoke(app, ["findings", "list", "--home", str(new)]).exit_code == 0


def test_backup_with_out_and_inputs_keeps_arrival_times(source, tmp_path):
    archive = tmp_path / "full.tar.gz"
    made = runner.invoke(
        app, ["backup", "--home", str(source.root), "--to", str(archive), "--with-out", "--with-inputs"]
    )
    assert made.exit_code == 0, made.output
    new = tmp_path / "full"
    assert runner.invoke(app, ["restore", str(archive), "--home", str(new)]).exit_code == 0
    src = source.inbox / "500110001" / "a.csv"
    dst = new / "inbox" / "500110001" / "a.csv"
    assert dst.read_bytes() == src.read_bytes() and int(dst.stat().st_mtime) == int(src.stat().st_mtime)
    payments = sorted(p.relative_to(source.root) for p in (source.out / "payments").rglob("*") if p.is_file())
    assert payments and all((new / p).read_bytes() == (source.root / p).read_bytes() for p in payments)


def test_restore_refuses_a_home_in_use_and_a_damaged_archive(source, tmp_path):
    archive = tmp_path / "b.tar"
    assert runner.invoke(app, ["backup", "--home", str(source.root), "--to", str(archive)]).exit_code == 0

    busy = runner.invoke(app, ["restore", str(archive), "--home", str(source.root)])
    assert (
        busy.exit_code == 1
        and busy.stderr.strip()
        == f"jiuzhu: {source.root} is not empty: restore only into a new or empty folder"
    )

    damaged = tmp_path / "damaged.tar"  # the notify.yaml swapped after the manifest was written
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "notify.yaml":
                data = data.replace(b"127.0.0.1", b"evil.example")
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    bad = runner.invoke(app, ["restore", str(damaged), "--home", str(tmp_path / "x")])
    assert bad.exit_code == 1
    assert bad.stderr.strip() == (
        "jiuzhu: notify.yaml in the archive does not match its manifest (sha256): the backup is damaged"
    )
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.restore.*"))  # nothing half-restored


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.home import Home
    from warehouse.connection import open_warehouse

    with open_warehouse(Home(Path(sys.argv[1])), flow="close-month"):
        print("holding", flush=True)
        time.sleep(60)
""")


def test_backup_is_taken_under_the_writer_lock(source, tmp_path):
    settings = (
        (SHIPPED / "settings.csv")
        .read_text("utf-8")
        .replace("warehouse_lock_timeout_seconds,600,", "warehouse_lock_timeout_seconds,1,")
    )
    (source.reference / "settings.csv").write_text(settings, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(source.root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "holding"
        result = runner.invoke(app, ["backup", "--home", str(source.root), "--to", str(tmp_path)])
    finally:
        proc.kill()
        proc.wait(timeout=30)
        (source.reference / "settings.csv").write_text(
            (SHIPPED / "settings.csv").read_text("utf-8"), encoding="utf-8"
        )
    assert result.exit_code == 1
    assert "is busy: held by flow 'close-month'" in result.stderr and "'backup' gave up" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no archive, not even a partial one
