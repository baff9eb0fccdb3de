"""Reference tables, working days and entitlement (issue 2 acceptance)."""

from datetime import date

import polars as pl
import pytest

from core.reference import ReferenceError, load_reference
from transforms.calendar import WorkingCalendar
from transforms.entitlement import case_entitlement, standard_fen, uprating_fen

REF = load_reference()
T = REF.tables


def test_21_towns_with_pilot_and_waves():
    towns = T["towns"]
    assert towns.height == 21
    assert towns.filter(pl.col("wave") == 1)["name"].to_list() == ["打通镇"]
    assert towns.filter(pl.col("wave") == 2).height == 10
    assert set(towns.filter(pl.col("wave") == 3)["authority_from"].to_list()) == {date(2022, 6, 1)}
    assert "500110105" not in REF.town_codes and "500110122" not in REF.town_codes


@pytest.mark.parametrize(
    ("program", "month", "yuan"),
    [
        ("dibao_urban", date(2021, 8, 1), 620),
        ("dibao_urban", date(2021, 9, 1), 636),
        ("dibao_rural", date(2021, 9, 1), 515),
        ("tekun_home", date(2021, 9, 1), 827),
        ("dibao_urban", date(2025, 6, 1), 750),
        ("dibao_urban", date(2025, 7, 1), 770),
        ("tekun_central", date(2025, 7, 1), 1001),
    ],
)
def test_standard_by_month(program, month, yuan):
    assert standard_fen(T, program, month) == yuan * 100


def test_working_days_across_national_day_2026():
    cal = WorkingCalendar(T["holidays"])
    assert cal.is_workday(date(2026, 9, 20))  # Sunday make-up day
    assert cal.is_workday(date(2026, 10, 10))  # Saturday make-up day
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 7))
    # after Sep 30 up to Oct 10: Oct 1-7 off, then Thu 8, Fri 9 and the make-up Saturday 10
    assert cal.working_days_after(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert cal.working_days_after(date(2026, 9, 18), date(2026, 9, 21)) == 2  # Sun 20 + Mon 21
    assert not cal.fallback_years


def test_working_days_into_2027_fall_back_to_weekdays_and_say_so():
    cal = WorkingCalendar(T["holidays"])
    # 2026-12-31 (Thu) .. 2027-01-08 (Fri): Mon–Fri count, New Year not known yet
    assert cal.working_days_after(date(2026, 12, 31), date(2027, 1, 8)) == 6
    assert cal.fallback_years == {2027}


def test_working_days_vectorised_matches_scalar():
    cal = WorkingCalendar(T["holidays"])
    frame = pl.DataFrame({"a": [date(2026, 9, 1), date(2025, 1, 1)], "b": [date(2026, 10, 31), date(2025, 2, 28)]})
    out = cal.working_days_expr(frame, "a", "b", "wd")["wd"].to_list()
    assert out == [cal.working_days_after(date(2026, 9, 1), date(2026, 10, 31)),
                   cal.working_days_after(date(2025, 1, 1), date(2025, 2, 28))]


def _members(rows):
    schema = {
        "case_id": pl.Int64, "covered": pl.Boolean, "monthly_income_fen": pl.Int64, "birth_date": pl.Date,
        "disability_type": pl.String, "disability_grade": pl.Int64, "serious_illness": pl.Boolean,
        "schooling": pl.String, "self_care": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _cases(rows):
    return pl.DataFrame(rows, schema={"case_id": pl.Int64, "program": pl.String, "standard_month": pl.Date,
                                      "age_on": pl.Date}, orient="row")


def test_grade1_disabled_adult_gets_60_plus_40():
    cases = _cases([(1, "dibao_urban", date(2025, 7, 1), date(2025, 7, 10))])
    members = _members([(1, True, 0, date(1980, 1, 1), "肢体", 1, False, None, None)])
    got = case_entitlement(cases, members, T)["entitlement_fen"][0]
    assert got == (770 + 60 + 40) * 100


def test_grade3_disabled_student_gets_100_plus_40_and_extras_do_not_stack_otherwise():
    cases = _cases([(1, "dibao_rural", date(2025, 7, 1), date(2025, 7, 10))])
    members = _members([
        (1, True, 0, date(2012, 1, 1), "听力", 3, False, "在校", None),  # 100 + 40
        (1, True, 0, date(1950, 1, 1), None, None, True, None, None),  # 70+ and ill: 60 once
        (1, False, 90000, date(1990, 1, 1), None, None, False, None, None),  # not covered, earns 900
    ])
    out = case_entitlement(cases, members, T).row(0, named=True)
    # per capita 900/3 = 300; (630 - 300) x 2 covered = 660; extras 140 + 60
    assert out["entitlement_fen"] == (660 + 140 + 60) * 100
    assert (out["household_size"], out["covered_count"]) == (3, 2)


def test_dibao_rounds_half_up_once_and_is_zero_at_the_standard():
    cases = _cases([
        (1, "dibao_urban", date(2025, 7, 1), date(2025, 7, 1)),
        (2, "dibao_urban", date(2025, 7, 1), date(2025, 7, 1)),
    ])
    members = _members([
        (1, True, 10000, date(1980, 1, 1), None, None, False, None, None),
        (1, True, 0, date(1981, 1, 1), None, None, False, None, None),
        (1, True, 0, date(1982, 1, 1), None, None, False, None, None),
        (2, True, 77000, date(1980, 1, 1), None, None, False, None, None),
    ])
    out = case_entitlement(cases, members, T).sort("case_id")["entitlement_fen"].to_list()
    # (770 - 100/3) x 3 = 2210 exactly; case 2 per capita 770 = standard
    assert out == [221000, 0]


def test_tekun_basic_plus_care_subsidy():
    cases = _cases([(1, "tekun_home", date(2025, 7, 1), date(2025, 7, 1))])
    members = _members([(1, True, 0, date(1940, 1, 1), None, None, False, None, "全护理")])
    assert case_entitlement(cases, members, T)["entitlement_fen"][0] == (1001 + 300) * 100


def test_uprating_after_a_standard_rise():
    frame = pl.DataFrame({
        "program": ["dibao_urban", "dibao_urban", "tekun_home"],
        "decision_month": [date(2025, 5, 1)] * 3,
        "month": [date(2025, 6, 1), date(2025, 7, 1), date(2025, 7, 1)],
        "covered_count": [2, 2, 1],
    })
    assert uprating_fen(frame, T)["uprating_fen"].to_list() == [0, 4000, 2600]


def test_override_replaces_a_shipped_table(tmp_path):
    (tmp_path / "standards.csv").write_text(
        "effective_from,standard,amount\n2020-01-01,dibao_urban,999\n2020-01-01,dibao_rural,888\n"
        "2020-01-01,tekun_basic,1111\n", encoding="utf-8")
    ref = load_reference(tmp_path)
    assert standard_fen(ref.tables, "dibao_urban", date(2025, 7, 1)) == 99900
    assert ref.sources["standards"].startswith(str(tmp_path))


def test_override_with_a_missing_column_names_the_file(tmp_path):
    (tmp_path / "towns.csv").write_text("code,name\n500110001,古南街道\n", encoding="utf-8")
    with pytest.raises(ReferenceError, match="towns.csv: missing column"):
        load_reference(tmp_path)


def test_holidays_table_matches_the_library():
    from core.reference import build_holidays_rows

    shipped = T["holidays"].filter(pl.col("kind") != "covered")
    assert shipped.height == len(build_holidays_rows())
