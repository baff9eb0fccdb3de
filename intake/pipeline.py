"""One town submission from file to warehouse to return file (SPEC §2, §6).

`ingest_file` is what the ingest flow runs per file: hash, read, normalise,
validate (the V-rules' seam), decide the case versions, load in one
transaction, then write the return workbook and receipt.

The first two steps, `parse_submission`, touch no warehouse: the flow may run
them for many files at once in other processes (a Dask cluster) and hand the
result to `ingest_file`; everything from the V-rules on needs the warehouse and
runs in the one writer process, file after file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial

import duckdb
import polars as pl

from checks.findings import collapse_findings
from checks.lifecycle import record_submission_findings
from checks.validation import SubmissionContext, validate_submission, with_baseline_severities
from core.home import Home, now_shanghai
from core.reference import Reference
from intake.discover import Candidate, sha256_of
from intake.readers import FileLimits, ReadResult, read_submission
from publish.files import write_json
from publish.returns import rebuild_return_files, return_paths
from transforms.identifiers import id_birth_date_expr, id_sex_expr
from transforms.money import fen_to_decimal_expr
from transforms.returns import RAW_FIELDS
from transforms.submission import normalise_submission
from transforms.versions import as_findings, build_versions, case_key_expr, with_rule_meta
from warehouse import ingest_load

CODED_FIELDS = (
    "program",
    "status",
    "decided_level",
    "relation",
    "yes_no",
    "disability_type",
    "disability_grade",
    "schooling",
    "work_ability",
    "self_care",
)


@dataclass
class FileOutcome:
    rel_path: str
    folder: str
    sha256: str
    status: str  # loaded, unreadable, rejected, known
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_warned: int = 0
    cases: int = 0
    findings_by_rule: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went, per step

    def counts(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("findings_by_rule", "seconds")} | {
            "findings_by_rule": dict(self.findings_by_rule),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


@dataclass
class ParsedSubmission:
    """One file read and normalised, without the warehouse (picklable: it may come from another process)."""

    sha256: str
    read: ReadResult
    typed: pl.DataFrame | None = None
    norm_findings: pl.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _lap(into: dict[str, float], step: str):
    """Add the seconds the block took to `into[step]`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        into[step] = into.get(step, 0.0) + time.perf_counter() - started


def parse_submission(candidate: Candidate, ref: Reference, sha: str | None = None) -> ParsedSubmission:
    """Hash, read and normalise one submission: no warehouse, so safe in a worker process."""
    seconds: dict[str, float] = {}
    watch = partial(_lap, seconds)
    with watch("read"):
        sha = sha or sha256_of(candidate.path)
        result = read_submission(candidate.path, ref.header_map(), ref.required_fields(),
                                 limits=FileLimits.from_reference(ref))
    if not result.ok:
        return ParsedSubmission(sha, result, seconds=seconds)
    with watch("normalise"):
        typed, norm_findings = normalise_submission(result.rows, {f: ref.code_map(f) for f in CODED_FIELDS})
        if "message_zh" in norm_findings.columns:
            norm_findings = norm_findings.rename({"message_zh": "message"})
        norm_findings = norm_findings.join(typed.select("source_row", "id_no"), on="source_row", how="left")
    return ParsedSubmission(sha, result, typed, norm_findings, seconds)


@dataclass(frozen=True)
class IngestSettings:
    as_of: date
    run_id: str
    baseline: bool = False


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    candidate: Candidate,
    settings: IngestSettings,
    *,
    parsed: ParsedSubmission | None = None,
    reprocess: bool = False,
    fail_after: Callable[[str], None] | None = None,
) -> FileOutcome:
    """`parsed`: this file's `parse_submission`, when it was done elsewhere beforehand."""
    sha = parsed.sha256 if parsed is not None else sha256_of(candidate.path)
    known = ingest_load.known_file(con, sha)
    if known and not reprocess:
        return acknowledge_known(con, home, ref, candidate, sha, settings.run_id)
    seq = known["seq"] if known else ingest_load.next_seq(con)

    if parsed is None:
        parsed = parse_submission(candidate, ref, sha)
    seconds = dict(parsed.seconds)
    watch = partial(_lap, seconds)
    result = parsed.read
    file_row = {
        "file_sha256": sha,
        "folder": candidate.folder,
        "rel_path": candidate.rel_path,
        "name": candidate.name,
        "size_bytes": candidate.size,
        "modified_at": candidate.modified_at,
        "arrived_on": candidate.arrived_on,
        "ingested_on": settings.as_of,
        "received_at": now_shanghai(),
        "run_id": settings.run_id,
        "seq": seq,
        "file_format": result.file_format,
        "encoding": result.encoding,
        "sheet": result.sheet,
        "header_row": result.header_row,
        "is_baseline": settings.baseline,
        "status": "loaded",
        "error": None,
        "rows_read": 0,
        "rows_accepted": 0,
        "rows_rejected": 0,
        "rows_warned": 0,
        "cases": 0,
    }
    outcome = FileOutcome(candidate.rel_path, candidate.folder, sha, "loaded", seconds=seconds)
    if not result.ok:
        problem = result.problems[0]
        outcome.status = file_row["status"] = "unreadable" if problem.rule_id == "P01" else "rejected"
        outcome.error = file_row["error"] = problem.message_zh
        outcome.findings_by_rule = {problem.rule_id: 1}
        findings = _finding_rows(
            pl.DataFrame(
                {
                    "town_code": [candidate.folder],
                    "case_no": [None],
                    "source_row": [None],
                    "id_no": [None],
                    "field": [None],
                    "value": [None],
                    "rule_id": [problem.rule_id],
                    "severity": ["error"],
                    "blocks_payment": [False],
                    "message": [problem.message_zh],
                },
                schema=_FINDING_SCHEMA,
            ),
            sha,
            settings,
            version_ids=None,
        )
        ingest_load.load_file(
            con,
            file_row=file_row,
            raw_rows=None,
            versions=None,
            members=None,
            record_findings=partial(record_submission_findings, findings=findings, file_sha256=sha,
                                    replace=reprocess, as_of=settings.as_of),
            replace=reprocess,
            fail_after=fail_after,
        )
        ingest_load.record_path(con, sha, candidate.rel_path, settings.run_id)
        rebuild_return_files(con, home, ref, sha)
        return outcome

    raw, typed, norm_findings = result.rows, parsed.typed, parsed.norm_findings
    case_nos = typed.select(case_key_expr().alias("k"))["k"].unique().to_list()
    with watch("previous"):
        previous = ingest_load.previous_state(con, candidate.folder, case_nos, seq)
    ctx = SubmissionContext(
        folder=candidate.folder,
        town_codes=frozenset(ref.town_codes),
        as_of=settings.as_of,
        baseline=settings.baseline,
        extra={"ref": ref},
    )
    with watch("validate"):
        v_findings = validate_submission(typed, ctx, previous)
    findings_in = with_baseline_severities(
        pl.concat([as_findings(norm_findings.with_columns(case_no=pl.lit(None, pl.String))), as_findings(v_findings)]),
        settings.baseline,
    )
    with watch("versions"):
        versions, members, row_outcome, findings = build_versions(
            typed, findings_in, folder=candidate.folder, previous=previous, baseline=settings.baseline,
            arrived_on=candidate.arrived_on,
        )
        version_ids = versions.select(
            "case_no",
            pl.when(pl.col("acceptance") == "unchanged")
            .then(None)
            .otherwise(pl.lit(sha) + ":" + pl.col("town_code") + ":" + pl.col("case_no"))
            .alias("version_id"),
            "acceptance",
        )
        current_ids = _current_ids(
            con, candidate.folder, versions.filter(pl.col("acceptance") == "unchanged")["case_no"]
        )
        row_ids = version_ids.join(current_ids, on="case_no", how="left").select(
            "case_no", pl.coalesce("version_id", "current_id").alias("version_id")
        )

        db_rows = _raw_rows(raw, typed, row_outcome, row_ids, sha)
        db_versions, db_members = _version_frames(versions, members, version_ids, sha, seq, settings)
        # findings of an unchanged re-send belong to the case's current version (superseded with it)
        db_findings = _finding_rows(findings, sha, settings, version_ids=row_ids)

    file_row.update(
        rows_read=raw.height,
        rows_accepted=int((row_outcome["row_status"] == "accepted").sum()),
        rows_rejected=int((row_outcome["row_status"] == "rejected").sum()),
        rows_warned=int(row_outcome["warned"].sum()),
        cases=versions.height,
    )
    with watch("load"):
        ingest_load.load_file(
            con,
            file_row=file_row,
            raw_rows=db_rows,
            versions=db_versions,
            members=db_members,
            record_findings=partial(record_submission_findings, findings=db_findings, file_sha256=sha,
                                    replace=reprocess, as_of=settings.as_of),
            replace=reprocess,
            fail_after=fail_after,
        )
        ingest_load.record_path(con, sha, candidate.rel_path, settings.run_id)

    for key in ("rows_read", "rows_accepted", "rows_rejected", "rows_warned", "cases"):
        setattr(outcome, key, file_row[key])
    outcome.findings_by_rule = dict(sorted(findings.group_by("rule_id").len().iter_rows()))
    with watch("returns"):
        rebuild_return_files(con, home, ref, sha)
    return outcome


def acknowledge_known(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, candidate: Candidate, sha: str, run_id: str
) -> FileOutcome:
    """A file whose content the warehouse already holds: note this path, and write its return
    files again only if they are missing (a crash may have come between the load and them)."""
    ingest_load.record_path(con, sha, candidate.rel_path, run_id)
    rebuild_return_files(con, home, ref, sha, only_if_missing=True)
    _duplicate_receipt(con, home, candidate, sha)
    return FileOutcome(candidate.rel_path, candidate.folder, sha, "known")


def _duplicate_receipt(con: duckdb.DuckDBPyConnection, home: Home, candidate: Candidate, sha: str) -> None:
    """Every file in the inbox gets a receipt: one whose content equals a file already
    received under another name or folder says so, and that nothing was read twice."""
    first = con.execute("SELECT rel_path, folder, name FROM raw.files WHERE file_sha256 = ?", [sha]).fetchall()
    if not first or (first[0][1], first[0][2]) == (candidate.folder, candidate.name):
        return
    _, receipt = return_paths(home, candidate.folder, candidate.name, sha)
    if receipt.exists():
        return
    write_json(receipt, {
        "file": candidate.rel_path, "sha256": sha, "town_code": candidate.folder, "rows_read": 0,
        "rows_accepted": 0, "rows_rejected": 0, "rows_warned": 0, "cases": 0, "findings_by_rule": {},
        "return_file": None, "duplicate_of": first[0][0],
        "note": f"内容与已接收的文件“{first[0][0]}”完全相同，未重复处理",
    })


_FINDING_SCHEMA = {
    "town_code": pl.String,
    "case_no": pl.String,
    "source_row": pl.Int64,
    "id_no": pl.String,
    "field": pl.String,
    "value": pl.String,
    "rule_id": pl.String,
    "severity": pl.String,
    "blocks_payment": pl.Boolean,
    "message": pl.String,
}


def _current_ids(con: duckdb.DuckDBPyConnection, town: str, case_nos: pl.Series) -> pl.DataFrame:
    schema = {"case_no": pl.String, "current_id": pl.String}
    if case_nos.is_empty():
        return pl.DataFrame(schema=schema)
    got = con.sql(
        "SELECT case_no, version_id AS current_id FROM core.case_versions "
        "WHERE town_code = $town AND is_current AND list_contains($cases, case_no)",
        params={"town": town, "cases": case_nos.to_list()},
    ).pl()
    return got.cast(schema) if got.height else pl.DataFrame(schema=schema)


def _raw_rows(
    raw: pl.DataFrame, typed: pl.DataFrame, outcome: pl.DataFrame, row_ids: pl.DataFrame, sha: str
) -> pl.DataFrame:
    cols = [pl.col(f) if f in raw.columns else pl.lit(None, pl.String).alias(f) for f in RAW_FIELDS]
    keyed = raw.select(["source_sheet", "source_row", "source_ref", "extra_json"] + cols).with_columns(
        case_key=typed.select(case_key_expr())["case_no"]
    )
    return (
        keyed.join(outcome.select("source_row", "row_status", "warned"), on="source_row", how="left")
        .join(row_ids.rename({"case_no": "case_key"}), on="case_key", how="left")
        .with_columns(file_sha256=pl.lit(sha), source_row=pl.col("source_row").cast(pl.Int32))
    )


def _version_frames(versions, members, version_ids, sha, seq, settings):
    kept = versions.join(version_ids.select("case_no", "version_id"), on="case_no").filter(
        pl.col("version_id").is_not_null()
    )
    db_versions = kept.with_columns(
        file_sha256=pl.lit(sha),
        seq=pl.lit(seq, pl.Int64),
        ingested_on=pl.lit(settings.as_of),
        run_id=pl.lit(settings.run_id),
        is_current=pl.lit(False),
        monthly_benefit=fen_to_decimal_expr(pl.col("monthly_benefit_fen")),
    ).drop("monthly_benefit_fen", "n_errors", "n_warnings")
    db_members = (
        members.join(kept.select("case_no", "version_id"), on="case_no", how="inner")
        .with_columns(
            birth_date=id_birth_date_expr(pl.col("id_no")),
            sex=id_sex_expr(pl.col("id_no")),
            monthly_income=fen_to_decimal_expr(pl.col("monthly_income_fen").fill_null(0)),
            source_row=pl.col("source_row").cast(pl.Int32),
        )
        .drop("monthly_income_fen")
    )
    return db_versions, db_members


def _finding_rows(
    findings: pl.DataFrame, sha: str, settings: IngestSettings, version_ids: pl.DataFrame | None
) -> pl.DataFrame:
    f = (
        with_rule_meta(findings.drop("blocks_payment", strict=False))
        .drop("loads_version", "always_rejects")
        .with_columns(evidence_key=pl.lit(sha))
        # an error and a warning of one identity collapse into the error
        .sort(pl.col("severity") != "error", maintain_order=True)
    )
    if version_ids is not None:
        f = f.join(version_ids.select("case_no", "version_id"), on="case_no", how="left")
    else:
        f = f.with_columns(version_id=pl.lit(None, pl.String))
    f = collapse_findings(f)
    return f.with_columns(
        file_sha256=pl.lit(sha),
        first_seen_run=pl.lit(settings.run_id),
        last_seen_run=pl.lit(settings.run_id),
        status=pl.lit("open"),
        first_seen_on=pl.lit(settings.as_of),
        source_row=pl.col("source_row").cast(pl.Int32),
    ).drop("value")
