"""Resolving findings (SPEC §5): officers clear with a reason, a second officer
confirms a blocking one, hand-cleared findings stay cleared until their
evidence changes, every clearing is audited, and a rejected version whose
errors are all cleared becomes current."""

from __future__ import annotations

import json
import os
from datetime import date, datetime

import pytest
from test_crosscheck import PAYROLL, VEH, District, Member, check, extract, findings, make_id

from checks.lifecycle import FindingError, clear_finding, clearing_counts, confirm_clearing
from core.home import SHANGHAI, Home
from core.reference import load_reference
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from warehouse.connection import open_warehouse

REF = load_reference()
DAY = date(2025, 8, 20)


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


@pytest.fixture
def district(home) -> District:
    return District(home)


def finding_id(home: Home, rule: str, case_no: str | None = None) -> str:
    with open_warehouse(home, flow="test") as con:
        rows = con.execute(
            "SELECT finding_id FROM checks.findings WHERE rule_id = ? AND (? IS NULL OR case_no = ?) ORDER BY 1",
            [rule, case_no, case_no],
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def clear(home: Home, fid: str, officer: str, reason: str = "已入户核实，情况属实", on: date = DAY):
    with open_warehouse(home, flow="test") as con:
        return clear_finding(con, REF, fid, officer, reason, on)


def confirm(home: Home, fid: str, officer: str, on: date = DAY):
    with open_warehouse(home, flow="test") as con:
        return confirm_clearing(con, REF, fid, officer, on)


def status(home: Home, fid: str) -> tuple:
    with open_warehouse(home, flow="test") as con:
        return con.execute(
            "SELECT status, cleared_how, cleared_by, confirmed_by FROM checks.findings WHERE finding_id = ?",
            [fid],
        ).fetchall()[0]


def events(home: Home) -> list[tuple[str, dict]]:
    with open_warehouse(home, flow="test") as con:
        rows = con.execute("SELECT kind, detail_json FROM audit.events ORDER BY event_id").fetchall()
    return [(k, json.loads(d)) for k, d in rows]


def test_cleared_x05_stays_cleared_on_the_next_run_until_its_evidence_changes(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    extract(home, "public_payroll", "2025-06-30", PAYROLL, f"{a},綦江中学,2019-03-01")
    check(home)
    fid = finding_id(home, "X05")
    assert clear(home, fid, "GZ001").status == "cleared"
    summary = check(home, date(2025, 8, 21))
    assert summary["kept_cleared"] == 1 and summary["new"] == 0
    assert status(home, fid) == ("cleared", "officer", "GZ001", None)
    # a new employer is new evidence: a new finding, open
    extract(home, "public_payroll", "2025-09-30", PAYROLL, f"{a},綦江区人民医院,2025-09-01")
    check(home, date(2025, 10, 8))
    assert [f["evidence_key"] for f in findings(home, "X05")] == ["綦江区人民医院"]
    assert status(home, fid)[0] == "cleared"


def test_one_officer_alone_cannot_clear_x08(home, district):
    p = make_id(1)
    district.case("GN-1", [Member(p)], decided_on=date(2024, 3, 1))
    district.case("GN-2", [Member(p)], decided_on=date(2025, 3, 1))
    check(home)
    held = finding_id(home, "X08", "GN-2")
    first = finding_id(home, "X08", "GN-1")  # the first approved: not held, but X08 still takes two
    for fid in (held, first):
        assert clear(home, fid, "GZ001", "同一人误录，已核实").status == "pending_confirmation"
        assert status(home, fid)[0] == "open"
        with pytest.raises(FindingError, match="不同人员"):
            confirm(home, fid, "王建国")  # GZ001's name: the same officer
        with pytest.raises(FindingError, match="等待另一名人员确认"):
            clear(home, fid, "GZ002")
    assert confirm(home, held, "GZ002").status == "cleared"
    assert status(home, held) == ("cleared", "officer", "GZ001", "GZ002")
    assert status(home, first)[0] == "open"
    kinds = [k for k, _ in events(home)]
    assert kinds == ["finding_clear_requested", "finding_clear_requested", "finding_clear_confirmed"]
    counts = clearing_counts_by(home)
    assert counts == {("X08", "requested"): 2, ("X08", "confirmed"): 1}


def clearing_counts_by(home: Home) -> dict:
    with open_warehouse(home, flow="test") as con:
        frame = clearing_counts(con, date(2000, 1, 1), date(2100, 1, 1))
    return {(r, h): n for r, h, n in frame.rows()}


def test_escalated_x02_needs_confirmation_unescalated_does_not(home, district):
    a, b = make_id(1), make_id(2)
    district.case("GN-1", [Member(a)])
    district.case("GN-2", [Member(b)])
    extract(home, "vehicles", "2025-06-30", VEH, f"{a},渝A1,小型轿车,2020-01-01,正常,否")
    check(home, date(2025, 7, 1))
    extract(
        home,
        "vehicles",
        "2025-07-31",
        VEH,
        f"{a},渝A1,小型轿车,2020-01-01,正常,否",
        f"{b},渝A2,小型轿车,2020-01-01,正常,否",
    )
    check(home, date(2025, 8, 5))  # GN-1's car open 35 days: escalated; GN-2's new
    assert clear(home, finding_id(home, "X02", "GN-2"), "GZ003").status == "cleared"
    assert clear(home, finding_id(home, "X02", "GN-1"), "GZ003").status == "pending_confirmation"


def test_refusals_are_one_line_and_change_nothing(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    extract(home, "public_payroll", "2025-06-30", PAYROLL, f"{a},綦江中学,2019-03-01")
    check(home)
    fid = finding_id(home, "X05")
    with pytest.raises(FindingError, match="不在可解除"):
        clear(home, fid, "GZ999")
    with pytest.raises(FindingError, match="理由"):
        clear(home, fid, "GZ001", reason="  ")
    with pytest.raises(FindingError, match="没有编号"):
        clear(home, "0123456789abcdef", "GZ001")
    with pytest.raises(FindingError, match="没有待确认"):
        confirm(home, fid, "GZ002")
    assert status(home, fid) == ("open", None, None, None)
    assert events(home) == []
    clear(home, fid[:10], "GZ001")  # a unique prefix is enough
    with pytest.raises(FindingError, match="无需解除"):
        clear(home, fid, "GZ002")


def test_reason_with_an_id_is_masked_in_the_audit_trail(home, district):
    a = make_id(1)
    district.case("GN-1", [Member(a)])
    extract(home, "public_payroll", "2025-06-30", PAYROLL, f"{a},綦江中学,2019-03-01")
    check(home)
    fid = finding_id(home, "X05")
    clear(home, fid, "李秀英", reason=f"{a} 已退休")
    [(kind, detail)] = events(home)
    assert kind == "finding_cleared" and detail["officer"] == "GZ002" and a not in detail["reason"]


# ---------------------------------------------------------------- rejected version accepted by clearing

HEADER = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,审批日期,姓名,身份证号,与户主关系,是否保障对象,月收入"


def submit(home: Home, name: str, rows: list[str], day: int) -> None:
    path = home.inbox / "500110001" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    ts = datetime(2025, 3, day, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    with open_warehouse(home, flow="test") as con:
        for c in discover(home, frozenset(REF.town_codes), date(2025, 3, day)).candidates:
            ingest_file(con, home, REF, c, IngestSettings(date(2025, 3, day), f"run-{day}"))


def household(relation: str = "配偶", income: str = "0") -> list[str]:
    return [
        f"GN-1,500110001,城市低保,调查中,2025-03-01,2025-03-02,,张三,{make_id(1)},户主,是,100",
        f"GN-1,500110001,城市低保,调查中,2025-03-01,2025-03-02,,李四,{make_id(2)},{relation},是,{income}",
    ]


def current(home: Home) -> list[tuple]:
    with open_warehouse(home, flow="test") as con:
        return con.execute(
            "SELECT v.seq, v.acceptance FROM core.cases_current c JOIN core.case_versions v USING (version_id)"
        ).fetchall()


def test_rejected_version_becomes_current_when_its_errors_are_cleared(home):
    submit(home, "a.csv", household(), 5)
    submit(home, "b.csv", household(relation="表亲", income="50"), 6)  # V03: rejected, v1 stays current
    assert current(home) == [(1, "loaded")]
    fid = finding_id(home, "V03")
    outcome = clear(home, fid, "GZ001", "该家庭经核实为单人户拆分，同意例外", on=date(2025, 3, 7))
    assert outcome.released_version is not None
    assert current(home) == [(2, "loaded_with_errors")]
    assert [k for k, _ in events(home)] == ["finding_cleared", "version_released"]


def test_rejected_version_stays_behind_a_newer_current_one(home):
    submit(home, "a.csv", household(), 5)
    submit(home, "b.csv", household(relation="表亲", income="50"), 6)
    submit(home, "c.csv", household(income="80"), 7)  # newer and current: v2's V03 is superseded
    assert current(home) == [(3, "loaded")]
    with pytest.raises(FindingError, match="superseded"):
        clear(home, finding_id(home, "V03"), "GZ001", on=date(2025, 3, 8))
    assert current(home) == [(3, "loaded")]
