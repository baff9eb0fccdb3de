"""Spot-inspection results (SPEC §5 S01, §6): read like town submissions, every
row accounted for, S01 raised (holding payment on 停保), towns told, error
rates in mart.inspections_monthly."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from python_calamine import CalamineWorkbook
from test_sample_flow import GUNAN, WENLONG, build_home, query, run_sample

from checks.findings import finding_id
from core.files import sha256_of
from core.home import SHANGHAI, Home, today_shanghai
from flows.sample import inspections_flow
from publish.files import write_workbook

RESULT_HEADER = "案件编号,镇街代码,核查日期,核查结论,问题类型,处理意见"


def run_inspections(home: Home, as_of: date, *, notify: bool = True) -> dict:
    """The inspections flow's steps in this process, without Prefect."""
    return inspections_flow.fn(home=str(home.root), as_of=as_of.isoformat(), notify=notify)


def drop_results(home: Home, name: str, lines: list[str], when: date, header: str = RESULT_HEADER) -> Path:
    path = home.inspections_inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    ts = datetime(when.year, when.month, when.day, 9, 0, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    return path


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> Path:
    """A home whose March 2025 sample is drawn: 古南 GN-08, GN-09, GN-10; 文龙 WL-1, WL-2."""
    home = build_home(tmp_path_factory.mktemp("sampled"))
    run_sample(home, date(2025, 4, 3), "2025-03")
    return home.root


@pytest.fixture
def home(sampled, tmp_path) -> Home:
    shutil.copytree(sampled, tmp_path / "home")
    return Home(tmp_path / "home")


MIXED = [
    "GN-08,500110001,2025-04-10,属实,,",
    "GN-09,500110001,2025/4/11,不属实,隐瞒收入,停保",
    "GN-10,500110001,2025年4月12日,不属实,家庭人口不实,限期整改",
    "GN-77,500110001,2025-04-10,属实,,",
    "GN-01,500110001,2025-04-10,属实,,",
    "WL-1,500110002,2025-13-01,属实,,",
    "WL-2,500110002,2025-04-10,基本属实,,",
    "WL-1,500110009,2025-04-10,属实,,",
    "WL-2,500110002,2025-05-10,属实,,",
]


def test_bad_rows_are_returned_with_reasons_and_every_row_is_accounted_for(home):
    path = drop_results(home, "2025-04/第一批.csv", MIXED, date(2025, 4, 20))
    out = run_inspections(home, date(2025, 4, 20))
    assert {k: v for k, v in out["inspections"].items() if k != "notified"} == {
        "files_new": 1,
        "files_unreadable": 0,
        "rows_read": 9,
        "rows_accepted": 3,
        "rows_rejected": 6,
        "not_true": 2,
        "s01": 2,
    }
    stem = f"第一批.{sha256_of(path)[:8]}"
    receipt = json.loads((home.out / "returns" / "inspections" / f"{stem}.回执.json").read_text("utf-8"))
    assert receipt["rows_read"] == receipt["rows_accepted"] + receipt["rows_rejected"] == 9
    assert (receipt["rows_accepted"], receipt["findings_by_rule"], receipt["sha256"]) == (
        3,
        {"S01": 2},
        sha256_of(path),
    )
    rows = (
        CalamineWorkbook.from_path(str(home.out / "returns" / "inspections" / f"{stem}.问题.xlsx"))
        .get_sheet_by_name("问题清单")
        .to_python()
    )
    header = rows[0]
    assert header[:3] == ["行号", "处理结果", "问题"] and "案件编号" in header
    problems = {int(r[0]): r[2] for r in rows[1:]}
    assert problems == {
        5: "案件不存在：镇街500110001没有案件编号为“GN-77”的案件",
        6: "该案件不在任何月份的抽查名单中，不能登记抽查结果",
        7: "核查日期“2025-13-01”无法识别",
        8: "核查结论“基本属实”无法识别，应为“属实”或“不属实”",
        9: "镇街代码“500110009”不是本区镇街的代码",
        10: "核查日期2025-05-10晚于今天（2025-04-20）",
    }
    assert query(
        home, "SELECT row_status, count(*) FROM checks.inspection_results GROUP BY ALL ORDER BY 1"
    ) == [("accepted", 3), ("rejected", 6)]


def test_s01_holds_payment_only_when_the_action_is_stop(home):
    path = drop_results(home, "r.csv", MIXED[:3], date(2025, 4, 20))
    run_inspections(home, date(2025, 4, 20))
    sha = sha256_of(path)
    rows = query(
        home,
        "SELECT finding_id, case_no, severity, blocks_payment, status, evidence_key, message, id_no "
        "FROM checks.findings WHERE rule_id = 'S01' ORDER BY case_no",
    )
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("GN-09", "error", True, "open", f"{sha}:2025-04-11"),
        ("GN-10", "error", False, "open", f"{sha}:2025-04-12"),
    ]
    assert rows[0][0] == finding_id("S01", GUNAN, "GN-09", None, f"{sha}:2025-04-11")
    assert "隐瞒收入" in rows[0][6] and "停保" in rows[0][6] and "暂停发放" in rows[0][6]
    assert "暂停发放" not in rows[1][6]
    assert rows[0][7] is None  # about the case, not a member


def test_the_town_is_told_of_its_findings_and_no_other_town(home):
    drop_results(home, "r.csv", MIXED[:3] + ["WL-1,500110002,2025-04-10,属实,,"], date(2025, 4, 20))
    out = run_inspections(home, date(2025, 4, 20))
    assert out["inspections"]["notified"] == {GUNAN: "delivered"}
    [digest] = list((home.outbox / GUNAN).glob("*.md"))
    text = digest.read_text("utf-8")
    assert "抽查结果（2 项）" in text and "GN-09" in text and "GN-10" in text and "S01" in text
    assert not (home.outbox / WENLONG).exists()


def test_each_file_is_read_once_by_content(home):
    path = drop_results(home, "r.csv", MIXED[:3], date(2025, 4, 20))
    run_inspections(home, date(2025, 4, 20))
    copy = home.inspections_inbox / "again" / "副本.csv"
    copy.parent.mkdir()
    shutil.copy2(path, copy)
    again = run_inspections(home, date(2025, 4, 21))
    assert again["inspections"]["files_new"] == 0 and again["inspections"].get("notified") == {}
    assert query(home, "SELECT count(*) FROM checks.inspection_files") == [(1,)]
    assert query(home, "SELECT count(*) FROM checks.findings WHERE rule_id = 'S01'") == [(2,)]


def test_unreadable_file_and_missing_column_get_receipts_with_the_reason(home):
    bad = home.inspections_inbox / "坏.xlsx"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"not a workbook at all")
    drop_results(
        home, "缺列.csv", ["GN-08,500110001,属实"], date(2025, 4, 20), header="案件编号,镇街代码,核查结论"
    )
    out = run_inspections(home, today_shanghai())  # the files arrived now: today in Asia/Shanghai, not UTC
    assert out["inspections"]["files_unreadable"] == 2
    receipts = {
        p.name.split(".")[0]: json.loads(p.read_text("utf-8"))
        for p in (home.out / "returns" / "inspections").glob("*.回执.json")
    }
    assert receipts["坏"]["error"].startswith("P01")
    assert receipts["缺列"]["error"].startswith("P02") and "核查日期" in receipts["缺列"]["error"]
    assert receipts["缺列"]["rows_read"] == 0


def test_results_in_a_workbook_are_read_like_submissions(home):
    frame = pl.DataFrame(
        {
            "案件编号": ["GN-09"],
            "镇街代码": [GUNAN],
            "核查日期": [date(2025, 4, 11)],
            "核查结论": ["不属实"],
            "问题类型": ["隐瞒收入"],
            "处理意见": ["停保"],
        }
    )
    path = write_workbook(home.inspections_inbox / "结果.xlsx", {"Sheet1": frame})
    ts = datetime(2025, 4, 20, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    out = run_inspections(home, date(2025, 4, 20))
    assert (out["inspections"]["rows_accepted"], out["inspections"]["s01"]) == (1, 1)
    assert query(home, "SELECT inspected_on, conclusion, stops_payment FROM checks.inspection_results") == [
        (date(2025, 4, 11), "not_true", True)
    ]


def test_error_rates_reach_the_mart(home):
    drop_results(home, "r.csv", MIXED[:3] + ["WL-1,500110002,2025-04-10,属实,,"], date(2025, 4, 20))
    run_inspections(home, date(2025, 4, 20))
    rows = query(
        home,
        "SELECT town_code, program, population, sampled, inspected, not_true, error_rate, ci_low, "
        "ci_high, next_ratio FROM mart.inspections_monthly WHERE period = '2025-03' AND sampled > 0 "
        "ORDER BY town_code, program",
    )
    assert [r[:6] for r in rows] == [
        (GUNAN, "all", 10, 3, 3, 2),
        (GUNAN, "dibao_urban", 10, 3, 3, 2),
        (WENLONG, "all", 2, 2, 1, 0),
        (WENLONG, "dibao_urban", 2, 2, 1, 0),
    ]
    # Wilson 95% for 2 of 3: centre (2/3 + z²/6)/(1 + z²/3), by hand 0.2077 .. 0.9385
    assert rows[0][6] == pytest.approx(2 / 3)
    assert rows[0][7] == pytest.approx(0.2077, abs=1e-4) and rows[0][8] == pytest.approx(0.9385, abs=1e-4)
    assert rows[0][9] == pytest.approx(0.4)  # 0.3 + step 0.1: lower bound 0.21 > threshold 0.05
    assert rows[2][7] == 0 and rows[2][9] == pytest.approx(0.3)


def test_the_inspectors_list_filled_in_is_read_back(home):
    from publish.spotcheck import list_path

    rows = (
        CalamineWorkbook.from_path(str(list_path(home, "2025-03", GUNAN)))
        .get_sheet_by_name("抽查名单")
        .to_python()
    )
    header, body = rows[0], rows[1:]
    filled = {"核查日期": "2025-04-15", "核查结论": "不属实", "问题类型": "隐瞒收入", "处理意见": "停保"}
    frame = pl.DataFrame(
        [[str(v) if v != "" else None for v in r] for r in body], schema=header, orient="row"
    ).with_columns(
        *[
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(v)).otherwise(pl.col(k)).alias(k)
            for k, v in filled.items()
        ]
    )
    path = write_workbook(home.inspections_inbox / "古南回填.xlsx", {"抽查名单": frame})
    ts = datetime(2025, 4, 20, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))
    out = run_inspections(home, date(2025, 4, 20))["inspections"]
    assert (out["rows_read"], out["rows_accepted"], out["rows_rejected"], out["s01"]) == (3, 1, 2, 1)
    assert query(home, "SELECT case_no, blocks_payment FROM checks.findings WHERE rule_id = 'S01'") == [
        (body[0][header.index("案件编号")], True)
    ]


def test_s01_with_stop_holds_the_case_at_the_monthly_close(home):
    from core.reference import load_reference
    from payments import close
    from warehouse.connection import open_warehouse

    drop_results(
        home,
        "r.csv",
        [
            "WL-1,500110002,2025-04-10,不属实,隐瞒收入,停保",
            "WL-2,500110002,2025-04-10,不属实,隐瞒收入,限期整改",
        ],
        date(2025, 4, 20),
    )
    run_inspections(home, date(2025, 4, 20))
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="test", ref=ref) as con:
        close.run_close(con, home, ref, period=date(2025, 5, 1), as_of=date(2025, 4, 25), run_id="close-test")
    held = query(
        home, "SELECT case_no, rule_ids FROM pay.holds WHERE town_code = ? ORDER BY case_no", [WENLONG]
    )
    paid = query(home, "SELECT case_no FROM pay.payments WHERE town_code = ? ORDER BY case_no", [WENLONG])
    assert held == [("WL-1", "S01")]
    assert ("WL-2",) in paid and ("WL-1",) not in paid


def test_a_later_visit_replaces_the_result_in_the_rates_but_s01_stays_open(home):
    drop_results(home, "a.csv", ["WL-1,500110002,2025-04-10,不属实,隐瞒收入,限期整改"], date(2025, 4, 12))
    run_inspections(home, date(2025, 4, 12))
    drop_results(home, "b.csv", ["WL-1,500110002,2025-04-30,属实,,"], date(2025, 5, 2))
    run_inspections(home, date(2025, 5, 2))
    assert query(
        home,
        "SELECT inspected, not_true FROM mart.inspections_monthly "
        "WHERE period = '2025-03' AND town_code = ? AND program = 'all'",
        [WENLONG],
    ) == [(1, 0)]
    assert query(home, "SELECT status FROM checks.findings WHERE rule_id = 'S01'") == [("open",)]
