"""The cross-check (SPEC §5 X01–X10, M01–M03; §6 核对报告 and digests).

Cases are written straight into core.case_versions / core.member_versions by a
small builder (the ingest pipeline has its own tests), registry extracts as
CSV files under registries/, and the checks run in-process without Prefect
(`flows.crosscheck.run_crosscheck` runs the flow's own steps).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from checks.crosscheck import RULES, prepare_population, run_rules
from core.home import Home
from core.reference import load_reference
from flows.crosscheck import run_crosscheck
from transforms.identifiers import id_check_char
from warehouse.connection import open_warehouse

REF = load_reference()
GUNAN, DATONG = "500110001", "500110111"  # a 街道 and a 镇
AS_OF = date(2025, 8, 20)  # standards of 2025-07: urban 770, rural 630


def make_id(n: int, birth: str = "19800101", area: str = "500110") -> str:
    first17 = f"{area}{birth}{n:03d}"
    return first17 + id_check_char(first17)


@dataclass
class Member:
    id_no: str
    covered: bool = True
    income: str = "0"
    relation: str = "head"
    work_ability: str | None = None
    annual_review_on: date | None = None
    name: str = "某人"


@dataclass
class District:
    """Writes case versions straight into the warehouse (what ingest would have loaded)."""

    home: Home
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def case(
        self,
        case_no: str,
        members: list[Member],
        *,
        town: str = GUNAN,
        status: str = "approved",
        program: str = "dibao_urban",
        decided_on: date | None = date(2025, 1, 10),
        received_on: date | None = date(2024, 12, 20),
        rechecked_on: date | None = None,
        account_no: str | None = None,
        gradual_exit: bool = False,
        extended: bool = False,
        ingested_on: date = date(2025, 1, 15),
        acceptance: str = "loaded",
        effective_month: date | None = None,
    ) -> str:
        seq = next(self.seq)
        version_id = f"{seq:064x}:{town}:{case_no}"
        current = acceptance in ("loaded", "loaded_with_errors")
        decided = decided_on if status not in ("received", "investigating", "pending") else None
        with open_warehouse(self.home, flow="test") as con:
            if current:
                con.execute(
                    "UPDATE core.case_versions SET is_current = false WHERE town_code = ? AND case_no = ?",
                    [town, case_no],
                )
            con.execute(
                """
                INSERT INTO core.case_versions (version_id, town_code, case_no, file_sha256, seq, ingested_on, run_id,
                    content_sha256, acceptance, is_current, is_first_approval, effective_month, program, status,
                    received_on, decided_on, rechecked_on, account_no, gradual_exit, extended, household_size,
                    covered_count, rows_in_file, monthly_benefit, benefit_from, decided_level)
                VALUES (?, ?, ?, ?, ?, ?, 'seed', ?, ?, ?, false, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 100, ?, 'town')
                """,
                [
                    version_id,
                    town,
                    case_no,
                    f"{seq:064x}",
                    seq,
                    ingested_on,
                    f"c{seq}",
                    acceptance,
                    current,
                    effective_month,
                    program,
                    status,
                    received_on,
                    decided,
                    rechecked_on,
                    account_no,
                    gradual_exit,
                    extended,
                    len(members),
                    sum(m.covered for m in members),
                    len(members),
                    date(2025, 2, 1),
                ],
            )
            for i, m in enumerate(members, start=1):
                con.execute(
                    """
                    INSERT INTO core.member_versions (version_id, town_code, case_no, member_no, source_row, id_no,
                        name, relation, covered, work_ability, annual_review_on, monthly_income)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        version_id,
                        town,
                        case_no,
                        i,
                        i + 1,
                        m.id_no,
                        m.name,
                        m.relation,
                        m.covered,
                        m.work_ability,
                        m.annual_review_on,
                        Decimal(m.income),
                    ],
                )
        return version_id


def extract(home: Home, source: str, day: str, header: str, *rows: str) -> None:
    folder = home.registries / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{day}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


VEH = "id_no,plate,vehicle_type,registered_on,status,disability_vehicle"
DEATHS = "id_no,name,died_on"
ESTATE = "id_no,property_id,use,area_m2,registered_on"
BUSINESS = "id_no,uscc,role,status,registered_capital"
SOCIAL = "id_no,kind,monthly_amount,period"
FUND = "id_no,monthly_contribution,status"
PAYROLL = "id_no,employer,since"
DEPOSITS = "id_no,institution,balance,as_of"


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


@pytest.fixture
def district(home) -> District:
    return District(home)


def findings(home: Home, rule: str | None = None, status: str | None = "open") -> list[dict]:
    with open_warehouse(home, flow="test") as con:
        frame = con.sql(
            "SELECT rule_id, severity, blocks_payment, town_code, case_no, id_no, evidence_key, message, status, "
            "cleared_how, escalated_on, evidence FROM checks.findings "
            "WHERE ($rule IS NULL OR rule_id = $rule) AND ($status IS NULL OR status = $status) "
            "ORDER BY rule_id, town_code, case_no, id_no, evidence_key",
            params={"rule": rule, "status": status},
        ).pl()
    return frame.to_dicts()


def hits(home: Home, rule: str) -> list[tuple]:
    return [(f["case_no"], f["id_no"], f["evidence_key"], f["severity"]) for f in findings(home, rule)]


def check(home: Home, as_of: date = AS_OF, mode: str = "all", notify: bool = False) -> dict:
    return run_crosscheck(home.root, as_of, mode, notify=notify)


# ---------------------------------------------------------------- X01 deaths


def test_x01_covered_dead_is_error_uncovered_warning_and_future_death_not_yet(home, district):
    a, b, c = make_id(1), make_id(2), make_id(3)
    district.case("GN-1", [Member(a), Member(b, covered=False, relation="spouse")])
    district.case("GN-2", [Member(c)])
    extract(
        home, "deaths", "2025-08-01", DEATHS, f"{a},甲,2025-07-01", f"{b},乙,2025-06-30", f"{c},丙,2025-09-01"
    )
    check(home)
    assert hits(home, "X01") == [("GN-1", a, "2025-07-01", "error"), ("GN-1", b, "2025-06-30", "warning")]


def test_x01_is_not_cleared_by_a_later_extract_but_by_a_version_without_him(home, district):
    a, b = make_id(1), make_id(2)
    district.case("GN-1", [Member(a), Member(b, relation="spouse")])
    extract(home, "deaths", "2025-06-30", DEATHS, f"{b},乙,2025-06-01")
    check(home, date(2025, 7, 1))
    extract(home, "deaths", "2025-07-31", DEATHS, f"{make_id(9)},丁,2025-07-15")  # b no longer listed
    check(home, date(2025, 8, 1))
    assert hits(home, "X01") == [("GN-1", b, "2025-06-01", "error")]
    district.case("GN-1", [Member(a)], decided_on=date(2025, 8, 5))  # new version: b removed
    check(home, date(2025, 8, 10))
    assert findings(home, "X01") == []
    [gone] = findings(home, "X01", status="cleared")
    assert gone["cleared_how"] == "auto"


def test_x01_clears_when_the_suspension_takes_effect_not_before(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    extract(home, "deaths", "2025-06-30", DEATHS, f"{a},甲,2025-06-01")
    check(home, date(2025, 7, 1))
    district.case(
        "GN-1",
        [Member(a)],
        status="suspended",
        decided_on=date(2025, 7, 20),
        effective_month=date(2025, 8, 1),
    )
    check(home, date(2025, 7, 25))
    assert len(findings(home, "X01")) == 1  # 停发 takes effect from August
    check(home, date(2025, 8, 1))
    assert findings(home, "X01") == []


# ---------------------------------------------------------------- X02–X05


def test_x02_vehicle_in_use_but_not_scrapped_or_disability(home, district):
    a, b, c = make_id(1), make_id(2), make_id(3)
    district.case("GN-1", [Member(a)])
    district.case("GN-2", [Member(b)])
    district.case("GN-3", [Member(c)])
    extract(
        home,
        "vehicles",
        "2025-06-30",
        VEH,
        f"{a},渝A 12345,小型轿车,2020-01-01,正常,否",
        f"{b},渝B00001,小型轿车,2010-01-01,报废,否",
        f"{b},渝B00002,小型轿车,2010-01-01,注销,否",
        f"{c},渝C00001,残疾人专用小型自动挡载客汽车,2021-01-01,正常,是",
    )
    check(home)
    assert hits(home, "X02") == [("GN-1", a, "渝A12345", "error")]


def test_x03_two_dwellings_or_a_shop_but_not_one_shared_home(home, district):
    a, b, c, d, e = (make_id(i) for i in range(1, 6))
    district.case("GN-1", [Member(a), Member(b, relation="spouse")])  # one home each: two dwellings
    district.case("GN-2", [Member(c), Member(d, relation="spouse")])  # one home owned jointly
    district.case("GN-3", [Member(e)])  # a shop
    extract(
        home,
        "real_estate",
        "2025-06-30",
        ESTATE,
        f"{a},P-2,住宅,80.5,2010-01-01",
        f"{b},P-1,住宅,60,2012-01-01",
        f"{c},P-3,住宅,90,2010-01-01",
        f"{d},P-3,住宅,90,2010-01-01",
        f"{d},P-9,其他,5,2010-01-01",
        f"{e},S-1,商业,30,2015-01-01",
    )
    check(home)
    assert hits(home, "X03") == [("GN-1", None, "P-1,P-2", "error"), ("GN-3", None, "S-1", "error")]


def test_x04_active_business_role_and_x05_public_payroll(home, district):
    a, b, c = make_id(1), make_id(2), make_id(3)
    district.case("GN-1", [Member(a), Member(b, relation="spouse"), Member(c, relation="child")])
    extract(
        home,
        "business",
        "2025-06-30",
        BUSINESS,
        f"{a},91500110MA5U0AB12X,股东,存续,100000",
        f"{b},91500110MA5U0AB13X,法定代表人,注销,1",
        f"{c},91500110MA5U0AB14X,其他,存续,1",
    )
    extract(home, "public_payroll", "2025-06-30", PAYROLL, f"{c},綦江区人民医院,2019-03-01")
    check(home)
    assert hits(home, "X04") == [("GN-1", a, "91500110MA5U0AB12X", "error")]
    assert hits(home, "X05") == [("GN-1", c, "綦江区人民医院", "warning")]


# ---------------------------------------------------------------- X06, X07: money at the boundary


def test_x06_deposits_above_members_x_urban_standard_x_12_exactly(home, district):
    # 2 members x 770 x 12 = 18480.00 in August 2025 (urban standard, also for a 镇 case)
    a, b, c, d = (make_id(i) for i in range(1, 5))
    district.case("DT-1", [Member(a), Member(b, relation="spouse")], town=DATONG, program="dibao_rural")
    district.case("DT-2", [Member(c), Member(d, relation="spouse")], town=DATONG, program="dibao_rural")
    extract(
        home,
        "deposits",
        "2025-06-30",
        DEPOSITS,
        f"{a},农行,18000.00,2025-06-30",
        f"{b},邮储,480.01,2025-06-30",
        f"{c},农行,18000.00,2025-06-30",
        f"{d},邮储,480.00,2025-06-30",
    )
    check(home)
    assert hits(home, "X06") == [("DT-1", None, "deposits", "error")]
    [f] = findings(home, "X06")
    assert "18480.01" in f["message"] and "18480.00" in f["message"]


def test_x07_pension_raises_income_to_the_standard(home, district):
    # urban standard 770 (街道); a two-person household reaches it at 1540.00
    a, b, c, d, e, f_, g = (make_id(i) for i in range(1, 8))
    district.case("GN-1", [Member(a, income="500"), Member(b, relation="spouse", income="0")])
    district.case("GN-2", [Member(c, income="500"), Member(d, relation="spouse", income="0")])
    district.case(
        "GN-3", [Member(e, income="500"), Member(f_, relation="spouse", income="0")], gradual_exit=True
    )
    # tekun in a 镇: the rural standard 630
    district.case("DT-1", [Member(g, income="0")], town=DATONG, program="tekun_home")
    extract(
        home,
        "social_insurance",
        "2025-07-31",
        SOCIAL,
        f"{b},养老金,1040.00,2025-07",
        f"{b},养老金,900.00,2025-06",
        f"{d},养老金,1039.99,2025-07",
        f"{d},养老金,2000.00,2025-05",
        f"{f_},养老金,1040.00,2025-07",
        f"{g},失业金,630.00,2025-07",
    )
    check(home)
    assert hits(home, "X07") == [("GN-1", None, "income", "error"), ("DT-1", None, "income", "error")]


# ---------------------------------------------------------------- X08, X09, X10


def test_x08_person_active_in_two_towns_is_found_on_both_cases_and_the_later_is_held(home, district):
    p = make_id(1)
    district.case("GN-1", [Member(p)], decided_on=date(2024, 3, 1))
    district.case(
        "DT-7",
        [Member(p), Member(make_id(2), relation="spouse")],
        town=DATONG,
        program="dibao_rural",
        decided_on=date(2025, 2, 1),
    )
    district.case("GN-9", [Member(p, covered=False)])  # not covered there: not counted
    check(home)
    got = {
        (f["town_code"], f["case_no"]): (f["evidence_key"], f["blocks_payment"])
        for f in findings(home, "X08")
    }
    assert got == {(GUNAN, "GN-1"): (f"{DATONG}:DT-7", False), (DATONG, "DT-7"): (f"{GUNAN}:GN-1", True)}


def test_x08_tie_on_first_approval_holds_all_and_applications_count(home, district):
    p = make_id(1)
    district.case("GN-1", [Member(p)], decided_on=date(2024, 3, 1))
    district.case("GN-2", [Member(p)], decided_on=date(2024, 3, 1))
    district.case("GN-3", [Member(p)], status="received")
    check(home)
    blocks = {f["case_no"]: f["blocks_payment"] for f in findings(home, "X08")}
    assert blocks == {"GN-1": True, "GN-2": True, "GN-3": False}


def test_x09_shared_account_masked_and_x10_undeclared_work(home, district):
    acct = "6222021234567890128"
    a, b, c, d = (make_id(i) for i in range(1, 5))
    district.case("GN-1", [Member(a)], account_no=acct)
    district.case("GN-2", [Member(b, income="1200")], account_no=acct)
    district.case("GN-3", [Member(c), Member(d, relation="spouse")], account_no="6222020000000000001")
    extract(
        home,
        "social_insurance",
        "2025-07-31",
        SOCIAL,
        f"{a},在职参保,800,2025-07",
        f"{b},在职参保,800,2025-07",
        f"{c},在职参保,800,2025-03",
    )
    extract(home, "provident_fund", "2025-07-31", FUND, f"{d},500,缴存", f"{c},300,封存")
    check(home)
    x09 = findings(home, "X09")
    assert [f["case_no"] for f in x09] == ["GN-1", "GN-2"]
    for f in x09:
        assert (
            acct not in f["message"] and acct not in f["evidence_key"] and acct not in (f["evidence"] or "")
        )
        assert "6222***********0128" in f["message"]
    assert hits(home, "X10") == [("GN-1", a, "insured", "warning"), ("GN-3", d, "provident", "warning")]


def test_clean_household_has_no_finding(home, district):
    a, b = make_id(1), make_id(2)
    district.case(
        "GN-1",
        [Member(a, income="300"), Member(b, relation="spouse", income="200")],
        rechecked_on=date(2025, 6, 1),
    )
    extract(home, "vehicles", "2025-06-30", VEH, f"{a},渝A00009,小型轿车,2010-01-01,报废,否")
    extract(home, "real_estate", "2025-06-30", ESTATE, f"{a},P-1,住宅,60,2010-01-01")
    extract(
        home, "social_insurance", "2025-07-31", SOCIAL, f"{a},养老金,300,2025-07", f"{b},在职参保,300,2025-07"
    )
    extract(home, "deposits", "2025-06-30", DEPOSITS, f"{a},农行,5000,2025-06-30")
    summary = check(home)
    assert summary["new"] == 0 and findings(home) == []


# ---------------------------------------------------------------- M01–M03 at their boundaries


@pytest.mark.parametrize(
    ("last", "work", "expected"),
    [
        (date(2024, 8, 20), None, True),  # exactly 12 months: overdue
        (date(2024, 8, 21), None, False),  # a day short
        (date(2025, 2, 20), "有", True),  # 6 months with a covered member able to work
        (date(2025, 2, 21), "有", False),
        (date(2025, 2, 20), "部分", False),
    ],
)
def test_m01_recheck_overdue_boundaries(home, district, last, work, expected):
    district.case("GN-1", [Member(make_id(1), work_ability=work)], rechecked_on=last)
    check(home)
    assert [f["evidence_key"] for f in findings(home, "M01")] == ([last.isoformat()] if expected else [])


def test_m01_uses_decided_on_without_recheck_and_only_dibao(home, district):
    district.case("GN-1", [Member(make_id(1))], decided_on=date(2024, 8, 20))
    district.case("GN-2", [Member(make_id(2))], decided_on=date(2024, 8, 20), program="tekun_home")
    check(home)
    assert [f["case_no"] for f in findings(home, "M01")] == ["GN-1"]


@pytest.mark.parametrize(
    ("program", "extended", "as_of", "expected"),
    [
        # received Friday 2025-06-06; 30 working days later (Dragon Boat holiday 2025-06-02 is before) is 2025-07-18
        ("dibao_urban", False, date(2025, 7, 18), False),
        ("dibao_urban", False, date(2025, 7, 21), True),  # the 31st working day (Monday)
        ("dibao_urban", True, date(2025, 7, 21), False),
        ("tekun_home", False, date(2025, 7, 11), False),  # 25th working day
        ("tekun_home", False, date(2025, 7, 14), True),
    ],
)
def test_m02_application_past_its_working_day_limit(home, district, program, extended, as_of, expected):
    district.case(
        "GN-1",
        [Member(make_id(1))],
        status="investigating",
        program=program,
        received_on=date(2025, 6, 6),
        extended=extended,
    )
    check(home, as_of)
    assert len(findings(home, "M02")) == (1 if expected else 0)


def test_m03_annual_review_to_the_district_with_inspection_dates(home, district):
    a, b, c = make_id(1), make_id(2), make_id(3)
    district.case("GN-1", [Member(a, annual_review_on=date(2024, 8, 20))], program="tekun_home")
    district.case("GN-2", [Member(b, annual_review_on=date(2024, 8, 21))], program="tekun_home")
    district.case("GN-3", [Member(c, annual_review_on=date(2024, 1, 1))], program="tekun_central")
    with open_warehouse(home, flow="test") as con:  # the bureau's own inspection of GN-3
        con.execute(
            "INSERT INTO checks.inspection_results (file_sha256, source_row, town_code, case_no, inspected_on, "
            "row_status) VALUES ('f', 2, ?, 'GN-3', '2025-03-01', 'accepted'), ('f', 3, ?, 'GN-1', '2025-03-01', "
            "'rejected')",
            [GUNAN, GUNAN],
        )
    run_crosscheck(home.root, AS_OF, "all", notify=True)
    assert hits(home, "M03") == [("GN-1", a, "2024-08-20", "info")]
    [digest] = list((home.outbox / "district").glob("*.md"))
    text = digest.read_text("utf-8")
    assert "M03" in text and a not in text and "5001＊＊＊＊＊＊＊＊＊＊" in text  # masked, as digests show it


# ---------------------------------------------------------------- lifecycle through runs


def test_rerun_with_same_extracts_adds_nothing_and_sends_no_notice(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    district.case("GN-2", [Member(make_id(2))], status="received", received_on=date(2025, 8, 15))
    extract(home, "vehicles", "2025-06-30", VEH, f"{a},渝A12345,小型轿车,2020-01-01,正常,否")
    first = run_crosscheck(home.root, AS_OF, notify=True)
    assert first["new"] == 1 and first["notified"] == {GUNAN: "delivered"}
    before = findings(home, status=None)
    second = run_crosscheck(home.root, AS_OF, notify=True)
    assert second["new"] == 0 and second["reopened"] == 0 and second["notified"] == {}
    assert findings(home, status=None) == before
    assert len(list((home.outbox / GUNAN).glob("*.md"))) == 1
    text = next((home.outbox / GUNAN).glob("*.md")).read_text("utf-8")
    assert "X02" in text and a not in text


def test_new_vehicle_extract_without_the_car_clears_x02_and_it_reopens_if_it_returns(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    extract(home, "vehicles", "2025-03-31", VEH, f"{a},渝A12345,小型轿车,2020-01-01,正常,否")
    check(home, date(2025, 4, 2))
    assert len(findings(home, "X02")) == 1
    extract(home, "vehicles", "2025-06-30", VEH, f"{make_id(7)},渝A99999,小型轿车,2020-01-01,正常,否")
    summary = check(home, date(2025, 7, 2))
    assert summary["auto_cleared"] == 1 and findings(home, "X02") == []
    extract(home, "vehicles", "2025-09-30", VEH, f"{a},渝A12345,小型轿车,2020-01-01,正常,否")
    summary = check(home, date(2025, 10, 2))
    assert summary["reopened"] == 1 and len(findings(home, "X02")) == 1


def test_escalation_after_the_configured_days_on_active_cases_only(home, district):
    a, b = make_id(1), make_id(2)
    district.case("GN-1", [Member(a)])
    district.case("GN-2", [Member(b)], status="pending")
    extract(
        home,
        "vehicles",
        "2025-06-30",
        VEH,
        f"{a},渝A1,小型轿车,2020-01-01,正常,否",
        f"{b},渝A2,小型轿车,2020-01-01,正常,否",
    )
    check(home, date(2025, 7, 1))
    check(home, date(2025, 7, 30))  # 29 days
    assert [f["blocks_payment"] for f in findings(home, "X02")] == [False, False]
    summary = check(home, date(2025, 7, 31))  # 30 days
    assert summary["escalated"] == 1
    got = {f["case_no"]: (f["blocks_payment"], f["escalated_on"]) for f in findings(home, "X02")}
    assert got == {"GN-1": (True, date(2025, 7, 31)), "GN-2": (False, None)}
    check(home, date(2025, 8, 1))  # seen again: still blocking
    assert findings(home, "X02")[0]["blocks_payment"] is True


def test_modes_only_touch_their_population(home, district):
    a, b = make_id(1), make_id(2)
    district.case("GN-1", [Member(a)])
    district.case("GN-2", [Member(b)], status="received")
    extract(
        home,
        "vehicles",
        "2025-06-30",
        VEH,
        f"{a},渝A1,小型轿车,2020-01-01,正常,否",
        f"{b},渝A2,小型轿车,2020-01-01,正常,否",
    )
    check(home, mode="applications")
    assert [f["case_no"] for f in findings(home, "X02")] == ["GN-2"]
    check(home, mode="active")
    assert [f["case_no"] for f in findings(home, "X02")] == ["GN-1", "GN-2"]


def test_denied_application_findings_clear_automatically(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)], status="received")
    extract(home, "vehicles", "2025-06-30", VEH, f"{a},渝A1,小型轿车,2020-01-01,正常,否")
    check(home)
    district.case("GN-1", [Member(a)], status="denied")
    check(home, mode="applications")
    assert findings(home, "X02") == []


# ---------------------------------------------------------------- 核对报告


def test_report_verdicts_masked_members_and_same_day_union(home, district):
    a, b, c, d = (make_id(i) for i in range(1, 5))
    district.case("GN-1", [Member(a)], status="received")  # X02 error
    district.case("GN-2", [Member(b)], status="investigating")  # X05 warning only
    district.case("GN-3", [Member(c)], status="pending")  # clean
    district.case("GN-4", [Member(d)])  # active: not in the report
    extract(
        home,
        "vehicles",
        "2025-06-30",
        VEH,
        f"{a},渝A1,小型轿车,2020-01-01,正常,否",
        f"{d},渝A4,小型轿车,2020-01-01,正常,否",
    )
    extract(home, "public_payroll", "2025-06-30", PAYROLL, f"{b},綦江中学,2019-03-01")
    summary = check(home)
    path = home.out / "crosscheck" / AS_OF.isoformat() / f"{GUNAN}.核对报告.xlsx"
    assert summary["reports"] == [path.relative_to(home.root).as_posix()]
    verdicts = pl.read_excel(path, sheet_name="结论").select("案件编号", "核对结论").rows()
    assert verdicts == [("GN-1", "不符合条件"), ("GN-2", "需说明"), ("GN-3", "未发现异常")]
    detail = pl.read_excel(path, sheet_name="明细")
    assert detail.select("案件编号", "规则", "数据来源").rows() == [
        ("GN-1", "X02", "车辆登记"),
        ("GN-2", "X05", "财政供养人员"),
    ]
    assert detail["成员身份证号"].to_list() == [a[:4] + "*" * 10 + a[-4:], b[:4] + "*" * 10 + b[-4:]]
    assert detail["与户主关系"].to_list() == ["户主", "户主"]  # each member's relation in the version checked
    every_cell = " ".join(
        str(v)
        for sheet in ("结论", "明细")
        for row in pl.read_excel(path, sheet_name=sheet).rows()
        for v in row
    )
    assert a[:4] in every_cell and not any(x in every_cell for x in (a, b, c, d))
    # a new application the same day: the report is rewritten with the union
    district.case("GN-5", [Member(make_id(5))], status="received")
    check(home)
    again = pl.read_excel(path, sheet_name="结论")
    assert again["案件编号"].to_list() == ["GN-1", "GN-2", "GN-3", "GN-5"]
    # the next day nothing changed: no application is due, no report
    assert check(home, date(2025, 8, 21))["reports"] == []


def test_new_extract_rechecks_every_application(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)], status="received")
    check(home, date(2025, 8, 1))
    extract(home, "vehicles", "2025-08-10", VEH, f"{a},渝A1,小型轿车,2020-01-01,正常,否")
    summary = check(home, date(2025, 8, 11))
    assert summary["applications_checked"] == 1
    path = home.out / "crosscheck" / "2025-08-11" / f"{GUNAN}.核对报告.xlsx"
    assert pl.read_excel(path, sheet_name="结论")["核对结论"].to_list() == ["不符合条件"]


# ---------------------------------------------------------------- rules as data


def test_every_rule_has_its_sql_file_id_and_message_template():
    for rule in RULES.values():
        assert rule.sql.strip()
        assert rule.message_template.count("{}") == len(rule.message_columns)
        assert rule.severity in ("error", "warning", "info") and rule.title


def test_money_is_compared_as_decimal_not_double(home, district):
    # 0.1 + 0.2 style sums: 3 deposits of 6160.00 + 0.01 each way round the threshold 18480.00 (2 members)
    a, b = make_id(1), make_id(2)
    district.case("GN-1", [Member(a), Member(b, relation="spouse")])
    extract(
        home,
        "deposits",
        "2025-06-30",
        DEPOSITS,
        f"{a},甲,6160.10,2025-06-30",
        f"{a},乙,6160.20,2025-06-30",
        f"{b},丙,6159.70,2025-06-30",
    )
    with open_warehouse(home, flow="test") as con:
        from intake.registry_load import load_registries

        load_registries(con, home, REF, AS_OF, None)
        prepare_population(con, REF, AS_OF)
        found = run_rules(con, REF, AS_OF, rule_ids=("X06",))
    assert found.height == 0  # 18480.00 is not above 18480.00


# ---------------------------------------------------------------- the synthetic district


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_district_recall_is_complete_and_clean_households_raise_no_error(tmp_path):
    """Replay the synthetic district (baseline, then every submission day), load its
    registries, cross-check at its as-of date, and compare with ground_truth.csv."""
    import json

    import synth
    from intake.discover import discover
    from intake.pipeline import IngestSettings, ingest_file

    synth.generate(tmp_path / "synth", households=30, seed=5)
    home = Home(tmp_path / "synth")
    info = json.loads((home.root / "synth.json").read_text("utf-8"))
    days = [(date.fromisoformat(info["baseline_as_of"]), True)]
    days += [(date.fromisoformat(d), False) for d in info["submission_days"]]
    with open_warehouse(home, flow="test") as con:
        for day, baseline in days:
            for c in discover(home, frozenset(REF.town_codes), day).candidates:
                ingest_file(con, home, REF, c, IngestSettings(day, f"replay-{day}", baseline))
    as_of = date.fromisoformat(info["as_of"])
    summary = run_crosscheck(home.root, as_of, notify=False)
    assert summary["extracts_refused"] == []

    truth = pl.read_csv(home.ground_truth, infer_schema=False)
    planted = truth.filter(pl.col("rule_id").str.starts_with("X"))
    assert planted.height >= 10  # every X-rule is planted at least once
    found = pl.DataFrame(findings(home)).filter(pl.col("rule_id").str.starts_with("X"))
    hit = {(f["rule_id"], f["town_code"], f["case_no"]) for f in found.iter_rows(named=True)}
    hit_member = {
        (f["rule_id"], f["town_code"], f["case_no"], f["id_no"]) for f in found.iter_rows(named=True)
    }
    missed = [
        row
        for row in planted.iter_rows(named=True)
        if (row["rule_id"], row["town_code"], row["case_no"]) not in hit
        or (
            row["id_no"]
            and (row["rule_id"], row["town_code"], row["case_no"], row["id_no"]) not in hit_member
        )
    ]
    assert missed == []  # recall 100% on every planted X-anomaly
    cases_in_truth = set(zip(truth["town_code"], truth["case_no"], strict=True))
    false_errors = [
        (f["rule_id"], f["town_code"], f["case_no"])
        for f in found.filter(pl.col("severity") == "error").iter_rows(named=True)
        if (f["town_code"], f["case_no"]) not in cases_in_truth
    ]
    assert false_errors == []
    again = run_crosscheck(home.root, as_of, notify=False)
    assert (again["new"], again["reopened"], again["auto_cleared"]) == (0, 0, 0)
