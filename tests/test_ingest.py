"""Ingest (SPEC §2, §6): versions, acceptance, atomic loads, return files.

These call the per-file pipeline directly (no Prefect); tests/test_flows.py
runs the flow itself.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from jiuzhu.home import SHANGHAI, Home
from jiuzhu.reference import load_reference
from warehouse.connection import open_warehouse

REF = load_reference()
HEADER = ("案件编号,镇街代码,村社区,救助类别,案件状态,申请日期,受理日期,审批日期,公示开始日期,公示结束日期,"
          "审批层级,月保障金额,起始发放月份,开户银行,银行账号,开户人,备注,姓名,身份证号,与户主关系,是否保障对象,月收入")


def row(case="GN-001", town="500110001", status="批准", remark="", name="张三", id_no="50011019800101001X",
        relation="户主", income="300", program="城市低保", benefit="1440", received="2025-03-02"):
    return (f"{case},{town},新街社区,{program},{status},2025/3/1,{received},2025-03-20,2025-03-21,2025-03-27,镇街,"
            f"{benefit},2025-04,农行,6222021234567890128,张三,{remark},{name},{id_no},{relation},是,{income}")


SPOUSE = dict(name="李四", id_no="11010519491231002X", relation="配偶", income="0")


def drop(home: Home, folder: str, name: str, lines: list[str], when: datetime) -> Path:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = when.timestamp()
    os.utime(path, (ts, ts))
    return path


def ingest_all(home: Home, as_of: date, **kw):
    found = discover(home, frozenset(REF.town_codes), as_of)
    out = []
    with open_warehouse(home, flow="test") as con:
        for c in found.candidates:
            out.append(ingest_file(con, home, REF, c, IngestSettings(as_of, f"run-{as_of}"), **kw))
    return out


def query(home: Home, q: str, params=None):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q, params or []).fetchall()


def at(day: int) -> datetime:
    return datetime(2025, 3, day, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def test_rows_accounted_and_versions_loaded(home):
    drop(home, "500110001", "2025-03/a.csv", [row(), row(**SPOUSE)], at(5))
    [o] = ingest_all(home, date(2025, 3, 5))
    assert (o.rows_read, o.rows_accepted, o.rows_rejected, o.cases) == (2, 2, 0, 1)
    assert query(home, "SELECT case_no, status, monthly_benefit, household_size, covered_count, effective_month "
                       "FROM core.cases_current") == [("GN-001", "approved", pytest.approx(1440), 2, 2,
                                                       date(2025, 4, 1))]


def test_another_towns_case_is_rejected_and_that_town_is_untouched(home):
    drop(home, "500110002", "a.csv", [row(case="WL-9", town="500110002")], at(5))
    ingest_all(home, date(2025, 3, 5))
    before = query(home, "SELECT version_id, is_current FROM core.case_versions ORDER BY 1")
    drop(home, "500110001", "b.csv", [row(case="WL-9", town="500110002", income="1")], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert (o.rows_read, o.rows_rejected) == (1, 1)
    assert o.findings_by_rule == {"V02": 1}
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
    assert o.findings_by_rule == {"V03": 1}
    assert (o.rows_accepted, o.rows_warned, o.rows_rejected) == (1, 1, 0)
    assert query(home, "SELECT status FROM core.cases_current") == [("terminated",)]


def test_an_error_rejects_the_whole_case_and_keeps_the_previous_version(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE)], at(5))
    ingest_all(home, date(2025, 3, 5))
    drop(home, "500110001", "b.csv", [row(benefit="1500"), row(**SPOUSE | {"relation": "表亲"})], at(6))
    [_, o] = ingest_all(home, date(2025, 3, 6))
    assert (o.rows_read, o.rows_accepted, o.rows_rejected) == (2, 0, 2)
    assert query(home, "SELECT monthly_benefit FROM core.cases_current") == [(pytest.approx(1440),)]
    workbook = next((home.out / "returns" / "500110001").glob("b.*.问题.xlsx"))
    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    problems = {r[0]: r[2] for r in sheet[1:]}
    assert problems[3].startswith("V03：与户主关系“表亲”")
    assert problems[2] == "同案其他行有误"


def test_newer_version_supersedes_older_findings(home):
    drop(home, "500110001", "a.csv", [row(status="终止", relation="表亲")], at(5))
    ingest_all(home, date(2025, 3, 5))
    assert query(home, "SELECT status FROM checks.findings") == [("open",)]
    drop(home, "500110001", "b.csv", [row(status="终止")], at(6))
    ingest_all(home, date(2025, 3, 6))
    assert query(home, "SELECT rule_id, status FROM checks.findings") == [("V03", "superseded")]


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
    drop(home, "500110001", "a.csv", [row(), row(case="GN-002", received="2025-13-02")], at(5))
    ingest_all(home, date(2025, 3, 5))
    import json

    receipt = json.loads(next((home.out / "returns" / "500110001").glob("a.*.回执.json")).read_text("utf-8"))
    assert receipt["rows_read"] == receipt["rows_accepted"] + receipt["rows_rejected"] == 2
    assert receipt["findings_by_rule"] == {"P03": 1}


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


def test_failure_in_the_middle_leaves_the_warehouse_unchanged_and_a_rerun_completes(home):
    drop(home, "500110001", "a.csv", [row(), row(**SPOUSE)], at(5))
    tables = ["raw.files", "raw.submission_rows", "core.case_versions", "core.member_versions", "checks.findings"]

    def boom(step):
        if step == "versions":
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        ingest_all(home, date(2025, 3, 5), fail_after=boom)
    assert [query(home, f"SELECT count(*) FROM {t}")[0][0] for t in tables] == [0, 0, 0, 0, 0]
    [o] = ingest_all(home, date(2025, 3, 5))
    assert o.status == "loaded"
    assert [query(home, f"SELECT count(*) FROM {t}")[0][0] for t in tables] == [1, 2, 1, 2, 0]


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
