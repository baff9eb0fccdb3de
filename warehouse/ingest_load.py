"""Loading one town submission into the warehouse in one transaction (SPEC §2, §7).

Everything a file changes — raw file and rows, case and member versions,
which version is current, and its findings (written by the caller's
`record_findings`, checks.lifecycle's, inside the same transaction) — commits
together or not at all, so a crash leaves no half-loaded file and the next run
finishes the work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import duckdb
import polars as pl

from warehouse.sqlfiles import sql

PREVIOUS_SCHEMA = {
    "town_code": pl.String, "case_no": pl.String, "current_content_sha256": pl.String, "ever_approved": pl.Boolean,
    "ever_decided": pl.Boolean, "first_ingested_on": pl.Date, "death_floor": pl.Date,
}


def known_file(con: duckdb.DuckDBPyConnection, sha256: str) -> dict | None:
    rows = con.execute("SELECT seq, status FROM raw.files WHERE file_sha256 = ?", [sha256]).fetchall()
    return {"seq": rows[0][0], "status": rows[0][1]} if rows else None


def known_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT file_sha256 FROM raw.files").fetchall()}


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(seq), 0) + 1 FROM raw.files").fetchall()[0][0]


def record_path(con: duckdb.DuckDBPyConnection, sha256: str, rel_path: str, run_id: str) -> None:
    con.execute(
        "INSERT INTO raw.file_paths VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [sha256, rel_path, run_id]
    )


def previous_state(con: duckdb.DuckDBPyConnection, town_code: str, case_nos: list[str], seq: int) -> pl.DataFrame:
    wanted = pl.DataFrame({"town_code": [town_code] * len(case_nos), "case_no": case_nos},
                          schema={"town_code": pl.String, "case_no": pl.String})
    with registered(con, "wanted", wanted):
        got = con.sql(sql("ingest/previous_state"), params={"seq": seq}).pl()
    return got.cast(PREVIOUS_SCHEMA) if got.height else pl.DataFrame(schema=PREVIOUS_SCHEMA)


def current_version_ids(con: duckdb.DuckDBPyConnection, town_code: str, case_nos: pl.Series) -> pl.DataFrame:
    """case_no, current_id: the current version of each of a town's cases named (a join, so that a
    re-sent ledger of 50,000 unchanged cases costs one pass, not a list search per version)."""
    with registered(con, "unchanged", pl.DataFrame({"case_no": case_nos.unique()})):
        return con.sql(
            "SELECT v.case_no, v.version_id AS current_id FROM core.case_versions v "
            "JOIN unchanged u ON u.case_no = v.case_no WHERE v.town_code = $town AND v.is_current",
            params={"town": town_code},
        ).pl()


def load_file(
    con: duckdb.DuckDBPyConnection,
    *,
    file_row: dict,
    raw_rows: pl.DataFrame | None,
    versions: pl.DataFrame | None,
    members: pl.DataFrame | None,
    record_findings: Callable[[duckdb.DuckDBPyConnection, pl.DataFrame | None], None],
    replace: bool = False,
    fail_after: Callable[[str], None] | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> None:
    """Write one file's outcome atomically. `replace` re-loads a file read again
    on purpose (--reprocess): its earlier rows and versions are replaced, and it
    keeps its place in the version order. `record_findings(con, touched)` writes
    the file's findings last, before the commit (touched: the cases whose current
    version was refreshed, or None); the findings are the checks' to write
    (checks.lifecycle.record_submission_findings).
    `before_commit(con)` runs last inside the transaction: it sees the file as it will be committed
    (the ingest reads its return files' rows there, to render them while the commit writes).
    `fail_after(step)` is a test hook that may raise between steps."""
    step = fail_after or (lambda _s: None)
    sha = file_row["file_sha256"]
    con.execute("BEGIN TRANSACTION")
    try:
        touched = versions.select("town_code", "case_no") if versions is not None else None
        if replace:
            before = con.sql(
                "SELECT town_code, case_no FROM core.case_versions WHERE file_sha256 = $sha", params={"sha": sha}
            ).pl()
            touched = before if touched is None else pl.concat([touched, before])
            _delete_file(con, sha)
        con.execute(sql("ingest/insert_file"), file_row)
        step("file")
        if raw_rows is not None and raw_rows.height:
            _insert(con, "new_rows", raw_rows, "ingest/insert_rows")
        step("rows")
        if versions is not None and versions.height:
            _insert(con, "new_versions", versions, "ingest/insert_versions")
            _insert(con, "new_members", members, "ingest/insert_members")
        step("versions")
        if touched is not None and touched.height:
            touched = touched.unique()
            with registered(con, "touched", touched):
                con.execute(sql("ingest/refresh_current"))
        step("current")
        record_findings(con, touched)
        step("findings")
        if before_commit is not None:
            before_commit(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the committed file into the database file now (DuckDB would do it when the connection
    closes, or at a commit past its WAL threshold), so that the ingest can overlap it with the return
    files. Skipped while another transaction is open."""
    with contextlib.suppress(duckdb.Error):
        con.execute("CHECKPOINT")


# While an ingest loads its files, a commit writes its write-ahead log (durable, fsynced) and nothing
# more: DuckDB would otherwise checkpoint at a commit past 16 MiB of log, and the ingest used to
# checkpoint after every long file; each checkpoint writes the tables' changed blocks and their
# primary-key indexes again (docs/engineering-notes.md). What is not checkpointed stays in memory, so
# the ingest checkpoints once every CHECKPOINT_EVERY_ROWS rows loaded, and at its end.
DEFERRED_CHECKPOINT_THRESHOLD = "1GiB"
CHECKPOINT_EVERY_ROWS = 500_000
_SET_THRESHOLD = "SET checkpoint_threshold = $threshold"


class DeferredCheckpoints:
    """Counts the rows loaded since the last checkpoint; checkpoints past CHECKPOINT_EVERY_ROWS."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.rows = con, 0

    def loaded(self, rows: int) -> None:
        self.rows += rows
        if self.rows >= CHECKPOINT_EVERY_ROWS:
            checkpoint(self.con)
            self.rows = 0


@contextlib.contextmanager
def deferred_checkpoints(con: duckdb.DuckDBPyConnection) -> Iterator[DeferredCheckpoints]:
    """The block's commits only write the log, with a checkpoint each time the rows told to
    `loaded` reach CHECKPOINT_EVERY_ROWS, and one when the block ends (however it ends)."""
    before = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
    con.execute(_SET_THRESHOLD, {"threshold": DEFERRED_CHECKPOINT_THRESHOLD})
    try:
        yield DeferredCheckpoints(con)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(_SET_THRESHOLD, {"threshold": before})
        checkpoint(con)


def _insert(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, statement: str) -> None:
    with registered(con, name, frame):
        con.execute(sql(statement))


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """A Polars frame visible to SQL as `name` for the duration of the block."""
    con.register(name, frame.to_arrow())
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)


def _delete_file(con: duckdb.DuckDBPyConnection, sha: str) -> None:
    for statement in (
        "DELETE FROM core.member_versions WHERE version_id IN "
        "(SELECT version_id FROM core.case_versions WHERE file_sha256 = ?)",
        "DELETE FROM core.case_versions WHERE file_sha256 = ?",
        "DELETE FROM raw.submission_rows WHERE file_sha256 = ?",
        "DELETE FROM raw.files WHERE file_sha256 = ?",
    ):
        con.execute(statement, [sha])
