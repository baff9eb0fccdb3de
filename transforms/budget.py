"""The 12-month budget projection (SPEC §6, issue 7), as pure functions.

From the caseload of a base month (households, covered persons and the
monthly amount owed, per program and payer), its recent trend and the
standards in force, project each of the next months:

- households_t = max(0, round(h0 + t x slope_h)), slope_h = (h0 - h_{-k}) / k over
  the last k months of history (k = trend_months, or fewer when the history is
  shorter; no history: a flat trend); persons the same with their own slope;
- money_t = round(m0 x p_t / p0) + rise_t x p_t: the base month's amount owed
  per covered person, scaled to the projected persons, plus the rise of the
  program's standard per person since the base month. The rise follows the
  uprating rule of SPEC §5 (the standard of the month minus that of the base
  month, never negative), from the dated standards table (a future row already
  in the table counts), plus, in the what-if scenario, a given rise per
  standard kind from a given month.

Rounding is half-up to the whole household, person or fen, once, from exact
fractions. Money is integer fen. No I/O, no Prefect, no DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

import polars as pl

from core.periods import add_months, month_start, months_between
from transforms.entitlement import STANDARD_KINDS, month_constants
from transforms.money import yuan_to_fen

HISTORY_SCHEMA = {
    "month": pl.Date,
    "program": pl.String,
    "payer": pl.String,
    "households": pl.Int64,
    "persons": pl.Int64,
    "money_fen": pl.Int64,
}
PROJECTION_SCHEMA = {
    "scenario": pl.String,
    "month": pl.Date,
    "program": pl.String,
    "payer": pl.String,
    "households": pl.Int64,
    "persons": pl.Int64,
    "money_fen": pl.Int64,
    "standard_fen": pl.Int64,
    "standard_rise_fen": pl.Int64,
    "what_if_from": pl.Date,
    "trend_months": pl.Int64,
}


@dataclass(frozen=True)
class WhatIf:
    """A rise of the standards (fen per person per month, by standard kind) from a month on."""

    from_month: date
    rise_fen: dict[str, int] = field(default_factory=dict)


def round_half_up(x: Fraction) -> int:
    """Nearest integer, halves away from zero."""
    if x >= 0:
        return int((x + Fraction(1, 2)).__floor__())
    return -int((-x + Fraction(1, 2)).__floor__())


def assign_payer(
    frame: pl.DataFrame, programs: pl.DataFrame, payer_by_family: dict[str, str]
) -> pl.DataFrame:
    """Adds `payer`: 'bureau' when the program's family is paid by the bureau
    (settings payer_dibao / payer_tekun), else the town itself (its code)."""
    family = dict(zip(programs["program"], programs["family"], strict=True))
    bureau_programs = [p for p, f in family.items() if payer_by_family.get(f, "bureau") != "town"]
    return frame.with_columns(
        payer=pl.when(pl.col("program").is_in(bureau_programs))
        .then(pl.lit("bureau"))
        .otherwise(pl.col("town_code"))
    )


def default_what_if(tables: dict[str, pl.DataFrame], base_month: date) -> WhatIf:
    """The rise standards usually take: from the first month after the base month
    that falls in the month of the year in which the latest standards took effect
    (so inside the 12 projected months), by each kind's latest rise in the
    standards table, on top of any standard already dated."""
    std = tables["standards"].sort("effective_from")
    latest = std["effective_from"].max()
    from_month = date(base_month.year, latest.month, 1)
    if from_month <= base_month:
        from_month = date(base_month.year + 1, latest.month, 1)
    rise: dict[str, int] = {}
    for kind in STANDARD_KINDS:
        amounts = std.filter(pl.col("standard") == kind)["amount"].to_list()
        if len(amounts) >= 2:
            rise[kind] = max(0, yuan_to_fen(amounts[-1]) - yuan_to_fen(amounts[-2]))
        else:
            rise[kind] = 0
    return WhatIf(from_month=from_month, rise_fen=rise)


def _slope(series: dict[date, int], base: date, trend_months: int) -> tuple[Fraction, int]:
    earlier = sorted(m for m in series if add_months(base, -trend_months) <= m < base)
    if not earlier:
        return Fraction(0), 0
    first = earlier[0]
    k = months_between(first, base)
    return Fraction(series.get(base, 0) - series[first], k), k


def project_budget(
    history: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    *,
    base_month: date,
    months: int = 12,
    trend_months: int = 6,
    what_if: WhatIf | None = None,
) -> pl.DataFrame:
    """Project `months` months after `base_month` per program and payer.

    history: month, program, payer, households, persons, money_fen (the caseload at
    each month's end; rows of the base month and up to `trend_months` before it
    are used). Returns PROJECTION_SCHEMA rows: scenario 'base', and 'what_if'
    when a WhatIf is given.
    """
    history = history.cast({k: v for k, v in HISTORY_SCHEMA.items() if k in history.columns})
    base_month = month_start(base_month)
    kinds = dict(zip(tables["programs"]["program"], tables["programs"]["standard"], strict=True))
    targets = [add_months(base_month, t) for t in range(1, months + 1)]
    consts = month_constants(tables, [base_month, *targets])
    std = {row["month"]: row for row in consts.iter_rows(named=True)}
    scenarios = [("base", None)] + ([("what_if", what_if)] if what_if is not None else [])
    rows = []
    grouped = history.group_by("program", "payer", maintain_order=True)
    for (program, payer), group in sorted(grouped, key=lambda g: (g[0][0], g[0][1])):
        kind = kinds.get(program)
        h = dict(zip(group["month"], group["households"], strict=True))
        p = dict(zip(group["month"], group["persons"], strict=True))
        m = dict(zip(group["month"], group["money_fen"], strict=True))
        h0, p0, m0 = h.get(base_month, 0), p.get(base_month, 0), m.get(base_month, 0)
        slope_h, k = _slope(h, base_month, trend_months)
        slope_p, _ = _slope(p, base_month, trend_months)
        std0 = std[base_month].get(f"std_{kind}") if kind else None
        for scenario, change in scenarios:
            for t, month in enumerate(targets, start=1):
                households = max(0, round_half_up(h0 + slope_h * t))
                persons = max(0, round_half_up(p0 + slope_p * t))
                std_t = std[month].get(f"std_{kind}") if kind else None
                rise = 0
                if change is not None and kind and month >= change.from_month:
                    rise = int(change.rise_fen.get(kind, 0))
                uprate = max(0, (std_t or 0) - (std0 or 0)) + rise
                if p0 > 0:
                    money = round_half_up(Fraction(m0 * persons, p0)) + uprate * persons
                else:
                    money = ((std_t or 0) + rise) * persons
                rows.append(
                    {
                        "scenario": scenario,
                        "month": month,
                        "program": program,
                        "payer": payer,
                        "households": households,
                        "persons": persons,
                        "money_fen": money,
                        "standard_fen": None if std_t is None else std_t + rise,
                        "standard_rise_fen": rise,
                        "what_if_from": change.from_month if change is not None else None,
                        "trend_months": k,
                    }
                )
    return pl.DataFrame(rows, schema=PROJECTION_SCHEMA)
