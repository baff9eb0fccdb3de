"""The mart layer (SPEC §6 monthly statistics, §7): `build_marts` rebuilds the
statistics tables of a range of months from the warehouse, in order.

Each model is one SQL file in `warehouse/sql/mart/`; this module only wires
them: the per-month version in force and case states (temporary tables), the
few inputs computed in Python (uprating per person, working days of first
decisions, the budget projection), then each mart table's rows for the months
are replaced in one transaction. Month m is counted from the versions known on
its last day (capped at `as_of`), so a month's figures do not change when later
months are filed. docs/statistics.md documents every column.

    from warehouse.mart import build_marts
    counts = build_marts(con, ref, "2025-01", "2025-12")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from core.periods import add_months, period_text, to_month
from core.reference import Reference
from transforms.budget import WhatIf, assign_payer, default_what_if, project_budget
from transforms.calendar import WorkingCalendar
from transforms.entitlement import uprating_fen
from transforms.money import fen_to_decimal_expr, yuan_to_fen
from warehouse.closes import go_live_month
from warehouse.ingest_load import registered
from warehouse.sqlfiles import bind, run, sql

NO_CAP = date(9999, 12, 31)
TREND_MONTHS = 6
PROJECTION_MONTHS = 12

# mart tables in build order: (table, model, parameters it takes)
TABLES = (
    "caseload_monthly",
    "payments_monthly",
    "processing_monthly",
    "rejections_monthly",
    "findings_monthly",
    "monthly_statistics",
    "district_monthly",
)

# Every statement is a file in warehouse/sql/mart/: a table's model `<table>.sql` inserts its
# rows, `clear/<table>.sql` deletes the months first; a table's rows are read and counted by
# name through `query_table` (read_period.sql, count_period.sql), the name bound, never formatted.


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(run(con, "mart/table_exists", {"schema": schema, "table": table}).fetchall()[0][0])


def read_period(con: duckdb.DuckDBPyConnection, table: str, periods: dict) -> pl.DataFrame:
    """The rows of mart.<table> (one of TABLES) for periods' first_period .. last_period."""
    if table not in TABLES:
        raise ValueError(f"not a mart table: {table}")
    return con.sql(sql("mart/read_period"), params={"table": f"mart.{table}"} | periods).pl()


def _towns(ref: Reference) -> pl.DataFrame:
    return ref["towns"].select(pl.col("code").alias("town_code"), pl.col("name").alias("town_name"))


def _programs(ref: Reference) -> pl.DataFrame:
    return ref["programs"].select("program", pl.col("label").alias("program_label"), "family")


def _uprating_lookup(con: duckdb.DuckDBPyConnection, ref: Reference) -> pl.DataFrame:
    """Per-person uprating (yuan) per (program, decision month, month): SPEC §5 through
    transforms.entitlement.uprating_fen, for one covered member."""
    keys = con.sql(sql("mart/uprating_keys")).pl()
    if keys.height == 0:
        return pl.DataFrame(
            schema={
                "program_id": pl.Int8,
                "decision_month": pl.Date,
                "month": pl.Date,
                "uprating": pl.Decimal(12, 2),
            }
        )
    per_person = uprating_fen(keys.with_columns(covered_count=pl.lit(1, pl.Int64)), ref.tables)
    return per_person.select(
        "program_id", "decision_month", "month", uprating=fen_to_decimal_expr(pl.col("uprating_fen"))
    )


def _decisions(con: duckdb.DuckDBPyConnection, ref: Reference, params: dict) -> pl.DataFrame:
    """First decisions of the months with their working days (received -> decided) and time limit."""
    first = con.sql(sql("mart/first_decisions"), params=bind(sql("mart/first_decisions"), params)).pl()
    schema = {
        "town_code": pl.String,
        "case_no": pl.String,
        "program": pl.String,
        "status": pl.String,
        "month": pl.Date,
        "days": pl.Int64,
        "over_limit": pl.Boolean,
    }
    if first.height == 0:
        return pl.DataFrame(schema=schema)
    cal = WorkingCalendar(ref["holidays"])
    first = cal.working_days_expr(first, "received_on", "decided_on", "days")
    family = dict(zip(ref["programs"]["program"], ref["programs"]["family"], strict=True))
    limits = ref["time_limits"].select(
        "effective_from", "limit_key", pl.col("value").cast(pl.Int64).alias("limit")
    )
    first = first.with_columns(
        limit_key=pl.when(pl.col("program").replace_strict(family, default=None) == "tekun")
        .then(pl.lit("decision_tekun"))
        .when(pl.col("extended"))
        .then(pl.lit("decision_dibao_extended"))
        .otherwise(pl.lit("decision_dibao")),
        on=pl.coalesce("decided_on", "month"),
    ).sort("limit_key", "on")
    first = first.join_asof(
        limits.sort("limit_key", "effective_from"),
        left_on="on",
        right_on="effective_from",
        by="limit_key",
        check_sortedness=False,
    )
    return first.select(
        "town_code",
        "case_no",
        "program",
        "status",
        "month",
        pl.col("days").cast(pl.Int64),
        over_limit=(pl.col("days") > pl.col("limit")).fill_null(False),
    ).cast(schema)


def _what_if(ref: Reference, base: date) -> WhatIf:
    """settings budget_what_if_from (YYYY-MM) and budget_what_if_rise ('kind:yuan,...'),
    each defaulting to default_what_if (the usual month, the latest rise).

    A kind's rise is dropped when the standards table already dates a change of that kind
    from the what-if month on: 现行标准 includes that rise, and adding the what-if on top would
    count it twice (a June base, whose usual month is the July rise already dated)."""
    default = default_what_if(ref.tables, base)
    start = ref.setting("budget_what_if_from")
    rise_text = ref.setting("budget_what_if_rise")
    rise = dict(default.rise_fen)
    if rise_text:
        for part in rise_text.replace("，", ",").split(","):
            if part.strip():
                kind, amount = part.split(":")
                rise[kind.strip()] = yuan_to_fen(amount.strip())
    from_month = to_month(start) if start else default.from_month
    dated = ref["standards"].filter(pl.col("effective_from") >= from_month)["standard"].to_list()
    return WhatIf(from_month=from_month, rise_fen={k: (0 if k in dated else v) for k, v in rise.items()})


def project(
    con: duckdb.DuckDBPyConnection, ref: Reference, base: date, go_live: date | None = None
) -> pl.DataFrame:
    """The budget projection from `base` (mart.caseload_monthly must hold base and the months before it).
    The trend counts no month before `go_live` (a report built before go-live leaves rows behind)."""
    history = con.sql(
        sql("mart/budget_history"),
        params={
            "first_period": period_text(max(add_months(base, -TREND_MONTHS), go_live or base.min)),
            "last_period": period_text(base),
        },
    ).pl()
    payers = {"dibao": ref.setting("payer_dibao", "bureau"), "tekun": ref.setting("payer_tekun", "town")}
    history = (
        assign_payer(history, ref["programs"], payers)
        .with_columns(
            month=pl.col("period").str.to_date("%Y-%m"),
            money_fen=(pl.col("money").cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64),
        )
        .group_by("month", "program", "payer")
        .agg(
            pl.col("households").sum().cast(pl.Int64),
            pl.col("persons").sum().cast(pl.Int64),
            pl.col("money_fen").sum(),
        )
    )
    what_if = _what_if(ref, base)
    rows = project_budget(
        history,
        ref.tables,
        base_month=base,
        months=PROJECTION_MONTHS,
        trend_months=TREND_MONTHS,
        what_if=what_if,
    )
    return rows.select(
        base_period=pl.lit(period_text(base)),
        scenario="scenario",
        period=pl.col("month").dt.strftime("%Y-%m"),
        program="program",
        payer="payer",
        households=pl.col("households").cast(pl.Int32),
        persons=pl.col("persons").cast(pl.Int32),
        money=fen_to_decimal_expr(pl.col("money_fen"), precision=14),  # DECIMAL(14,2), a total
        standard=fen_to_decimal_expr(pl.col("standard_fen")),
        standard_rise=fen_to_decimal_expr(pl.col("standard_rise_fen")),
        what_if_from=pl.col("what_if_from").dt.strftime("%Y-%m"),
        trend_months=pl.col("trend_months").cast(pl.Int32),
    )


def _prepare_states(
    con: duckdb.DuckDBPyConnection, ref: Reference, first: date, last: date, go_live: date, as_of: date
) -> None:
    """Temporary tables mart_versions (loaded versions, cases numbered), mart_in_force (the
    version in force per case and month, from the month before `first`; for the go-live month
    the baseline caseload stands as the month before) and mart_states (town, program, persons,
    amount owed, active)."""
    run(con, "mart/versions", {"go_live": go_live})
    if first <= go_live:  # the baseline caseload, kept as the month before go-live
        opening = {"first": go_live, "last": go_live, "as_of": as_of, "baseline_only": True}
        run(con, "mart/month_end_in_force", opening)
        run(con, "mart/in_force_opening_keep")
    start = max(go_live, add_months(first, -1))
    run(con, "mart/month_end_in_force", {"first": start, "last": last, "as_of": as_of, "baseline_only": False})
    if first <= go_live:
        run(con, "mart/in_force_opening")
    with registered(con, "mart_uprating", _uprating_lookup(con, ref)):
        run(con, "mart/case_states")


def build_marts(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    period_from: str | date,
    period_to: str | date,
    *,
    as_of: date | None = None,
) -> dict[str, int]:
    """Rebuild every mart table for the months period_from..period_to (clamped to the
    go-live month) and the budget projection from period_to; returns rows written per table.

    `as_of` caps what is counted (nothing known after it); None: each month's last day.
    """
    last = to_month(period_to)
    go_live = go_live_month(con, ref, last)
    first = max(to_month(period_from), go_live)
    if first > last:
        raise ValueError(f"no month to build: {period_text(first)} is after {period_text(last)}")
    cap = as_of or NO_CAP
    months = {"first": first, "last": last, "as_of": cap}
    periods = {"first_period": period_text(first), "last_period": period_text(last)}
    counts: dict[str, int] = {}
    with registered(con, "mart_towns", _towns(ref)), registered(con, "mart_programs", _programs(ref)):
        _prepare_states(con, ref, first, last, go_live, cap)
        run(con, "mart/finding_programs")
        inspections = (
            "mart/inspections_source"
            if table_exists(con, "mart", "inspections_monthly")
            else ("mart/inspections_empty")
        )
        run(con, inspections)
        with registered(con, "mart_decisions", _decisions(con, ref, months)):
            _write_tables(con, ref, last, go_live, months, periods, counts)
    run(con, "mart/drop_temps")
    counts["go_live"] = int(go_live.strftime("%Y%m"))
    return counts


def _write_tables(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    last: date,
    go_live: date,
    months: dict,
    periods: dict,
    counts: dict[str, int],
) -> None:
    """Replace the months' rows of every mart table and the projection, in one transaction."""
    con.begin()
    try:
        for table in TABLES:
            run(con, f"mart/clear/{table}", periods)
            run(con, f"mart/{table}", months | periods)
            counted = run(con, "mart/count_period", {"table": f"mart.{table}"} | periods)
            counts[table] = counted.fetchall()[0][0]
        budget = project(con, ref, last, go_live)
        run(con, "mart/budget_projection_clear", {"base_period": period_text(last)})
        with registered(con, "mart_budget", budget):
            run(con, "mart/budget_projection_insert")
        counts["budget_projection"] = budget.height
        con.commit()
    except BaseException:
        con.rollback()
        raise


# ---------------------------------------------------------------- reading the marts for the report

# The report's ratios, measure -> (numerator, denominator), as the mart SQL defines them
# (processing_monthly.sql per town, district_monthly.sql per program). Every row the marts
# hold carries its ratios; only a total no mart row holds (the district over all programs, a
# town over its programs) takes them from its summed counts, here and nowhere else.
RATIOS = {
    "decision_days_avg": ("decision_days_total", "decisions"),
    "rejection_rate": ("versions_rejected", "versions_submitted"),
    "hit_rate": ("checked_with_hits", "checked"),
    "inspection_error_rate": ("inspection_not_true", "inspection_inspected"),
}
_NOT_SUMMED = {"towns", "decision_days_median", "decision_days_max"}


def sum_with_ratios(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The counts and money of `frame` summed per `by`, with RATIOS from the sums."""
    sums = [
        c
        for c, dtype in frame.schema.items()
        if c not in by and c not in RATIOS and c not in _NOT_SUMMED and (dtype.is_integer() or dtype.is_decimal())
    ]
    out = frame.group_by(by, maintain_order=True).agg(pl.col(sums).sum())
    ratios = [
        pl.when(pl.col(den) > 0).then(pl.col(num).cast(pl.Float64) / pl.col(den).cast(pl.Float64)).alias(key)
        for key, (num, den) in RATIOS.items()
        if num in out.columns and den in out.columns
    ]
    return out.with_columns(ratios).sort(by)


@dataclass(frozen=True)
class ReportData:
    """Everything the monthly report shows, read from the mart tables (no personal data)."""

    period: str
    as_of: date
    months: list[str]  # the (up to) 12 months ending with `period` that the marts hold
    towns: pl.DataFrame  # town_code, town_name (the reference towns, in code order)
    programs: pl.DataFrame  # program, program_label, family
    stats: pl.DataFrame  # mart.monthly_statistics of the 12 months (before go-live too: last month's public edition)
    district: pl.DataFrame  # mart.district_monthly of `months` (per program)
    caseload: pl.DataFrame  # mart.caseload_monthly of `period` (movement breakdowns)
    payments: pl.DataFrame  # mart.payments_monthly of `period`
    processing: pl.DataFrame  # mart.processing_monthly of `period` (towns outside the reference included)
    rejections: pl.DataFrame  # mart.rejections_monthly of `period`
    findings: pl.DataFrame  # mart.findings_monthly of `period`
    budget: pl.DataFrame  # mart.budget_projection from `period`
    inspections: pl.DataFrame  # mart.inspections_monthly 'all' rows of `period` (empty until it exists)
    district_total: pl.DataFrame = field(default_factory=pl.DataFrame)  # all programs per month (sum_with_ratios)
    go_live: str = ""
    before_go_live: list[str] = field(default_factory=list)  # months the marts hold from before go-live, left out
    notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.district_total.is_empty() and not self.district.is_empty():
            object.__setattr__(self, "district_total", sum_with_ratios(self.district, ["period"]))


def load_report_data(
    con: duckdb.DuckDBPyConnection, ref: Reference, period: str | date, *, as_of: date | None = None
) -> ReportData:
    """Read the marts of `period` and the 11 months before it (built by build_marts).

    Months before the go-live month (rows a report built before go-live left behind) are
    left out of `months` and `district`, the trends, and listed in `before_go_live`; `stats`
    keeps them (last month's public edition was published, go-live or not)."""
    last = to_month(period)
    first = add_months(last, -11)
    periods = {"first_period": period_text(first), "last_period": period_text(last)}
    one = {"first_period": period_text(last), "last_period": period_text(last)}

    def read(table: str, params: dict) -> pl.DataFrame:
        return read_period(con, table, params)

    stats = read("monthly_statistics", periods)
    if stats.filter(pl.col("period") == period_text(last)).height == 0:
        raise ValueError(f"the marts hold no statistics for {period_text(last)}: build them first")
    inspections = pl.DataFrame()
    if table_exists(con, "mart", "inspections_monthly"):
        inspections = con.sql(sql("mart/inspections_towns"), params={"period": period_text(last)}).pl()
    budget = con.sql(sql("mart/budget_projection_read"), params={"base_period": period_text(last)}).pl()
    go_live = go_live_month(con, ref, last)
    counted = (pl.col("period") >= period_text(go_live)) | (pl.col("period") == period_text(last))
    before = sorted(set(stats.filter(~counted)["period"].to_list()))
    district = read("district_monthly", periods).filter(counted)
    return ReportData(
        period=period_text(last),
        as_of=as_of or last_day(last),
        months=sorted(set(stats.filter(counted)["period"].to_list())),
        towns=_towns(ref).sort("town_code"),
        programs=_programs(ref),
        stats=stats,
        district=district,
        district_total=sum_with_ratios(district, ["period"]),
        caseload=read("caseload_monthly", one),
        payments=read("payments_monthly", one),
        processing=read("processing_monthly", one),
        rejections=read("rejections_monthly", one),
        findings=read("findings_monthly", one),
        budget=budget,
        inspections=inspections,
        go_live=period_text(go_live),
        before_go_live=before,
    )


def last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)
