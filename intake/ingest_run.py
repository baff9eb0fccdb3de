"""One ingest run in counts (SPEC §2): which inbox files are new, which were read
before, and the run's summary for audit.runs. Paths and counts only, never people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb

from core.files import sha256_of
from core.home import Home
from core.reference import Reference
from intake.discover import candidate_fields, discover
from warehouse.audit import inputs_digest
from warehouse.ingest_load import known_hashes


def new_submissions(home: Home, ref: Reference, as_of: date) -> dict:
    """The inbox files that arrived by `as_of` (with the fields to rebuild each), and what was left aside."""
    found = discover(home, frozenset(ref.town_codes), as_of)
    return {
        "files": [c.rel_path for c in found.candidates],
        "candidates": {c.rel_path: candidate_fields(c) for c in found.candidates},
        "ignored": found.ignored,
        "unknown_folders": found.unknown_folders,
        "not_yet_arrived": found.not_yet_arrived,
    }


def files_digest(files: list[str], home: Home) -> str:
    """The digest of a run's input files (paths relative to the home)."""
    return inputs_digest(sha256_of(home.root / f) for f in files)


def split_known(con: duckdb.DuckDBPyConnection, home: Home, files: list[str]) -> tuple[list[str], dict[str, str]]:
    """The files whose content the warehouse has not seen, and the others with their SHA-256."""
    known = known_hashes(con)
    hashes = {f: sha256_of(home.root / f) for f in files}
    return [f for f in files if hashes[f] not in known], {f: h for f, h in hashes.items() if h in known}


def total_seconds(per_file: Iterable[dict[str, float]]) -> dict[str, float]:
    """Seconds per ingest step, summed over files (read, normalise, validate = the V-rules, load, ...)."""
    total: dict[str, float] = {}
    for seconds in per_file:
        for step, s in seconds.items():
            total[step] = round(total.get(step, 0.0) + s, 3)
    return total


def run_summary(found: dict, files: list[str], outcomes: list[dict], files_failed: int) -> dict:
    """What audit.runs records of an ingest run: files and rows, summed over the new files."""
    new = [o for o in outcomes if o["status"] != "known"]
    return {
        "files_seen": len(files), "files_new": len(new), "files_known": len(outcomes) - len(new),
        "rows_read": sum(o["rows_read"] for o in new), "rows_accepted": sum(o["rows_accepted"] for o in new),
        "rows_rejected": sum(o["rows_rejected"] for o in new), "rows_warned": sum(o["rows_warned"] for o in new),
        "ignored": len(found["ignored"]), "unknown_folders": found["unknown_folders"],
        "not_yet_arrived": found["not_yet_arrived"],
        "seconds": total_seconds(o["seconds"] for o in new),
        "files_failed": files_failed,
    }


def file_table(outcomes: list[dict]) -> list[dict]:
    """One row per new file for the Prefect table artifact (file name, folder, counts)."""
    keys = ("folder", "status", "rows_read", "rows_accepted", "rows_rejected", "rows_warned", "cases")
    return [{k: o[k] for k in keys} | {"file": o["rel_path"].rsplit("/", 1)[-1]}
            for o in outcomes if o["status"] != "known"]


def calendar_fallback_years(ref: Reference) -> list[int]:
    """Years this process counted Monday-Friday because the holidays table ends before them."""
    from checks.validation import working_calendar

    return sorted(working_calendar(ref["holidays"]).fallback_years)
