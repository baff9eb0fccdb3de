"""intake.readers: every submission format becomes the same raw string rows (SPEC §2, P01/P02)."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
import xlwt

from core.reference import load_reference
from intake.readers import read_submission

REF = load_reference()
HEADER_MAP = REF.header_map()
REQUIRED = REF.required_fields()

HEADERS = [
    "案件编号",
    "镇街代码",
    "救助类别",
    "案件状态",
    "申请日期",
    "受理日期",
    "月保障金额",
    "姓名",
    "身份证号",
    "与户主关系",
    "是否保障对象",
]
ROW_1 = [
    "QJ-001",
    500110001,
    "城市低保",
    "批准",
    date(2021, 3, 25),
    44280,
    1234.5,
    "张三",
    "11010519491231002X",
    "户主",
    "是",
]
ROW_2 = [
    "QJ-001",
    500110001,
    "城市低保",
    "批准",
    date(2021, 3, 25),
    44280,
    1234.5,
    "李四",
    "50011019800101001X",
    "配偶",
    "否",
]


def read(path: Path):
    return read_submission(path, HEADER_MAP, REQUIRED)


def write_xlsx(
    path: Path,
    rows: list[list],
    sheet: str = "Sheet1",
    title: str | None = "綦江区低保台账",
    extra_sheets: tuple[str, ...] = (),
) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    for name in extra_sheets:
        wb.add_worksheet(name).write_row(0, 0, ["这张表不是台账"])
    ws = wb.add_worksheet(sheet)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    if title:
        ws.write_string(0, 0, title)
        r = 1
    for row in rows:
        for c, value in enumerate(row):
            if isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            elif value is not None:
                ws.write_string(r, c, value)  # text stays text, even '=1+2'
        r += 1
    wb.close()
    return path


# ---------------------------------------------------------------- Excel


def test_xlsx_title_row_lineage_and_cell_text(tmp_path):
    path = write_xlsx(tmp_path / "台账.xlsx", [HEADERS, ROW_1, ROW_2])
    res = read(path)
    assert res.problems == []
    assert res.header_row == 2 and res.sheet == "Sheet1" and res.file_format == "xlsx"
    rows = res.rows
    assert rows["source_row"].to_list() == [3, 4]  # what the clerk sees in Excel
    assert rows["source_ref"].to_list() == ["第3行", "第4行"]
    assert rows["source_sheet"].to_list() == ["Sheet1", "Sheet1"]
    first = rows.row(0, named=True)
    assert first["town_code"] == "500110001"  # an integral number cell, not '500110001.0'
    assert first["applied_on"] == "2021-03-25"  # a date cell
    assert first["received_on"] == "44280"  # a serial typed as a number: the normaliser converts it
    assert first["monthly_benefit"] == "1234.5"
    assert first["id_no"] == "11010519491231002X"
    assert all(dtype == pl.String for name, dtype in rows.schema.items() if name != "source_row")
    assert rows.schema["source_row"] == pl.Int64


def test_xlsx_empty_rows_dropped_and_counted(tmp_path):
    blank = [None] * len(HEADERS)
    spaces = ["  "] + [None] * (len(HEADERS) - 1)
    path = write_xlsx(
        tmp_path / "a.xlsx", [HEADERS, ROW_1, blank, spaces, ROW_2, blank, spaces, ["\u3000"], blank]
    )
    res = read(path)
    assert res.rows["name"].to_list() == ["张三", "李四"]
    assert res.rows["source_row"].to_list() == [3, 6]
    assert res.empty_rows_skipped == 5  # 2 between the members, 3 trailing (unwritten cells are not stored)


def test_xlsx_prefers_sheet_named_taizhang(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [HEADERS, ROW_1], sheet="台账", extra_sheets=("说明",))
    res = read(path)
    assert res.sheet == "台账"
    assert res.rows["name"].to_list() == ["张三"]


def test_xlsx_formula_like_text_stays_text(tmp_path):
    row = list(ROW_1)
    row[7] = '=HYPERLINK("http://x")'
    path = write_xlsx(tmp_path / "a.xlsx", [[*HEADERS, "备注"], [*row, "=1+2"]], title=None)
    res = read(path)
    assert res.header_row == 1
    assert res.rows["name"][0] == '=HYPERLINK("http://x")'
    assert res.rows["remark"][0] == "=1+2"


def test_xls_legacy_format(tmp_path):
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("台账")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    ws.write(0, 0, "綦江区低保台账")
    for c, h in enumerate(HEADERS):
        ws.write(1, c, h)
    for c, value in enumerate(ROW_1):
        ws.write(2, c, value, date_style) if isinstance(value, date) else ws.write(2, c, value)
    path = tmp_path / "老系统.xls"
    wb.save(str(path))
    res = read(path)
    assert res.problems == [] and res.file_format == "xls"
    row = res.rows.row(0, named=True)
    assert row["source_row"] == 3
    assert (row["town_code"], row["applied_on"], row["received_on"]) == ("500110001", "2021-03-25", "44280")
    # the same bytes named .xlsx are still read: the format is sniffed
    renamed = tmp_path / "改名.xlsx"
    renamed.write_bytes(path.read_bytes())
    assert read(renamed).rows["name"].to_list() == ["张三"]


def test_headers_synonyms_english_and_messy_spacing(tmp_path):
    headers = [
        "case_no",
        "Town_Code",
        "保障类别",
        " 状态 ",
        "申请\n日期",
        "\ufeff受理日期",
        "* 姓\u3000名",
        "公民身份号码",
        "关系",
        "是否享受",
    ]
    row = [
        "A1",
        "500110001",
        "城市低保",
        "批准",
        "2021-03-25",
        "2021-03-26",
        "王五",
        "11010519491231002X",
        "户主",
        "是",
    ]
    path = write_xlsx(tmp_path / "a.xlsx", [headers, row], title=None)
    res = read(path)
    assert res.problems == []
    got = res.rows.row(0, named=True)
    assert got["id_no"] == "11010519491231002X"
    assert got["name"] == "王五" and got["applied_on"] == "2021-03-25" and got["status"] == "批准"
    csv_path = tmp_path / "b.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as fh:  # a quoted header cell with a newline
        csv.writer(fh).writerows([["身份证号码" if h == "公民身份号码" else h for h in headers], row])
    assert read(csv_path).rows["id_no"].to_list() == ["11010519491231002X"]


def test_unknown_columns_kept_in_extra_json(tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx", [[*HEADERS, "联系电话", None, "备用"], [*ROW_1, "13800000000", "无表头", None]]
    )
    res = read(path)
    extra = json.loads(res.rows["extra_json"][0])
    assert extra == {"联系电话": "13800000000", "列M": "无表头", "备用": None}
    assert "联系电话" not in res.rows.columns
    plain = read(write_xlsx(tmp_path / "b.xlsx", [HEADERS, ROW_1]))
    assert plain.rows["extra_json"].to_list() == [None]


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    ("encoding", "reported"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")]
)
def test_csv_encodings(tmp_path, encoding, reported):
    lines = ["綦江区某镇低保台账,,,", ",".join(HEADERS), ",".join(str(v) for v in ROW_1), ",,,", ""]
    path = tmp_path / "a.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    res = read(path)
    assert res.problems == [] and res.encoding == reported and res.file_format == "csv"
    assert res.header_row == 2
    assert res.rows["name"].to_list() == ["张三"] and res.rows["program"].to_list() == ["城市低保"]
    assert res.rows["source_row"].to_list() == [3]
    assert res.empty_rows_skipped == 1


def test_csv_quoted_multiline_cell_and_formula_text(tmp_path):
    header = ",".join([*HEADERS, "备注"])
    row1 = ",".join(str(v) for v in ROW_1) + ',"第一行\n第二行"'
    row2 = ",".join(str(v) for v in ROW_2) + ",=SUM(A1:A3)"
    path = tmp_path / "a.csv"
    path.write_text("\n".join([header, row1, row2]) + "\n", encoding="utf-8")
    res = read(path)
    assert res.rows["remark"].to_list() == ["第一行\n第二行", "=SUM(A1:A3)"]
    assert res.rows["source_row"].to_list() == [2, 3]  # records, as Excel shows them


def test_csv_ragged_row_loses_nothing(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "\n".join(
            [
                ",".join(HEADERS),
                ",".join(str(v) for v in ROW_1) + ",多出来的值",
                ",".join(str(v) for v in ROW_2),
            ]
        ),
        encoding="utf-8",
    )
    res = read(path)
    assert res.rows.height == 2
    assert json.loads(res.rows["extra_json"][0]) == {"列12": "多出来的值"}


def test_csv_tab_separated(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("\t".join(HEADERS) + "\n" + "\t".join(str(v) for v in ROW_1) + "\n", encoding="utf-8")
    assert read(path).rows["name"].to_list() == ["张三"]


# ---------------------------------------------------------------- JSON


def test_json_cases_with_members(tmp_path):
    cases = [
        {
            "案件编号": "J-1",
            "town_code": "500110001",
            "救助类别": "农村低保",
            "案件状态": "批准",
            "申请日期": "2021-03-25",
            "受理日期": "2021-03-26",
            "月保障金额": 1200.5,
            "联系电话": "13800000000",
            "members": [
                {"姓名": "张三", "身份证号码": "11010519491231002X", "relation": "户主", "covered": True},
                {
                    "name": "李四",
                    "id_no": "50011019800101001X",
                    "与户主关系": "配偶",
                    "是否保障对象": "否",
                    "学历": "小学",
                },
            ],
        },
        {
            "案件编号": "J-2",
            "镇街代码": 500110002,
            "救助类别": "分散特困",
            "案件状态": "批准",
            "申请日期": "2021-04-01",
            "受理日期": "2021-04-01",
            "members": [
                {"姓名": "王五", "身份证号": "500222194512310025", "与户主关系": "户主", "是否保障对象": "是"}
            ],
        },
    ]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    res = read(path)
    assert res.problems == [] and res.file_format == "json"
    rows = res.rows
    assert rows["name"].to_list() == ["张三", "李四", "王五"]
    assert rows["case_no"].to_list() == ["J-1", "J-1", "J-2"]  # household fields on every member row
    assert rows["town_code"].to_list() == ["500110001", "500110001", "500110002"]
    assert rows["monthly_benefit"].to_list() == ["1200.5", "1200.5", None]
    assert rows["covered"].to_list() == ["是", "否", "是"]
    assert rows["source_row"].to_list() == [1, 2, 3]
    assert rows["source_ref"].to_list() == ["第1个案件第1名成员", "第1个案件第2名成员", "第2个案件第1名成员"]
    assert json.loads(rows["extra_json"][1]) == {"联系电话": "13800000000", "学历": "小学"}
    assert rows["extra_json"][2] is None


def test_json_missing_required_field_is_p02(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps([{"案件编号": "J-1", "members": [{"姓名": "张三"}]}], ensure_ascii=False), encoding="utf-8"
    )
    res = read(path)
    assert res.rows is None and [p.rule_id for p in res.problems] == ["P02"]
    assert "身份证号" in res.problems[0].message_zh


@pytest.mark.parametrize(
    ("content", "words"),
    [(b'{"cases": []}', "案件列表"), (b'[{"a": 1', "JSON"), (b"[1, 2]", "不是对象")],
)
def test_json_not_a_list_of_cases_is_p01(tmp_path, content, words):
    path = tmp_path / "a.json"
    path.write_bytes(content)
    res = read(path)
    assert res.rows is None and res.problems[0].rule_id == "P01"
    assert words in res.problems[0].message_zh


# ---------------------------------------------------------------- rejections


def test_missing_required_column_is_p02_naming_it(tmp_path):
    headers = [h for h in HEADERS if h not in ("身份证号", "是否保障对象")]
    row = [v for h, v in zip(HEADERS, ROW_1, strict=True) if h in headers]
    res = read(write_xlsx(tmp_path / "a.xlsx", [headers, row]))
    assert res.rows is None
    assert [(p.rule_id, p.message_zh) for p in res.problems] == [
        ("P02", "缺少必填列：身份证号、是否保障对象")
    ]


def test_no_header_row_is_p02(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    res = read(path)
    assert res.rows is None and res.problems[0].rule_id == "P02"
    assert "未找到表头" in res.problems[0].message_zh


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("corrupt.xlsx", b"PK\x03\x04" + b"\x00broken zip" * 50, "不是有效的Excel文件"),
        ("garbage.xls", bytes(range(256)) * 20, "不是有效的Excel文件"),
        ("garbage.csv", bytes(range(256)) * 20, "文件无法读取"),
        ("empty.csv", b"", "没有内容"),
        ("empty.xlsx", b"", "没有内容"),
        ("notes.docx", b"hello", "不支持的文件类型"),
    ],
)
def test_unreadable_files_are_p01(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    res = read(path)
    assert res.rows is None
    assert [p.rule_id for p in res.problems] == ["P01"]
    assert words in res.problems[0].message_zh


def test_missing_file_is_p01_not_an_exception(tmp_path):
    res = read(tmp_path / "gone.csv")
    assert res.rows is None and res.problems[0].rule_id == "P01"
