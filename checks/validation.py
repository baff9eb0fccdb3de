"""The seam where submission checks plug into ingest (SPEC §5 V-rules).

`validate_submission` receives the typed rows of one file and returns findings
(transforms.versions.FINDING_COLUMNS). Ingest owns V02 (the folder check, here);
V03 and P03 come from the normaliser; V01 and V04–V16 are computed by the pure
functions of transforms/vrules.py. At baseline only V01–V04, V12 and V14 apply
(SPEC §2 Baseline).

Great Expectations is not imported here: the per-file path is pure Polars, and
the suite of checks/gx_suite.py asserts the same rule result columns once per
run (flows/validate.py), where it also renders Data Docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from transforms.calendar import WorkingCalendar
from transforms.versions import as_findings, case_key_expr, empty_findings
from transforms.vrules import KEY, VRULES, RuleResults, rule_findings, rule_results, typed_for_rules

BASELINE_RULES = frozenset({"V01", "V02", "V03", "V04", "V12", "V14"})


@dataclass(frozen=True)
class SubmissionContext:
    folder: str  # the inbox folder the file came from
    town_codes: frozenset[str]  # the 21 towns
    as_of: date  # the ingest date of the file
    baseline: bool = False
    extra: dict = field(default_factory=dict)  # {"ref": core.reference.Reference}

    @property
    def rules(self) -> tuple[str, ...]:
        """The V-rules of transforms/vrules.py that apply to this file."""
        return tuple(r for r in VRULES if not self.baseline or r in BASELINE_RULES)


_CALENDARS: dict[int, tuple[pl.DataFrame, WorkingCalendar]] = {}


def working_calendar(holidays: pl.DataFrame) -> WorkingCalendar:
    """One WorkingCalendar per holidays table (cached: ingest calls this per file)."""
    hit = _CALENDARS.get(id(holidays))
    if hit is not None and hit[0] is holidays:
        return hit[1]
    if len(_CALENDARS) > 8:
        _CALENDARS.clear()
    cal = WorkingCalendar(holidays)
    _CALENDARS[id(holidays)] = (holidays, cal)
    return cal


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
            .otherwise(
                pl.lit("镇街代码“") + code + pl.lit(f"”与报送文件夹{ctx.folder}不符，只能报送本镇街的案件")
            )
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


def previous_by_case_key(previous: pl.DataFrame) -> pl.DataFrame:
    """The seam's `previous` (keyed by case_no within one town) keyed as rule_results wants."""
    if previous.is_empty():
        return pl.DataFrame(
            schema={
                "case_key": pl.String,
                "ever_approved": pl.Boolean,
                "ever_decided": pl.Boolean,
                "first_ingested_on": pl.Date,
            }  # fmt: skip
        )
    return previous.select(
        pl.col("case_no").alias("case_key"), "ever_approved", "ever_decided", "first_ingested_on"
    )


def submission_rule_results(
    typed: pl.DataFrame, ctx: SubmissionContext, previous: pl.DataFrame
) -> pl.DataFrame:
    """transforms.vrules.rule_results for one file (one row per member row)."""
    ref = ctx.extra["ref"]
    frame = typed_for_rules(typed, town=ctx.folder, ingested_on=ctx.as_of, case_key=case_key_expr())
    return rule_results(
        frame, previous_by_case_key(previous), ref.tables, working_calendar(ref["holidays"]), rules=ctx.rules
    )


def validate_submission(typed: pl.DataFrame, ctx: SubmissionContext, previous: pl.DataFrame) -> pl.DataFrame:
    """All submission findings for one file (the V-rules' seam).

    previous: per case of the file (town_code, case_no) its state before this
    file in the version order — current_content_sha256, ever_approved,
    ever_decided, first_ingested_on (warehouse.ingest_load.PREVIOUS_SCHEMA).
    ctx.extra["ref"] (the reference tables) switches the V-rules on; without
    it only V02 is checked."""
    parts = [town_code_findings(typed, ctx)]
    if ctx.extra.get("ref") is not None and typed.height:
        results = submission_rule_results(typed, ctx, previous)
        parts.append(rule_findings(results, ctx.rules).rename({"case_key": "case_no"}))
    found = pl.concat([as_findings(p) for p in parts]) if parts else empty_findings()
    if ctx.baseline:
        found = found.filter(pl.col("rule_id").is_in(list(BASELINE_RULES)))
    return found


def with_baseline_severities(findings: pl.DataFrame, baseline: bool) -> pl.DataFrame:
    """SPEC §2: in a baseline load a blank 审批日期 is only a warning (old ledgers lack dates)."""
    if not baseline:
        return findings
    blank_decision = (pl.col("rule_id") == "V03") & (pl.col("field") == "decided_on")
    return findings.with_columns(
        severity=pl.when(blank_decision).then(pl.lit("warning")).otherwise(pl.col("severity"))
    )


# ---------------------------------------------------------------- re-validation from the warehouse

FINDING_DB_SCHEMA = {
    "finding_id": pl.String, "rule_id": pl.String, "severity": pl.String, "blocks_payment": pl.Boolean,
    "town_code": pl.String, "case_no": pl.String, "id_no": pl.String, "evidence_key": pl.String,
    "message": pl.String, "first_seen_run": pl.String, "last_seen_run": pl.String, "status": pl.String,
    "version_id": pl.String, "file_sha256": pl.String, "source_row": pl.Int32, "field": pl.String,
    "first_seen_on": pl.Date, "status_changed_on": pl.Date, "cleared_by": pl.String, "clear_reason": pl.String,
    "last_seen_on": pl.Date, "notice_at": pl.Datetime("us", "Asia/Shanghai"),
}  # fmt: skip
CLEARED_BY = "validate --all"
CLEAR_REASON = "重新校验未再发现该问题（validate --all）"
SCOPES = ("current", "run", "day")


@dataclass
class Recheck:
    """What one re-validation of stored versions found and changed."""

    scope: str
    versions: int = 0
    rows: int = 0
    results: RuleResults | None = None  # the rule result columns (for GX)
    findings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FINDING_DB_SCHEMA))
    new: int = 0
    reopened: int = 0
    cleared: int = 0
    opened: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FINDING_DB_SCHEMA))
    cleared_ids: list[str] = field(default_factory=list)
    input_hashes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Counts only (safe for audit and Prefect)."""
        by_rule = (
            dict(sorted(self.findings.group_by("rule_id").len().iter_rows())) if self.findings.height else {}
        )
        return {
            "scope": self.scope,
            "versions": self.versions,
            "member_rows": self.rows,
            "findings_by_rule": by_rule,
            "findings_new": self.new,
            "findings_reopened": self.reopened,
            "findings_cleared": self.cleared,
        }


def scope_versions(con, scope: str, *, as_of: date, ingest_run_id: str | None = None) -> pl.DataFrame:
    """version_id of the versions a re-validation covers: current, one ingest run, or one day."""
    from warehouse.sqlfiles import sql

    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    params = {"current": {}, "run": {"run_id": ingest_run_id}, "day": {"as_of": as_of}}[scope]
    got = con.sql(sql(f"validate/scope_{scope}"), params=params).pl()
    return (
        got.cast({"version_id": pl.String}) if got.height else pl.DataFrame(schema={"version_id": pl.String})
    )


def stored_rule_results(
    rows: pl.DataFrame, previous: pl.DataFrame, ref
) -> tuple[RuleResults | None, pl.DataFrame]:
    """Rule results and findings of stored versions (rows from validate/member_rows.sql);
    baseline versions get the baseline rules only (SPEC §2)."""
    from transforms.vrules import RECHECKABLE

    calendar = working_calendar(ref["holidays"])
    results, findings = [], []
    for baseline in (False, True):
        part = rows.filter(pl.col("is_baseline") == baseline)
        if part.is_empty():
            continue
        rules = [r for r in RECHECKABLE if not baseline or r in BASELINE_RULES]
        res = rule_results(part, previous, ref.tables, calendar, rules=rules)
        results.append(res)
        findings.append(rule_findings(res, rules))
    if not results:
        return None, pl.DataFrame(schema={"case_key": pl.String})
    if len(results) == 1:
        return results[0], findings[0]
    # case_index restarts in each part: offset the baseline part's
    offset = int(results[0].cases[KEY].max()) + 1
    shifted = RuleResults(
        cases=results[1].cases.with_columns(pl.col(KEY) + offset),
        members=results[1].members.with_columns(pl.col(KEY) + offset),
    )
    return (
        RuleResults(
            cases=pl.concat([results[0].cases, shifted.cases], how="diagonal_relaxed"),
            members=pl.concat([results[0].members, shifted.members], how="diagonal_relaxed"),
        ),
        pl.concat(findings),
    )


def _finding_rows(found: pl.DataFrame, rows: pl.DataFrame, *, run_id: str, as_of: date) -> pl.DataFrame:
    from checks.findings import collapse_findings
    from core.home import now_shanghai
    from transforms.catalogue import rule_meta_frame

    if found.is_empty():
        return pl.DataFrame(schema=FINDING_DB_SCHEMA)
    versions = rows.group_by("case_key").agg(
        pl.col("case_no", "town", "file_sha256", "older_than_current").first()
    )
    meta = rule_meta_frame().select("rule_id", "severity", "blocks_payment")
    f = (
        found.join(versions, on="case_key", how="left")
        .join(meta, on="rule_id", how="left")
        .with_columns(
            town_code=pl.col("town"),
            evidence_key=pl.col("file_sha256"),
            version_id=pl.col("case_key"),
        )
        .select(
            "rule_id",
            "severity",
            "blocks_payment",
            "town_code",
            "case_no",
            "id_no",
            "evidence_key",
            "message",
            "version_id",
            "file_sha256",
            "source_row",
            "field",
            "older_than_current",
        )  # fmt: skip
    )
    f = collapse_findings(f)
    return f.with_columns(
        first_seen_run=pl.lit(run_id),
        last_seen_run=pl.lit(run_id),
        status=pl.when(pl.col("older_than_current").fill_null(False))
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("open")),
        first_seen_on=pl.lit(as_of),
        status_changed_on=pl.lit(None, dtype=pl.Date),
        cleared_by=pl.lit(None, dtype=pl.String),
        clear_reason=pl.lit(None, dtype=pl.String),
        last_seen_on=pl.lit(as_of),
        notice_at=pl.lit(now_shanghai()),
    ).select([pl.col(c).cast(t) for c, t in FINDING_DB_SCHEMA.items()])


def recheck_versions(
    con,
    ref,
    *,
    scope: str,
    as_of: date,
    run_id: str,
    ingest_run_id: str | None = None,
) -> Recheck:
    """Re-validate stored versions with the current reference data and record the findings.

    scope 'current' (validate --all): every current version; findings that no
    longer trip are cleared (cleared_by 'validate --all'). 'run' / 'day': the
    versions of one ingest run / one ingest date, recorded without clearing.
    The same finding is found again (never double-counted), and which version is
    current never changes."""
    from checks.lifecycle import record_revalidated_findings
    from transforms.vrules import RECHECKABLE
    from warehouse.ingest_load import registered
    from warehouse.sqlfiles import sql

    out = Recheck(scope=scope)
    scope_ids = scope_versions(con, scope, as_of=as_of, ingest_run_id=ingest_run_id)
    with registered(con, "scope", scope_ids):
        rows = con.sql(sql("validate/member_rows")).pl()
        previous = con.sql(sql("validate/previous_state")).pl()
    out.versions, out.rows = scope_ids.height, rows.height
    if rows.is_empty():
        return out
    out.input_hashes = rows["file_sha256"].unique().sort().to_list()
    out.results, found = stored_rule_results(rows, previous, ref)
    out.findings = _finding_rows(found, rows, run_id=run_id, as_of=as_of)

    clearing = (
        {baseline: [r for r in RECHECKABLE if not baseline or r in BASELINE_RULES] for baseline in (False, True)}
        if scope == "current"
        else None
    )
    before, cleared = record_revalidated_findings(
        con,
        out.findings,
        scope=scope_ids,
        auto_clear_rules=clearing,
        as_of=as_of,
        cleared_by=CLEARED_BY,
        reason=CLEAR_REASON,
    )
    known = before.select(
        "finding_id", reopen=(pl.col("status") == "cleared") & (pl.col("cleared_how") == "auto")
    )
    flagged = out.findings.join(known, on="finding_id", how="left")
    out.new = int(flagged["reopen"].is_null().sum())
    out.reopened = int(flagged["reopen"].fill_null(False).sum())
    out.opened = flagged.filter(
        (pl.col("reopen").is_null() | pl.col("reopen")) & (pl.col("status") == "open")
    ).drop("reopen")
    out.cleared_ids = sorted(r[0] for r in cleared)
    out.cleared = len(out.cleared_ids)
    return out
