"""Ingest (SPEC §2, §6): versions, acceptance, atomic loads, return files.

These call the per-file pipeline directly (no Prefect); tests/test_flows.py
runs the flow itself.
"""

from __future__ import annotations

import os
from datetime import date

import pytest
from helpers import REF, SPOUSE, at, drop, ingest_all, query, row
from python_calamine import CalamineWorkbook

from core.home import Home
from intake.discover import discover
from warehouse.connection import open_warehouse


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def test_rows_accounted_and_versions_loaded(home):
    drop(home, "500110001", "2025-03/a.csv", [row(), row(**SPOUSE)], at(5))
    [o] = ingest_all(home, date(2025, 3, 5))
    assert (o.rows_read, o.rows_accepted, o.rows_rejected, o.cases) == (2, 2, 0, 1)
    assert query(home, "SELECT case_no, status, monthly_benefit, household_size, covered_count, effective_month "
                       "FROM core.cases_current") == [("GN-001", "approved", pytest.approx(1260), 2, 2,
                                                       date(2025, 4, 1))]


def test_another_towns_case_is_rejected_and_that_town_is_untouched(home):
    drop(home, "500110002", "a.csv", [row(case="WL-9", town="500110002", benefit="450")], at(5))
    ingest_all(home, date(2025, 3, 5))
    before = query(home, "SELECT version_id, is_current FROM core.case_versions ORDER BY 1")
    drop(home, "500110001", "b.csv", [row(case="WL-9", town="500110002", income="1")], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert (o.rows_read, o.rows_rejected) == (1, 1)
    assert "V02" in o.findings_by_rule
    rows = query(home, "SELECT town_code, acceptance, is_current FROM core.case_versions ORDER BY seq")
    assert rows == [("500110002", "loaded", True), ("500110001", "rejected", False)]
    assert query(home, "SELECT version_id, is_current FROM core.case_versions WHERE town_code = '500110002'") == before


def test_same_file_twice_and_renamed_copy_change_nothing(home):
    path = drop(home, "500110001", "a.csv", [row()], at(5))
    ingest_all(home, date(2025, 3, 5))
    copy = home.inbox / "500110001" / "sub" / "副本.csv"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    os.utime(copy, (at(6).timestamp(), at(6).timestamp()))
    outcomes = ingest_all(home, date(2025, 3, 6))
    assert [o.status for o in outcomes] == ["known", "known"]
    assert query(home, "SELECT count(*) FROM core.case_versions") == [(1,)]
    assert query(home, "SELECT count(*) FROM raw.files") == [(1,)]
    assert query(home, "SELECT count(*) FROM raw.file_paths") == [(2,)]


def test_identical_content_in_a_new_file_makes_no_new_version(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE)], at(5))
    ingest_all(home, date(2025, 3, 5))
    # same case, rows in another order, stray spaces: the same normalised content
    drop(home, "500110001", "b.csv", [row(**SPOUSE).replace("李四", " 李四 "), row()], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert (o.rows_accepted, o.rows_rejected) == (2, 0)
    assert query(home, "SELECT count(*) FROM core.case_versions") == [(1,)]


def test_termination_with_another_error_takes_effect(home):
    drop(home, "500110001", "a.csv", [row()], at(5))
    ingest_all(home, date(2025, 3, 5))
    drop(home, "500110001", "b.csv", [row(status="终止", relation="表亲")], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert "V03" in o.findings_by_rule  # an unknown relation (and so no 户主): errors, yet the 终止 takes effect
    assert (o.rows_accepted, o.rows_warned, o.rows_rejected) == (1, 1, 0)
    assert query(home, "SELECT status FROM core.cases_current") == [("terminated",)]


def test_an_error_rejects_the_whole_case_and_keeps_the_previous_version(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE)], at(5))
    ingest_all(home, date(2025, 3, 5))
    drop(home, "500110001", "b.csv", [row(), row(**SPOUSE | {"relation": "表亲"})], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert (o.rows_read, o.rows_accepted, o.rows_rejected) == (2, 0, 2)
    assert query(home, "SELECT relation FROM core.members_current ORDER BY relation") == [("head",), ("spouse",)]
    workbook = next((home.out / "returns" / "500110001").glob("b.*.问题.xlsx"))
    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    problems = {r[0]: r[2] for r in sheet[1:]}
    assert problems[3].startswith("V03：与户主关系“表亲”")
    assert problems[2] == "同案其他行有误"


def test_newer_version_supersedes_older_findings(home):
    drop(home, "500110001", "a.csv", [row(status="终止", relation="表亲")], at(5))
    ingest_all(home, date(2025, 3, 5))
    assert {s for (s,) in query(home, "SELECT status FROM checks.findings")} == {"open"}
    drop(home, "500110001", "b.csv", [row(status="终止")], at(6))
    ingest_all(home, date(2025, 3, 6))
    assert {s for (s,) in query(home, "SELECT status FROM checks.findings")} == {"superseded"}


def test_remark_starting_with_equals_is_written_as_text(home):
    drop(home, "500110001", "a.csv", [row(remark="=1+2", relation="表亲")], at(5))
    ingest_all(home, date(2025, 3, 5))
    workbook = next((home.out / "returns" / "500110001").glob("a.*.问题.xlsx"))
    import zipfile

    xml = zipfile.ZipFile(workbook).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml  # no formula anywhere
    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    assert "=1+2" in sheet[1]


def test_receipt_counts_add_up(home):
    drop(home, "500110001", "a.csv", [row(benefit="450"), row(case="GN-002", received="2025-13-02")], at(5))
    ingest_all(home, date(2025, 3, 5))
    import json

    receipt = json.loads(next((home.out / "returns" / "500110001").glob("a.*.回执.json")).read_text("utf-8"))
    assert receipt["rows_read"] == receipt["rows_accepted"] + receipt["rows_rejected"] == 2
    assert receipt["findings_by_rule"]["P03"] == 1
    assert (receipt["rows_accepted"], receipt["rows_rejected"]) == (1, 1)


def test_unreadable_file_gets_a_receipt_with_error(home):
    path = home.inbox / "500110001" / "坏文件.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a workbook")
    [o] = ingest_all(home, date(2030, 1, 1))
    assert o.status == "unreadable"
    import json

    receipt = json.loads(next((home.out / "returns" / "500110001").glob("坏文件.*.回执.json")).read_text("utf-8"))
    assert receipt["rows_read"] == 0 and "error" in receipt
    assert query(home, "SELECT rule_id FROM checks.findings") == [("P01",)]


def rows_in(home: Home, tables: list[str]) -> list[int]:
    with open_warehouse(home, flow="test", read_only=True) as con:
        return [con.table(t).aggregate("count(*)").fetchall()[0][0] for t in tables]


def test_failure_in_the_middle_leaves_the_warehouse_unchanged_and_a_rerun_completes(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE)], at(5))
    tables = ["raw.files", "raw.submission_rows", "core.case_versions", "core.member_versions", "checks.findings"]

    def boom(step):
        if step == "versions":
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        ingest_all(home, date(2025, 3, 5), fail_after=boom)
    assert rows_in(home, tables) == [0, 0, 0, 0, 0]
    [o] = ingest_all(home, date(2025, 3, 5))
    assert o.status == "loaded"
    # one finding: V16 (the approval was never submitted for the cross-check before the decision)
    assert rows_in(home, tables) == [1, 2, 1, 2, 1]


def test_files_not_yet_arrived_wait_for_their_day(home):
    drop(home, "500110001", "a.csv", [row()], at(15))
    assert ingest_all(home, date(2025, 3, 14)) == []
    assert len(ingest_all(home, date(2025, 3, 15))) == 1


def test_temp_files_dotfiles_symlinks_ignored_and_unknown_folder_reported(home):
    drop(home, "500110001", "a.csv", [row()], at(5))
    (home.inbox / "500110001" / "~$a.xlsx").write_bytes(b"x")
    (home.inbox / "500110001" / ".DS_Store").write_bytes(b"x")
    (home.inbox / "500110001" / "link.csv").symlink_to(home.inbox / "500110001" / "a.csv")
    drop(home, "500110105", "wansheng.csv", [row(town="500110105")], at(5))
    found = discover(home, frozenset(REF.town_codes), date(2025, 3, 5))
    assert sorted(c.rel_path for c in found.candidates) == ["inbox/500110001/a.csv", "inbox/500110105/wansheng.csv"]
    assert found.unknown_folders == ["500110105"]
    assert len(found.ignored) == 3


def test_return_files_lost_after_the_load_are_rebuilt_by_the_next_run(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE | {"relation": "表亲"})], at(5))
    ingest_all(home, date(2025, 3, 5))
    folder = home.out / "returns" / "500110001"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for p in folder.iterdir():  # as if the run had died between its commit and the files
        p.unlink()
    [o] = ingest_all(home, date(2025, 3, 6))
    assert o.status == "known"
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before
