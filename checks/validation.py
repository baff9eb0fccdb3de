"""The seam where submission checks plug into ingest (SPEC §5 V-rules).

`validate_submission` receives the typed rows of one file and returns findings
(transforms.versions.FINDING_COLUMNS). Ingest owns V02 (the folder check);
the other V-rules join here, each computed by pure functions in transforms/.
At baseline only V01–V04, V12 and V14 apply (SPEC §2 Baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from transforms.versions import FINDING_COLUMNS, case_key_expr, empty_findings

BASELINE_RULES = frozenset({"V01", "V02", "V03", "V04", "V12", "V14"})


@dataclass(frozen=True)
class SubmissionContext:
    folder: str  # the inbox folder the file came from
    town_codes: frozenset[str]  # the 21 towns
    as_of: date
    baseline: bool = False
    extra: dict = field(default_factory=dict)  # reference tables, calendar ... for the V-rules


def town_code_findings(typed: pl.DataFrame, ctx: SubmissionContext) -> pl.DataFrame:
    """V02: the town code is not one of the 21, or differs from the inbox folder."""
    rows = typed.with_columns(__case=case_key_expr())
    code = pl.col("town_code")
    if ctx.folder not in ctx.town_codes:
        message = pl.lit(f"报送文件夹“{ctx.folder}”不是本区21个镇街代码之一，文件中的案件均不予接收")
        bad = rows
    else:
        bad = rows.filter(code.is_null() | (code != ctx.folder))
        message = (
            pl.when(code.is_null())
            .then(pl.lit("镇街代码为空"))
            .when(~code.is_in(list(ctx.town_codes)))
            .then(pl.lit("镇街代码“") + code + pl.lit("”不是本区21个镇街之一"))
            .otherwise(pl.lit("镇街代码“") + code + pl.lit(f"”与报送文件夹{ctx.folder}不符，只能报送本镇街的案件"))
        )
    return bad.select(
        pl.col("source_row").cast(pl.Int64),
        pl.col("__case").alias("case_no"),
        pl.col("id_no"),
        pl.lit("town_code").alias("field"),
        code.alias("value"),
        pl.lit("V02").alias("rule_id"),
        message.alias("message"),
    )


def validate_submission(typed: pl.DataFrame, ctx: SubmissionContext, previous: pl.DataFrame) -> pl.DataFrame:
    """All submission findings for one file (the V-rules' seam).

    previous: per case of the file (town_code, case_no) its state before this
    file in the version order — current_content_sha256, ever_approved,
    ever_decided, first_ingested_on (warehouse.ingest_load.PREVIOUS_SCHEMA)."""
    parts = [town_code_findings(typed, ctx)]
    found = pl.concat([p.select(list(FINDING_COLUMNS)).cast(FINDING_COLUMNS) for p in parts]) if parts else empty_findings()
    if ctx.baseline:
        found = found.filter(pl.col("rule_id").is_in(list(BASELINE_RULES)))
    return found
