"""Money right at the edges (issue 13; SPEC changes of 2026-12-07).

Each test drops small town files as a clerk sends them (CSV with the template's
Chinese headers), runs ingest, the cross-check and the close, and asserts the
amounts to the fen and the findings by rule id.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from helpers import REF, at, ingest_all, make_id, query
from python_calamine import CalamineWorkbook

from checks.lifecycle import clear_finding
from core.home import Home
from flows.close_month import close_month_flow
from flows.crosscheck import run_crosscheck
from payments.actions import PaymentActionError, one_off, record_recovery
from warehouse.connection import open_warehouse

GUNAN, WENLONG = "500110001", "500110002"
HEADERS = {
    "case_no": "案件编号", "town_code": "镇街代码", "program": "救助类别", "status": "案件状态",
    "applied_on": "申请日期", "received_on": "受理日期", "decided_on": "审批日期",
    "publicity_from": "公示开始日期", "publicity_to": "公示结束日期", "decided_level": "审批层级",
    "monthly_benefit": "月保障金额", "benefit_from": "起始发放月份", "bank": "开户银行", "account_no": "银行账号",
    "account_holder": "开户人", "name": "姓名", "id_no": "身份证号", "relation": "与户主关系",
    "covered": "是否保障对象", "monthly_income": "月收入", "self_care": "自理能力",
}  # fmt: skip
ACCOUNT = "6222021234567890128"
ACCOUNT_2 = "6222020200112233445"
ZHANG = make_id("19800101", "001")
LI = make_id("19820202", "002")
WANG = make_id("19830303", "003")
ZHAO = make_id("19840404", "004")


def case(case_no: str, town: str = GUNAN, members=((ZHANG, "张三", "户主", "300"),), **household) -> list[dict]:
    """The rows of one case: an approved 城市低保 of March 2025 unless told otherwise."""
    hh = {
        "case_no": case_no, "town_code": town, "program": "城市低保", "status": "批准",
        "applied_on": "2025-03-01", "received_on": "2025-03-02", "decided_on": "2025-03-20",
        "publicity_from": "2025-03-21", "publicity_to": "2025-03-27", "decided_level": "镇街",
        "monthly_benefit": "450", "benefit_from": "2025-04", "bank": "农行", "account_no": ACCOUNT,
        "account_holder": members[0][1],
    } | household  # fmt: skip
    return [hh | {"name": name, "id_no": id_no, "relation": rel, "covered": "是", "monthly_income": income}
            for id_no, name, rel, income in members]


def drop(home: Home, town: str, name: str, rows: list[dict], when: datetime) -> Path:
    path = home.inbox / town / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(HEADERS)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([HEADERS[f] for f in fields])
        out.writerows([[r.get(f, "") for f in fields] for r in rows])
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def close(home: Home, period: str, as_of: date) -> dict:
    return close_month_flow.fn(home=str(home.root), period=period, as_of=as_of.isoformat(), notify=False)


def paid(home: Home, case_no: str | None = None) -> list[tuple]:
    """(case, month owed, type, amount, account) of every line, in batch order."""
    return [tuple(r) for r in query(
        home, "SELECT case_no, strftime(period_owed, '%Y-%m'), payment_type, amount, account_no FROM pay.payments "
        "WHERE $c IS NULL OR case_no = $c ORDER BY batch_no, line_no", {"c": case_no})]


def holds(home: Home, period: str) -> list[tuple]:
    return [tuple(r) for r in query(
        home, "SELECT case_no, strftime(period_owed, '%Y-%m'), reason FROM pay.holds "
        "WHERE strftime(period, '%Y-%m') = $p ORDER BY 1, 2", {"p": period})]


def findings(home: Home, rule: str, status: str | None = "open") -> list[dict]:
    with open_warehouse(home, flow="test") as con:
        return con.sql(
            "SELECT * FROM checks.findings WHERE rule_id = $r AND ($s IS NULL OR status = $s) ORDER BY case_no",
            params={"r": rule, "s": status}).pl().to_dicts()


def receipt(path: Path, home: Home) -> dict:
    [found] = (home.out / "returns" / path.parent.name).glob(f"{path.stem}.*.回执.json")
    return json.loads(found.read_text(encoding="utf-8"))


def extract(home: Home, source: str, day: str, header: str, *rows: str) -> None:
    folder = home.registries / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{day}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def versions(home: Home, case_no: str) -> list[tuple]:
    return [tuple(r) for r in query(
        home, "SELECT acceptance, status, strftime(effective_month, '%Y-%m'), is_current FROM core.case_versions "
        "WHERE case_no = $c ORDER BY seq", {"c": case_no})]


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


# ---------------------------------------------------------------- 1. no single row breaks a file or a close


@pytest.mark.parametrize(("column", "label"), [("program", "救助类别"), ("status", "案件状态"),
                                               ("applied_on", "申请日期"), ("relation", "与户主关系")])
def test_a_blank_bold_cell_rejects_its_case_only_and_the_district_is_paid(home, column, label):
    bad = case("GN-2", members=((LI, "李四", "户主", "300"),))
    bad[0][column] = ""
    path = drop(home, GUNAN, "台账.csv", case("GN-1") + bad + case("GN-3", members=((WANG, "王五", "户主", "300"),)),
                at(25))
    [outcome] = ingest_all(home, date(2025, 3, 25))
    got = receipt(path, home)
    assert (got["rows_read"], got["rows_accepted"], got["rows_rejected"]) == (3, 2, 1)
    assert got["rows_read"] == got["rows_accepted"] + got["rows_rejected"]
    [v03] = findings(home, "V03")
    assert (v03["case_no"], v03["source_row"], v03["field"]) == ("GN-2", 3, column)
    assert v03["message"] == f"{label}为必填项，不能为空"
    close(home, "2025-04", date(2025, 4, 1))
    assert paid(home) == [("GN-1", "2025-04", "monthly", Decimal("450.00"), ACCOUNT),
                          ("GN-3", "2025-04", "monthly", Decimal("450.00"), ACCOUNT)]


def test_a_blank_decision_date_or_amount_is_v03_naming_the_column(home):
    no_date = case("GN-1", decided_on="")
    no_amount = case("GN-2", members=((LI, "李四", "户主", "300"),), monthly_benefit="")
    drop(home, GUNAN, "台账.csv", no_date + no_amount, at(25))
    ingest_all(home, date(2025, 3, 25))
    got = {f["case_no"]: (f["field"], f["message"]) for f in findings(home, "V03")}
    assert got == {"GN-1": ("decided_on", "案件状态为“批准”的案件须填写审批日期"),
                   "GN-2": ("monthly_benefit", "批准案件须填写月保障金额")}
    assert [v[0] for v in versions(home, "GN-1") + versions(home, "GN-2")] == ["rejected", "rejected"]


def test_a_name_or_holder_that_starts_like_a_formula_is_v03_and_never_paid(home):
    formula = case("GN-1", account_holder='=HYPERLINK("http://evil.example/x","点我")')
    minus = case("GN-2", members=((LI, "-李四", "户主", "300"),))
    odd_but_real = case("GN-3", members=((WANG, "王五", "户主", "300"),), account_holder="XX福利院（集中供养）")
    drop(home, GUNAN, "台账.csv", formula + minus + odd_but_real, at(25))
    ingest_all(home, date(2025, 3, 25))
    got = {f["case_no"]: f["message"] for f in findings(home, "V03")}
    assert set(got) == {"GN-1", "GN-2"}
    assert got["GN-1"].startswith("开户人“=HYPERLINK") and "姓名“-李四”以=、+、-、@开头" in got["GN-2"]
    close(home, "2025-04", date(2025, 4, 1))
    assert [p[0] for p in paid(home)] == ["GN-3"]
    [csv_file] = (home.out / "payments" / "2025-04").glob("*.csv")
    assert "HYPERLINK" not in csv_file.read_text(encoding="utf-8-sig")


def test_the_close_holds_a_line_it_cannot_batch_and_pays_the_rest():
    """Second guard, on the pure plan: a version in force whose program is unknown or
    whose payee text starts like a formula is held with its reason; others are paid."""
    from transforms.payments import HOLD_FORMULA_TEXT, HOLD_NO_PROGRAM, plan_close

    month = date(2025, 4, 1)
    keys = ["v1", "v2", "v3"]
    in_force = pl.DataFrame({"month": [month] * 3, "town_code": [GUNAN] * 3, "case_no": ["A", "B", "C"],
                             "version_id": keys})
    details = pl.DataFrame({
        "version_id": keys, "town_code": [GUNAN] * 3, "case_no": ["A", "B", "C"],
        "program": ["dibao_urban", None, "dibao_urban"], "status": ["approved"] * 3,
        "decided_on": [date(2025, 3, 20)] * 3, "monthly_benefit": [Decimal("450.00")] * 3, "covered_count": [1] * 3,
        "is_first_approval": [True] * 3, "is_baseline": [False] * 3, "bank": ["农行"] * 3,
        "account_no": [ACCOUNT] * 3, "account_holder": ["甲", "乙", "@SUM(A1)"], "head_id_no": [ZHANG, LI, WANG],
        "head_name": ["甲", "乙", "丙"], "first_approved_on": [date(2025, 3, 20)] * 3,
    })
    covered = pl.DataFrame({"version_id": keys, "id_no": [ZHANG, LI, WANG], "died_on": [None] * 3},
                           schema={"version_id": pl.String, "id_no": pl.String, "died_on": pl.Date})
    empty_live = pl.DataFrame(schema={"batch_no": pl.String, "line_no": pl.Int32, "town_code": pl.String,
                                      "case_no": pl.String, "period_owed": pl.Date, "amount": pl.Decimal(12, 2)})
    plan = plan_close(
        period=month, in_force=in_force, details=details, covered=covered, live=empty_live,
        case_holds=pl.DataFrame(schema={"town_code": pl.String, "case_no": pl.String, "version_id": pl.String,
                                        "rule_ids": pl.String}),
        publicity=pl.DataFrame(schema={"town_code": pl.String, "case_no": pl.String, "publicity_to": pl.Date}),
        person_months=pl.DataFrame(schema={"id_no": pl.String, "period_owed": pl.Date, "town_code": pl.String,
                                           "case_no": pl.String}),
        tables=REF.tables, go_live=month,
    )
    assert plan.lines.select("case_no", "amount_fen").rows() == [("A", 45000)]
    assert plan.holds.select("case_no", "reason").rows() == [("B", HOLD_NO_PROGRAM), ("C", HOLD_FORMULA_TEXT)]


# ---------------------------------------------------------------- 2. exits without a date


def test_a_termination_without_a_date_takes_effect_the_month_after_the_file_arrived(home):
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    close(home, "2025-05", date(2025, 5, 1))
    drop(home, GUNAN, "终止.csv", case("GN-1", status="终止", decided_on=""), at(10, 5))
    ingest_all(home, date(2025, 5, 10))
    [v03] = findings(home, "V03")
    assert (v03["field"], v03["message"]) == ("decided_on", "案件状态为“终止”的案件须填写审批日期")
    assert versions(home, "GN-1")[-1] == ("loaded_with_errors", "terminated", "2025-06", True)
    close(home, "2025-06", date(2025, 6, 1))
    close(home, "2025-07", date(2025, 7, 1))
    assert [p[1] for p in paid(home, "GN-1")] == ["2025-04", "2025-05"]  # never after the 终止


# ---------------------------------------------------------------- 3. released versions come into force


def test_an_officer_released_first_approval_without_benefit_from_comes_into_force(home):
    # 450 is 2 yuan off the 452 entitlement of an income of 298: V09 rejects the first approval
    drop(home, GUNAN, "批准.csv", case("GN-1", benefit_from="", members=((ZHANG, "张三", "户主", "298"),)), at(25))
    ingest_all(home, date(2025, 3, 25))
    [v09] = findings(home, "V09")
    with open_warehouse(home, flow="test") as con:
        outcome = clear_finding(con, REF, v09["finding_id"], "GZ001", "户籍分户，按实际核定", date(2025, 3, 28))
    assert outcome.released_version is not None
    assert versions(home, "GN-1") == [("loaded_with_errors", "approved", "2025-04", True)]
    close(home, "2025-04", date(2025, 4, 1))
    assert paid(home, "GN-1") == [("GN-1", "2025-04", "monthly", Decimal("450.00"), ACCOUNT)]


# ---------------------------------------------------------------- 4. deaths

COUPLE = ((ZHANG, "张三", "户主", "300"), (LI, "李四", "配偶", "0"))  # (750 - 150) x 2 = 1200


def test_a_death_whose_date_cannot_be_read_counts_from_the_extract_date(home):
    drop(home, GUNAN, "批准.csv", case("GN-1", members=COUPLE, monthly_benefit="1200"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    extract(home, "deaths", "2025-04-15", "id_no,name,died_on", f"{LI},李四,不详")
    run_crosscheck(home.root, date(2025, 4, 16), notify=False)
    [x01] = findings(home, "X01")
    assert (x01["id_no"], x01["severity"]) == (LI, "error")
    close(home, "2025-05", date(2025, 5, 1))
    assert [p[1] for p in paid(home, "GN-1")] == ["2025-04"]
    assert holds(home, "2025-05") == [("GN-1", "2025-05", "保障对象已死亡，死亡次月起不再发放")]


def test_survivors_are_paid_the_new_amount_from_the_month_after_the_death_as_arrears(home):
    drop(home, GUNAN, "批准.csv", case("GN-1", members=COUPLE, monthly_benefit="1200"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    extract(home, "deaths", "2025-04-28", "id_no,name,died_on", f"{LI},李四,2025-04-20")
    run_crosscheck(home.root, date(2025, 4, 28), notify=False)
    close(home, "2025-05", date(2025, 5, 1))  # May is after the death: held
    assert holds(home, "2025-05") == [("GN-1", "2025-05", "保障对象已死亡，死亡次月起不再发放")]
    # the town removes the deceased, decided in June, with the survivor's amount from May
    drop(home, GUNAN, "变更.csv", case("GN-1", decided_on="2025-06-10", benefit_from="2025-05",
                                       publicity_from="", publicity_to=""), at(12, 6))
    ingest_all(home, date(2025, 6, 12))
    assert versions(home, "GN-1")[-1] == ("loaded", "approved", "2025-05", True)
    close(home, "2025-06", date(2025, 6, 25))
    assert paid(home, "GN-1") == [
        ("GN-1", "2025-04", "monthly", Decimal("1200.00"), ACCOUNT),
        ("GN-1", "2025-05", "arrears", Decimal("450.00"), ACCOUNT),
        ("GN-1", "2025-06", "monthly", Decimal("450.00"), ACCOUNT),
    ]
    run_crosscheck(home.root, date(2025, 6, 26), notify=False)
    assert not findings(home, "X01")  # the current version no longer lists him


def test_a_month_paid_at_the_old_amount_lists_only_the_excess_to_recover(home):
    drop(home, GUNAN, "批准.csv", case("GN-1", members=COUPLE, monthly_benefit="1200"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    close(home, "2025-05", date(2025, 5, 1))  # paid 1200 before anyone knew of the death
    extract(home, "deaths", "2025-05-06", "id_no,name,died_on", f"{LI},李四,2025-04-20")
    run_crosscheck(home.root, date(2025, 5, 6), notify=False)
    drop(home, GUNAN, "变更.csv", case("GN-1", decided_on="2025-05-20", benefit_from="2025-05",
                                       publicity_from="", publicity_to=""), at(21, 5))
    ingest_all(home, date(2025, 5, 21))
    close(home, "2025-06", date(2025, 6, 1))
    register = query(home, "SELECT case_no, strftime(period_owed, '%Y-%m'), paid_amount, amount_due, status "
                           "FROM pay.recovery_register")
    assert [tuple(r) for r in register] == [("GN-1", "2025-05", Decimal("1200.00"), Decimal("750.00"), "open")]
    book = CalamineWorkbook.from_path(str(home.out / "payments" / "2025-06" / "应追回.xlsx"))
    head, *body = book.get_sheet_by_index(0).to_python()
    row = dict(zip(head, body[0], strict=True))
    assert (row["案件编号"], row["所属期"], row["已发金额"], row["应追回金额"]) == ("GN-1", "2025-05", 1200, 750)
    assert paid(home, "GN-1")[-1] == ("GN-1", "2025-06", "monthly", Decimal("450.00"), ACCOUNT)


# ---------------------------------------------------------------- 5. holds belong to what caused them


def test_v12_holds_only_the_months_of_the_version_that_carries_it(home):
    drop(home, GUNAN, "其他.csv", case("GN-9", members=((WANG, "王五", "户主", "300"),)), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))  # go-live: April
    # a first approval from February, filed late, then a change without an account from June
    drop(home, GUNAN, "补报.csv", case("GN-1", decided_on="2025-01-20", applied_on="2025-01-02",
                                       received_on="2025-01-03", publicity_from="2025-01-21",
                                       publicity_to="2025-01-27", benefit_from="2025-02"), at(20, 5))
    ingest_all(home, date(2025, 5, 20))
    drop(home, GUNAN, "变更.csv", case("GN-1", decided_on="2025-05-22", account_no="", monthly_benefit="470",
                                       members=((ZHANG, "张三", "户主", "280"),)), at(25, 5))
    ingest_all(home, date(2025, 5, 25))
    assert [f["case_no"] for f in findings(home, "V12")] == ["GN-1"]
    close(home, "2025-06", date(2025, 6, 1))
    assert paid(home, "GN-1") == [("GN-1", "2025-04", "arrears", Decimal("450.00"), ACCOUNT),
                                  ("GN-1", "2025-05", "arrears", Decimal("450.00"), ACCOUNT)]
    assert holds(home, "2025-06") == [("GN-1", "2025-06", "存在未处理的阻断发放问题（V12）")]


VEH = "id_no,plate,vehicle_type,registered_on,status,disability_vehicle"


def test_escalation_runs_from_the_first_day_the_case_is_active(home):
    drop(home, GUNAN, "申请.csv", case("GN-1", status="待审批", decided_on="", publicity_from="", publicity_to="",
                                       monthly_benefit="", benefit_from=""), at(2))
    ingest_all(home, date(2025, 3, 2))
    extract(home, "vehicles", "2025-03-01", VEH, f"{ZHANG},渝A12345,小型轿车,2020-01-01,正常,否")
    run_crosscheck(home.root, date(2025, 3, 3), notify=False)  # first seen on the application
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    run_crosscheck(home.root, date(2025, 4, 25), notify=False)
    close(home, "2025-05", date(2025, 4, 25))  # active from April 1: 24 days, not yet 30
    assert [p[1] for p in paid(home, "GN-1")] == ["2025-04", "2025-05"]
    run_crosscheck(home.root, date(2025, 5, 1), notify=False)
    [x02] = findings(home, "X02")
    assert (x02["first_seen_on"], x02["escalated_on"], x02["blocks_payment"]) == (
        date(2025, 3, 3), date(2025, 5, 1), True)
    close(home, "2025-06", date(2025, 5, 25))
    assert holds(home, "2025-06") == [("GN-1", "2025-06", "存在未处理的阻断发放问题（X02）")]


@pytest.mark.parametrize(("second_decided", "paid_cases", "held"), [
    ("2025-03-21", ["GN-1"], [("WL-1", "同一保障对象该月已在其他案件发放")]),
    ("2025-03-20", [], [("GN-1", "同一保障对象在多个同日首次批准的案件中，均暂停发放待核实"),
                        ("WL-1", "同一保障对象在多个同日首次批准的案件中，均暂停发放待核实")]),
])
def test_two_new_lines_for_one_person_pay_the_case_first_approved_and_a_tie_holds_both(
        home, second_decided, paid_cases, held):
    drop(home, GUNAN, "古南.csv", case("GN-1"), at(25))
    drop(home, WENLONG, "文龙.csv", case("WL-1", town=WENLONG, decided_on=second_decided,
                                          publicity_from="2025-03-22", publicity_to="2025-03-28"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    assert [p[0] for p in paid(home)] == paid_cases
    assert [(c, r) for c, _, r in holds(home, "2025-04")] == held


# ---------------------------------------------------------------- 6. re-payment to the current account


def test_a_line_the_bank_failed_is_paid_again_to_the_current_versions_account(home):
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    [(batch_no,)] = query(home, "SELECT batch_no FROM pay.batches")
    bank = home.bank_inbox / "回盘.csv"
    bank.parent.mkdir(parents=True, exist_ok=True)
    bank.write_text(f"批次号,序号,账号,金额,状态,原因\n{batch_no},1,{ACCOUNT},450.00,失败,账户已销户\n", encoding="utf-8")
    # the town files the new account in a change version (in force from May)
    drop(home, GUNAN, "变更账号.csv", case("GN-1", decided_on="2025-04-10", account_no=ACCOUNT_2,
                                          publicity_from="", publicity_to=""), at(12, 4))
    ingest_all(home, date(2025, 4, 12))
    close(home, "2025-05", date(2025, 5, 1))  # reads the return (B01), which the new account lifts
    assert paid(home, "GN-1") == [
        ("GN-1", "2025-04", "monthly", Decimal("450.00"), ACCOUNT),
        ("GN-1", "2025-04", "arrears", Decimal("450.00"), ACCOUNT_2),  # April is owed under the old version
        ("GN-1", "2025-05", "monthly", Decimal("450.00"), ACCOUNT_2),
    ]


# ---------------------------------------------------------------- 7. one-off payments


def test_a_one_off_skips_held_cases_and_people_dead_before_the_occasion(home):
    drop(home, GUNAN, "批准.csv", case("GN-1", members=COUPLE, monthly_benefit="1200")
         + case("GN-2", members=((WANG, "王五", "户主", "300"),), decided_on="2025-03-24",
                publicity_from="2025-03-25", publicity_to="2025-04-05"), at(25))
    ingest_all(home, date(2025, 3, 25))
    # 李四 died in April: April is still owed to the household (not held), but not to him
    extract(home, "deaths", "2025-04-03", "id_no,name,died_on", f"{LI},李四,2025-04-02")
    run_crosscheck(home.root, date(2025, 4, 3), notify=False)  # loads the extract
    with open_warehouse(home, flow="test") as con:
        got = one_off(con, home, REF, occasion="2025清明", as_of=date(2025, 4, 4), run_id="t")
    assert got["lines"] == 1  # 张三 only: 李四 died before, 王五's case is still in publicity
    assert [tuple(r) for r in query(home, "SELECT id_no, amount FROM pay.payments WHERE payment_type = 'one_off'")] \
        == [(ZHANG, Decimal("50.00"))]


# ---------------------------------------------------------------- 8. baseline uprating


def test_a_baseline_household_is_paid_its_ledger_amount_and_only_later_rises(home):
    ledger = case("GN-0", decided_on="", applied_on="2019-01-02", received_on="2019-01-03", benefit_from="",
                  publicity_from="", publicity_to="", monthly_benefit="1110",
                  members=((ZHANG, "张三", "户主", "0"), (LI, "李四", "配偶", "0")))
    drop(home, GUNAN, "存量台账.csv", ledger, at(20, 12, 2024))
    _baseline(home, date(2024, 12, 31))
    v03 = findings(home, "V03")  # one per member row, each only a warning at baseline
    assert {(f["field"], f["severity"]) for f in v03} == {("decided_on", "warning")}
    assert versions(home, "GN-0") == [("loaded", "approved", "2024-12", True)]
    for month in ("2025-01", "2025-06", "2025-07"):
        close(home, month, date.fromisoformat(f"{month}-01"))
    got = [(m, a) for _, m, t, a, _ in paid(home, "GN-0") if t == "monthly"]
    # go-live January 2025 (standard 750): 1110 until the July rise to 770, then + 20 x 2 covered
    assert got == [("2025-01", Decimal("1110.00")), ("2025-06", Decimal("1110.00")), ("2025-07", Decimal("1150.00"))]


def _baseline(home: Home, as_of: date):
    from intake.discover import discover
    from intake.pipeline import IngestSettings, ingest_file

    found = discover(home, frozenset(REF.town_codes), as_of)
    with open_warehouse(home, flow="test") as con:
        return [ingest_file(con, home, REF, c, IngestSettings(as_of, "baseline", baseline=True))
                for c in found.candidates]


# ---------------------------------------------------------------- 9. findings

DEPOSITS = "id_no,institution,balance,as_of"


def test_a_hand_cleared_x06_holds_within_ten_percent_and_reopens_beyond(home):
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))  # one member: threshold 750 x 12 = 9,000
    ingest_all(home, date(2025, 3, 25))
    extract(home, "deposits", "2025-04-01", DEPOSITS, f"{ZHANG},农行,10000,2025-03-31")
    run_crosscheck(home.root, date(2025, 4, 2), notify=False)
    [x06] = findings(home, "X06")
    with open_warehouse(home, flow="test") as con:
        clear_finding(con, REF, x06["finding_id"], "GZ001", "含代管的集体资金，已核实", date(2025, 4, 3))
    extract(home, "deposits", "2025-05-01", DEPOSITS, f"{ZHANG},农行,10900,2025-04-30")  # +9%
    run_crosscheck(home.root, date(2025, 5, 2), notify=False)
    assert not findings(home, "X06")
    [kept] = findings(home, "X06", status=None)
    assert (kept["finding_id"], kept["status"], kept["cleared_amount"]) == (x06["finding_id"], "cleared",
                                                                             Decimal("10000.00"))
    extract(home, "deposits", "2025-06-01", DEPOSITS, f"{ZHANG},农行,11001,2025-05-31")  # +10.01%
    run_crosscheck(home.root, date(2025, 6, 2), notify=False)
    [again] = findings(home, "X06")
    assert again["finding_id"] == x06["finding_id"] and again["evidence_amount"] == Decimal("11001.00")
    assert len(findings(home, "X06", status=None)) == 1  # the same finding, never a new one


def test_a_moving_balance_keeps_one_finding_and_its_escalation_clock(home):
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    extract(home, "deposits", "2025-04-01", DEPOSITS, f"{ZHANG},农行,10000,2025-03-31")
    run_crosscheck(home.root, date(2025, 4, 2), notify=False)
    extract(home, "deposits", "2025-04-20", DEPOSITS, f"{ZHANG},农行,12000,2025-04-19")
    run_crosscheck(home.root, date(2025, 4, 21), notify=False)
    [x06] = findings(home, "X06", status=None)
    assert (x06["first_seen_on"], x06["evidence_amount"]) == (date(2025, 4, 2), Decimal("12000.00"))


def test_findings_of_an_unchanged_resend_belong_to_the_current_version_and_are_superseded_with_it(home):
    passbook = "6222021234567890123"  # fails the Luhn check: V15, a warning, on every version
    drop(home, GUNAN, "批准.csv", case("GN-1", account_no=passbook), at(25))
    ingest_all(home, date(2025, 3, 25))
    again = case("GN-1", account_no=passbook, decided_on="2025/3/20")  # other bytes, same content
    drop(home, GUNAN, "批准（重报）.csv", again, at(26))
    ingest_all(home, date(2025, 3, 26))
    assert [v[0] for v in versions(home, "GN-1")] == ["loaded"]  # the re-send made no new version
    [(current,)] = query(home, "SELECT version_id FROM core.case_versions WHERE is_current")
    resent = [f for f in findings(home, "V15") if f["first_seen_on"] == date(2025, 3, 26)]
    assert len(resent) == 1 and resent[0]["version_id"] == current
    drop(home, GUNAN, "变更.csv", case("GN-1", decided_on="2025-04-10", monthly_benefit="470",
                                       members=((ZHANG, "张三", "户主", "280"),)), at(12, 4))
    ingest_all(home, date(2025, 4, 12))
    old = [f for f in findings(home, "V15", status=None) if f["version_id"] == current]
    assert [f["status"] for f in old] == ["superseded", "superseded"]


# ---------------------------------------------------------------- 10. the 应追回 register


def test_the_register_lists_each_line_once_until_recovered_or_waived(home):
    drop(home, GUNAN, "批准.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    close(home, "2025-05", date(2025, 5, 1))
    drop(home, GUNAN, "终止.csv", case("GN-1", status="终止", decided_on="2025-03-31"), at(2, 5))
    ingest_all(home, date(2025, 5, 2))  # terminated from April: both lines to recover
    close(home, "2025-06", date(2025, 6, 1))
    close(home, "2025-06", date(2025, 6, 2))
    close(home, "2025-07", date(2025, 7, 1))
    rows = query(home, "SELECT strftime(period_owed, '%Y-%m'), amount_due, strftime(raised_period, '%Y-%m') "
                       "FROM pay.recovery_register ORDER BY period_owed")
    assert [tuple(r) for r in rows] == [("2025-04", Decimal("450.00"), "2025-06"),
                                        ("2025-05", Decimal("450.00"), "2025-06")]
    [(b4, l4), (b5, l5)] = query(home, "SELECT batch_no, line_no FROM pay.recovery_register ORDER BY period_owed")
    with open_warehouse(home, flow="test") as con:
        with pytest.raises(PaymentActionError):
            record_recovery(con, REF, b4, l4, action="recovered", officer="不是官员", reason="x", on=date(2025, 7, 2))
        part = record_recovery(con, REF, b4, l4, action="recovered", officer="GZ001", reason="已退回 300",
                               on=date(2025, 7, 2), amount="300")
        assert (part["status"], part["outstanding"]) == ("open", "150.00")
        record_recovery(con, REF, b4, l4, action="waived", officer="GZ002", reason="困难减免", on=date(2025, 7, 3))
        record_recovery(con, REF, b5, l5, action="recovered", officer="GZ001", reason="全额退回", on=date(2025, 7, 3))
        with pytest.raises(PaymentActionError):
            record_recovery(con, REF, b5, l5, action="recovered", officer="GZ001", reason="again", on=date(2025, 7, 4))
    close(home, "2025-08", date(2025, 8, 1))
    book = CalamineWorkbook.from_path(str(home.out / "payments" / "2025-08" / "应追回.xlsx"))
    assert len(book.get_sheet_by_index(0).to_python()) == 1  # the header only: nothing left to recover
    events = query(home, "SELECT kind, count(*) FROM audit.events WHERE kind LIKE 'recovery_%' GROUP BY 1 ORDER BY 1")
    assert [tuple(e) for e in events] == [("recovery_recovered", 2), ("recovery_waived", 1)]


def test_an_existing_home_seeds_the_register_from_past_recovery_lists(tmp_path):
    import duckdb

    from warehouse.migrate import migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, upto=10)  # the last release's schema
    con.execute("INSERT INTO pay.recoveries VALUES (DATE '2025-06-01', 'B1', 3, '500110001', 'GN-1', "
                "DATE '2025-05-01', 450.00, '案件已作废'), (DATE '2025-07-01', 'B1', 3, '500110001', 'GN-1', "
                "DATE '2025-05-01', 450.00, '案件已作废')")
    migrate(con)
    rows = con.execute("SELECT batch_no, line_no, amount_due, status, raised_period FROM pay.recovery_register"
                       ).fetchall()
    assert rows == [("B1", 3, Decimal("450.00"), "open", date(2025, 6, 1))]


# ---------------------------------------------------------------- 11. messages


def test_rules_applied_to_an_old_decision_name_their_parameters(home):
    old = case("GN-1", applied_on="2005-03-01", received_on="2005-03-02", decided_on="2005-03-20",
               publicity_from="2005-03-21", publicity_to="2005-03-23", benefit_from="2005-04")
    drop(home, GUNAN, "旧案.csv", old, at(25))
    ingest_all(home, date(2025, 3, 25))
    [v06] = findings(home, "V06")
    assert "公示不少于7天" in v06["message"]
    every = query(home, "SELECT message FROM checks.findings")
    assert not any("（空）" in m for (m,) in every)


# ---------------------------------------------------------------- 1. property: one bad cell stays in its case

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TEKUN_HEAD = make_id("19400505", "005")  # 85 on the decision date: cannot be expected to work
CLEAN = (
    case("GN-1")
    + case("GN-2", members=((ZHAO, "赵七", "户主", "300"), (LI, "李四", "配偶", "0")), monthly_benefit="1200")
    + case("GN-3", members=((WANG, "王五", "户主", "0"),), program="农村低保", monthly_benefit="610")
    + case("GN-4", members=((TEKUN_HEAD, "钱六", "户主", "0"),), program="分散特困", monthly_benefit="1175")
)
for r in CLEAN[-1:]:
    r["self_care"] = "半护理"  # 975 + 200
CASES = ["GN-1", "GN-2", "GN-2", "GN-3", "GN-4"]  # the case of each row
EDITABLE = [f for f in HEADERS if f not in ("case_no", "id_no")]
GARBLE = st.one_of(
    st.sampled_from(["", " ", "abc", "=1+2", "@SUM(A1)", "-5", "99999999999999999", "2025-13-45", "１２３",
                     "终止", "作废", "批准", "是", "也许", "\u3000", "\x07", "500110099", "12,5", "二〇二五年"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)


def _paid_by_case(home: Home) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for c, m, t, a, acct in paid(home):
        out.setdefault(c, []).append((m, t, a, acct))
    return out


@pytest.fixture(scope="module")
def clean_payments(tmp_path_factory) -> dict[str, list[tuple]]:
    home = Home(tmp_path_factory.mktemp("clean")).ensure()
    drop(home, GUNAN, "台账.csv", CLEAN, at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    got = _paid_by_case(home)
    assert set(got) == {"GN-1", "GN-2", "GN-3", "GN-4"}  # the clean file pays every case
    return got


@pytest.mark.slow  # twelve whole files ingested and closed: the full tier
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.integers(0, len(CLEAN) - 1), st.sampled_from(EDITABLE), GARBLE),
                      min_size=1, max_size=4))
def test_blanked_or_garbled_cells_never_stop_another_case(tmp_path_factory, clean_payments, edits):
    rows = [dict(r) for r in CLEAN]
    touched = set()
    for i, column, value in edits:
        rows[i][column] = value
        touched.add(CASES[i])
    home = Home(tmp_path_factory.mktemp("garbled")).ensure()
    path = drop(home, GUNAN, "台账.csv", rows, at(25))
    ingest_all(home, date(2025, 3, 25))  # never raises
    got = receipt(path, home)
    assert got["rows_read"] == len(rows) == got["rows_accepted"] + got["rows_rejected"]
    close(home, "2025-04", date(2025, 4, 1))  # never raises
    now = _paid_by_case(home)
    for case_no in set(CASES) - touched:
        assert now.get(case_no) == clean_payments[case_no], case_no


def test_the_monthly_report_counts_lines_raised_recovered_and_waived(home):
    from warehouse.mart import build_marts

    drop(home, GUNAN, "批准.csv", case("GN-1") + case("GN-2", members=((LI, "李四", "户主", "300"),)), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    drop(home, GUNAN, "作废.csv", case("GN-1", status="作废") + case("GN-2", members=((LI, "李四", "户主", "300"),),
                                                                     status="作废"), at(10, 4))
    ingest_all(home, date(2025, 4, 10))
    close(home, "2025-05", date(2025, 5, 1))
    lines = query(home, "SELECT batch_no, line_no FROM pay.recovery_register ORDER BY case_no")
    with open_warehouse(home, flow="test") as con:
        record_recovery(con, REF, *lines[0], action="recovered", officer="GZ001", reason="已退回", on=date(2025, 5, 9))
        record_recovery(con, REF, *lines[1], action="waived", officer="GZ001", reason="户主病故无力退还",
                        on=date(2025, 5, 12), amount="200")
        build_marts(con, REF, "2025-05", "2025-05")
        got = con.sql("SELECT sum(recoveries), sum(recovery_amount), sum(recovered_lines), sum(recovered_amount), "
                      "sum(waived_lines), sum(waived_amount) FROM mart.district_monthly WHERE period = '2025-05'"
                      ).fetchall()
    assert got == [(2, Decimal("900.00"), 1, Decimal("450.00"), 1, Decimal("200.00"))]


def test_a_file_equal_to_an_earlier_one_under_another_name_gets_its_own_receipt(home):
    first = drop(home, GUNAN, "三月台账.csv", case("GN-1"), at(25))
    ingest_all(home, date(2025, 3, 25))
    copy = home.inbox / GUNAN / "三月台账（再次报送）.csv"
    copy.write_bytes(first.read_bytes())
    os.utime(copy, (at(26).timestamp(), at(26).timestamp()))
    ingest_all(home, date(2025, 3, 26))
    got = receipt(copy, home)
    assert got["duplicate_of"] == f"inbox/{GUNAN}/三月台账.csv"
    assert (got["rows_read"], got["rows_accepted"], got["rows_rejected"]) == (0, 0, 0)
    assert "完全相同" in got["note"]
    assert [v[0] for v in versions(home, "GN-1")] == ["loaded"]  # nothing read twice
