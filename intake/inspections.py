"""Spot-inspection results from file to warehouse (SPEC §5 S01, §6).

The bureau's inspectors drop their results into `inbox/inspections/` (read
recursively; .xlsx, .xls or .csv; temporary files, dotfiles and symlinks
ignored; a file modified after the as-of date has not arrived yet) with the
columns 案件编号, 镇街代码, 核查日期, 核查结论 (属实/不属实), 问题类型, 处理意见.
Each file is read once, by content hash, with the same readers as town
submissions. Every row is accepted or rejected with a Chinese reason (unknown
case, case in no sample, bad or future date, unknown conclusion); the receipt
and a return file of the rejected rows go to `out/returns/inspections/`. An
accepted 不属实 row raises S01 on the case (error; blocks payment only when the
处理意见 is 停保).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from checks.findings import finding_id
from checks.lifecycle import upsert_s01
from core.files import sha256_of
from core.home import Home, now_shanghai
from core.reference import Reference
from intake.discover import Candidate, walk_arrivals
from intake.readers import FileLimits, read_submission
from publish.files import write_json, write_workbook
from publish.returns import return_paths
from transforms import sampling
from transforms.catalogue import rule
from transforms.identifiers import scrub_text
from transforms.text import clean_text_expr
from warehouse.ingest_load import registered
from warehouse.sqlfiles import sql

FOLDER = "inspections"
SUFFIXES = (".xlsx", ".xls", ".csv")

# accepted headers -> field (the Chinese ones first: they label the return file)
HEADER_MAP: dict[str, str] = {
    "案件编号": "case_no",
    "镇街代码": "town_code",
    "核查日期": "inspected_on",
    "核查结论": "conclusion",
    "问题类型": "problem_type",
    "处理意见": "action",
    "案件号": "case_no",
    "镇街编码": "town_code",
    "抽查日期": "inspected_on",
    "入户核查日期": "inspected_on",
    "核查结果": "conclusion",
    "抽查结论": "conclusion",
    "处理建议": "action",
    "case_no": "case_no",
    "town_code": "town_code",
    "inspected_on": "inspected_on",
    "conclusion": "conclusion",
    "problem_type": "problem_type",
    "action": "action",
}
REQUIRED = ["case_no", "town_code", "inspected_on", "conclusion"]
RAW_COLUMNS = {f: f"raw_{f}" for f in sampling.RESULT_FIELDS}
RETURN_HEADERS = {
    "case_no": "案件编号",
    "town_code": "镇街代码",
    "inspected_on": "核查日期",
    "conclusion": "核查结论",
    "problem_type": "问题类型",
    "action": "处理意见",
}


@dataclass
class InspectionOutcome:
    rel_path: str
    sha256: str
    status: str  # loaded, unreadable, rejected, known
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    not_true: int = 0
    findings: int = 0
    error: str | None = None
    towns_with_findings: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return dict(self.__dict__)


def discover_inspections(home: Home, as_of: date) -> tuple[list[Candidate], list[str]]:
    """Result files arrived by `as_of` (in modification order) and the paths ignored."""
    if not home.inspections_inbox.is_dir():
        return [], []
    found, ignored, _ = walk_arrivals(home, home.inspections_inbox, FOLDER, as_of, SUFFIXES)
    return found, ignored


def _known_cases(con: duckdb.DuckDBPyConnection, raw: pl.DataFrame) -> pl.DataFrame:
    keys = (
        raw.select(
            clean_text_expr(pl.col("town_code")).str.replace(r"\.0+$", "").alias("town_code"),
            clean_text_expr(pl.col("case_no")).alias("case_no"),
        )
        .drop_nulls()
        .unique()
    )
    schema = {"town_code": pl.String, "case_no": pl.String, "current_version_id": pl.String}
    if keys.height == 0:
        return pl.DataFrame(schema=schema)
    with registered(con, "wanted", keys):
        got = con.sql(sql("spotcheck/known_cases")).pl()
    return got.cast(schema) if got.height else pl.DataFrame(schema=schema)


def _sampled(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    schema = {"town_code": pl.String, "case_no": pl.String, "period": pl.String}
    got = con.sql(sql("spotcheck/sampled_cases")).pl()
    return got.cast(schema) if got.height else pl.DataFrame(schema=schema)


def s01_message(inspected_on: date, problem_type: str | None, action: str | None, stops: bool) -> str:
    text = f"入户抽查核实情况不属实（核查日期{inspected_on:%Y-%m-%d}"
    if problem_type:
        text += f"，问题类型：{problem_type}"
    if action:
        text += f"，处理意见：{action}"
    text += "）"
    text += "，已暂停发放，请镇街依规处理" if stops else "，请镇街核实整改"
    return scrub_text(text)


def s01_evidence(file_name: str, row: dict) -> str:
    """What the finding rests on, readable (no personal data): file, row, date, conclusion, 处理意见."""
    text = f"抽查结果文件“{file_name}”第{row['source_row']}行：核查日期{row['inspected_on']:%Y-%m-%d}，结论不属实"
    if row["problem_type"]:
        text += f"，问题类型：{row['problem_type']}"
    if row["action"]:
        text += f"，处理意见：{row['action']}"
    return scrub_text(text)


def s01_findings(
    checked: pl.DataFrame, known: pl.DataFrame, sha: str, run_id: str, as_of: date, file_name: str = ""
) -> pl.DataFrame:
    """One S01 per (case, inspection date) among the accepted 不属实 rows of a file."""
    now = now_shanghai()
    s01 = rule("S01")
    bad = (
        checked.filter((pl.col("row_status") == "accepted") & (pl.col("conclusion") == "not_true"))
        .sort("source_row")
        .unique(subset=["town_code", "case_no", "inspected_on"], keep="first", maintain_order=True)
        .join(
            known.select("town_code", "case_no", "current_version_id"),
            on=["town_code", "case_no"],
            how="left",
        )
    )
    rows = []
    for r in bad.iter_rows(named=True):
        evidence = f"{sha}:{r['inspected_on']:%Y-%m-%d}"
        rows.append(
            {
                "finding_id": finding_id("S01", r["town_code"], r["case_no"], None, evidence),
                "rule_id": "S01",
                "severity": s01.severity,
                "blocks_payment": bool(r["stops_payment"]),
                "town_code": r["town_code"],
                "case_no": r["case_no"],
                "id_no": None,
                "evidence_key": evidence,
                "message": s01_message(r["inspected_on"], r["problem_type"], r["action"], r["stops_payment"]),
                "first_seen_run": run_id,
                "last_seen_run": run_id,
                "status": "open",
                "version_id": r["current_version_id"],
                "file_sha256": sha,
                "source_row": r["source_row"],
                "field": "conclusion",
                "first_seen_on": as_of,
                "status_changed_on": as_of,
                "last_seen_on": as_of,
                "source": "inspection",
                "evidence": s01_evidence(file_name, r),
                "notice_at": now,
            }
        )
    schema = {
        "finding_id": pl.String,
        "rule_id": pl.String,
        "severity": pl.String,
        "blocks_payment": pl.Boolean,
        "town_code": pl.String,
        "case_no": pl.String,
        "id_no": pl.String,
        "evidence_key": pl.String,
        "message": pl.String,
        "first_seen_run": pl.String,
        "last_seen_run": pl.String,
        "status": pl.String,
        "version_id": pl.String,
        "file_sha256": pl.String,
        "source_row": pl.Int32,
        "field": pl.String,
        "first_seen_on": pl.Date,
        "status_changed_on": pl.Date,
        "last_seen_on": pl.Date,
        "source": pl.String,
        "evidence": pl.String,
        "notice_at": pl.Datetime("us", "Asia/Shanghai"),
    }
    return pl.DataFrame(rows, schema=schema)


def ingest_inspection_file(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    candidate: Candidate,
    as_of: date,
    run_id: str,
) -> InspectionOutcome:
    """Read, check and load one result file (once by content hash); write its receipt and return file."""
    sha = sha256_of(candidate.path)
    if con.execute("SELECT count(*) FROM checks.inspection_files WHERE file_sha256 = ?", [sha]).fetchall()[0][
        0
    ]:
        return InspectionOutcome(candidate.rel_path, sha, "known")
    result = read_submission(candidate.path, HEADER_MAP, REQUIRED, limits=FileLimits.from_reference(ref))
    file_row = {
        "file_sha256": sha,
        "rel_path": candidate.rel_path,
        "name": candidate.name,
        "size_bytes": candidate.size,
        "modified_at": candidate.modified_at,
        "ingested_on": as_of,
        "received_at": now_shanghai(),
        "run_id": run_id,
        "file_format": result.file_format,
        "encoding": result.encoding,
        "sheet": result.sheet,
        "header_row": result.header_row,
        "status": "loaded",
        "error": None,
        "rows_read": 0,
        "rows_accepted": 0,
        "rows_rejected": 0,
        "not_true": 0,
        "findings": 0,
    }
    outcome = InspectionOutcome(candidate.rel_path, sha, "loaded")
    if not result.ok:
        problem = result.problems[0]
        outcome.status = file_row["status"] = "unreadable" if problem.rule_id == "P01" else "rejected"
        outcome.error = file_row["error"] = f"{problem.rule_id}：{problem.message_zh}"
        _load(con, file_row, None, None)
        write_inspection_returns(home, file_row, None)
        return outcome

    raw = result.rows
    known = (
        _known_cases(con, raw)
        if raw.height
        else pl.DataFrame(
            schema={"town_code": pl.String, "case_no": pl.String, "current_version_id": pl.String}
        )
    )
    checked = sampling.check_inspection_rows(raw, known, _sampled(con), ref.town_codes, as_of)
    findings = s01_findings(checked, known, sha, run_id, as_of, candidate.name)
    finding_of = findings.select("town_code", "case_no", "evidence_key", "finding_id")
    raw_cols = [
        (pl.col(f) if f in raw.columns else pl.lit(None, pl.String)).alias(RAW_COLUMNS[f])
        for f in sampling.RESULT_FIELDS
    ]
    results = (
        checked.join(
            raw.select(pl.col("source_row").cast(pl.Int64), "source_ref", *raw_cols), on="source_row"
        )
        .with_columns(
            evidence_key=pl.when(
                (pl.col("row_status") == "accepted") & (pl.col("conclusion") == "not_true")
            ).then(pl.lit(sha + ":") + pl.col("inspected_on").dt.to_string("%Y-%m-%d"))
        )
        .join(finding_of, on=["town_code", "case_no", "evidence_key"], how="left")
        .drop("evidence_key")
        .with_columns(file_sha256=pl.lit(sha), source_row=pl.col("source_row").cast(pl.Int32))
    )
    accepted = results.filter(pl.col("row_status") == "accepted")
    file_row.update(
        rows_read=raw.height,
        rows_accepted=accepted.height,
        rows_rejected=results.height - accepted.height,
        not_true=int((accepted["conclusion"] == "not_true").sum()),
        findings=findings.height,
    )
    _load(con, file_row, results, findings)
    for key in ("rows_read", "rows_accepted", "rows_rejected", "not_true", "findings"):
        setattr(outcome, key, file_row[key])
    outcome.towns_with_findings = sorted(set(findings["town_code"].to_list()))
    write_inspection_returns(
        home, file_row, results, cases=accepted.select("town_code", "case_no").n_unique()
    )
    return outcome


def _load(
    con: duckdb.DuckDBPyConnection,
    file_row: dict,
    results: pl.DataFrame | None,
    findings: pl.DataFrame | None,
) -> None:
    """The file, its rows and its findings commit together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        with registered(con, "new_file", pl.DataFrame([file_row])):
            con.execute("INSERT INTO checks.inspection_files BY NAME SELECT * FROM new_file")
        if results is not None and results.height:
            with registered(con, "new_results", results):
                con.execute("INSERT INTO checks.inspection_results BY NAME SELECT * FROM new_results")
        if findings is not None:
            upsert_s01(con, findings)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def write_inspection_returns(
    home: Home, file_row: dict, results: pl.DataFrame | None, cases: int = 0
) -> tuple[Path, Path]:
    """`out/returns/inspections/<stem>.问题.xlsx` (the rejected rows, with 问题) and `<stem>.回执.json`."""
    workbook, receipt = return_paths(home, FOLDER, file_row["name"], file_row["file_sha256"])
    payload = {
        "file": file_row["rel_path"],
        "sha256": file_row["file_sha256"],
        "folder": FOLDER,
        "ingested_on": str(file_row["ingested_on"]),
        "rows_read": file_row["rows_read"],
        "rows_accepted": file_row["rows_accepted"],
        "rows_rejected": file_row["rows_rejected"],
        "rows_warned": 0,
        "cases": cases,
        "not_true": file_row["not_true"],
        "findings_by_rule": {"S01": file_row["findings"]} if file_row["findings"] else {},
        "return_file": workbook.name if results is not None else None,
    }
    if file_row.get("error"):
        payload["error"] = file_row["error"]
    if results is not None:
        rejected = results.filter(pl.col("row_status") == "rejected").sort("source_row")
        sheet = rejected.select(
            pl.col("source_row").cast(pl.Int64).alias("行号"),
            pl.lit("退回").alias("处理结果"),
            pl.col("problem").alias("问题"),
            *[pl.col(RAW_COLUMNS[f]).alias(RETURN_HEADERS[f]) for f in sampling.RESULT_FIELDS],
        )
        write_workbook(workbook, {"问题清单": sheet})
    write_json(receipt, payload)
    return workbook, receipt


def ingest_inspections(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, as_of: date, run_id: str
) -> list[InspectionOutcome]:
    """Every result file arrived by `as_of` and not read before."""
    candidates, _ = discover_inspections(home, as_of)
    return [ingest_inspection_file(con, home, ref, c, as_of, run_id) for c in candidates]


def read_inspection_results(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, as_of: date, run_id: str
) -> dict:
    """`ingest_inspections`, told in counts: new files, unreadable ones, rows, 不属实 and S01."""
    outcomes = [o for o in ingest_inspections(con, home, ref, as_of, run_id) if o.status != "known"]
    return {
        "files_new": len(outcomes),
        "files_unreadable": sum(o.status != "loaded" for o in outcomes),
        "rows_read": sum(o.rows_read for o in outcomes),
        "rows_accepted": sum(o.rows_accepted for o in outcomes),
        "rows_rejected": sum(o.rows_rejected for o in outcomes),
        "not_true": sum(o.not_true for o in outcomes),
        "s01": sum(o.findings for o in outcomes),
    }
