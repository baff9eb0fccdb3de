"""transforms.submission: messy town text -> typed rows, or a finding a clerk can act on (P03, V03)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.reference import load_reference
from transforms.submission import (
    CODE_TABLE_FIELDS,
    DATE_FIELDS,
    EXCEL_EPOCH,
    FIELD_LABELS_ZH,
    RAW_FIELDS,
    TYPED_SCHEMA,
    normalise_submission,
)

REF = load_reference()
CODES = {f: REF.code_map(f) for f in CODE_TABLE_FIELDS}


def norm(**columns: list[str | None]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return normalise_submission(pl.DataFrame(columns, schema={k: pl.String for k in columns}), CODES)


def one(field: str, value: str | None, out: str | None = None):
    typed, findings = norm(**{field: [value]})
    return typed[out or field][0], findings


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text",
    [
        "2021-03-25",
        "2021/3/25",
        "2021.3.25",
        "2021年3月25日",
        "20210325",
        "44280",
        "44280.0",
        "2021-03-25 00:00:00",
        "2021-03-25T00:00:00",
        "２０２１－０３－２５",
        " 2021 - 3 - 25 ",
        "2021年 3月 25日",
        "2021/03/25 14:30",
    ],
)
def test_date_formats(text):
    value, findings = one("decided_on", text)
    assert value == date(2021, 3, 25)
    assert findings.is_empty()


@pytest.mark.parametrize("text", ["2021-02-30", "2021-13-45", "25/03/2021", "三月", "2021032", "12", "99999"])
def test_unreadable_date_is_p03_naming_column_and_value(text):
    value, findings = one("decided_on", text)
    assert value is None
    assert findings.select("source_row", "field", "value", "rule_id").row(0) == (1, "decided_on", text, "P03")
    assert findings["message_zh"][0] == f"审批日期“{text}”无法识别为日期"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (61, date(1900, 3, 1)),
        (44280, date(2021, 3, 25)),
        (45658, date(2025, 1, 1)),
        (73050, date(2099, 12, 31)),
    ],
)
def test_excel_serials(serial, expected):
    assert one("applied_on", str(serial))[0] == expected
    assert one("applied_on", f"{serial}.0")[0] == expected


# ---------------------------------------------------------------- months and money


@pytest.mark.parametrize(
    "text",
    [
        "2025-08",
        "2025/8",
        "2025.08",
        "2025年8月",
        "202508",
        "2025-08-15",
        "2025年8月1日",
        "45870",
        "２０２５－０８",
    ],
)
def test_benefit_from_month_formats(text):
    value, findings = one("benefit_from", text)
    assert value == date(2025, 8, 1) and findings.is_empty()


def test_unreadable_month_is_p03():
    value, findings = one("benefit_from", "2025-13")
    assert value is None
    assert findings["message_zh"].to_list() == ["起始发放月份“2025-13”无法识别为年月（应如2025-08）"]


@pytest.mark.parametrize(
    ("text", "fen"),
    [("1,234.50元", 123450), ("１２３", 12300), (" 80 元", 8000), ("636", 63600), ("0.125", 13)],
)
def test_money_text_to_fen(text, fen):
    assert one("monthly_benefit", text, "monthly_benefit_fen")[0] == fen
    value, findings = one("monthly_income", text, "monthly_income_fen")
    assert value == fen and findings.is_empty()


def test_money_empty_unreadable_and_negative():
    typed, findings = norm(monthly_benefit=[None, "abc", "-5", "1.٣"], monthly_income=["", "三百", "-5", " "])
    assert typed["monthly_benefit_fen"].to_list() == [None, None, None, None]
    assert typed["monthly_income_fen"].to_list() == [0, None, None, 0]  # an empty income is 0
    assert findings.select("source_row", "field", "rule_id").rows() == [
        (2, "monthly_benefit", "P03"),
        (2, "monthly_income", "P03"),
        (3, "monthly_benefit", "P03"),
        (3, "monthly_income", "P03"),
        (4, "monthly_benefit", "P03"),
    ]
    assert "月收入“三百”无法识别为金额" in findings["message_zh"].to_list()
    assert "月保障金额“-5”不能为负数" in findings["message_zh"].to_list()


# ---------------------------------------------------------------- coded values


def test_coded_values_map_to_codes():
    typed, findings = norm(
        program=["城市低保", " 农村低保 ", "tekun_home", "集中特困"],
        status=["批准", "停发", "作废", "待审批"],
        decided_level=["镇街", "区", None, ""],
        relation=["户主", "配偶", "子女", "其他"],
        disability_grade=["一级", "2级", "3", "壹级"],
        self_care=["全自理", "半护理", "全护理", None],
    )
    assert findings.is_empty()
    assert typed["program"].to_list() == ["dibao_urban", "dibao_rural", "tekun_home", "tekun_central"]
    assert typed["status"].to_list() == ["approved", "suspended", "void", "pending"]
    assert typed["decided_level"].to_list() == ["town", "district", None, None]
    assert typed["relation"].to_list() == ["head", "spouse", "child", "other"]
    assert typed["disability_grade"].to_list() == [1, 2, 3, 1]
    assert typed.schema["disability_grade"] == pl.Int8


def test_value_not_in_list_is_v03_with_allowed_values():
    typed, findings = norm(program=["城镇低保"], disability_grade=["五级"], relation=["表哥"])
    assert typed["program"][0] is None
    assert findings.select("field", "rule_id").rows() == [
        ("program", "V03"),
        ("relation", "V03"),
        ("disability_grade", "V03"),
    ]
    assert findings["message_zh"].to_list() == [
        "救助类别“城镇低保”不在规定类别中（城市低保、农村低保、集中特困、分散特困）",
        "与户主关系“表哥”不在规定关系中（户主、配偶、子女、父母、孙子女、兄弟姐妹、其他）",
        "残疾等级“五级”不在规定等级中（一级、二级、三级、四级）",
    ]


def test_yes_no_fields():
    typed, findings = norm(covered=["是", "否", "Y", "n", "1", "0", "TRUE", "false", "", None, "也许"])
    assert typed["covered"].to_list() == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        False,
        False,
        None,
    ]
    assert findings.select("source_row", "rule_id").rows() == [(11, "V03")]
    assert findings["message_zh"][0] == "是否保障对象“也许”应填“是”或“否”"


# ---------------------------------------------------------------- text, IDs, accounts, shape


def test_text_ids_and_accounts_cleaned():
    typed, findings = norm(
        name=[" 张三 ", "李\u3000四", ""],
        case_no=["ＱＪ－００１", "QJ-001 ", None],
        town_code=[" 500110001", "５００１１０００１", None],
        id_no=["11010519491231002x", "110105491231002", " "],
        account_no=["6228 4804-0256 4890 018", "６２２８４８０４０２５６４８９００１８", "折-123A"],
    )
    # the blank required cells of row 3 are V03 (SPEC §2), each naming its column
    assert sorted(findings.select("source_row", "rule_id", "message_zh").rows()) == sorted([
        (3, "V03", "姓名为必填项，不能为空"), (3, "V03", "案件编号为必填项，不能为空"),
        (3, "V03", "镇街代码为必填项，不能为空"), (3, "V03", "身份证号为必填项，不能为空"),
    ])
    assert typed["name"].to_list() == ["张三", "李 四", None]
    assert typed["case_no"].to_list() == ["QJ-001", "QJ-001", None]
    assert typed["town_code"].to_list() == ["500110001", "500110001", None]
    assert typed["id_no"].to_list()[0] == "11010519491231002X"
    assert typed["id_no"].to_list()[1] == "11010519491231002X"  # 15 -> 18, check char computed
    assert typed["id_no"].to_list()[2] is None
    assert typed["account_no"].to_list() == ["6228480402564890018", "6228480402564890018", "折123A"]


def test_absent_columns_present_with_defaults_and_lineage_kept():
    raw = pl.DataFrame(
        {
            "name": ["张三"],
            "source_sheet": ["台账"],
            "source_row": [7],
            "source_ref": ["第7行"],
            "extra_json": ['{"x":1}'],
        }
    )
    typed, findings = normalise_submission(raw, CODES)
    assert typed.schema == pl.Schema(TYPED_SCHEMA)
    row = typed.row(0, named=True)
    assert (row["source_sheet"], row["source_row"], row["source_ref"], row["extra_json"]) == (
        "台账",
        7,
        "第7行",
        '{"x":1}',
    )
    assert row["decided_on"] is None and row["program"] is None and row["monthly_benefit_fen"] is None
    assert row["covered"] is False and row["staff_relative"] is False  # an empty 是/否 is 否
    assert row["monthly_income_fen"] == 0  # an empty income is 0
    assert findings.is_empty()


def test_finding_masks_id_or_account_like_values():
    typed, findings = norm(decided_on=["6228480402564890018"], rechecked_on=["11010519491231002X"])
    assert typed.height == 1
    assert findings["value"].to_list() == ["6228***********0018", "1101**********002X"]
    assert all(
        "6228480402564890018" not in m and "11010519491231002X" not in m for m in findings["message_zh"]
    )


def test_bad_rows_do_not_stop_good_rows():
    typed, findings = norm(
        decided_on=["2021-03-25", "坏", "2021-03-26"], program=["城乡低保", "城市低保", "农村低保"]
    )
    assert typed["decided_on"].to_list() == [date(2021, 3, 25), None, date(2021, 3, 26)]
    assert typed["program"].to_list() == [None, "dibao_urban", "dibao_rural"]
    assert findings.select("source_row", "field").rows() == [(1, "program"), (2, "decided_on")]


# ---------------------------------------------------------------- properties

FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: d.strftime("%Y%m%d"),
    lambda d: str((d - EXCEL_EPOCH).days),
    lambda d: f"{(d - EXCEL_EPOCH).days}.0",
    lambda d: f"{d.isoformat()} 00:00:00",
    lambda d: f"{d.isoformat()}T08:15:00",
    lambda d: "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in d.isoformat()),
    lambda d: f" {d.year} / {d.month:02d} / {d.day:02d} ",
]

COMMON = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)))
def test_every_date_format_round_trips(d):
    typed, findings = norm(applied_on=[fmt(d) for fmt in FORMATS])
    assert typed["applied_on"].to_list() == [d] * len(FORMATS)
    assert findings.is_empty()


@COMMON
@given(st.integers(min_value=61, max_value=73050))
def test_excel_serial_property(serial):
    assert one("visited_on", str(serial))[0] == EXCEL_EPOCH + timedelta(days=serial)


MESSY = st.one_of(
    st.none(),
    st.text(max_size=25),
    st.sampled_from(
        ["", " ", "\u3000", "是", "否", "2021-02-30", "44280", "1,2,3", "-0", "..", "１２", "٣", "=1+2"]
    ),
)


@COMMON
@given(st.lists(st.tuples(*[MESSY] * len(RAW_FIELDS)), min_size=1, max_size=8))
def test_any_text_yields_a_value_or_a_finding(rows):
    raw = pl.DataFrame(rows, schema={f: pl.String for f in RAW_FIELDS}, orient="row")
    typed, findings = normalise_submission(raw, CODES)  # never raises
    assert typed.height == raw.height and typed.schema == pl.Schema(TYPED_SCHEMA)
    flagged = set(zip(findings["source_row"].to_list(), findings["field"].to_list(), strict=True))
    checked = {f: f for f in (*DATE_FIELDS, "benefit_from", "program", "status", "relation", "covered")}
    checked |= {"monthly_benefit": "monthly_benefit_fen", "monthly_income": "monthly_income_fen"}
    for i, row in enumerate(typed.iter_rows(named=True), start=1):
        for raw_field, out_field in checked.items():
            text = rows[i - 1][RAW_FIELDS.index(raw_field)]
            blank = text is None or text.strip() == ""
            if not blank:
                assert (row[out_field] is not None) != ((i, raw_field) in flagged), (raw_field, text)
    assert set(findings["rule_id"].to_list()) <= {"P03", "V03"}
    # every message names the column at fault, as the clerk's template heads it
    assert all(FIELD_LABELS_ZH[f] in m for f, m in findings.select("field", "message_zh").iter_rows())


def test_large_files_parse_distinct_values_the_same_as_small_files():
    """Each column is parsed on its distinct values (pooled with the columns of the same kind)
    and spread back: a file of the same rows repeated must parse as the rows once."""
    messy = {
        "decided_on": ["2021/3/25", "２０２１年３月２６日", "44282", "2021-13-01", None],
        "monthly_income": ["1,234.5", "", "80 元", "abc", None],
        "relation": ["户主", "配偶", "表亲", " 子女 ", None],
        "covered": ["是", "否", "", "Y", "也许"],
        "id_no": ["50011019800101001x", "500110800101001", " 11010519491231002X", "123", None],
    }
    repeat = 401
    small_typed, small_found = norm(**messy)
    big_typed, big_found = norm(**{k: v * repeat for k, v in messy.items()})
    assert big_typed.height == 5 * repeat
    cols = [c for c in small_typed.columns if c not in ("source_row", "source_ref")]
    assert big_typed.head(5).select(cols).equals(small_typed.select(cols))
    assert big_found.filter(pl.col("source_row") <= 5).drop("source_row").equals(small_found.drop("source_row"))
