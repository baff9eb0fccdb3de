"""Identifier checks (DOMAIN §10) on known-good and known-bad values."""

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms import identifiers as ids

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("good", ["11010519491231002X", "50011019800101001X", "500222194512310025"])
def test_domain_examples_are_valid(good):
    assert ids.id_problem(good, TODAY) is None


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("500222194512310024", "checksum"),
        ("50022219451231002", "length"),
        ("5002221945123100X5", "characters"),
        ("500222194502300020", "birth_date"),  # 1945-02-30 does not exist
    ],
)
def test_known_bad_ids(bad, problem):
    if problem == "birth_date":  # give it a right check char so only the date is wrong
        bad = bad[:17] + ids.id_check_char(bad[:17])
    assert ids.id_problem(bad, TODAY) == problem


def test_future_birth_date_is_invalid():
    first17 = "50011020270101001"
    future = first17 + ids.id_check_char(first17)
    assert ids.id_problem(future, TODAY) == "future_birth"
    assert ids.id_problem(future, date(2027, 1, 2)) is None


def test_normalise_lowercase_fullwidth_spaces_and_15_digit_upgrade():
    assert ids.normalise_id(" 50011019800101001x ") == "50011019800101001X"
    assert ids.normalise_id("５００２２２１９４５１２３１００２５") == "500222194512310025"
    upgraded = ids.normalise_id("500110800101001")
    assert upgraded == "50011019800101001X"
    assert ids.id_problem(upgraded, TODAY) is None


def test_digits_of_other_scripts_are_not_id_digits():
    """An ID whose 0 is an Arabic-Indic ٠ (or any script's digit but ASCII and the folded
    full-width ones) is refused for its characters: it was taken as valid, stored as typed, and then
    matched no registry row (deaths, vehicles) — a household that no cross-check could see."""
    good = "11010519491231002X"
    for digit in ("\u0660", "\u0966", "\U0001d7ce"):  # ٠, Devanagari ०, mathematical bold 𝟎
        odd = good[:2] + digit + good[3:]  # good[2] is 0
        assert ids.id_problem(odd, TODAY) == "characters"
        assert ids.normalise_id(odd) == odd  # not folded: nobody types these as digits
        assert ids.id_check_char(odd[:17]) is None
        assert ids.normalise_id(odd[:6] + odd[8:17]) != good  # no 15 -> 18 upgrade either
    account = "6222021234567890128"
    assert not ids.luhn_ok(account[:4] + "\u0662" + account[5:])  # 2 as ٢


def test_sex_and_birth_date_from_id():
    assert ids.id_sex("50011019800101001X") == "M"
    assert ids.id_sex("500222194512310025") == "F"
    assert ids.id_birth_date("500222194512310025") == date(1945, 12, 31)


def test_age_on_counts_whole_years():
    frame = pl.DataFrame({"b": [date(1966, 6, 15)] * 2, "on": [date(2026, 6, 14), date(2026, 6, 15)]})
    ages = frame.select(ids.age_on_expr(pl.col("b"), pl.col("on")).alias("a"))["a"].to_list()
    assert ages == [59, 60]


def test_luhn():
    assert ids.luhn_ok("4111111111111111")
    assert ids.luhn_ok("6222021234567890128")
    assert not ids.luhn_ok("4111111111111112")
    assert not ids.luhn_ok("41111")  # too short for an account
    payload = "622848001234567890"
    assert ids.luhn_ok(payload + ids.luhn_check_digit(payload))


def test_uscc():
    assert ids.uscc_ok("91350100M000100Y43")
    assert not ids.uscc_ok("91350100M000100Y44")
    assert ids.uscc_check_char("91350100M000100Y4") == "3"


def test_mask_keeps_first_and_last_four():
    assert ids.mask("50011019800101001X") == "5001**********001X"
    assert ids.mask("6222021234567890128") == "6222***********0128"


def test_scrub_text_masks_every_id_and_account():
    text = "户主50011019800101001X，账号6222021234567890128，联系电话023-4567"
    out = ids.scrub_text(text)
    assert "50011019800101001X" not in out and "6222021234567890128" not in out
    assert "5001**********001X" in out and "023-4567" in out


@given(st.text(max_size=30))
def test_normalise_and_check_never_raise(text):
    norm = ids.normalise_id(text)
    problem = ids.id_problem(norm, TODAY)
    assert problem is None or problem in {"length", "characters", "checksum", "birth_date", "future_birth"}


def test_finding_ids_of_a_column_are_those_of_one_finding_at_a_time():
    from checks.findings import finding_id, finding_id_expr

    rows = {
        "rule_id": ["V16", "X02", "P01", "V03"],
        "town_code": ["500110001", "500110108", None, "500110001"],
        "case_no": ["DB202500001", None, None, "古南-1"],
        "id_no": ["500110199001011234", "50011019900101123X", None, None],
        "evidence_key": ["", "plate:渝A12345", "file:ab12", "户主姓名"],
    }
    ids = pl.DataFrame(rows).select(finding_id_expr())
    expected = [finding_id(*(rows[c][i] or "" for c in rows)) for i in range(4)]
    assert ids.to_series().to_list() == expected and len(set(expected)) == 4
