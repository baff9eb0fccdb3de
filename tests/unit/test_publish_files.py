"""Workbooks for people: the small (xlsxwriter) and large (rust_xlsxwriter) paths
write the same cells — text stays text (never a formula), money as numbers,
yes/no as 是/否, dates as dates, empty cells empty."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal

import polars as pl
from python_calamine import CalamineWorkbook

from publish.files import LARGE_ROWS, write_workbook


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "案件编号": [f"=HYPERLINK(\"x\",{i})" if i % 7 == 0 else f"QJ-{i:06d}" for i in range(n)],
            "月保障金额": pl.Series([Decimal("1234.56") + i for i in range(n)], dtype=pl.Decimal(12, 2)),
            "是否保障对象": [i % 2 == 0 for i in range(n)],
            "审批日期": [date(2025, 3, 1 + i % 28) for i in range(n)],
            "备注": [None if i % 3 else "复核" for i in range(n)],
            "人数": list(range(n)),
        }
    )


def _cells(path, sheet: int = 0) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(sheet).to_python()


def test_large_and_small_workbooks_hold_the_same_cells(tmp_path):
    big = _frame(LARGE_ROWS + 5)
    large = write_workbook(tmp_path / "large.xlsx", {"清单": big, "空表": big.head(0)})
    small = write_workbook(tmp_path / "small.xlsx", {"清单": big.head(LARGE_ROWS - 10)})

    got_large, got_small = _cells(large), _cells(small)
    assert len(got_large) == big.height + 1
    assert got_large[0] == big.columns
    assert got_large[1:LARGE_ROWS - 9] == got_small[1:]  # the same values whichever writer wrote them
    row0, row1 = got_large[1], got_large[2]
    assert row0[0] == '=HYPERLINK("x",0)' and row1[0] == "QJ-000001"
    assert row0[1] == 1234.56 and row1[1] == 1235.56
    assert (row0[2], row1[2]) == ("是", "否")
    assert row0[3] == date(2025, 3, 1)
    assert (row0[4], row1[4]) == ("复核", "")
    assert _cells(large, 1)[0] == big.columns  # an empty sheet still has its headers
    for path in (large, small):  # no formula anywhere: what a town typed is shown, never run
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            assert sheets and not any(b"<f>" in z.read(n) for n in sheets)
