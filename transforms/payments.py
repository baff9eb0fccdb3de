"""The monthly close, as pure functions (SPEC §5 amount owed, §6 payment batches).

Frames in (what the warehouse knows), the close's plan out: the lines to pay,
the cases held and why, and the lines already paid that must be recovered.
Money is integer fen; the amount owed reuses `transforms.entitlement.uprating_fen`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.entitlement import uprating_fen
from transforms.money import yuan_text_to_fen_expr

HOLD_PUBLICITY = "公示期未满"
HOLD_FINDINGS = "存在未处理的阻断发放问题"
HOLD_DEATH = "保障对象已死亡，死亡次月起不再发放"
HOLD_NO_ACCOUNT = "缺少银行账号"
HOLD_DUPLICATE_PERSON = "同一保障对象该月已在其他案件发放"
RECOVER_NOT_ACTIVE = "该月案件已停发、终止或不在保，已发放金额应追回"
RECOVER_VOID = "案件已作废，已发放金额应追回"
RECOVER_DEATH = "保障对象死亡后的月份已发放，应追回"


@dataclass(frozen=True)
class ClosePlan:
    lines: pl.DataFrame  # town_code, case_no, period_owed, payment_type, version_id, program, amount_fen, ...
    holds: pl.DataFrame  # town_code, case_no, period_owed, program, amount_fen, reason, rule_ids
    recoveries: pl.DataFrame  # batch_no, line_no, town_code, case_no, period_owed, amount_fen, reason


def owed_months(in_force: pl.DataFrame, details: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every (case, month) whose version in force is approved, with the amount owed:
    the approved monthly_benefit plus the uprating since the decision month."""
    f = in_force.join(details, on=["version_id", "town_code", "case_no"], how="inner").filter(
        pl.col("status") == "approved"
    )
    f = f.with_columns(
        benefit_fen=yuan_text_to_fen_expr(pl.col("monthly_benefit").cast(pl.String)).fill_null(0),
        decision_month=pl.col("decided_on").dt.month_start(),
        covered_count=pl.col("covered_count").cast(pl.Int64),
    )
    up = uprating_fen(
        f.with_columns(pl.coalesce("decision_month", "month").alias("decision_month")), tables
    )
    return up.with_columns(amount_fen=pl.col("benefit_fen") + pl.col("uprating_fen"))


def plan_close(
    *,
    period: date,
    in_force: pl.DataFrame,
    details: pl.DataFrame,
    covered: pl.DataFrame,
    live: pl.DataFrame,
    case_holds: pl.DataFrame,
    publicity: pl.DataFrame,
    person_months: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
) -> ClosePlan:
    """Decide what the close of `period` pays, holds and recovers.

    in_force: month, town_code, case_no, version_id (warehouse/sql/close/months_in_force.sql)
    details: version details incl. status, program, decided_on, monthly_benefit, covered_count, account, head
    covered: version_id, id_no, died_on (covered members, with any recorded death)
    live: live monthly/arrears lines (batch_no, line_no, town_code, case_no, period_owed, amount)
    case_holds: town_code, case_no, rule_ids; publicity: town_code, case_no, publicity_to
    person_months: id_no, period_owed, town_code, case_no of live lines
    """
    keys = ["town_code", "case_no"]
    owed = owed_months(in_force, details, tables)
    # deaths: months whose first day falls after a covered member's death are not owed
    dead = (
        covered.filter(pl.col("died_on").is_not_null())
        .group_by("version_id")
        .agg(first_death=pl.col("died_on").min())
    )
    owed = owed.join(dead, on="version_id", how="left").with_columns(
        after_death=pl.col("first_death").is_not_null() & (pl.col("month") > pl.col("first_death"))
    )
    live_keyed = live.with_columns(month=pl.col("period_owed"))
    # lines already paid for months no longer owed
    active_months = owed.filter(~pl.col("after_death")).select(keys + ["month"]).with_columns(active=pl.lit(True))
    in_force_cases = in_force.select(keys).unique().with_columns(known=pl.lit(True))
    death_months = owed.filter(pl.col("after_death")).select(keys + ["month"]).with_columns(dead=pl.lit(True))
    recoveries = (
        live_keyed.filter(pl.col("month") <= period)
        .join(active_months, on=keys + ["month"], how="left")
        .join(death_months, on=keys + ["month"], how="left")
        .join(in_force_cases, on=keys, how="left")
        .filter(pl.col("active").is_null())
        .with_columns(
            reason=pl.when(pl.col("dead").fill_null(False)).then(pl.lit(RECOVER_DEATH))
            .when(pl.col("known").is_null()).then(pl.lit(RECOVER_VOID))
            .otherwise(pl.lit(RECOVER_NOT_ACTIVE)),
            amount_fen=yuan_text_to_fen_expr(pl.col("amount").cast(pl.String)),
        )
        .select("batch_no", "line_no", "town_code", "case_no", "period_owed", "amount_fen", "reason")
        .sort("town_code", "case_no", "period_owed")
    )

    # candidates: owed months without a live line
    candidates = owed.join(live_keyed.select(keys + ["month"]), on=keys + ["month"], how="anti")
    candidates = (
        candidates.join(case_holds, on=keys, how="left")
        .join(publicity, on=keys, how="left")
        .with_columns(
            reason=pl.when(pl.col("after_death")).then(pl.lit(HOLD_DEATH))
            .when(pl.col("rule_ids").is_not_null()).then(pl.lit(HOLD_FINDINGS) + "（" + pl.col("rule_ids") + "）")
            .when(pl.col("publicity_to").is_not_null())
            .then(pl.lit(HOLD_PUBLICITY) + "（公示至" + pl.col("publicity_to").cast(pl.String) + "）")
            .when(pl.col("account_no").is_null()).then(pl.lit(HOLD_NO_ACCOUNT))
            .otherwise(None)
        )
    )
    # a covered person already paid for that month under another case, or twice among the candidates
    persons = (
        candidates.filter(pl.col("reason").is_null())
        .select(keys + ["month", "version_id"])
        .join(covered.select("version_id", "id_no"), on="version_id")
    )
    taken = person_months.select(
        "id_no", pl.col("period_owed").alias("month"),
        pl.col("town_code").alias("other_town"), pl.col("case_no").alias("other_case"),
    )
    clash_live = persons.join(taken, on=["id_no", "month"]).filter(
        (pl.col("other_town") != pl.col("town_code")) | (pl.col("other_case") != pl.col("case_no"))
    )
    first_claim = persons.sort(keys).with_columns(
        first=pl.struct(keys).first().over(["id_no", "month"])
    )
    clash_new = first_claim.filter(pl.struct(keys) != pl.col("first"))
    clashing = pl.concat([clash_live.select(keys + ["month"]), clash_new.select(keys + ["month"])]).unique()
    candidates = candidates.join(clashing.with_columns(clash=pl.lit(True)), on=keys + ["month"], how="left").with_columns(
        reason=pl.when(pl.col("reason").is_null() & pl.col("clash").fill_null(False))
        .then(pl.lit(HOLD_DUPLICATE_PERSON))
        .otherwise(pl.col("reason"))
    )
    holds = (
        candidates.filter(pl.col("reason").is_not_null())
        .select(keys + [pl.col("month").alias("period_owed"), "program", "amount_fen", "reason", "rule_ids"])
        .sort(keys + ["period_owed"])
    )
    lines = (
        candidates.filter(pl.col("reason").is_null() & (pl.col("amount_fen") > 0))
        .with_columns(
            period_owed=pl.col("month"),
            payment_type=pl.when(pl.col("month") == period).then(pl.lit("monthly")).otherwise(pl.lit("arrears")),
        )
        .select(
            keys + ["period_owed", "payment_type", "version_id", "program", "amount_fen", "covered_count",
                    "head_id_no", "head_name", "bank", "account_no", "account_holder"]
        )
        .sort(keys + ["period_owed"])
    )
    return ClosePlan(lines=lines, holds=holds, recoveries=recoveries)


def batch_lines(lines: pl.DataFrame, programs: pl.DataFrame, payer_by_family: dict[str, str], period: date,
                next_supplement: dict[tuple[str, str], int]) -> pl.DataFrame:
    """Group lines into batches per payer and program, with deterministic batch
    numbers `<YYYYMM>-<payer>-<program>-<NN>` and line numbers (序号) from 1.

    payer_by_family: 'dibao'/'tekun' -> 'bureau' or 'town' (settings);
    next_supplement: (payer, program) -> the NN to use (1 + batches already made)."""
    family = dict(zip(programs["program"], programs["family"], strict=True))
    with_payer = lines.with_columns(
        family=pl.col("program").replace_strict(family, default=None, return_dtype=pl.String)
    ).with_columns(
        payer=pl.when(pl.col("family").replace_strict(payer_by_family, default="bureau") == "town")
        .then(pl.col("town_code"))
        .otherwise(pl.lit("bureau"))
    )
    supplements = pl.DataFrame(
        {"payer": [k[0] for k in next_supplement], "program": [k[1] for k in next_supplement],
         "supplement_no": list(next_supplement.values())},
        schema={"payer": pl.String, "program": pl.String, "supplement_no": pl.Int64},
    )
    payer_label = pl.when(pl.col("payer") == "bureau").then(pl.lit("QJ")).otherwise(pl.col("payer"))
    return (
        with_payer.join(supplements, on=["payer", "program"], how="left")
        .with_columns(pl.col("supplement_no").fill_null(1))
        .with_columns(
            batch_no=pl.lit(period.strftime("%Y%m")) + "-" + payer_label + "-" + pl.col("program") + "-"
            + pl.col("supplement_no").cast(pl.String).str.zfill(2)
        )
        .sort("batch_no", "town_code", "case_no", "period_owed")
        .with_columns(line_no=pl.int_range(1, pl.len() + 1).over("batch_no").cast(pl.Int32))
    )
