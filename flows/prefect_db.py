"""An empty, migrated Prefect database, made once at installation and copied into a new Prefect home.

A temporary Prefect server on a new home first runs Prefect's ~200 database migrations: 12 s of
the 21 s it took to start on this machine (docs/engineering-notes.md). They are the same for
every new home of one Prefect version, so `make` runs them once, after installing
(`python -m flows.prefect_db`), into `<venv>/share/jiuzhu/prefect-<version>.db`, and the demo
starts its own Prefect home from a copy. Without the file (installed some other way) the
server migrates the new home itself, as before; nothing else changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DB_NAME = "prefect.db"  # Prefect's default SQLite database in PREFECT_HOME


def template_path() -> Path:
    from importlib.metadata import version

    return Path(sys.prefix) / "share" / "jiuzhu" / f"prefect-{version('prefect')}.db"


def make_template() -> Path:
    """Migrate an empty database in a scratch Prefect home and keep it as the template."""
    target = template_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_DATABASE")}
        env |= {"PREFECT_HOME": scratch, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        prefect = Path(sys.executable).with_name("prefect")
        subprocess.run([str(prefect), "server", "database", "upgrade", "--yes"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        staged = target.with_name(target.name + ".tmp")
        shutil.copyfile(Path(scratch) / DB_NAME, staged)
        staged.replace(target)
    return target


def seed_prefect_home(prefect_home: Path) -> bool:
    """Start a new Prefect home from the migrated template; False (nothing done) when the home
    has a database already or no template was made."""
    db, template = prefect_home / DB_NAME, template_path()
    if db.exists() or not template.is_file():
        return False
    prefect_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, db)
    return True


if __name__ == "__main__":
    print(f"migrated Prefect database template: {make_template()}")
