"""The mart layer (issue 7, and the movement figures of issue 6): movement
identities, the SPEC §6 definitions (as of each month's last day, late filings,
停发 / resumption / program change / 作废, baseline opening), money tied out
with the payment batches to the fen, district = sum of towns, processing,
rejections, the budget projection by hand, and a synthetic year."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from helpers import REF, at, case_rows, drop_cases, ingest_all, make_id, query

from core.home import Home
from flows.close_month import close_month_flow
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from payments.actions import one_off, void_batch
from transforms.budget import WhatIf, default_what_if, project_budget, round_half_up
from transforms.calendar import WorkingCalendar
from warehouse.connection import open_warehouse
from warehouse.mart import build_marts
from warehouse.sqlfiles import sql

TOWN = "500110001"
ZHANG = ("张三", make_id("19800101", "001"), "户主", "300")  # 750 - 300 = 450
LI = ("李四", make_id("19820202", "002"), "户主", "0")  # 750
WANG = ("王五", make_id("19830303", "003"), "户主", "100")  # 650
SUN = ("孙六", make_id("19840404", "004"), "户主", "200")  # 550
OLD = ("周七", make_id("19700505", "005"), "户主", "300")  # baseline case
ZHAO = ("赵一", make_id("19500101", "011"), "户主", "0")
QIAN = ("钱二", make_id("19520202", "022"), "配偶", "0")


def close(home: Home, period: str, day: date) -> dict:
    return close_month_flow.fn(home=str(home.root), period=period, as_of=day.isoformat(), notify=False)


def ingest_baseline(home: Home, as_of: date) -> None:
    found = discover(home, frozenset(REF.town_codes), as_of)
    with open_warehouse(home, flow="test") as con:
        for c in found.candidates:
            ingest_file(con, home, REF, c, IngestSettings(as_of, f"base-{as_of}", True))


def build(home: Home, first: str, last: str, as_of: date | None = None) -> dict:
    with open_warehouse(home, flow="test") as con:
        return build_marts(con, REF, first, last, as_of=as_of)


def mart(home: Home, table: str) -> pl.DataFrame:
    with open_warehouse(home, flow="test", read_only=True) as con:
        return con.table("mart." + table).order("ALL").pl()


def row(frame: pl.DataFrame, period: str, program: str = "dibao_urban", town: str = TOWN) -> dict:
    hit = frame.filter(
        (pl.col("period") == period) & (pl.col("program") == program) & (pl.col("town_code") == town)
    )
    assert hit.height == 1
    return hit.row(0, named=True)


def assert_identities(frame: pl.DataFrame) -> None:
    bad = frame.filter(
        (
            pl.col("households_opening") + pl.col("households_new") - pl.col("households_exits")
            != pl.col("households_closing")
        )
        | (
            pl.col("persons_opening")
            + pl.col("persons_new")
            - pl.col("persons_exits")
            + pl.col("persons_changes")
            != pl.col("persons_closing")
        )
        | (
            pl.col("money_opening") + pl.col("money_new") - pl.col("money_exits") + pl.col("money_changes")
            != pl.col("money_closing")
        )
        | (
            pl.col("households_new")
            != pl.col("new_first_approval") + pl.col("new_resumed") + pl.col("new_program_change")
        )
        | (
            pl.col("households_exits")
            != pl.col("exits_suspended")
            + pl.col("exits_terminated")
            + pl.col("exits_void")
            + pl.col("exits_program_change")
            + pl.col("exits_other")
        )
    )
    assert bad.height == 0, bad
    nxt = frame.with_columns(
        period=(pl.col("period").str.to_date("%Y-%m").dt.offset_by("1mo")).dt.strftime("%Y-%m")
    ).select(
        "period",
        "town_code",
        "program",
        pl.col("households_closing").alias("prev_h"),
        pl.col("persons_closing").alias("prev_p"),
        pl.col("money_closing").alias("prev_m"),
    )
    joined = frame.join(nxt, on=["period", "town_code", "program"], how="inner")
    assert joined.height > 0
    broken = joined.filter(
        (pl.col("households_opening") != pl.col("prev_h"))
        | (pl.col("persons_opening") != pl.col("prev_p"))
        | (pl.col("money_opening") != pl.col("prev_m"))
    )
    assert broken.height == 0, broken


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Home:
    """One town's year: baseline, first approvals, a late filing, 停发 and resumption,
    a change of program, a household that shrinks, a case voided; closes April-August."""
    home = Home(tmp_path_factory.mktemp("story")).ensure()
    drop_cases(
        home,
        TOWN,
        "baseline.csv",
        case_rows(
            "GN-0",
            TOWN,
            [OLD],
            decided="2024-05-10",
            publicity=("2024-05-11", "2024-05-17"),
            benefit="450",
            benefit_from="2024-06",
            applied="2024-04-01",
            received="2024-04-02",
        ),
        at(20),
    )
    ingest_baseline(home, date(2025, 3, 20))
    first = [
        *case_rows("GN-1", TOWN, [ZHANG]),
        *case_rows("GN-2", TOWN, [LI], benefit="750"),
        *case_rows("GN-4", TOWN, [SUN], benefit="550"),
        *case_rows("GN-5", TOWN, [ZHAO, QIAN], benefit="1620"),
    ]
    drop_cases(home, TOWN, "march.csv", first, at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    # May: GN-1 停发 (from June); GN-3 decided in January, filed only now (late)
    drop_cases(
        home,
        TOWN,
        "may.csv",
        [
            *case_rows("GN-1", TOWN, [ZHANG], status="停发", decided="2025-05-10"),
            *case_rows(
                "GN-3",
                TOWN,
                [WANG],
                decided="2025-01-10",
                publicity=("2025-01-11", "2025-01-17"),
                benefit="650",
                benefit_from="2025-02",
                applied="2025-01-02",
                received="2025-01-03",
            ),
        ],
        at(15, 5),
    )
    ingest_all(home, date(2025, 5, 15))
    close(home, "2025-05", date(2025, 5, 20))
    close(home, "2025-06", date(2025, 6, 1))
    # June: GN-1 approved again (from July); GN-2 moves to 农村低保 (from July)
    drop_cases(
        home,
        TOWN,
        "june.csv",
        [
            *case_rows("GN-1", TOWN, [ZHANG], decided="2025-06-10", publicity=("2025-06-11", "2025-06-17")),
            *case_rows("GN-2", TOWN, [LI], decided="2025-06-05", benefit="610", program="农村低保"),
        ],
        at(15, 6),
    )
    ingest_all(home, date(2025, 6, 15))
    # July: GN-5 loses a covered member (from August), decided with July's standard (770)
    drop_cases(
        home,
        TOWN,
        "july.csv",
        case_rows("GN-5", TOWN, [ZHAO], decided="2025-07-10", benefit="830"),
        at(15, 7),
    )
    ingest_all(home, date(2025, 7, 15))
    close(home, "2025-07", date(2025, 7, 20))
    # August: GN-4 was entered in error
    drop_cases(
        home, TOWN, "aug.csv", case_rows("GN-4", TOWN, [SUN], status="作废", decided="2025-08-05"), at(15, 8)
    )
    ingest_all(home, date(2025, 8, 15))
    close(home, "2025-08", date(2025, 8, 20))
    build(home, "2025-04", "2025-08")
    return home


def test_movement_follows_the_spec_definitions(story):
    c = mart(story, "caseload_monthly")
    assert_identities(c)
    april = row(c, "2025-04")  # the baseline case is the go-live opening, not new
    assert (
        april["households_opening"],
        april["households_new"],
        april["new_first_approval"],
        april["households_closing"],
    ) == (1, 4, 4, 5)
    assert (april["persons_opening"], april["persons_closing"]) == (1, 6)
    may = row(c, "2025-05")  # the late filing is new in May, the month it was filed
    assert (
        may["households_new"],
        may["new_late_filed"],
        may["households_exits"],
        may["households_closing"],
    ) == (1, 1, 0, 6)
    june = row(c, "2025-06")  # 停发 decided in May takes effect in June: an exit
    assert (june["households_exits"], june["exits_suspended"], june["households_closing"]) == (1, 1, 5)
    july = row(c, "2025-07")  # resumption is new; the move to 农村低保 an exit here and a new there
    assert (july["new_resumed"], july["exits_program_change"], july["households_closing"]) == (1, 1, 5)
    rural = row(c, "2025-07", "dibao_rural")
    assert (rural["households_new"], rural["new_program_change"], rural["households_closing"]) == (1, 1, 1)
    august = row(c, "2025-08")  # 作废 leaves every count; the couple's household shrinks
    assert (august["exits_void"], august["households_closing"], august["persons_changes"]) == (1, 4, -1)
    # amounts owed in August (SPEC §5 uprating since the decision month; a baseline version's only
    # since the go-live month): GN-0 450 + (770 - 750, go-live April 2025; decided May 2024 at 735),
    # GN-1 450 + 20, GN-3 650 + 20, GN-5 830 (decided in July at 770)
    assert august["money_closing"] == Decimal("2440.00")
    assert row(c, "2025-08", "dibao_rural")["money_closing"] == Decimal("630.00")  # 610 + 20 from July


def test_a_month_is_counted_from_the_versions_known_on_its_last_day(story):
    # April as of April 30 does not know the late filing of May 15 even though it is effective from February
    april = row(mart(story, "caseload_monthly"), "2025-04")
    assert april["households_closing"] == 5
    # and the 停发 filed on May 15 does not change May (it takes effect in June)
    assert row(mart(story, "caseload_monthly"), "2025-05")["exits_suspended"] == 0


def test_closing_ties_out_with_the_close_definition_of_active(story):
    """households_closing of month m = cases whose version in force in m (close/months_in_force.sql
    as of m's last day) is approved — the lead's definition, one month at a time."""
    c = mart(story, "caseload_monthly")
    with open_warehouse(story, flow="test", read_only=True) as con:
        for month in range(4, 9):
            first = date(2025, month, 1)
            last = date(2025, month + 1, 1).replace(day=1)
            end = date.fromordinal(last.toordinal() - 1)
            active = con.sql(
                "SELECT v.program, count(*) AS n, sum(v.covered_count) AS p FROM ("
                + sql("close/months_in_force")
                + ") f JOIN core.case_versions v USING (version_id) WHERE f.month = $period AND v.status = 'approved'"
                " GROUP BY ALL",
                params={"go_live": date(2025, 4, 1), "period": first, "as_of": end},
            ).pl()
            got = (
                c.filter(pl.col("period") == f"{first:%Y-%m}")
                .group_by("program")
                .agg(
                    pl.col("households_closing").sum().alias("n"), pl.col("persons_closing").sum().alias("p")
                )
            )
            expect = {r["program"]: (r["n"], r["p"]) for r in active.iter_rows(named=True)}
            for r in got.iter_rows(named=True):
                assert (r["n"], r["p"]) == expect.get(r["program"], (0, 0)), (first, r)


def test_money_ties_out_with_the_batches_to_the_fen_and_arrears_are_apart(story):
    p = mart(story, "payments_monthly")
    batches = dict(
        query(
            story,
            "SELECT strftime(period, '%Y-%m'), sum(total) FROM pay.batches "
            "WHERE status = 'exported' GROUP BY 1",
        )
    )
    paid = dict(p.group_by("period").agg(pl.col("money_total").sum()).iter_rows())
    assert paid == batches
    lines = dict(
        query(
            story,
            "SELECT strftime(b.period, '%Y-%m') || p.payment_type, sum(p.amount) FROM pay.payments p "
            "JOIN pay.batches b USING (batch_no) WHERE p.status <> 'voided' GROUP BY 1",
        )
    )
    may = p.filter(pl.col("period") == "2025-05")
    assert may["money_arrears"].sum() == lines["2025-05arrears"] > 0  # GN-3's April paid late
    assert may["money_monthly"].sum() == lines["2025-05monthly"]
    for period, total in paid.items():
        part = p.filter(pl.col("period") == period)
        assert (
            part["money_monthly"].sum() + part["money_arrears"].sum() + part["money_one_off"].sum() == total
        )
    households = dict(
        query(
            story,
            "SELECT strftime(b.period, '%Y-%m'), count(DISTINCT p.case_no) FROM pay.payments p "
            "JOIN pay.batches b USING (batch_no) WHERE p.status <> 'voided' "
            "AND p.payment_type IN ('monthly', 'arrears') GROUP BY 1",
        )
    )
    assert dict(p.group_by("period").agg(pl.col("households_paid").sum()).iter_rows()) == households


def test_district_totals_are_the_sum_of_the_towns(story):
    stats = mart(story, "monthly_statistics")
    district = mart(story, "district_monthly")
    summed = stats.group_by("period", "program").agg(
        pl.col("households_closing", "persons_closing", "money_owed_closing", "money_paid", "decisions").sum()
    )
    joined = district.join(summed, on=["period", "program"], suffix="_towns")
    assert joined.height == district.height == 5 * 4
    for col in ("households_closing", "persons_closing", "money_owed_closing", "money_paid", "decisions"):
        assert (joined[col] == joined[f"{col}_towns"]).all(), col
    assert (district["towns"] == 21).all()


def test_processing_counts_working_days_of_first_decisions(story):
    r = mart(story, "processing_monthly")
    march_filed = r.filter(pl.col("period") == "2025-04")  # decisions filed in March are before go-live
    assert march_filed["decisions"].sum() == 0
    may = row(r, "2025-05")  # GN-3: received 2025-01-03, decided 2025-01-10
    expected = WorkingCalendar(REF["holidays"]).working_days_after(date(2025, 1, 3), date(2025, 1, 10))
    assert (may["decisions"], may["first_approvals"], may["decision_days_total"]) == (1, 1, expected)
    assert may["decision_days_avg"] == pytest.approx(expected)
    assert may["cases_first_filed"] == 1 and may["versions_submitted"] == 2


def test_validation_rejections_are_counted_by_rule(tmp_path):
    home = Home(tmp_path).ensure()
    drop_cases(home, TOWN, "a.csv", case_rows("GN-1", TOWN, [ZHANG]), at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    bad = ("坏号", "50011019800101001Y", "户主", "0")  # V01: wrong check character
    drop_cases(home, TOWN, "b.csv", case_rows("GN-2", TOWN, [bad], benefit="750"), at(10, 4))
    ingest_all(home, date(2025, 4, 10))
    build(home, "2025-04", "2025-04")
    rej = mart(home, "rejections_monthly")
    assert rej.select("period", "town_code", "rule_id", "versions_rejected").rows() == [
        ("2025-04", TOWN, "V01", 1)
    ]
    assert row(mart(home, "processing_monthly"), "2025-04")["versions_rejected"] == 1
    findings = mart(home, "findings_monthly").filter(pl.col("rule_id") == "V01")
    assert findings["raised"].sum() == 1


def test_voided_batch_and_one_off_lines(tmp_path):
    home = Home(tmp_path).ensure()
    drop_cases(
        home,
        TOWN,
        "a.csv",
        [*case_rows("GN-1", TOWN, [ZHANG]), *case_rows("GN-2", TOWN, [LI], benefit="750")],
        at(25),
    )
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    with open_warehouse(home, flow="test") as con:
        void_batch(
            con, REF, "202504-QJ-dibao_urban-01", officer="GZ001", reason="金额有误", on=date(2025, 4, 2)
        )
        one_off(con, home, REF, occasion="2026春节", as_of=date(2025, 4, 10), run_id="r1")
    close(home, "2025-04", date(2025, 4, 11))  # pays the months again in a supplementary batch
    build(home, "2025-04", "2025-04")
    april = row(mart(home, "payments_monthly"), "2025-04")
    assert april["money_monthly"] == Decimal("1200.00")  # 450 + 750, the voided batch left out
    assert april["money_one_off"] == Decimal("100.00")  # 50 per covered person
    total = query(home, "SELECT sum(total) FROM pay.batches WHERE status = 'exported'")[0][0]
    assert april["money_total"] == total == Decimal("1300.00")


def test_marts_use_the_inspection_table_and_build_without_it(story, tmp_path):
    import shutil

    home = Home(tmp_path / "copy")
    shutil.copytree(story.root, home.root)
    with open_warehouse(home, flow="test") as con:
        con.execute(
            "INSERT INTO mart.inspections_monthly VALUES ('2025-08', ?, 'dibao_urban', 4, 3, 2, 1, 0.5, "
            "0.1, 0.9, 0.3)",
            [TOWN],
        )
        build_marts(con, REF, "2025-08", "2025-08")
    got = row(mart(home, "monthly_statistics"), "2025-08")
    assert (got["inspection_sampled"], got["inspection_inspected"], got["inspection_not_true"]) == (3, 2, 1)
    assert got["inspection_error_rate"] == pytest.approx(0.5)
    with open_warehouse(home, flow="test") as con:  # before the spot-inspection issue: no table at all
        con.execute("DROP TABLE mart.inspections_monthly")
        build_marts(con, REF, "2025-08", "2025-08")
        zero = con.sql(
            "SELECT sum(inspection_sampled), sum(households_closing) FROM mart.monthly_statistics "
            "WHERE period = '2025-08'"
        ).fetchall()
    assert zero == [(0, 5)]


def test_rebuilding_a_month_gives_the_same_rows(story):
    before = mart(story, "monthly_statistics")
    build(story, "2025-06", "2025-08")
    after = mart(story, "monthly_statistics")
    assert before.equals(after)


# ---------------------------------------------------------------- the budget projection


def _history(rows):
    return pl.DataFrame(
        rows, schema=["month", "program", "payer", "households", "persons", "money_fen"], orient="row"
    )


def test_projection_reproduces_a_hand_computation_flat_then_a_rise():
    base = date(2025, 8, 1)
    history = _history([(date(2025, m, 1), "dibao_urban", "bureau", 10, 15, 675_000) for m in range(2, 9)])
    rise = WhatIf(from_month=date(2025, 11, 1), rise_fen={"dibao_urban": 2_000})
    out = project_budget(history, REF.tables, base_month=base, months=12, what_if=rise)
    base_rows = out.filter(pl.col("scenario") == "base").sort("month")
    assert base_rows.height == 12
    assert base_rows["households"].to_list() == [10] * 12  # flat trend
    assert base_rows["money_fen"].to_list() == [675_000] * 12  # standards in force: 770 all year
    what = out.filter(pl.col("scenario") == "what_if").sort("month")
    # from November: 15 persons x 20 yuan more = 300 yuan a month
    assert what["money_fen"].to_list() == [675_000] * 2 + [705_000] * 10
    assert what["standard_fen"].to_list() == [77_000] * 2 + [79_000] * 10


def test_projection_follows_the_trend_and_dated_standards():
    base = date(2025, 4, 1)  # July 2025 raises dibao_urban from 750 to 770 (reference standards)
    history = _history(
        [
            (date(2024, 10, 1), "dibao_urban", "bureau", 94, 188, 8_460_000),
            (date(2025, 4, 1), "dibao_urban", "bureau", 100, 200, 9_000_000),
        ]
    )
    out = project_budget(history, REF.tables, base_month=base, months=4).sort("month")
    # slope: +1 household and +2 persons a month over the 6 months
    assert out["households"].to_list() == [101, 102, 103, 104]
    assert out["persons"].to_list() == [202, 204, 206, 208]
    per_person = Fraction(9_000_000, 200)  # 450 yuan per person at April's standards
    expected = [round_half_up(per_person * p) for p in (202, 204)]
    expected += [round_half_up(per_person * p) + 2_000 * p for p in (206, 208)]  # +20 yuan from July
    assert out["money_fen"].to_list() == expected
    assert out["trend_months"].unique().to_list() == [6]


def test_default_what_if_is_next_july_with_the_latest_rise():
    w = default_what_if(REF.tables, date(2025, 12, 1))
    assert w.from_month == date(2026, 7, 1)
    assert default_what_if(REF.tables, date(2025, 6, 1)).from_month == date(2025, 7, 1)  # inside the 12 months
    assert w.rise_fen == {"dibao_urban": 2_000, "dibao_rural": 2_000, "tekun_basic": 2_600}


def test_budget_projection_table_per_program_and_payer(story):
    budget = mart(story, "budget_projection")
    assert set(budget["base_period"]) == {"2025-08"}
    assert set(budget["scenario"]) == {"base", "what_if"}
    urban = budget.filter((pl.col("program") == "dibao_urban") & (pl.col("scenario") == "base")).sort(
        "period"
    )
    assert urban["payer"].unique().to_list() == ["bureau"]  # dibao: the bureau pays
    assert urban.height == 12 and urban["period"][0] == "2025-09"
    # August's caseload: 4 households, 4 persons, 2440 yuan; the trend over April-August
    assert urban["money"][0] > 0


# ---------------------------------------------------------------- a synthetic year


@pytest.fixture(scope="module")
def synthetic_year(tmp_path_factory) -> Home:
    """A small synthetic district replayed day by day, each month closed on the 25th."""
    from synth import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, households=30, seed=20250607, formats="csv")
    home = Home(root).ensure()
    meta = json.loads((root / "synth.json").read_text(encoding="utf-8"))
    towns = frozenset(REF.town_codes)

    def ingest(day: date, baseline: bool = False) -> None:
        found = discover(home, towns, day)
        with open_warehouse(home, flow="test") as con:
            for c in found.candidates:
                ingest_file(con, home, REF, c, IngestSettings(day, f"run-{day}", baseline))

    ingest(date.fromisoformat(meta["baseline_as_of"]), baseline=True)
    for text in meta["submission_days"]:
        day = date.fromisoformat(text)
        ingest(day)
        if day.day == 25:
            close(home, f"{day:%Y-%m}", day)
    build(home, "2025-01", "2025-12")
    return home


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_year_movement_identities_hold_for_every_town_program_and_month(synthetic_year):
    c = mart(synthetic_year, "caseload_monthly")
    assert c.select("period").unique().height == 12
    assert c.filter(pl.col("period") == "2025-01").height == 21 * 4
    assert_identities(c)
    assert c["households_new"].sum() > 0 and c["households_closing"].sum() > 0
    jan = c.filter(pl.col("period") == "2025-01")
    assert jan["households_opening"].sum() > 0  # the baseline caseload opens the go-live month


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_year_money_ties_out_with_every_month_of_batches(synthetic_year):
    p = mart(synthetic_year, "payments_monthly")
    batches = dict(
        query(
            synthetic_year,
            "SELECT strftime(period, '%Y-%m'), sum(total) FROM pay.batches "
            "WHERE status = 'exported' GROUP BY 1",
        )
    )
    paid = {k: v for k, v in p.group_by("period").agg(pl.col("money_total").sum()).iter_rows() if v}
    assert paid == batches and len(paid) == 12


@pytest.mark.slow  # a synthetic district: the flows tier
def test_synthetic_year_closing_equals_core_cases_active_at_year_end(synthetic_year):
    december = mart(synthetic_year, "caseload_monthly").filter(pl.col("period") == "2025-12")
    with open_warehouse(synthetic_year, flow="test", read_only=True) as con:
        active = con.sql(
            "SELECT v.town_code, v.program, count(*) AS n FROM ("
            + sql("close/months_in_force")
            + ") f JOIN core.case_versions v USING (version_id) WHERE f.month = $period AND v.status = 'approved' "
            "GROUP BY ALL",
            params={"go_live": date(2025, 1, 1), "period": date(2025, 12, 1), "as_of": date(2025, 12, 31)},
        ).pl()
    got = (
        december.filter(pl.col("households_closing") > 0)
        .select("town_code", "program", pl.col("households_closing").cast(pl.Int64).alias("n"))
        .sort("town_code", "program")
    )
    assert got.equals(active.sort("town_code", "program").cast({"n": pl.Int64}))
