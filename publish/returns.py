"""Town return file and receipt for one submission (SPEC §6).

`out/returns/<town_code>/<stem>.问题.xlsx` and `<stem>.回执.json`, where the
stem is the file's name without extension, '.', and the first 8 hex digits of
its SHA-256 — re-sent files never overwrite each other's returns. A long name
is cut at a character boundary so that every name built from the stem, the
atomic writer's temporary name included, fits the file system's 255 bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from core.files import TEMP_NAME_EXTRA_BYTES
from core.home import Home
from core.reference import Reference
from publish.files import write_json, write_workbook
from transforms.returns import cell_marks, return_rows
from transforms.submission import REQUIRED_CELLS

NAME_MAX_BYTES = 255  # the longest file name Linux file systems take, in bytes
RETURN_SUFFIXES = (".问题.xlsx", ".回执.json")  # every name built from a stem ends in one of these
STEM_BYTES = (
    NAME_MAX_BYTES - TEMP_NAME_EXTRA_BYTES - max(len(s.encode()) for s in RETURN_SUFFIXES) - len(".12345678")
)  # 220: what is left for the submission's own name


def _cut_name(text: str, max_bytes: int) -> str:
    """The longest start of `text` whose file-system bytes fit `max_bytes`, never half a character."""
    kept, used = [], 0
    for ch in text:
        used += len(os.fsencode(ch))
        if used > max_bytes:
            break
        kept.append(ch)
    return "".join(kept)


def stem(name: str, sha256: str) -> str:
    """The file's name without extension (cut to STEM_BYTES), '.', and 8 hex digits of its SHA-256."""
    return f"{_cut_name(Path(name).stem, STEM_BYTES)}.{sha256[:8]}"


def return_paths(home: Home, folder: str, name: str, sha256: str) -> tuple[Path, Path]:
    base = home.out / "returns" / folder / stem(name, sha256)
    return base.with_name(base.name + ".问题.xlsx"), base.with_name(base.name + ".回执.json")


def chinese_headers(ref: Reference) -> dict[str, str]:
    """Canonical field -> the first Chinese header of the synonyms table."""
    out: dict[str, str] = {}
    for field, header in ref["header_synonyms"].select("field", "header").iter_rows():
        if field not in out and any("\u4e00" <= ch <= "\u9fff" for ch in header):
            out[field] = header
    return out


def rebuild_return_files(con, home: Home, ref: Reference, sha256: str, *, only_if_missing: bool = False) -> None:
    """Write a submission's return workbook and receipt from what the warehouse
    recorded for it (the one path: right after the load, and after a crash)."""
    from warehouse.sqlfiles import sql

    file_row = con.sql("SELECT * FROM raw.files WHERE file_sha256 = $sha", params={"sha": sha256}).pl().row(
        0, named=True)
    workbook, receipt = return_paths(home, file_row["folder"], file_row["name"], sha256)
    if only_if_missing and receipt.exists():
        return
    findings = con.sql(sql("ingest/return_findings"), params={"sha": sha256}).pl()
    rows = None
    if file_row["status"] == "loaded":
        rows = con.sql(sql("ingest/return_rows"), params={"sha": sha256}).pl()
    write_return_files(home, ref, file_row, rows, findings)


def write_return_files(home: Home, ref: Reference, file_row: dict, rows: pl.DataFrame | None,
                       findings: pl.DataFrame) -> tuple[Path, Path]:
    workbook, receipt = return_paths(home, file_row["folder"], file_row["name"], file_row["file_sha256"])
    by_rule = dict(sorted(findings.group_by("rule_id").len().iter_rows())) if findings.height else {}
    payload = {
        "file": file_row["rel_path"],
        "sha256": file_row["file_sha256"],
        "town_code": file_row["folder"],
        "ingested_on": str(file_row["ingested_on"]),
        "rows_read": file_row["rows_read"],
        "rows_accepted": file_row["rows_accepted"],
        "rows_rejected": file_row["rows_rejected"],
        "rows_warned": file_row["rows_warned"],
        "cases": file_row["cases"],
        "findings_by_rule": by_rule,
        "return_file": workbook.name if rows is not None else None,
    }
    if file_row.get("error"):
        payload["error"] = file_row["error"]
    if rows is not None:
        headers = chinese_headers(ref)
        sheet = return_rows(rows, findings.select("case_key", "source_row", "rule_id", "message"), headers,
                            keep=REQUIRED_CELLS)
        marks = cell_marks(rows, findings.select("case_key", "source_row", "field", "rule_id", "message"), headers)
        write_workbook(workbook, {"问题清单": sheet}, wrap=("问题",), marks={"问题清单": marks})
    write_json(receipt, payload)
    return workbook, receipt
