"""The monthly report's figures a reader questioned (issue 15 items 4-5, issue 16): the month's
held amount apart from the months still held, the budget's what-if not counting a rise already
in force, blank households and persons in the budget's 12-month total, the hit rate named for
what it counts with hits on active cases apart, per-rule tables in report.html, months before
go-live out of the trends, the print setup, and an existing home upgraded by 0019."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from helpers import REF
from python_calamine import CalamineWorkbook

from core.home import Home
from publish.report_html import render
from publish.report_xlsx import write_official
from transforms.budget import project_budget
from warehouse.connection import open_warehouse
from warehouse.mart import _what_if, build_marts, load_report_data, project
from warehouse.migrate import MIGRATIONS_DIR, discover, migrate

TOWN = "500110001"


def _hold_months(con, period: date, months: list[date], amount: str, case_no: str = "GN-9") -> None:
    for owed in months:
        con.execute(
            "INSERT INTO pay.holds (period, town_code, case_no, period_owed, program, amount, reason) "
            "VALUES (?, ?, ?, ?, 'dibao_urban', ?, '公示期未满')",
            [period, TOWN, case_no, owed, Decimal(amount)],
        )


@pytest.fixture(scope="module")
def june(tmp_path_factory):
    """A warehouse whose June close held one case for January to June at 670.00 a month."""
    home = Home(tmp_path_factory.mktemp("held")).ensure()
    with open_warehouse(home, flow="test") as con:
        _hold_months(con, date(2025, 6, 1), [date(2025, m, 1) for m in range(1, 7)], "670.00")
        build_marts(con, REF, "2025-06", "2025-06")
        data = load_report_data(con, REF, "2025-06")
    return home, data


def test_the_months_held_amount_is_the_month_and_earlier_months_are_apart(june):
    _, data = june
    urban = data.payments.filter((pl.col("town_code") == TOWN) & (pl.col("program") == "dibao_urban")).row(
        0, named=True
    )
    assert urban["held_cases"] == 1
    assert urban["held_amount"] == Decimal("670.00")  # not 4,020.00 (six months)
    assert (urban["held_outstanding_months"], urban["held_outstanding_amount"]) == (5, Decimal("3350.00"))
    district = data.district.filter(pl.col("program") == "dibao_urban").row(0, named=True)
    assert district["held_amount"] == Decimal("670.00")
    assert district["held_outstanding_amount"] == Decimal("3350.00")


def test_the_workbook_shows_the_months_held_amount_and_the_months_outstanding(june):
    home, data = june
    path = write_official(home, data)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("汇总").to_python()
    by_measure = {r[1]: r for r in rows[4:] if len(r) > 6 and r[1]}
    assert by_measure["本月暂停金额（元）"][2] == 670 and by_measure["本月暂停金额（元）"][6] == 670
    assert by_measure["此前月份仍暂停金额（元）"][6] == 3350
    assert by_measure["此前月份仍暂停（月数）"][6] == 5
    assert "申请核对命中率（申请件）" in by_measure and "命中条数：在保户" in by_measure


def test_every_sheet_prints_landscape_with_its_header_repeated(june):
    home, data = june
    path = write_official(home, data)
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        sheets = [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/worksheets/sheet")]
    assert all('orientation="landscape"' in s for s in sheets)
    titles = re.findall(r'<definedName name="_xlnm.Print_Titles"', workbook)
    assert len(titles) == len(sheets) - 1  # every table sheet; 说明 has no header row
    # the program sheets (58 columns) print on A3 in bands, the narrower ones fit to the width
    assert sum('paperSize="8"' in s and 'scale="' in s and "<colBreaks" in s for s in sheets) == 4
    assert all('fitToPage="1"' in s and 'fitToHeight="0"' in s for s in sheets if "<colBreaks" not in s)


def test_the_what_if_rise_is_not_added_on_top_of_a_rise_already_in_force():
    # June base: the usual month is July, and July 2025's rise is already in the standards table
    june = _what_if(REF, date(2025, 6, 1))
    assert june.from_month == date(2025, 7, 1) and set(june.rise_fen.values()) == {0}
    history = pl.DataFrame(
        [(date(2025, m, 1), "dibao_urban", "bureau", 10, 15, 675_000) for m in range(1, 7)],
        schema=["month", "program", "payer", "households", "persons", "money_fen"],
        orient="row",
    )
    out = project_budget(history, REF.tables, base_month=date(2025, 6, 1), what_if=june)
    base = out.filter(pl.col("scenario") == "base").sort("month")["money_fen"].to_list()
    what = out.filter(pl.col("scenario") == "what_if").sort("month")["money_fen"].to_list()
    assert what == base  # 现行标准 already has 750 -> 770 from July; no second rise
    assert base[0] == 675_000 + 2_000 * 15  # July: 15 persons x 20 yuan, counted once
    # August base: the next usual rise (July 2026) is not dated yet, so the what-if adds it
    august = _what_if(REF, date(2025, 8, 1))
    assert august.from_month == date(2026, 7, 1) and august.rise_fen["dibao_urban"] == 2_000


def _budget(period: str) -> pl.DataFrame:
    months = [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
    rows = [
        (period, scenario, month, "dibao_urban", "bureau", 10, 15, Decimal("6750.00"), Decimal("770.00"),
         Decimal("0.00"), "2025-07", 6)
        for scenario in ("base", "what_if")
        for month in months
    ]
    columns = ["base_period", "scenario", "period", "program", "payer", "households", "persons", "money",
               "standard", "standard_rise", "what_if_from", "trend_months"]
    return pl.DataFrame(rows, schema=columns, orient="row")


def test_the_budgets_12_month_total_leaves_households_and_persons_blank(june):
    home, data = june
    path = write_official(home, dataclasses.replace(data, budget=_budget("2025-06")))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("预算预测").to_python()
    total = next(r for r in rows if str(r[0]).startswith("合计（12个月）"))
    assert total[1] == "" and total[2] == ""  # 户数, 人数 of 城市低保: no sum of 12 months
    assert total[3] == 12 * 6750  # the money adds up
    assert "已公布的标准提高已计入现行标准" in rows[1][0]


def test_report_html_names_the_hit_rate_and_has_per_rule_tables(june):
    _, data = june
    rejections = pl.DataFrame(
        [("2025-06", TOWN, "dibao_urban", "V03", 2, 3, 1)],
        schema=["period", "town_code", "program", "rule_id", "versions_rejected", "rows_rejected",
                "files_rejected"],
        orient="row",
    )
    findings = pl.DataFrame(
        [("2025-06", TOWN, "dibao_urban", "X01", 3, 1, 1, 0, 0, 0, 1),
         ("2025-06", TOWN, "dibao_urban", "V03", 2, 0, 0, 0, 0, 2, 0)],
        schema=["period", "town_code", "program", "rule_id", "raised", "cleared_auto", "cleared_officer",
                "clear_requested", "confirmed", "superseded", "open_at_end"],
        orient="row",
    )
    page = render(dataclasses.replace(data, rejections=rejections, findings=findings))
    assert "申请核对命中率（申请件）" in page and "申请件 / 在保户" in page
    assert "0% / 命中" not in page
    assert "数据校验退回（按规则）" in page and "信息核对命中（按规则，新发现条数）" in page
    assert "问题发现与解除（按规则）" in page
    x01 = re.search(r"<tr><td>X01</td><td>([^<]*)</td><td>3</td></tr>", page)
    assert x01 is not None  # X01: 3 hits
    assert re.search(r"<tr><td>V03</td><td>[^<]*</td><td>3</td><td>1</td></tr>", page)  # 2 versions + 1 file
    assert "本月暂停 670.00 元" in page


def test_months_before_go_live_are_left_out_of_the_trends(tmp_path):
    home = Home(tmp_path).ensure()
    with open_warehouse(home, flow="test") as con:
        build_marts(con, REF, "2025-06", "2025-06")  # go-live: June (no close yet)
        for statement in (  # a report built in May left its rows
            "INSERT INTO mart.monthly_statistics BY NAME SELECT * REPLACE ('2025-05' AS period, "
            "10 AS households_closing) FROM mart.monthly_statistics",
            "INSERT INTO mart.district_monthly BY NAME SELECT * REPLACE ('2025-05' AS period, "
            "10 AS households_closing) FROM mart.district_monthly",
        ):
            con.execute(statement)
        data = load_report_data(con, REF, "2025-06")
    assert data.months == ["2025-06"] and data.before_go_live == ["2025-05"]
    assert set(data.district["period"]) == {"2025-06"}
    page = render(data)
    assert "此前月份（2025-05）的统计不列入趋势" in page


def test_the_budget_trend_counts_no_month_before_go_live(tmp_path):
    home = Home(tmp_path).ensure()
    with open_warehouse(home, flow="test") as con:
        build_marts(con, REF, "2025-06", "2025-06")  # go-live: June
        con.execute(
            "INSERT INTO mart.caseload_monthly BY NAME SELECT * REPLACE ('2025-05' AS period) "
            "FROM mart.caseload_monthly"
        )  # May's rows (zeros) left by a report built before go-live
        con.execute(
            "UPDATE mart.caseload_monthly SET households_closing = 10, persons_closing = 10, money_closing = 6700 "
            "WHERE period = '2025-06' AND town_code = ? AND program = 'dibao_urban'",
            [TOWN],
        )
        with_may = project(con, REF, date(2025, 6, 1))
        from_go_live = project(con, REF, date(2025, 6, 1), go_live=date(2025, 6, 1))

    def households(frame: pl.DataFrame) -> list[int]:
        base = frame.filter((pl.col("scenario") == "base") & (pl.col("program") == "dibao_urban"))
        return base.sort("period")["households"].to_list()

    assert households(with_may)[:3] == [20, 30, 40]  # May's zeros read as a jump of 10 a month
    assert households(from_go_live) == [10] * 12  # from go-live: no history, a flat trend


def test_an_existing_home_is_upgraded_by_0019(tmp_path):
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    before = [m.version for m in discover(MIGRATIONS_DIR) if m.version < 19]
    assert [m.version for m in migrate(old, upto=before[-1])] == before
    old.execute(
        "INSERT INTO mart.payments_monthly (period, town_code, program, lines, households_paid, money_total, "
        "money_monthly, money_arrears, money_one_off, lines_arrears, lines_failed, money_failed, held_cases, "
        "held_months, held_amount, recoveries, recovery_amount) "
        "VALUES ('2025-06', ?, 'dibao_urban', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 6, 4020, 0, 0)",
        [TOWN],
    )
    applied = [m.version for m in migrate(old)]
    assert 19 in applied
    row = old.execute(
        "SELECT held_amount, held_outstanding_months, held_outstanding_amount FROM mart.payments_monthly"
    ).fetchall()
    assert row == [(Decimal("4020.00"), 0, Decimal("0.00"))]  # kept; the next build rewrites the month
    columns = {
        (t, c)
        for t, c in old.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'mart'"
        ).fetchall()
    }
    for table in ("monthly_statistics", "district_monthly"):
        for column in ("held_outstanding_amount", "crosscheck_hits_applications", "crosscheck_hits_active"):
            assert (table, column) in columns
    old.close()
