"""What goes back to a town for one submission (SPEC §6 town return file).

Every row of every case with a finding, with a 问题 column naming the rule and
the message; rows of a rejected case that are not at fault say 同案其他行有误.
"""

from __future__ import annotations

import polars as pl

RAW_FIELDS = [
    "case_no", "town_code", "village", "program", "status", "applied_on", "received_on", "visited_on",
    "reviewed_on", "decided_on", "publicity_from", "publicity_to", "decided_level", "decided_by",
    "monthly_benefit", "benefit_from", "rechecked_on", "bank", "account_no", "account_holder", "staff_relative",
    "complaint", "extended", "gradual_exit", "remark", "name", "id_no", "relation", "covered", "disability_type",
    "disability_grade", "serious_illness", "schooling", "work_ability", "self_care", "annual_review_on",
    "monthly_income",
]
OTHER_ROW_AT_FAULT = "同案其他行有误"


def return_rows(raw_rows: pl.DataFrame, findings: pl.DataFrame, headers: dict[str, str]) -> pl.DataFrame:
    """raw_rows: the file's rows as received (RAW_FIELDS, source_row, row_status, case_key);
    findings: case_key, source_row (null for case-level), rule_id, message.
    Returns the rows to send back, headers in Chinese, with 行号, 处理结果 and 问题."""
    label = pl.col("rule_id") + "：" + pl.col("message")
    by_row = (
        findings.filter(pl.col("source_row").is_not_null())
        .group_by("source_row")
        .agg(row_problems=label.unique(maintain_order=True).str.join("；"))
    )
    by_case = (
        findings.filter(pl.col("source_row").is_null())
        .group_by("case_key")
        .agg(case_problems=label.unique(maintain_order=True).str.join("；"))
    )
    cases_with_findings = findings.select("case_key").unique()
    out = (
        raw_rows.join(cases_with_findings, on="case_key", how="semi")
        .join(by_row, on="source_row", how="left")
        .join(by_case, on="case_key", how="left")
        .with_columns(
            问题=pl.concat_str([pl.col("row_problems"), pl.col("case_problems")], separator="；", ignore_nulls=True)
        )
        .with_columns(
            问题=pl.when((pl.col("问题") == "") | pl.col("问题").is_null())
            .then(pl.when(pl.col("row_status") == "rejected").then(pl.lit(OTHER_ROW_AT_FAULT)).otherwise(None))
            .otherwise(pl.col("问题")),
            处理结果=pl.when(pl.col("row_status") == "rejected").then(pl.lit("退回")).otherwise(pl.lit("已接收")),
        )
        .sort("source_row")
    )
    columns = [pl.col("source_row").alias("行号"), pl.col("处理结果"), pl.col("问题")] + [
        pl.col(f).alias(headers.get(f, f)) for f in RAW_FIELDS if f in out.columns
    ]
    return out.select(columns)
