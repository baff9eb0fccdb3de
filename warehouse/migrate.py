"""Versioned schema migrations for the warehouse (SPEC §7).

Migrations are SQL files `warehouse/migrations/NNNN_name.sql`, applied in
version order, each inside its own transaction, and recorded in
`audit.schema_migrations`. Re-running applies nothing; a warehouse that has
only some migrations is upgraded in place; a migration file that changed
after it was applied, a warehouse migrated by newer code, or two files
sharing a version number stop everything with a `MigrationError`.

A migration file may hold several statements: DuckDB 2 runs a whole script in
one `execute()` (comments and quoted semicolons included), so files are never
split. A migration must not contain BEGIN/COMMIT itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.home import now_shanghai

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9][a-z0-9_]*)\.sql$")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    sha256     VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
"""
_HAS_TABLE = """
SELECT count(*) FROM duckdb_tables()
WHERE database_name = current_database() AND schema_name = 'audit' AND table_name = 'schema_migrations'
"""
_APPLIED = "SELECT version, name, sha256 FROM audit.schema_migrations ORDER BY version"
_RECORD = "INSERT INTO audit.schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)"


class MigrationError(RuntimeError):
    """The warehouse schema and the migration files disagree; the message says how."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def _digest(text: str) -> str:
    # line endings normalised, so a checkout with CRLF does not look "changed"
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def discover(directory: Path | None = None) -> list[Migration]:
    """Every migration file in `directory` (default: the shipped ones), in version order."""
    directory = directory or MIGRATIONS_DIR
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: a migration file must be named NNNN_name.sql (lower case)")
        version, name = int(match.group(1)), match.group(2)
        if version in found:
            raise MigrationError(
                f"migrations {found[version].label} and {path.name} share version {version:04d}: renumber one"
            )
        sql = path.read_text(encoding="utf-8")
        found[version] = Migration(version, name, path, sql, _digest(sql))
    return [found[v] for v in sorted(found)]


def applied_migrations(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[str, str]]:
    """version -> (name, sha256) of what the warehouse already has (empty for a new one)."""
    if con.execute(_HAS_TABLE).fetchall()[0][0] == 0:
        return {}
    return {v: (n, s) for v, n, s in con.execute(_APPLIED).fetchall()}


def pending_migrations(
    con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None
) -> list[Migration]:
    """The migrations still to apply, after checking the applied ones are unchanged."""
    migrations = discover() if migrations is None else migrations
    done = applied_migrations(con)
    by_version = {m.version: m for m in migrations}
    for version, (name, sha) in sorted(done.items()):
        m = by_version.get(version)
        if m is None:
            raise MigrationError(
                f"the warehouse has migration {version:04d}_{name} which this code does not know: "
                "it was upgraded by a newer jiuzhu; run that version"
            )
        if m.name != name:
            raise MigrationError(
                f"migration {version:04d} is {name!r} in the warehouse but {m.label} in the code: "
                "two migrations share a number; renumber the new one"
            )
        if m.sha256 != sha:
            raise MigrationError(
                f"migration {m.label} changed after it was applied (recorded sha256 {sha[:12]}, "
                f"file now {m.sha256[:12]}): restore the file and put the change in a new migration"
            )
    todo = [m for m in migrations if m.version not in done]
    if todo and done and todo[0].version < max(done):
        raise MigrationError(
            f"migration {todo[0].label} is numbered below the already applied "
            f"{max(done):04d}: renumber it after {max(done):04d}"
        )
    return todo


def migrate(
    con: duckdb.DuckDBPyConnection,
    directory: Path | None = None,
    *,
    upto: int | None = None,
) -> list[Migration]:
    """Apply every pending migration (up to version `upto`), each in its own transaction.

    Returns the migrations applied now (empty when the warehouse was up to date).
    """
    migrations = discover(directory)
    if upto is not None:
        migrations = [m for m in migrations if m.version <= upto]
    con.execute(_BOOTSTRAP)
    applied: list[Migration] = []
    for m in pending_migrations(con, migrations):
        con.begin()
        try:
            con.execute(m.sql)
            con.execute(_RECORD, [m.version, m.name, m.sha256, now_shanghai()])
            con.commit()
        except BaseException as exc:
            con.rollback()
            if isinstance(exc, duckdb.Error):
                reason = " ".join(str(exc).split())
                raise MigrationError(f"migration {m.label} failed and was rolled back: {reason}") from exc
            raise
        applied.append(m)
    return applied
