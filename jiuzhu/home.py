"""The data home (SPEC §1): one folder holds everything a deployment owns.

Paths and the clock live here and nowhere else. The home is `--home`, else
`JIUZHU_HOME`, else `./jiuzhu-data`. Every date taken from the clock is in
Asia/Shanghai, and `as_of` stands in for today so runs are reproducible.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOME = "jiuzhu-data"


def now_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


def today_shanghai(as_of: date | None = None) -> date:
    """Today in Asia/Shanghai, or the `--as-of` date standing in for it."""
    return as_of if as_of is not None else now_shanghai().date()


def parse_as_of(text: str | None) -> date | None:
    if text is None or text == "":
        return None
    return date.fromisoformat(text)


def parse_period(text: str) -> tuple[int, int]:
    """'YYYY-MM' -> (year, month); raises ValueError with the bad text."""
    try:
        year, month = text.split("-")
        y, m = int(year), int(month)
    except ValueError as exc:
        raise ValueError(f"period must be YYYY-MM, got {text!r}") from exc
    if not (1 <= m <= 12) or len(year) != 4 or len(month) != 2:
        raise ValueError(f"period must be YYYY-MM, got {text!r}")
    return y, m


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

    def ensure(self) -> Home:
        for path in (self.inbox, self.registries, self.reference, self.out, self.warehouse_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self


def code_version() -> str:
    """The package version plus the git commit when run from a checkout."""
    from jiuzhu import __version__

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
