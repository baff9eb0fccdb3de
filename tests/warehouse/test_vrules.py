"""V-rules of SPEC §5 (issue 4): each rule trips at its boundary and not one step inside it.

Most tests call the pure functions of transforms/vrules.py on small frames
built from text rows through the real normaliser; the last ones go through
intake.pipeline.ingest_file to show where findings land (checks.findings,
acceptance, held, return workbook).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from checks.validation import SubmissionContext, validate_submission, working_calendar
from core.home import SHANGHAI, Home
from core.reference import load_reference
from intake.discover import discover
from intake.pipeline import CODED_FIELDS, IngestSettings, ingest_file
from transforms.identifiers import id_check_char
from transforms.submission import normalise_submission
from transforms.versions import case_key_expr
from transforms.vrules import MESSAGE_TEMPLATES, VRULES, rule_findings, rule_results, typed_for_rules
from warehouse.connection import open_warehouse

REF = load_reference()
CAL = working_calendar(REF["holidays"])
CODES = {f: REF.code_map(f) for f in CODED_FIELDS}
TOWN = "500110001"  # 古南街道, authority from 2021-12-01


def make_id(born: date, seq: str = "001", area: str = "500110") -> str:
    first17 = f"{area}{born:%Y%m%d}{seq}"
    return first17 + id_check_char(first17)


HEAD_ID = make_id(date(1980, 1, 1))  # 50011019800101001X


def hh(**kw) -> dict:
    """Household fields of a clean first approval of urban dibao (income 300 -> 450 yuan in 2025-03)."""
    base = {
        "case_no": "GN-001", "town_code": TOWN, "program": "城市低保", "status": "批准",
        "applied_on": "2025-03-01", "received_on": "2025-03-03", "visited_on": "2025-03-05",
        "decided_on": "2025-03-20", "publicity_from": "2025-03-21", "publicity_to": "2025-03-27",
        "decided_level": "镇街", "monthly_benefit": "450", "benefit_from": "2025-04",
        "account_no": "6222021234567890128", "extended": "", "gradual_exit": "",
    }  # fmt: skip
    return base | kw


def member(**kw) -> dict:
    base = {"name": "张三", "id_no": HEAD_ID, "relation": "户主", "covered": "是", "monthly_income": "300"}
    return base | kw


def typed_rows(*rows: dict) -> pl.DataFrame:
    raw = pl.DataFrame([{k: v for k, v in r.items()} for r in rows]).with_columns(pl.all().cast(pl.String))
    typed, problems = normalise_submission(raw, CODES)
    assert problems.is_empty(), problems
    return typed


def results(*rows: dict, ingested: date = date(2025, 4, 5), previous: dict | None = None, rules=VRULES):
    """rule_results of one file's rows; previous: per case_no {ever_approved, ever_decided, first_ingested_on}."""
    typed = typed_rows(*rows)
    frame = typed_for_rules(typed, town=TOWN, ingested_on=ingested, case_key=case_key_expr())
    prev_rows = [
        {"case_key": k, "ever_approved": False, "ever_decided": False, "first_ingested_on": date(2025, 3, 4)}
        | v
        for k, v in (previous or {"GN-001": {}}).items()
    ]
    prev = pl.DataFrame(
        prev_rows,
        schema={"case_key": pl.String, "ever_approved": pl.Boolean, "ever_decided": pl.Boolean,
                "first_ingested_on": pl.Date},
    )  # fmt: skip
    return rule_results(frame, prev, REF.tables, CAL, rules=rules)


def verdict(res, rule: str) -> list:
    """The rule's non-null results (one per case for case rules, per member for member rules)."""
    return res.column(rule).drop_nulls().to_list()


def messages(res, rule: str) -> list[str]:
    return rule_findings(res, [rule])["message"].to_list()


def test_a_clean_first_approval_trips_nothing():
    res = results(hh() | member())
    assert {r: verdict(res, r) for r in VRULES if False in verdict(res, r)} == {}
    assert rule_findings(res).is_empty()


# ---------------------------------------------------------------- V01


@pytest.mark.parametrize(
    ("id_no", "reason"),
    [
        ("50011019800101001", "不是18位"),
        ("500110198001010011", "校验码错误"),
        (make_id(date(2025, 4, 6)), "出生日期晚于报送日期"),
    ],
)
def test_v01_invalid_id_trips_with_masked_id(id_no, reason):
    res = results(hh() | member(id_no=id_no))
    assert verdict(res, "V01") == [False]
    [msg] = messages(res, "V01")
    assert reason in msg and id_no not in msg and id_no[:4] in msg


def test_v01_born_on_the_ingest_day_is_valid():
    res = results(
        hh() | member(), hh() | member(id_no=make_id(date(2025, 4, 5)), relation="子女", name="小张")
    )
    assert verdict(res, "V01") == [True, True]


# ---------------------------------------------------------------- V04


def test_v04_household_fields_differ_or_not_one_head():
    res = results(
        hh() | member(), hh(program="农村低保") | member(id_no=make_id(date(1982, 5, 5)), relation="配偶")
    )
    assert verdict(res, "V04") == [False]
    assert "救助类别" in messages(res, "V04")[0]
    two_heads = results(hh() | member(), hh() | member(id_no=make_id(date(1982, 5, 5))))
    assert verdict(two_heads, "V04") == [False]
    assert "实际2名" in messages(two_heads, "V04")[0]


def test_v04_consistent_household_passes():
    res = results(
        hh() | member(), hh() | member(id_no=make_id(date(1982, 5, 5)), relation="配偶", monthly_income="0")
    )
    assert verdict(res, "V04") == [True]


# ---------------------------------------------------------------- V05


def test_v05_dates_out_of_order():
    res = results(hh(received_on="2025-02-28") | member())
    assert verdict(res, "V05") == [False]
    assert "受理日期2025-02-28早于申请日期2025-03-01" in messages(res, "V05")[0]
    before_decision = results(hh(publicity_from="2025-03-19", publicity_to="2025-03-27") | member())
    assert verdict(before_decision, "V05") == [False]


def test_v05_same_day_and_missing_dates_are_in_order():
    res = results(hh(applied_on="2025-03-03", visited_on="", publicity_from="2025-03-20") | member())
    assert verdict(res, "V05") == [True]


# ---------------------------------------------------------------- V06


def test_v06_publicity_of_six_days_trips_seven_passes():
    six = results(hh(publicity_to="2025-03-26") | member())
    assert verdict(six, "V06") == [False]
    assert messages(six, "V06") == ["案件GN-001：首次批准须公示不少于7天，公示期2025-03-21至2025-03-26仅6天"]
    assert verdict(results(hh(publicity_to="2025-03-27") | member()), "V06") == [True]


def test_v06_missing_publicity_on_first_approval_trips_but_not_on_a_later_version():
    assert verdict(results(hh(publicity_from="", publicity_to="") | member()), "V06") == [False]
    later = results(
        hh(publicity_from="", publicity_to="") | member(), previous={"GN-001": {"ever_approved": True}}
    )
    assert verdict(later, "V06") == []


def test_v06_tekun_minor_needs_no_publicity_but_an_adult_does():
    minor = hh(program="分散特困", publicity_from="", publicity_to="", monthly_benefit="975") | member(
        id_no=make_id(date(2010, 1, 1)), self_care="全自理", monthly_income="0"
    )
    assert verdict(results(minor), "V06") == []
    adult = minor | {"id_no": make_id(date(1950, 1, 1))}
    assert verdict(results(adult), "V06") == [False]


# ---------------------------------------------------------------- V07


def test_v07_thirtieth_working_day_across_national_day_2026_passes_31st_trips():
    case = hh(
        applied_on="2026-08-28", received_on="2026-08-28", visited_on="", publicity_from="", publicity_to=""
    )
    on_30th = results(case | {"decided_on": "2026-10-15"} | member(), ingested=date(2026, 10, 20))
    on_31st = results(case | {"decided_on": "2026-10-16"} | member(), ingested=date(2026, 10, 20))
    assert verdict(on_30th, "V07") == [True]
    assert verdict(on_31st, "V07") == [False]
    assert messages(on_31st, "V07") == ["案件GN-001：审批日期2026-10-16距受理日期超过30个工作日（实际31个）"]


def test_v07_extension_allows_45_working_days():
    received = date(2025, 3, 3)
    day45, day46 = CAL.add_working_days(received, 45), CAL.add_working_days(received, 46)
    case = hh(extended="是", publicity_from="", publicity_to="")
    assert verdict(results(case | {"decided_on": str(day45)} | member()), "V07") == [True]
    assert verdict(results(case | {"decided_on": str(day46)} | member()), "V07") == [False]
    assert verdict(
        results(hh(decided_on=str(day45), publicity_from="", publicity_to="") | member()), "V07"
    ) == [False]


def test_v07_tekun_limit_25_and_only_on_the_first_decision():
    received = date(2025, 3, 3)
    tekun = hh(program="集中特困", publicity_from="", publicity_to="") | member(self_care="全自理")
    assert verdict(results(tekun | {"decided_on": str(CAL.add_working_days(received, 25))}), "V07") == [True]
    late = tekun | {"decided_on": str(CAL.add_working_days(received, 26))}
    assert verdict(results(late), "V07") == [False]
    assert verdict(results(late, previous={"GN-001": {"ever_decided": True}}), "V07") == []


# ---------------------------------------------------------------- V08


def test_v08_town_decision_one_day_before_authority_trips():
    # 石壕镇 (wave 3) has authority from 2022-06-01
    case = dict(town_code="500110112", applied_on="2022-05-01", received_on="2022-05-05", visited_on="",
                publicity_from="", publicity_to="", benefit_from="2022-06")  # fmt: skip
    typed = typed_rows(hh(**case, decided_on="2022-05-31") | member())
    ctx = SubmissionContext("500110112", frozenset(REF.town_codes), date(2022, 6, 5), extra={"ref": REF})
    found = validate_submission(typed, ctx, pl.DataFrame())
    assert found.filter(pl.col("rule_id") == "V08")["message"].to_list() == [
        "案件GN-001：石壕镇自2022-06-01起方可由镇街审批，本次镇街审批日期2022-05-31早于该日期，须经区民政局审批，暂停发放"
    ]
    on_the_day = validate_submission(
        typed_rows(hh(**case, decided_on="2022-06-01") | member()), ctx, pl.DataFrame()
    )
    assert "V08" not in on_the_day["rule_id"].to_list()
    by_district = typed_rows(hh(**case, decided_on="2022-05-31", decided_level="区") | member())
    assert "V08" not in validate_submission(by_district, ctx, pl.DataFrame())["rule_id"].to_list()


# ---------------------------------------------------------------- V09


@pytest.mark.parametrize(("benefit", "ok"), [("450", True), ("451", True), ("449", True), ("452", False),
                                             ("448", False)])  # fmt: skip
def test_v09_more_than_one_yuan_off_trips(benefit, ok):
    assert verdict(results(hh(monthly_benefit=benefit) | member()), "V09") == [ok]


def test_blank_benefit_on_an_approval_is_v03_naming_the_column():
    raw = pl.DataFrame([hh(monthly_benefit="") | member()]).with_columns(pl.all().cast(pl.String))
    _, problems = normalise_submission(raw, CODES)
    assert problems.select("rule_id", "field", "message_zh").rows() == [("V03", "monthly_benefit", "批准案件须填写月保障金额")]


def test_v09_message_names_both_amounts():
    res = results(hh(monthly_benefit="1500") | member(monthly_income="0"), hh() | member(
        id_no=make_id(date(1949, 12, 31), "002"), relation="配偶", monthly_income="0"))  # fmt: skip
    # (750 - 0) x 2 + 60 (aged 75) = 1560
    assert verdict(res, "V09") == [False]
    assert messages(res, "V09") == [
        "案件GN-001：月保障金额1500.00元与核算金额1560.00元相差60.00元（按2025-03保障标准核算）"
    ]


def test_v09_june_2025_decision_is_checked_with_the_june_standard():
    june = hh(applied_on="2025-06-01", received_on="2025-06-03", visited_on="", decided_on="2025-06-20",
              publicity_from="2025-06-21", publicity_to="2025-06-27", benefit_from="2025-07")  # fmt: skip
    assert verdict(results(june | {"monthly_benefit": "450"} | member()), "V09") == [True]  # 750 - 300
    assert verdict(results(june | {"monthly_benefit": "470"} | member()), "V09") == [
        False
    ]  # July's 770 - 300
    july = june | {"decided_on": "2025-07-01", "publicity_from": "2025-07-01", "benefit_from": "2025-08"}
    assert verdict(results(july | {"monthly_benefit": "470"} | member()), "V09") == [True]


def test_v09_not_applied_in_gradual_exit_or_to_applications():
    assert verdict(results(hh(monthly_benefit="100", gradual_exit="是") | member()), "V09") == []
    assert verdict(results(hh(monthly_benefit="100", status="待审批") | member()), "V09") == []


# ---------------------------------------------------------------- V10, V11


def tekun(*, born: date, decided: str = "2025-03-20", **member_kw) -> dict:
    return hh(program="分散特困", decided_on=decided, monthly_benefit="975") | member(
        id_no=make_id(born), monthly_income="0", self_care="全自理", **member_kw
    )


def test_v10_tekun_member_59_on_decision_day_can_work_60_cannot():
    assert verdict(results(tekun(born=date(1965, 3, 21))), "V10") == [False]  # 59, turns 60 the next day
    assert verdict(results(tekun(born=date(1965, 3, 20))), "V10") == [True]  # 60 on the decision date
    [msg] = messages(results(tekun(born=date(1965, 3, 21))), "V10")
    assert "审批日期2025-03-20为59周岁" in msg and make_id(date(1965, 3, 21)) not in msg


@pytest.mark.parametrize(
    ("born", "kw", "ok"),
    [
        (date(2008, 3, 1), {"schooling": "在校"}, True),  # 17 and at school
        (date(2008, 3, 1), {}, False),  # 17, not at school
        (date(2009, 3, 21), {}, True),  # 15
        (date(1980, 1, 1), {"disability_type": "肢体", "disability_grade": "二级"}, True),
        (date(1980, 1, 1), {"disability_type": "肢体", "disability_grade": "三级"}, False),
        (date(1980, 1, 1), {"disability_type": "精神", "disability_grade": "三级"}, True),
        (date(1980, 1, 1), {"disability_type": "视力", "disability_grade": "二级"}, False),
    ],
)
def test_v10_exceptions(born, kw, ok):
    assert verdict(results(tekun(born=born, **kw)), "V10") == [ok]


def test_v10_and_v11_only_for_covered_members_of_approved_tekun():
    res = results(tekun(born=date(1980, 1, 1)) | {"covered": "否", "self_care": ""}, tekun(born=date(1940, 1, 1)) | {
        "relation": "配偶"})  # fmt: skip
    assert verdict(res, "V10") == [True] and verdict(res, "V11") == [True]
    assert verdict(results(hh(status="待审批") | member()), "V10") == []  # dibao


def test_v10_and_v11_apply_to_tekun_applications_but_not_to_denials():
    application = tekun(born=date(1980, 1, 1)) | {"status": "已受理", "decided_on": "", "self_care": ""}
    res = results(application)
    assert (verdict(res, "V10"), verdict(res, "V11")) == ([False], [False])
    assert "报送日期2025-04-05为45周岁" in messages(res, "V10")[0]  # undecided: ages on the ingest date
    denied = results(application | {"status": "不予批准", "decided_on": "2025-03-20"})
    assert (verdict(denied, "V10"), verdict(denied, "V11")) == ([], [])


def test_v09_waits_for_a_valid_id():
    # the 75-year-old's extra (60) depends on his age, which an invalid ID cannot give
    res = results(hh(monthly_benefit="1260") | member(), hh(monthly_benefit="1260") | member(
        id_no="110105194912310021", relation="配偶", monthly_income="0"))  # fmt: skip
    assert verdict(res, "V01") == [True, False]
    assert verdict(res, "V09") == []


def test_v11_missing_self_care_trips_on_the_member_row():
    res = results(tekun(born=date(1940, 1, 1)) | {"self_care": ""})
    assert verdict(res, "V11") == [False]
    f = rule_findings(res, ["V11"])
    assert f["source_row"].to_list() == [1] and f["id_no"].to_list() == [make_id(date(1940, 1, 1))]


# ---------------------------------------------------------------- V12, V13, V14, V15, V16


def test_v12_approved_without_account():
    assert verdict(results(hh(account_no="") | member()), "V12") == [False]
    assert verdict(results(hh() | member()), "V12") == [True]
    assert verdict(results(hh(account_no="", status="待审批") | member()), "V12") == []


@pytest.mark.parametrize(("benefit_from", "ok"), [("2025-04", True), ("2025-05", False), ("2025-03", False),
                                                  ("", False)])  # fmt: skip
def test_v13_benefit_from_the_month_after_the_decision(benefit_from, ok):
    assert verdict(results(hh(benefit_from=benefit_from) | member()), "V13") == [ok]


def test_v13_only_on_the_first_approval():
    later = results(hh(benefit_from="2024-01") | member(), previous={"GN-001": {"ever_approved": True}})
    assert verdict(later, "V13") == []


def test_v14_duplicate_id_trips_on_the_repeated_row():
    res = results(hh() | member(), hh() | member(relation="子女", name="张小三"))
    assert verdict(res, "V14") == [True, False]
    f = rule_findings(res, ["V14"])
    assert f["source_row"].to_list() == [2]
    assert "与第1行相同" in f["message"][0]
    assert verdict(results(hh() | member(), hh() | member(id_no=make_id(date(2015, 1, 1)), relation="子女")),
                   "V14") == [True, True]  # fmt: skip


def test_v15_luhn():
    res = results(hh(account_no="6222021234567890129") | member())
    assert verdict(res, "V15") == [False]
    assert "6222***********0129" in messages(res, "V15")[0]
    assert verdict(results(hh() | member()), "V15") == [True]


@pytest.mark.parametrize(("first_ingested", "ok"), [(date(2025, 3, 19), True), (date(2025, 3, 20), False),
                                                    (None, False)])  # fmt: skip
def test_v16_first_approval_submitted_strictly_before_its_decision(first_ingested, ok):
    res = results(hh() | member(), previous={"GN-001": {"first_ingested_on": first_ingested}})
    assert verdict(res, "V16") == [ok]


# ---------------------------------------------------------------- seam: baseline, void, templates


def test_baseline_applies_only_v01_v04_v12_v14():
    typed = typed_rows(
        hh(monthly_benefit="1", account_no="", publicity_to="") | member(id_no="500110198001010011")
    )
    ctx = SubmissionContext(
        TOWN, frozenset(REF.town_codes), date(2025, 4, 5), baseline=True, extra={"ref": REF}
    )
    assert sorted(validate_submission(typed, ctx, pl.DataFrame())["rule_id"].to_list()) == ["V01", "V12"]


def test_void_version_is_not_checked():
    res = results(hh(status="作废", monthly_benefit="1", account_no="") | member(id_no="500110198001010011"))
    assert rule_findings(res).is_empty()


def test_messages_come_from_the_templates():
    res = results(hh(monthly_benefit="1", account_no="6222021234567890129", benefit_from="") | member())
    f = rule_findings(res)
    for rule, msg in zip(f["rule_id"], f["message"], strict=True):
        fixed = MESSAGE_TEMPLATES[rule].split("{")[1].split("}", 1)[1]  # the text after the first placeholder
        assert fixed.split("{")[0] in msg


# ---------------------------------------------------------------- through ingest

HEADER = ("案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,审批日期,公示开始日期,公示结束日期,审批层级,"
          "月保障金额,起始发放月份,银行账号,姓名,身份证号,与户主关系,是否保障对象,月收入,自理能力")  # fmt: skip


def csv_row(case="GN-001", program="城市低保", status="批准", decided="2025-03-20", pub_from="2025-03-21",
            pub_to="2025-03-27", benefit="450", benefit_from="2025-04", account="6222021234567890128",
            name="张三", id_no=HEAD_ID, relation="户主", income="300", self_care="", applied="2025-03-01",
            received="2025-03-03", town=TOWN) -> str:  # fmt: skip
    return (f"{case},{town},{program},{status},{applied},{received},{decided},{pub_from},{pub_to},镇街,{benefit},"
            f"{benefit_from},{account},{name},{id_no},{relation},是,{income},{self_care}")  # fmt: skip


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def drop(home: Home, name: str, lines: list[str], day: int, folder: str = TOWN) -> Path:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = datetime(2025, 3, day, 9, 0, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    return path


def ingest(home: Home, day: int):
    as_of = date(2025, 3, day)
    with open_warehouse(home, flow="test") as con:
        return [
            ingest_file(con, home, REF, c, IngestSettings(as_of, f"run-{day}"))
            for c in discover(home, frozenset(REF.town_codes), as_of).candidates
        ]


def query(home: Home, q: str):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q).fetchall()


def problems_column(home: Home, stem: str) -> dict[int, str]:
    workbook = next((home.out / "returns" / TOWN).glob(f"{stem}.*.问题.xlsx"))
    sheet = CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    return {int(r[0]): r[2] for r in sheet[1:]}


def test_ingest_v09_error_rejects_the_case_and_the_return_file_says_why(home):
    drop(home, "a.csv", [csv_row(benefit="1500"), csv_row(benefit="1500", name="李四", id_no=make_id(date(1982, 5, 5)),
                                                          relation="配偶", income="0")], 21)  # fmt: skip
    [o] = ingest(home, 21)
    assert (o.rows_read, o.rows_accepted, o.rows_rejected) == (2, 0, 2)
    assert query(home, "SELECT count(*) FROM core.cases_current") == [(0,)]
    assert query(
        home, "SELECT rule_id, severity, status, source_row, id_no FROM checks.findings ORDER BY 1"
    ) == [
        ("V09", "error", "open", None, None),
        ("V16", "warning", "open", None, None),
    ]
    problems = problems_column(home, "a")
    # (750 - 150) x 2 = 1200
    assert "V09：案件GN-001：月保障金额1500.00元与核算金额1200.00元相差300.00元" in problems[2]


def test_ingest_v12_loads_the_version_and_holds_it(home):
    drop(home, "a.csv", [csv_row(account="")], 21)
    [o] = ingest(home, 21)
    assert (o.rows_accepted, o.rows_rejected, o.rows_warned) == (1, 0, 1)
    assert query(home, "SELECT acceptance, held, is_current FROM core.case_versions") == [
        ("loaded_with_errors", True, True)
    ]
    assert query(home, "SELECT blocks_payment FROM checks.findings WHERE rule_id = 'V12'") == [(True,)]
    assert "V12：案件GN-001：批准案件未填写银行账号，暂停发放" in problems_column(home, "a")[2]
    receipt = json.loads(
        next((home.out / "returns" / TOWN).glob("a.*.回执.json")).read_text(encoding="utf-8")
    )
    assert (receipt["rows_read"], receipt["rows_accepted"], receipt["rows_warned"]) == (1, 1, 1)
    assert receipt["findings_by_rule"] == {"V12": 1, "V16": 1}


def test_ingest_member_rule_points_at_the_row_and_warnings_do_not_reject(home):
    drop(home, "a.csv", [csv_row(case="GN-002", status="待审批", decided="", pub_from="", pub_to="", benefit="",
                                 benefit_from="")], 4)  # fmt: skip
    ingest(home, 4)  # the application, submitted before the decision (so no V16 later)
    drop(home, "b.csv", [
        csv_row(case="GN-002", account="6222021234567890129"),
        csv_row(case="GN-003", program="分散特困", benefit="975", income="0", id_no=make_id(date(1940, 1, 1))),
    ], 21)  # fmt: skip
    [_, o] = ingest(home, 21)
    rows = query(home, "SELECT case_no, rule_id, source_row, id_no IS NOT NULL FROM checks.findings "
                       "WHERE file_sha256 = (SELECT file_sha256 FROM raw.files WHERE name = 'b.csv') ORDER BY 1, 2")  # fmt: skip
    assert rows == [
        ("GN-002", "V15", None, False),
        ("GN-003", "V11", 3, True),
        ("GN-003", "V16", None, False),
    ]
    assert (o.rows_accepted, o.rows_rejected, o.rows_warned) == (1, 1, 1)
    assert query(home, "SELECT case_no FROM core.cases_current ORDER BY 1") == [("GN-002",)]
    assert o.findings_by_rule == {"V11": 1, "V15": 1, "V16": 1}


def test_ingest_v08_loads_the_version_and_holds_it(home):
    # 古南街道 may decide from 2021-12-01; this decision is of the day before (636 - 300 = 336 in 2021-11)
    drop(home, "a.csv", [csv_row(applied="2021-11-01", received="2021-11-02", decided="2021-11-30",
                                 pub_from="2021-12-01", pub_to="2021-12-07", benefit="336",
                                 benefit_from="2021-12")], 21)  # fmt: skip
    [o] = ingest(home, 21)
    assert (o.rows_accepted, o.rows_rejected) == (1, 0)
    assert query(home, "SELECT acceptance, held, is_current FROM core.case_versions") == [
        ("loaded_with_errors", True, True)
    ]
    assert query(home, "SELECT rule_id, blocks_payment FROM checks.findings WHERE severity = 'error'") == [
        ("V08", True)
    ]
    assert "V08：案件GN-001：古南街道自2021-12-01起方可由镇街审批" in problems_column(home, "a")[2]


def test_v02_case_from_another_town_is_rejected_and_its_own_town_passes(home):
    drop(home, "a.csv", [csv_row(case="GN-7"), csv_row(case="WL-1", town="500110002")], 21)
    [o] = ingest(home, 21)
    assert o.findings_by_rule.get("V02") == 1
    assert query(home, "SELECT case_no, acceptance FROM core.case_versions ORDER BY 1") == [
        ("GN-7", "loaded"), ("WL-1", "rejected"),
    ]  # fmt: skip
