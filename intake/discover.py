"""Finding town submissions in the inbox (SPEC §1–2).

`inbox/<town_code>/` is read recursively. Temporary files (`~$*`), dotfiles
and anything behind a symlink are ignored; a folder that is not one of the 21
town codes is reported (its files are still read, and every case fails V02).
A file counts as arrived on the Shanghai date of its modification time, and a
run with `--as-of D` sees only files arrived on or before D.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from core.home import SHANGHAI, Home

SPECIAL_FOLDERS = ("bank", "inspections")
SUBMISSION_SUFFIXES = (".xlsx", ".xls", ".csv", ".json")


@dataclass(frozen=True)
class Candidate:
    path: Path
    folder: str
    rel_path: str
    size: int
    modified_at: datetime
    arrived_on: date

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Discovery:
    candidates: list[Candidate]
    ignored: list[str]  # home-relative paths of temp files, dotfiles, symlinks
    unknown_folders: list[str]  # inbox folders that are not one of the 21 towns
    not_yet_arrived: int  # files modified after the as-of date


def _ignored(name: str) -> bool:
    return name.startswith("~$") or name.startswith(".")


def discover(home: Home, town_codes: set[str] | frozenset[str], as_of: date) -> Discovery:
    found, ignored, unknown, later = [], [], [], 0
    if not home.inbox.is_dir():
        return Discovery([], [], [], 0)
    for folder in sorted(p for p in home.inbox.iterdir()):
        if folder.name in SPECIAL_FOLDERS:
            continue
        rel_folder = folder.relative_to(home.root).as_posix()
        if folder.is_symlink() or _ignored(folder.name):
            ignored.append(rel_folder)
            continue
        if not folder.is_dir():
            ignored.append(rel_folder)
            continue
        if folder.name not in town_codes:
            unknown.append(folder.name)
        arrived, skipped, not_yet = walk_arrivals(home, folder, folder.name, as_of)
        found += arrived
        ignored += skipped
        later += not_yet
    found.sort(key=lambda c: (c.modified_at, c.name, c.rel_path))
    return Discovery(found, ignored, unknown, later)


def walk_arrivals(
    home: Home, root: Path, folder: str, as_of: date, suffixes: tuple[str, ...] | None = None
) -> tuple[list[Candidate], list[str], int]:
    """Files under `root` (recursively) arrived by `as_of`, in arrival order; the
    home-relative paths ignored (temporary files, dotfiles, symlinks, other
    suffixes); and how many have not arrived yet."""
    found: list[Candidate] = []
    ignored: list[str] = []
    later = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if _ignored(d) or (here / d).is_symlink():
                ignored.append((here / d).relative_to(home.root).as_posix())
                dirnames.remove(d)
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(home.root).as_posix()
            wrong_kind = suffixes is not None and path.suffix.lower() not in suffixes
            if _ignored(name) or path.is_symlink() or not path.is_file() or wrong_kind:
                ignored.append(rel)
                continue
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, SHANGHAI)
            if modified.date() > as_of:
                later += 1
                continue
            found.append(Candidate(path, folder, rel, stat.st_size, modified, modified.date()))
    found.sort(key=lambda c: (c.modified_at, c.name, c.rel_path))
    return found, ignored, later


def candidate_fields(c: Candidate) -> dict:
    """A candidate as plain values (what a Prefect task may take as arguments)."""
    return {"folder": c.folder, "rel_path": c.rel_path, "size": c.size,
            "modified_at": c.modified_at.isoformat(), "arrived_on": c.arrived_on.isoformat()}


def candidate_from_fields(home: Home, info: dict) -> Candidate:
    return Candidate(home.root / info["rel_path"], info["folder"], info["rel_path"], info["size"],
                     datetime.fromisoformat(info["modified_at"]), date.fromisoformat(info["arrived_on"]))
