"""Fen to yuan for the warehouse's DECIMAL columns: exact to the fen, and wide
enough for a municipality's totals (found by bench_cycle: a 1M-household budget
projection passed 10^10 yuan and the DECIMAL(12,2) conversion refused it)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from transforms.money import fen_to_decimal_expr


def _yuan(fen: list[int], **kw) -> list[Decimal]:
    return pl.DataFrame({"f": fen}).select(fen_to_decimal_expr(pl.col("f"), **kw))["f"].to_list()


def test_one_case_amounts_are_exact_to_the_fen():
    assert _yuan([0, 1, 99, 123456, 999_999_999_999]) == [
        Decimal("0.00"), Decimal("0.01"), Decimal("0.99"), Decimal("1234.56"), Decimal("9999999999.99")]


def test_totals_of_a_municipality_fit_the_wide_conversion_to_the_fen():
    month = 1_070_103_727_001  # 10,701,037,270.01 yuan
    assert _yuan([month], precision=14) == [Decimal("10701037270.01")]
    assert _yuan([99_999_999_999_999], precision=14) == [Decimal("999999999999.99")]
    with pytest.raises(pl.exceptions.InvalidOperationError):  # one case's column would not hold it
        _yuan([month])
