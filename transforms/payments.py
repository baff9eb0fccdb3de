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
from transforms.text import FORMULA_LIKE

HOLD_PUBLICITY = "公示期未满"
HOLD_FINDINGS = "存在未处理的阻断发放问题"
HOLD_DEATH = "保障对象已死亡，死亡次月起不再发放"
HOLD_NO_ACCOUNT = "缺少银行账号"
HOLD_DUPLICATE_PERSON = "同一保障对象该月已在其他案件发放"
HOLD_DUPLICATE_TIE = "同一保障对象在多个同日首次批准的案件中，均暂停发放待核实"
HOLD_NO_PROGRAM = "救助类别缺失或无法识别，无法编入发放批次"
HOLD_NO_PAYEE = "缺少户主姓名或身份证号，无法发放"
HOLD_NO_AMOUNT = "应发金额无法核算"
HOLD_FORMULA_TEXT = "户主姓名、开户银行、账号或开户人以=、+、-、@开头或含控制字符，暂停发放待核实"
RECOVER_NOT_ACTIVE = "该月案件已停发、终止或不在保，已发放金额应追回"
RECOVER_VOID = "案件已作废，已发放金额应追回"
RECOVER_DEATH = "保障对象死亡后的月份已发放，应追回"
RECOVER_EXCESS = "该月应发金额已调低，多发部分应追回"

# A text cell of a bank line must never start like a spreadsheet formula (OWASP CSV
# injection): such a line is held, never altered, since the bank matches the payee name.
BANK_TEXT_FIELDS = ("head_name", "head_id_no", "bank", "account_no", "account_holder", "case_no")


@dataclass(frozen=True)
class ClosePlan:
    lines: pl.DataFrame  # town_code, case_no, period_owed, payment_type, version_id, program, amount_fen, ...
    holds: pl.DataFrame  # town_code, case_no, period_owed, program, amount_fen, reason, rule_ids
    recoveries: pl.DataFrame  # batch_no, line_no, town_code, case_no, period_owed, paid_fen, amount_fen, reason


def uprating_base_month(go_live: date) -> pl.Expr:
    """The month whose standard an amount was decided under (SPEC §5): the decision month,
    but the go-live month for a baseline version (its amount is what is paid at go-live)
    and for a version without 审批日期."""
    decided = pl.col("decided_on").dt.month_start()
    return (
        pl.when(pl.col("is_baseline").fill_null(False) | decided.is_null())
        .then(pl.lit(go_live, pl.Date))
        .otherwise(decided)
    )


def owed_months(in_force: pl.DataFrame, details: pl.DataFrame, tables: dict[str, pl.DataFrame],
                go_live: date) -> pl.DataFrame:
    """Every (case, month) whose version in force is approved, with the amount owed:
    the approved monthly_benefit plus the uprating since the decision month."""
    f = in_force.join(details, on=["version_id", "town_code", "case_no"], how="inner").filter(
        pl.col("status") == "approved"
    )
    f = f.with_columns(
        benefit_fen=yuan_text_to_fen_expr(pl.col("monthly_benefit").cast(pl.String)),
        decision_month=uprating_base_month(go_live),
        covered_count=pl.col("covered_count").cast(pl.Int64),
    )
    up = uprating_fen(f, tables)
    return up.with_columns(amount_fen=pl.col("benefit_fen") + pl.col("uprating_fen"))


def _hold_reasons(owed: pl.DataFrame, covered: pl.DataFrame, case_holds: pl.DataFrame,
                  publicity: pl.DataFrame, programs: pl.DataFrame) -> pl.DataFrame:
    """Each owed month with the reason it cannot be paid now (null when it can): a death,
    a blocking finding (of the case, or of the version in force), publicity, no account,
    or a line that could not be batched or would carry formula-like text."""
    keys = ["town_code", "case_no"]
    dead = (
        covered.filter(pl.col("died_on").is_not_null())
        .group_by("version_id")
        .agg(first_death=pl.col("died_on").min())
    )
    whole_case = case_holds.filter(pl.col("version_id").is_null()).group_by(keys).agg(
        case_rules=pl.col("rule_ids").str.join("、"))
    of_version = case_holds.filter(pl.col("version_id").is_not_null()).group_by(keys + ["version_id"]).agg(
        version_rules=pl.col("rule_ids").str.join("、"))
    known_programs = programs["program"].to_list()
    formula = pl.any_horizontal(
        [pl.col(c).cast(pl.String).str.contains(FORMULA_LIKE).fill_null(False) for c in BANK_TEXT_FIELDS])
    return (
        owed.join(dead, on="version_id", how="left")
        .join(whole_case, on=keys, how="left")
        .join(of_version, on=keys + ["version_id"], how="left")
        .join(publicity, on=keys, how="left")
        .with_columns(
            after_death=pl.col("first_death").is_not_null() & (pl.col("month") > pl.col("first_death")),
            rule_ids=pl.concat_str([pl.col("case_rules"), pl.col("version_rules")], separator="、",
                                   ignore_nulls=True).replace("", None),
        )
        .with_columns(
            reason=pl.when(pl.col("after_death")).then(pl.lit(HOLD_DEATH))
            .when(pl.col("rule_ids").is_not_null()).then(pl.lit(HOLD_FINDINGS) + "（" + pl.col("rule_ids") + "）")
            .when(pl.col("publicity_to").is_not_null())
            .then(pl.lit(HOLD_PUBLICITY) + "（公示至" + pl.col("publicity_to").cast(pl.String) + "）")
            .when(pl.col("account_no").is_null()).then(pl.lit(HOLD_NO_ACCOUNT))
            .when(pl.col("program").is_null() | ~pl.col("program").is_in(known_programs))
            .then(pl.lit(HOLD_NO_PROGRAM))
            .when(pl.col("head_id_no").is_null() | pl.col("head_name").is_null()).then(pl.lit(HOLD_NO_PAYEE))
            .when(pl.col("amount_fen").is_null()).then(pl.lit(HOLD_NO_AMOUNT))
            .when(formula).then(pl.lit(HOLD_FORMULA_TEXT))
            .otherwise(None)
        )
        .drop("case_rules", "version_rules")
    )


def payable_months(*, in_force: pl.DataFrame, details: pl.DataFrame, covered: pl.DataFrame,
                   case_holds: pl.DataFrame, publicity: pl.DataFrame, tables: dict[str, pl.DataFrame],
                   go_live: date) -> pl.DataFrame:
    """Every owed (case, month) with its amount and the reason it is held (null: payable)."""
    owed = owed_months(in_force, details, tables, go_live)
    return _hold_reasons(owed, covered, case_holds, publicity, tables["programs"])


def _recoveries(owed: pl.DataFrame, live: pl.DataFrame, in_force: pl.DataFrame, period: date) -> pl.DataFrame:
    """Lines already paid for months no longer owed (all of it), or owed now at less
    than was paid (the excess): SPEC §5–6 应追回."""
    keys = ["town_code", "case_no"]
    owed_now = owed.filter(~pl.col("after_death")).group_by(keys + ["month"]).agg(owed_fen=pl.col("amount_fen").first())
    in_force_cases = in_force.select(keys).unique().with_columns(known=pl.lit(True))
    death_months = owed.filter(pl.col("after_death")).select(keys + ["month"]).unique().with_columns(dead=pl.lit(True))
    return (
        live.with_columns(month=pl.col("period_owed"), paid_fen=yuan_text_to_fen_expr(pl.col("amount").cast(pl.String)))
        .filter(pl.col("month") <= period)
        .join(owed_now, on=keys + ["month"], how="left")
        .join(death_months, on=keys + ["month"], how="left")
        .join(in_force_cases, on=keys, how="left")
        .with_columns(
            amount_fen=pl.when(pl.col("owed_fen").is_null()).then(pl.col("paid_fen"))
            .otherwise(pl.col("paid_fen") - pl.col("owed_fen")),
            reason=pl.when(pl.col("owed_fen").is_not_null()).then(
                pl.lit(RECOVER_EXCESS) + "（应发" + _yuan(pl.col("owed_fen")) + "元）")
            .when(pl.col("dead").fill_null(False)).then(pl.lit(RECOVER_DEATH))
            .when(pl.col("known").is_null()).then(pl.lit(RECOVER_VOID))
            .otherwise(pl.lit(RECOVER_NOT_ACTIVE)),
        )
        .filter(pl.col("amount_fen") > 0)
        .select("batch_no", "line_no", "town_code", "case_no", "period_owed", "paid_fen", "amount_fen", "reason")
        .sort("town_code", "case_no", "period_owed", "batch_no", "line_no")
    )


def _yuan(fen: pl.Expr) -> pl.Expr:
    return (fen // 100).cast(pl.String) + "." + (fen % 100).cast(pl.String).str.zfill(2)


def _person_clashes(candidates: pl.DataFrame, covered: pl.DataFrame, person_months: pl.DataFrame) -> pl.DataFrame:
    """(case, month) of payable candidates that would pay a covered person twice for a month:
    already paid under another case (held), or claimed by several new lines of this close —
    the case first approved is paid, and a tie at the earliest approval holds them all (as X08).
    Returns keys, month, clash_reason."""
    keys = ["town_code", "case_no"]
    persons = (
        candidates.filter(pl.col("reason").is_null())
        .select(keys + ["month", "version_id", "first_approved_on"])
        .join(covered.select("version_id", "id_no"), on="version_id")
    )
    taken = person_months.select(
        "id_no", pl.col("period_owed").alias("month"),
        pl.col("town_code").alias("other_town"), pl.col("case_no").alias("other_case"),
    )
    clash_live = persons.join(taken, on=["id_no", "month"]).filter(
        (pl.col("other_town") != pl.col("town_code")) | (pl.col("other_case") != pl.col("case_no"))
    ).select(keys + ["month"]).with_columns(clash_reason=pl.lit(HOLD_DUPLICATE_PERSON))
    claims = persons.unique(["id_no", "month"] + keys).with_columns(
        claimants=pl.len().over(["id_no", "month"]),
        earliest=pl.col("first_approved_on").min().over(["id_no", "month"]),
    ).filter(pl.col("claimants") > 1)
    at_earliest = (pl.col("first_approved_on") == pl.col("earliest")).fill_null(False)
    claims = claims.with_columns(tied=at_earliest.sum().over(["id_no", "month"]))
    clash_new = claims.filter(~at_earliest | (pl.col("tied") > 1)).with_columns(
        clash_reason=pl.when(at_earliest).then(pl.lit(HOLD_DUPLICATE_TIE)).otherwise(pl.lit(HOLD_DUPLICATE_PERSON))
    ).select(keys + ["month", "clash_reason"])
    return pl.concat([clash_live, clash_new]).group_by(keys + ["month"]).agg(pl.col("clash_reason").min())


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
    go_live: date | None = None,
) -> ClosePlan:
    """Decide what the close of `period` pays, holds and recovers.

    in_force: month, town_code, case_no, version_id (warehouse/sql/close/months_in_force.sql)
    details: version details incl. status, program, decided_on, is_baseline, monthly_benefit,
      covered_count, the account to pay, head, first_approved_on (close/version_details.sql)
    covered: version_id, id_no, died_on (covered members, with any recorded death)
    live: live monthly/arrears lines (batch_no, line_no, town_code, case_no, period_owed, amount)
    case_holds: town_code, case_no, version_id (null: every month of the case), rule_ids;
    publicity: town_code, case_no, publicity_to
    person_months: id_no, period_owed, town_code, case_no of live lines
    go_live: the base month of a baseline version's uprating (default: the earliest month in force)
    """
    keys = ["town_code", "case_no"]
    if go_live is None:
        go_live = in_force["month"].min() if in_force.height else period
    if "version_id" not in case_holds.columns:
        case_holds = case_holds.with_columns(version_id=pl.lit(None, pl.String))
    owed = payable_months(in_force=in_force, details=details, covered=covered, case_holds=case_holds,
                          publicity=publicity, tables=tables, go_live=go_live)
    recoveries = _recoveries(owed, live, in_force, period)

    # candidates: owed months without a live line
    live_keyed = live.select(keys + [pl.col("period_owed").alias("month")])
    candidates = owed.join(live_keyed, on=keys + ["month"], how="anti")
    clashes = _person_clashes(candidates, covered, person_months)
    candidates = candidates.join(clashes, on=keys + ["month"], how="left").with_columns(
        reason=pl.coalesce("reason", "clash_reason")
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
