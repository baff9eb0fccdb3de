"""Working days (DOMAIN §7): the official calendar with make-up working days.

The one owner of "how many working days after A up to and including B". The
holidays reference table lists weekday holidays, weekend make-up working days
and the years it covers; a date in a year beyond the table is counted
Monday–Friday, and `fallback_years` tells the caller so it can warn once.
"""

from __future__ import annotations

from datetime import date

import polars as pl

FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2060, 12, 31)


class WorkingCalendar:
    def __init__(self, holidays: pl.DataFrame):
        covered = set(holidays.filter(pl.col("kind") == "covered")["date"].dt.year().to_list())
        if not covered:  # a table without markers covers the years it mentions
            covered = set(holidays["date"].dt.year().to_list())
        self.covered_years = frozenset(covered)
        off = holidays.filter(pl.col("kind") == "holiday").select("date").with_columns(off=pl.lit(True))
        on = holidays.filter(pl.col("kind") == "workday").select("date").with_columns(on=pl.lit(True))
        days = (
            pl.DataFrame({"date": pl.date_range(FIRST_DAY, LAST_DAY, "1d", eager=True)})
            .join(off, on="date", how="left")
            .join(on, on="date", how="left")
            .with_columns(
                in_table=pl.col("date").dt.year().is_in(list(self.covered_years)),
                weekday=pl.col("date").dt.weekday() <= 5,
            )
            .with_columns(
                is_workday=pl.when(pl.col("in_table"))
                .then((pl.col("weekday") & pl.col("off").is_null()) | pl.col("on").fill_null(False))
                .otherwise(pl.col("weekday"))
            )
            .with_columns(cum=pl.col("is_workday").cast(pl.Int32).cum_sum())
        )
        self.days = days.select("date", "is_workday", "in_table", "cum")
        self._cum = dict(zip(days["date"].to_list(), days["cum"].to_list(), strict=True))
        self._workday = dict(zip(days["date"].to_list(), days["is_workday"].to_list(), strict=True))
        self.fallback_years: set[int] = set()

    def _note(self, *days: date) -> None:
        for d in days:
            if d.year not in self.covered_years:
                self.fallback_years.add(d.year)

    def is_workday(self, day: date) -> bool:
        self._note(day)
        return self._workday[day]

    def working_days_after(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (negative when end < start)."""
        self._note(start, end)
        return self._cum[end] - self._cum[start]

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`."""
        target = self._cum[start] + n
        hit = self.days.filter((pl.col("cum") == target) & pl.col("is_workday"))["date"]
        self._note(start, hit[0])
        return hit[0]

    def working_days_expr(self, frame: pl.DataFrame, start: str, end: str, alias: str) -> pl.DataFrame:
        """Adds `alias` = working days after column `start` up to and including `end`."""
        cum = self.days.select("date", "cum")
        out = (
            frame.with_row_index("__row")
            .join(cum.rename({"date": start, "cum": "__c0"}), on=start, how="left")
            .join(cum.rename({"date": end, "cum": "__c1"}), on=end, how="left")
            .sort("__row")
        )
        years = pl.concat([out[start].dt.year(), out[end].dt.year()]).drop_nulls().unique().to_list()
        self.fallback_years.update(y for y in years if y not in self.covered_years)
        return out.with_columns((pl.col("__c1") - pl.col("__c0")).alias(alias)).drop("__row", "__c0", "__c1")
