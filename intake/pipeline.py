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
from core.files import sha256_of
from core.home import Home, now_shanghai
from core.reference import Reference
from intake.discover import Candidate
from intake.readers import FileLimits, ReadResult, read_submission
from publish.files import write_json
from publish.returns import PendingReturn, rebuild_return_files, return_paths, start_return_files
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
    later: list[PendingReturn] | None = None,
) -> FileOutcome:
    """One file, in its steps: known already? parse, previous state, V-rules, versions, load with
    the return files. `parsed`: this file's `parse_submission`, when it was done elsewhere beforehand.
    `later`: where to leave return files a worker process is still rendering after the commit, for
    the caller to `finish` (it goes on with the next file meanwhile); None: finished here."""
    sha = parsed.sha256 if parsed is not None else sha256_of(candidate.path)
    known = ingest_load.known_file(con, sha)
    if known and not reprocess:
        return acknowledge_known(con, home, ref, [(candidate, sha)], settings.run_id)[0]
    seq = known["seq"] if known else ingest_load.next_seq(con)
    parsed = parsed or parse_submission(candidate, ref, sha)
    outcome = FileOutcome(candidate.rel_path, candidate.folder, sha, "loaded", seconds=dict(parsed.seconds))
    file_row = _file_row(candidate, parsed.read, sha, seq, settings)
    if not parsed.read.ok:
        findings = _finding_rows(_unreadable(file_row, outcome, parsed.read, candidate.folder), sha, settings,
                                 version_ids=None)
        _load_with_returns(con, home, ref, candidate, settings, outcome, file_row, None, findings,
                           reprocess=reprocess, fail_after=fail_after, later=later)
        return outcome
    watch = partial(_lap, outcome.seconds)
    with watch("previous"):
        previous = _previous_state(con, candidate.folder, parsed.typed, seq)
    with watch("validate"):
        findings_in = _rule_findings(parsed, previous, candidate.folder, ref, settings)
    with watch("versions"):
        decided = decide_versions(con, parsed, findings_in, previous, candidate, seq, settings)
    file_row.update(decided.counts)
    _load_with_returns(con, home, ref, candidate, settings, outcome, file_row, decided, decided.findings,
                       reprocess=reprocess, fail_after=fail_after, later=later)
    for key in ("rows_read", "rows_accepted", "rows_rejected", "rows_warned", "cases"):
        setattr(outcome, key, file_row[key])
    outcome.findings_by_rule = dict(sorted(decided.rule_findings.group_by("rule_id").len().iter_rows()))
    return outcome


def _file_row(candidate: Candidate, read: ReadResult, sha: str, seq: int, settings: IngestSettings) -> dict:
    """The file's raw.files row (its counts filled in once its versions are decided)."""
    return {
        "file_sha256": sha, "folder": candidate.folder, "rel_path": candidate.rel_path, "name": candidate.name,
        "size_bytes": candidate.size, "modified_at": candidate.modified_at, "arrived_on": candidate.arrived_on,
        "ingested_on": settings.as_of, "received_at": now_shanghai(), "run_id": settings.run_id, "seq": seq,
        "file_format": read.file_format, "encoding": read.encoding, "sheet": read.sheet,
        "header_row": read.header_row, "is_baseline": settings.baseline, "status": "loaded", "error": None,
        "rows_read": 0, "rows_accepted": 0, "rows_rejected": 0, "rows_warned": 0, "cases": 0,
    }


def _unreadable(file_row: dict, outcome: FileOutcome, read: ReadResult, folder: str) -> pl.DataFrame:
    """A file that could not be read (P01) or was refused whole (P02): its status and its one finding."""
    problem = read.problems[0]
    outcome.status = file_row["status"] = "unreadable" if problem.rule_id == "P01" else "rejected"
    outcome.error = file_row["error"] = problem.message_zh
    outcome.findings_by_rule = {problem.rule_id: 1}
    return pl.DataFrame(
        {"town_code": [folder], "case_no": [None], "source_row": [None], "id_no": [None], "field": [None],
         "value": [None], "rule_id": [problem.rule_id], "severity": ["error"], "blocks_payment": [False],
         "message": [problem.message_zh]},
        schema=_FINDING_SCHEMA,
    )


def _previous_state(con: duckdb.DuckDBPyConnection, folder: str, typed: pl.DataFrame, seq: int) -> pl.DataFrame:
    """The file's cases as they stood just before it in the version order."""
    case_nos = typed.select(case_key_expr().alias("k"))["k"].unique().to_list()
    return ingest_load.previous_state(con, folder, case_nos, seq)


def _rule_findings(parsed: ParsedSubmission, previous: pl.DataFrame, folder: str, ref: Reference,
                   settings: IngestSettings) -> pl.DataFrame:
    """The normaliser's findings and the V-rules', with a baseline's severities."""
    ctx = SubmissionContext(folder=folder, town_codes=frozenset(ref.town_codes), as_of=settings.as_of,
                            baseline=settings.baseline, extra={"ref": ref})
    v_findings = validate_submission(parsed.typed, ctx, previous)
    norm = as_findings(parsed.norm_findings.with_columns(case_no=pl.lit(None, pl.String)))
    return with_baseline_severities(pl.concat([norm, as_findings(v_findings)]), settings.baseline)


@dataclass
class DecidedVersions:
    """What one file adds to the warehouse, as frames for the load (and its row counts)."""

    raw_rows: pl.DataFrame
    versions: pl.DataFrame
    members: pl.DataFrame
    findings: pl.DataFrame  # as checks.findings rows
    rule_findings: pl.DataFrame  # case-keyed, one per rule hit (for the counts by rule)
    counts: dict[str, int]


def decide_versions(con: duckdb.DuckDBPyConnection, parsed: ParsedSubmission, findings_in: pl.DataFrame,
                    previous: pl.DataFrame, candidate: Candidate, seq: int, settings: IngestSettings
                    ) -> DecidedVersions:
    """The cases' versions (transforms.versions), their ids, and the rows, members and findings that
    name them. A case whose content equals its current version makes no new version: its rows and
    findings belong to that current version (superseded with it)."""
    sha = parsed.sha256
    versions, members, row_outcome, findings = build_versions(
        parsed.typed, findings_in, folder=candidate.folder, previous=previous, baseline=settings.baseline,
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
    db_versions, db_members = _version_frames(versions, members, version_ids, sha, seq, settings)
    counts = {
        "rows_read": parsed.read.rows.height,
        "rows_accepted": int((row_outcome["row_status"] == "accepted").sum()),
        "rows_rejected": int((row_outcome["row_status"] == "rejected").sum()),
        "rows_warned": int(row_outcome["warned"].sum()),
        "cases": versions.height,
    }
    return DecidedVersions(
        raw_rows=_raw_rows(parsed.read.rows, parsed.typed, row_outcome, row_ids, sha),
        versions=db_versions,
        members=db_members,
        findings=_finding_rows(findings, sha, settings, version_ids=row_ids),
        rule_findings=findings,
        counts=counts,
    )


def _load_with_returns(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, candidate: Candidate,
                       settings: IngestSettings, outcome: FileOutcome, file_row: dict,
                       decided: DecidedVersions | None, findings: pl.DataFrame, *, reprocess: bool,
                       fail_after: Callable[[str], None] | None, later: list[PendingReturn] | None) -> None:
    """Load the file in one transaction and write its return files. The return rows are read inside
    the transaction, just before the commit, and a long sheet is rendered by a worker process while
    this one commits and goes on (the ingest defers DuckDB's checkpoints to its end: `flows.ingest`);
    the workbook and receipt are put in place after the commit
    (with `later`, any sheet the worker renders is left there for the caller to finish)."""
    sha = file_row["file_sha256"]
    pending: list[PendingReturn] = []
    started = time.perf_counter()

    def start_returns(c: duckdb.DuckDBPyConnection) -> None:
        t = time.perf_counter()
        pending.append(start_return_files(c, home, ref, sha, later=later is not None))
        outcome.seconds["returns"] = outcome.seconds.get("returns", 0.0) + time.perf_counter() - t

    try:
        ingest_load.load_file(
            con,
            file_row=file_row,
            raw_rows=decided.raw_rows if decided else None,
            versions=decided.versions if decided else None,
            members=decided.members if decided else None,
            record_findings=partial(record_submission_findings, findings=findings, file_sha256=sha,
                                    replace=reprocess, as_of=settings.as_of),
            replace=reprocess,
            fail_after=fail_after,
            before_commit=start_returns,
        )
        ingest_load.record_path(con, sha, candidate.rel_path, settings.run_id)
    except BaseException:
        for p in pending:
            p.abandon()
        raise
    outcome.seconds["load"] = (outcome.seconds.get("load", 0.0) + time.perf_counter() - started
                               - outcome.seconds.get("returns", 0.0))
    if later is not None and pending[0].job is not None:
        later.append(pending[0])
        return
    with _lap(outcome.seconds, "returns"):
        pending[0].finish()


def acknowledge_known(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, known: list[tuple[Candidate, str]], run_id: str
) -> list[FileOutcome]:
    """Files whose content the warehouse already holds (candidate, SHA-256): note each new path,
    write a file's return files again only if they are missing (a crash may have come between the
    load and them), and give a copy under another name its own receipt. What the warehouse holds of
    them is read in one query, so a cycle that sees the month's earlier files again costs a look
    at each receipt, not three statements a file."""
    shas = sorted({sha for _, sha in known})
    first = {sha: (rel, folder, name) for sha, rel, folder, name in con.execute(
        "SELECT file_sha256, rel_path, folder, name FROM raw.files WHERE file_sha256 IN (SELECT unnest($shas))",
        {"shas": shas}).fetchall()}
    noted = set(con.execute("SELECT file_sha256, rel_path FROM raw.file_paths WHERE file_sha256 IN "
                            "(SELECT unnest($shas))", {"shas": shas}).fetchall())
    outcomes = []
    for candidate, sha in known:
        if (sha, candidate.rel_path) not in noted:
            ingest_load.record_path(con, sha, candidate.rel_path, run_id)
            noted.add((sha, candidate.rel_path))
        rel, folder, name = first[sha]
        if not return_paths(home, folder, name, sha)[1].exists():
            rebuild_return_files(con, home, ref, sha)
        if (folder, name) != (candidate.folder, candidate.name):
            _duplicate_receipt(home, candidate, sha, rel)
        outcomes.append(FileOutcome(candidate.rel_path, candidate.folder, sha, "known"))
    return outcomes


def _duplicate_receipt(home: Home, candidate: Candidate, sha: str, first_path: str) -> None:
    """Every file in the inbox gets a receipt: one whose content equals a file already
    received under another name or folder says so, and that nothing was read twice."""
    _, receipt = return_paths(home, candidate.folder, candidate.name, sha)
    if receipt.exists():
        return
    write_json(receipt, {
        "file": candidate.rel_path, "sha256": sha, "town_code": candidate.folder, "rows_read": 0,
        "rows_accepted": 0, "rows_rejected": 0, "rows_warned": 0, "cases": 0, "findings_by_rule": {},
        "return_file": None, "duplicate_of": first_path,
        "note": f"内容与已接收的文件“{first_path}”完全相同，未重复处理",
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
    got = ingest_load.current_version_ids(con, town, case_nos)
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
