"""The data home (SPEC §1): one folder holds everything a deployment owns.

Paths and the clock live here and nowhere else. The home is `--home`, else
`JIUZHU_HOME`, else `./jiuzhu-data`. Every date taken from the clock is in
Asia/Shanghai, and `as_of` stands in for today so runs are reproducible.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOME = "jiuzhu-data"
HOME_MARKER = ".jiuzhu-home"  # written when a home is created on purpose (`jiuzhu init`, the demo, tests)
SYNTH_MANIFEST = "synth.json"  # `jiuzhu synth` creates its home too

# Names of the temporary files our writers create before renaming into place
# (publish/files.py and the other `mkstemp(prefix=".<name>.", suffix=".tmp")`
# writers, the analyst copy with its DuckDB WAL and Parquet parts, the lock
# holder record of warehouse/connection.py). Only these are ever swept.
TEMP_NAMES = (
    re.compile(r"^\..+\.[a-z0-9_]{8}(\.parquet)?\.tmp(\.wal)?$"),
    re.compile(r"^.+\.lock\.json\.\d+\.tmp$"),
)

class HomeMissing(FileNotFoundError):
    """The data home does not exist (no warehouse, not created by `jiuzhu init`); the message says what to do."""


def now_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


def today_shanghai(as_of: date | None = None) -> date:
    """Today in Asia/Shanghai, or the `--as-of` date standing in for it."""
    return as_of if as_of is not None else now_shanghai().date()


def parse_as_of(text: str | None) -> date | None:
    if text is None or text == "":
        return None
    return date.fromisoformat(text)


@dataclass(frozen=True)
class Home:
    """Every path of a data home."""

    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> Home:
        chosen = home or os.environ.get("JIUZHU_HOME") or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def bank_inbox(self) -> Path:
        return self.inbox / "bank"

    @property
    def inspections_inbox(self) -> Path:
        return self.inbox / "inspections"

    @property
    def registries(self) -> Path:
        return self.root / "registries"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def outbox(self) -> Path:
        return self.out / "outbox"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "jiuzhu.duckdb"

    @property
    def analyst(self) -> Path:
        return self.warehouse_dir / "analyst.duckdb"

    @property
    def notify_yaml(self) -> Path:
        return self.root / "notify.yaml"

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth.csv"

    @property
    def marker(self) -> Path:
        return self.root / HOME_MARKER

    def is_home(self) -> bool:
        """A data home: created on purpose (the marker), by `jiuzhu synth`, or holding a warehouse."""
        return self.marker.is_file() or self.warehouse.is_file() or (self.root / SYNTH_MANIFEST).is_file()

    def ensure(self) -> Home:
        """Create this home on purpose (folders and marker; `jiuzhu init`, the demo, tests), with its permissions."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.marker.exists():
            self.marker.write_text("a jiuzhu data home (SPEC §1)\n", encoding="utf-8")
        return self._layout()

    def check(self) -> Home:
        """Raise `HomeMissing` unless this is a data home (touches nothing)."""
        if not self.is_home():
            raise HomeMissing(
                f"no data home at {self.root} (no warehouse there, not made by `jiuzhu init`): "
                f"check --home / JIUZHU_HOME, or create it with `jiuzhu init --home {self.root}`"
            )
        return self

    def require(self) -> Home:
        """This home, which must exist: a flow run against a missing home (a typo in --home) fails here.
        Its standard folders are made if missing, with their permissions."""
        return self.check()._layout()

    def _layout(self) -> Home:
        """The standard folders, the payment, analyst and each town's return folder (so each has
        its group before anything is written in it), and the file-permission policy on them
        (core/permissions.py)."""
        from core import permissions
        from core.reference import load_reference

        permissions.restrict_umask()
        for path in (self.inbox, self.registries, self.reference, self.out, self.warehouse_dir,
                     self.out / "payments", self.out / "analyst"):
            path.mkdir(parents=True, exist_ok=True)
        ref = load_reference(self.reference)
        permissions.make_town_folders(self.root, ref.town_codes, permissions.Groups.from_settings(ref.setting))
        return self

    def groups(self):
        """The file-permission groups of this home (reference settings; docs/security.md)."""
        from core import permissions
        from core.reference import load_reference

        return permissions.Groups.from_settings(load_reference(self.reference).setting)

    def temp_files(self, *, older_than: float | None = None) -> list[Path]:
        """Our writers' temporary files under out/ and warehouse/ (optionally only those
        untouched for `older_than` seconds): what a killed writer leaves behind."""
        cutoff = None if older_than is None else time.time() - older_than
        found = []
        for top in (self.out, self.warehouse_dir):
            for folder, _dirs, files in os.walk(top):
                for name in files:
                    if not any(p.match(name) for p in TEMP_NAMES):
                        continue
                    path = Path(folder) / name
                    try:
                        if cutoff is not None and path.stat().st_mtime > cutoff:
                            continue
                    except OSError:
                        continue
                    found.append(path)
        return sorted(found)


def code_version() -> str:
    """The package version plus the git commit when run from a checkout."""
    from core import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__
