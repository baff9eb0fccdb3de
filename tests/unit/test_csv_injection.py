"""CSV written for people neutralises formulas (issue 14, item 1; OWASP CSV injection).

A text cell that starts with = + - @ TAB or CR is evaluated by Excel when a clerk opens the
CSV, quoted or not. Every CSV jiuzhu writes for people (the bank batch aside, which holds such a
line instead of altering it) passes its text through transforms.text.neutralise_formula_expr."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.text import (
    FORMULA_LEADERS,
    neutralise_csv_frame,
    neutralise_formula_expr,
    starts_like_formula_expr,
)


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil.example/x","点我")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(payload):
    out = pl.DataFrame({"x": [payload]}).select(neutralise_formula_expr(pl.col("x")))["x"][0]
    assert out == "'" + payload


@pytest.mark.parametrize(
    "text", ["张三", "XX福利院（集中供养）", "GN-2025-001", "渝A12345", "a=b", "0", "", "李 四", "'=already"]
)
def test_other_text_is_unchanged(text):
    assert pl.DataFrame({"x": [text]}).select(neutralise_formula_expr(pl.col("x")))["x"][0] == text


def test_only_text_columns_change_and_the_csv_reads_back_as_text():
    frame = pl.DataFrame(
        {
            "姓名": ['=HYPERLINK("http://evil.example","x")', "王五", None],
            "备注": ["-1+1", "@me", "\tx"],
            "金额": [Decimal("-12.50"), Decimal("3.00"), Decimal("0.00")],
            "日期": [date(2025, 6, 1)] * 3,
            "序号": [-1, 2, 3],
        }
    )
    out = neutralise_csv_frame(frame)
    assert out["姓名"].to_list() == ['\'=HYPERLINK("http://evil.example","x")', "王五", None]
    assert out["备注"].to_list() == ["'-1+1", "'@me", "'\tx"]
    assert out.select("金额", "日期", "序号").equals(frame.select("金额", "日期", "序号"))
    rows = list(csv.reader(io.StringIO(out.write_csv())))
    cells = [cell for row in rows[1:] for cell in row[:2]]
    assert not [c for c in cells if c[:1] and c[0] in FORMULA_LEADERS]


@given(st.text(max_size=20))
def test_no_neutralised_cell_starts_like_a_formula(text):
    frame = pl.DataFrame({"x": [text]}, schema={"x": pl.String})
    out = frame.select(neutralise_formula_expr(pl.col("x")))["x"][0]
    flagged = frame.select(starts_like_formula_expr(pl.col("x")))["x"][0]
    assert out[:1] not in tuple(FORMULA_LEADERS)
    assert out == ("'" + text if flagged else text)
