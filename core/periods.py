"""Periods: the one place that knows a month.

A period is a calendar month. In text (reports, file names, mart tables) it is
'YYYY-MM'; in the warehouse's payment tables it is the DATE of its first day.
Everything that turns one into the other, moves by months or asks for the month
before a date is here, so that no module carries its own arithmetic.
"""

from __future__ import annotations

from datetime import date, timedelta


def parse_period(text: str) -> tuple[int, int]:
    """'YYYY-MM' -> (year, month); raises ValueError with the bad text."""
    try:
        year, month = text.split("-")
        y, m = int(year), int(month)
    except ValueError as exc:
        raise ValueError(f"period must be YYYY-MM, got {text!r}") from exc
    if not (1 <= m <= 12) or len(year) != 4 or len(month) != 2:
        raise ValueError(f"period must be YYYY-MM, got {text!r}")
    return y, m


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def to_month(value: str | date) -> date:
    """'YYYY-MM' (or a longer ISO date text) or a date -> the first day of that month."""
    if isinstance(value, date):
        return month_start(value)
    year, month = str(value).split("-")[:2]
    return date(int(year), int(month), 1)


def period_text(month: date) -> str:
    """A date -> its period 'YYYY-MM'."""
    return f"{month:%Y-%m}"


def add_months(month: date, n: int) -> date:
    """The first day of the month `n` months after `month`'s (n may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(a: date, b: date) -> int:
    """Whole months from a's month to b's (b later: positive)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def shift_period(period: str, months: int) -> str:
    """'YYYY-MM' moved by `months`."""
    return period_text(add_months(date(*parse_period(period), 1), months))


def previous_period(day: date) -> str:
    """The period before `day`'s month: what the monthly report and the spot check cover by default."""
    return period_text(add_months(month_start(day), -1))


def period_bounds(period: str) -> tuple[date, date]:
    """'2025-03' -> (2025-03-01, 2025-03-31)."""
    first = date(*parse_period(period), 1)
    return first, add_months(first, 1) - timedelta(days=1)
