"""Standards, entitlement and amount owed (SPEC §5, DOMAIN §6).

The one place that answers "which standard applied to this program in this
month" and "what is this case entitled to in month m". Validation (V09), the
monthly close and the synthetic district all call these functions.

Money is integer fen. The dibao difference is computed exactly as a fraction
and rounded half-up to the fen once per household.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from core.periods import month_start
from transforms.identifiers import age_on_expr
from transforms.money import yuan_to_fen

# (program -> standard kind) lives in reference table `programs`; these are the
# standard kinds whose rows the standards table holds.
STANDARD_KINDS = ("dibao_urban", "dibao_rural", "tekun_basic")


_CONSTANTS: dict[tuple, tuple[tuple, pl.DataFrame]] = {}


def month_constants(tables: dict[str, pl.DataFrame], months: list[date]) -> pl.DataFrame:
    """One row per month: every dated amount in force on its first day, in fen
    (remembered per set of reference frames and months: callers ask per file).

    Columns: month, std_dibao_urban, std_dibao_rural, std_tekun_basic,
    extra_disability, extra_severe, extra_schooling, severe_min_age,
    care_全护理, care_半护理, care_全自理.
    """
    frames = (tables["standards"], tables["classified_extras"], tables["care_subsidies"])
    key = (*(id(f) for f in frames), tuple(sorted(set(months))))
    hit = _CONSTANTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], frames, strict=True)):
        return hit[1]
    if len(_CONSTANTS) > 256:
        _CONSTANTS.clear()
    result = _month_constants(tables, key[3])
    _CONSTANTS[key] = (frames, result)  # the frames are kept, so their ids cannot be reused meanwhile
    return result


def _month_constants(tables: dict[str, pl.DataFrame], months: tuple[date, ...]) -> pl.DataFrame:
    rows = []
    for m in months:
        row: dict = {"month": m}
        std = tables["standards"].filter(pl.col("effective_from") <= m).sort("effective_from")
        for kind in STANDARD_KINDS:
            hit = std.filter(pl.col("standard") == kind)
            row[f"std_{kind}"] = yuan_to_fen(hit["amount"][-1]) if hit.height else None
        extras = tables["classified_extras"].filter(pl.col("effective_from") <= m).sort("effective_from")
        for extra in ("disability", "severe", "schooling"):
            hit = extras.filter(pl.col("extra") == extra)
            row[f"extra_{extra}"] = yuan_to_fen(hit["amount"][-1]) if hit.height else 0
            if extra == "severe":
                row["severe_min_age"] = hit["min_age"][-1] if hit.height else None
        care = tables["care_subsidies"].filter(pl.col("effective_from") <= m).sort("effective_from")
        for cls in ("全护理", "半护理", "全自理"):
            hit = care.filter(pl.col("self_care") == cls)
            row[f"care_{cls}"] = yuan_to_fen(hit["amount"][-1]) if hit.height else 0
        rows.append(row)
    schema = {"month": pl.Date} | {
        k: pl.Int64
        for k in [f"std_{s}" for s in STANDARD_KINDS]
        + ["extra_disability", "extra_severe", "severe_min_age", "extra_schooling"]
        + ["care_全护理", "care_半护理", "care_全自理"]
    }
    return pl.DataFrame(rows, schema=schema)


def standard_fen(tables: dict[str, pl.DataFrame], program: str, month: date) -> int:
    """The standard (fen per person per month) of a program in a month."""
    kind = _standard_kind(tables, program)
    return month_constants(tables, [month_start(month)])[f"std_{kind}"][0]


def _standard_kind(tables: dict[str, pl.DataFrame], program: str) -> str:
    hit = tables["programs"].filter(pl.col("program") == program)["standard"]
    if hit.is_empty():
        raise ValueError(f"unknown program {program!r}")
    return hit[0]


def _program_standard_expr(tables: dict[str, pl.DataFrame], suffix: str = "") -> pl.Expr:
    """Picks the std_<kind><suffix> column of each row's program."""
    mapping = dict(zip(tables["programs"]["program"], tables["programs"]["standard"], strict=True))
    expr = pl.lit(None, dtype=pl.Int64)
    for program, kind in mapping.items():
        expr = pl.when(pl.col("program") == program).then(pl.col(f"std_{kind}{suffix}")).otherwise(expr)
    return expr


def _family_expr(tables: dict[str, pl.DataFrame]) -> pl.Expr:
    mapping = dict(zip(tables["programs"]["program"], tables["programs"]["family"], strict=True))
    return pl.col("program").replace_strict(mapping, default=None, return_dtype=pl.String)


def case_entitlement(
    cases: pl.DataFrame,
    members: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    *,
    keys: tuple[str, ...] = ("case_id",),
) -> pl.DataFrame:
    """Entitlement in fen of each case with the standards of a given month.

    cases:   keys, program, standard_month (Date, first of month), age_on (Date)
    members: keys, covered (bool), monthly_income_fen (Int64, null = 0),
             birth_date (Date), disability_type, disability_grade (Int),
             serious_illness (bool), schooling, self_care
    Returns cases with household_size, covered_count, income_fen and
    entitlement_fen (and std_fen, the program's standard in that month).
    """
    keys = list(keys)
    consts = month_constants(tables, cases["standard_month"].drop_nulls().unique().to_list())
    c = (
        cases.join(consts, left_on="standard_month", right_on="month", how="left")
        .with_columns(std_fen=_program_standard_expr(tables), family=_family_expr(tables))
    )
    m = members.join(
        c.select(keys + ["age_on", "family", "extra_disability", "extra_severe", "extra_schooling",
                          "severe_min_age", "care_全护理", "care_半护理", "care_全自理"]),
        on=keys,
        how="inner",
    )
    age = age_on_expr(pl.col("birth_date"), pl.col("age_on"))
    grade = pl.col("disability_grade")
    severe = (grade.is_in([1, 2]).fill_null(False)) | pl.col("serious_illness").fill_null(False) | (
        age >= pl.col("severe_min_age")
    ).fill_null(False)
    schooling = pl.col("schooling").is_in(["学龄前", "在校"]).fill_null(False)
    main_extra = pl.max_horizontal(
        pl.when(severe).then(pl.col("extra_severe")).otherwise(0),
        pl.when(schooling).then(pl.col("extra_schooling")).otherwise(0),
    )
    disability_extra = pl.when(grade.is_not_null()).then(pl.col("extra_disability")).otherwise(0)
    care = (
        pl.when(pl.col("self_care") == "全护理").then(pl.col("care_全护理"))
        .when(pl.col("self_care") == "半护理").then(pl.col("care_半护理"))
        .when(pl.col("self_care") == "全自理").then(pl.col("care_全自理"))
        .otherwise(0)
    )
    covered = pl.col("covered").fill_null(False)
    per_case = m.group_by(keys).agg(
        household_size=pl.len().cast(pl.Int64),
        covered_count=covered.sum().cast(pl.Int64),
        income_fen=pl.col("monthly_income_fen").fill_null(0).sum().cast(pl.Int64),
        extras_fen=pl.when(covered).then(main_extra + disability_extra).otherwise(0).sum().cast(pl.Int64),
        care_fen=pl.when(covered).then(care).otherwise(0).sum().cast(pl.Int64),
    )
    out = c.join(per_case, on=keys, how="left").with_columns(
        pl.col("household_size", "covered_count", "income_fen", "extras_fen", "care_fen").fill_null(0)
    )
    n, cc, s, std = pl.col("household_size"), pl.col("covered_count"), pl.col("income_fen"), pl.col("std_fen")
    # dibao: (std - S/n) * c + E = (std*n*c - S*c + E*n) / n, rounded half-up once
    numerator = std * n * cc - s * cc + pl.col("extras_fen") * n
    dibao = pl.when((n == 0) | (s >= std * n)).then(0).otherwise((2 * numerator + n) // (2 * n))
    tekun = std * cc + pl.col("care_fen")
    entitlement = (
        pl.when(pl.col("family") == "dibao").then(dibao)
        .when(pl.col("family") == "tekun").then(tekun)
        .otherwise(None)
    )
    keep = list(cases.columns) + ["std_fen", "household_size", "covered_count", "income_fen", "entitlement_fen"]
    return out.with_columns(entitlement_fen=entitlement.cast(pl.Int64)).select(keep)


def uprating_fen(
    frame: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    *,
    decision_month: str = "decision_month",
    month: str = "month",
    covered_count: str = "covered_count",
) -> pl.DataFrame:
    """Adds uprating_fen = (standard of `month` − standard of `decision_month`)
    × covered members, by the program's standard kind (SPEC §5 amount owed)."""
    months = frame[decision_month].drop_nulls().unique().to_list() + frame[month].drop_nulls().unique().to_list()
    consts = month_constants(tables, months)
    std_cols = [f"std_{k}" for k in STANDARD_KINDS]
    at_m = consts.select(["month"] + std_cols)
    at_d = consts.select([pl.col("month").alias("__dm")] + [pl.col(c).alias(f"{c}__d") for c in std_cols])
    out = frame.join(at_m, left_on=month, right_on="month", how="left").join(
        at_d, left_on=decision_month, right_on="__dm", how="left"
    )
    diff = _program_standard_expr(tables) - _program_standard_expr(tables, "__d")
    return out.with_columns(
        uprating_fen=(pl.max_horizontal(diff, pl.lit(0)) * pl.col(covered_count)).cast(pl.Int64)
    ).drop(std_cols + [f"{c}__d" for c in std_cols])

