"""The synthetic district's clock: the year replayed, submission days, extract dates.

Dates inside the generator are int32 day numbers (days since 1970-01-01, the
physical value of a Polars Date) so that every step runs on numpy arrays.
`DayCal` is a numpy view of `transforms.calendar.WorkingCalendar` (the one
owner of working days): same table, same counting, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from core.home import SHANGHAI
from transforms.calendar import FIRST_DAY, WorkingCalendar

EPOCH = date(1970, 1, 1)
SUBMISSION_DAYS_OF_MONTH = (5, 15, 25)
SUBMISSION_HOUR = 9


def to_days(d: date) -> int:
    return (d - EPOCH).days


def from_days(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def month_start_days(days: np.ndarray) -> np.ndarray:
    """First day of each day's month (vectorised)."""
    m = days.astype("datetime64[D]").astype("datetime64[M]")
    return m.astype("datetime64[D]").astype(np.int64)


def add_months_days(days: np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """First day of the month `k` months after each day's month."""
    m = days.astype("datetime64[D]").astype("datetime64[M]") + np.asarray(k).astype("timedelta64[M]")
    return m.astype("datetime64[D]").astype(np.int64)


def shanghai_timestamp(day: date, hour: int = SUBMISSION_HOUR, minute: int = 0) -> float:
    """POSIX timestamp of a wall-clock time in Asia/Shanghai (for os.utime)."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).timestamp()


@dataclass(frozen=True)
class TimeFrame:
    """The replayed year: go-live month, baseline date, submission and extract days."""

    as_of: date
    go_live: date  # first day of the go-live month (the first month of the history)
    baseline_as_of: date  # the day before go-live: the baseline files' date
    submission_days: tuple[date, ...]  # towns' submission days on or before as_of
    future_submission_days: tuple[date, ...]  # the same calendar continued for 9 months (plans only)
    extract_dates: tuple[date, ...]  # quarter ends in [go_live, as_of]

    @property
    def go_live_month(self) -> str:
        return f"{self.go_live:%Y-%m}"

    @property
    def all_submission_days(self) -> tuple[date, ...]:
        return self.submission_days + self.future_submission_days

    def sub_array(self) -> np.ndarray:
        """Day numbers of every submission day (incl. the planned future ones), sorted."""
        return np.array([to_days(d) for d in self.all_submission_days], dtype=np.int64)

    @property
    def n_sub(self) -> int:
        return len(self.submission_days)


def _submission_days(first: date, last: date) -> list[date]:
    out = []
    y, m = first.year, first.month
    while True:
        for d in SUBMISSION_DAYS_OF_MONTH:
            day = date(y, m, d)
            if day > last:
                return out
            if day >= first:
                out.append(day)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def make_timeframe(as_of: date) -> TimeFrame:
    """The 12 months ending with as_of's month; go-live is the first of them."""
    y, m = as_of.year, as_of.month - 11
    while m < 1:
        y, m = y - 1, m + 12
    go_live = date(y, m, 1)
    subs = _submission_days(go_live, as_of)
    future = _submission_days(as_of + timedelta(days=1), as_of + timedelta(days=280))
    quarter_ends = []
    for yy in range(go_live.year, as_of.year + 1):
        for mm, dd in ((3, 31), (6, 30), (9, 30), (12, 31)):
            q = date(yy, mm, dd)
            if go_live <= q <= as_of:
                quarter_ends.append(q)
    return TimeFrame(
        as_of=as_of,
        go_live=go_live,
        baseline_as_of=go_live - timedelta(days=1),
        submission_days=tuple(subs),
        future_submission_days=tuple(future),
        extract_dates=tuple(quarter_ends),
    )


class DayCal:
    """Working-day arithmetic on arrays of day numbers (the reference holidays table)."""

    def __init__(self, calendar: WorkingCalendar):
        days = calendar.days
        self.first = to_days(FIRST_DAY)
        self.cum = days["cum"].to_numpy().astype(np.int64)
        self.work = days["is_workday"].to_numpy().astype(bool)
        pos = np.flatnonzero(self.work)
        self.by_cum = np.zeros(int(self.cum.max()) + 2, dtype=np.int64)
        self.by_cum[self.cum[pos]] = pos
        self.by_cum[-1] = pos[-1]

    def _i(self, d) -> np.ndarray:
        return np.asarray(d, dtype=np.int64) - self.first

    def is_workday(self, d) -> np.ndarray:
        return self.work[self._i(d)]

    def wd_after(self, a, b) -> np.ndarray:
        """Working days x with a < x <= b."""
        return self.cum[self._i(b)] - self.cum[self._i(a)]

    def add_wd(self, a, n) -> np.ndarray:
        """The n-th working day after a (n may be negative: n working days before)."""
        c = self.cum[self._i(a)] + np.asarray(n, dtype=np.int64)
        return self.by_cum[np.clip(c, 1, len(self.by_cum) - 1)] + self.first

    def prev_workday(self, d) -> np.ndarray:
        """The last working day on or before d."""
        return self.by_cum[np.maximum(self.cum[self._i(d)], 1)] + self.first

    def next_workday(self, d) -> np.ndarray:
        """The first working day on or after d."""
        i = self._i(d)
        return np.where(self.work[i], i, self.by_cum[self.cum[i] + 1]) + self.first
