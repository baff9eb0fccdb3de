"""Files people open (issue 16): a return workbook a clerk fixes in place and sends back,
and the towns' submission template, both ingested as a clerk would."""

from __future__ import annotations

import os
from datetime import date

import openpyxl
import pytest
from helpers import REF, at, ingest_all
from test_money_edges import GUNAN, LI, ZHANG, case, drop, receipt, versions

from core.home import Home
from publish.template import write_template
from transforms.submission import FIELD_LABELS_ZH


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def test_a_clerk_fixes_the_return_workbook_in_place_and_sends_it_back(home):
    bad = case("GN-2", members=((LI, "李四", "户主", "300"),), program="")
    drop(home, GUNAN, "台账.csv", case("GN-1") + bad, at(25))
    ingest_all(home, date(2025, 3, 25))
    [workbook] = (home.out / "returns" / GUNAN).glob("台账.*.问题.xlsx")
    book = openpyxl.load_workbook(workbook)
    sheet = book.active
    head = [c.value for c in sheet[1]]
    assert head[:3] == ["行号", "处理结果", "问题"]
    col = head.index("救助类别") + 1
    rows = {r[head.index("案件编号")].value: r for r in sheet.iter_rows(min_row=2)}
    cell = rows["GN-2"][col - 1]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")  # the cell at fault is marked ...
    assert "V03：救助类别为必填项，不能为空" in cell.comment.text  # ... and says why
    assert rows["GN-1"][col - 1].comment is None  # (GN-1 only warns V16, on 审批日期)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$1"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0  # one page wide
    assert sheet.column_dimensions["C"].width >= 40  # 问题 is wide and wraps
    # the clerk corrects the cell and sends the same workbook back
    cell.value = "城市低保"
    cell.comment = None
    back = home.inbox / GUNAN / "台账（更正）.xlsx"
    book.save(back)
    os.utime(back, (at(27).timestamp(), at(27).timestamp()))
    ingest_all(home, date(2025, 3, 27))
    got = receipt(back, home)
    assert (got["rows_read"], got["rows_rejected"]) == (2, 0)
    assert not set(got["findings_by_rule"]) & {"P01", "P02", "P03", "V03"}
    assert [(v[0], v[3]) for v in versions(home, "GN-2")] == [("rejected", False), ("loaded", True)]


def test_a_filled_template_is_accepted_without_a_reading_error(home):
    path = write_template(home, REF, GUNAN, date(2025, 3, 20))
    book = openpyxl.load_workbook(path)
    sheet = book["台账"]
    head = [c.value for c in sheet[1]]
    assert head[:4] == ["案件编号", "镇街代码", "村社区", "救助类别"]
    assert sheet.cell(1, head.index("身份证号") + 1).font.color.rgb.endswith("C00000")  # required: red
    kinds = {next(iter(dv.sqref.ranges)).min_col: dv for dv in sheet.data_validations.dataValidation}
    program = kinds[head.index("救助类别") + 1]
    assert program.type == "list" and "城市低保" in program.formula1 and program.prompt
    assert kinds[head.index("审批日期") + 1].type == "date"
    assert "LEN" in kinds[head.index("身份证号") + 1].formula1
    notes = {r[0].value: r[1].value for r in book["填表说明"].iter_rows(min_row=2)}
    assert notes["城市低保标准（元/人·月）"].startswith("750") and notes["公示期（天，含首尾）"] == "7"
    values = case("GN-1", members=((ZHANG, "张三", "户主", "300"),))[0] | {"village": "新街社区", "covered": "是"}
    for field, value in values.items():
        sheet.cell(2, head.index(FIELD_LABELS_ZH[field]) + 1, value)
    filled = home.inbox / GUNAN / "三月台账.xlsx"
    filled.parent.mkdir(parents=True, exist_ok=True)
    book.save(filled)
    os.utime(filled, (at(25).timestamp(), at(25).timestamp()))
    ingest_all(home, date(2025, 3, 25))
    got = receipt(filled, home)
    assert (got["rows_read"], got["rows_accepted"]) == (1, 1)
    assert not set(got["findings_by_rule"]) & {"P01", "P02", "P03", "V03"}
    assert versions(home, "GN-1") == [("loaded", "approved", "2025-04", True)]


def test_the_demo_table_counts_planted_anomalies_found_per_rule(home):
    from jiuzhu.demo import planted_and_found, planted_table

    blank = case("GN-2", members=((LI, "李四", "户主", "300"),), program="")
    drop(home, GUNAN, "台账.csv", case("GN-1") + blank, at(25))
    broken = home.inbox / GUNAN / "损坏.xlsx"
    broken.write_bytes(b"not a workbook")
    os.utime(broken, (at(25).timestamp(), at(25).timestamp()))
    ingest_all(home, date(2025, 3, 25))
    home.ground_truth.write_text(
        "rule_id,town_code,case_no,id_no,file\n"
        f"V03,{GUNAN},GN-2,,inbox/{GUNAN}/台账.csv\n"
        f"V09,{GUNAN},GN-1,,inbox/{GUNAN}/台账.csv\n"  # planted, but GN-1 is right: not found
        f"P01,{GUNAN},,,inbox/{GUNAN}/损坏.xlsx\n", encoding="utf-8")
    assert planted_and_found(home) == [("P01", 1, 1), ("V03", 1, 1), ("V09", 1, 0)]
    assert planted_table(planted_and_found(home))[-1].split() == ["合计", "3", "2"]
