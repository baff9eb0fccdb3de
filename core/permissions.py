"""Who may read what in a data home: the one file-permission policy (docs/security.md).

Every file of a home may hold personal data, so none is readable by others:

* our writers run with umask 027 (`restrict_umask`): new files 0640, new folders 0750;
* files are 0640 (`FILE_MODE`); folders 0750 with the setgid bit (`DIR_MODE`), so a
  file or folder made inside takes the folder's group; the home, `out/`,
  `out/returns/` and `warehouse/` are 0751 (`PASS_MODE`): others may pass through
  them to the one folder their group may read, never list them;
* groups come from the reference settings:
  - `group_operators` owns everything by default (the warehouse, payment files,
    reports, the inbox);
  - `group_analysts` reads the analyst copy (`warehouse/analyst.duckdb`, `out/analyst/`);
  - `group_town_prefix` + a 9-digit town code reads that town's return folder
    `out/returns/<town_code>/`;
* the analyst copy's pseudonym key `warehouse/analyst.key` is the owner's alone (0600).

A group is given only when it exists on this machine and this process may give
files to it (it is a member, or root); otherwise the group is left as it is and
only the modes apply. Pure path and `os` code: no warehouse, no Prefect.
"""

from __future__ import annotations

import grp
import logging
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

log = logging.getLogger("core.permissions")

UMASK = 0o027
FILE_MODE = 0o640
DIR_MODE = 0o2750
PASS_MODE = 0o2751
PASS_THROUGH = (
    PurePosixPath("."),
    PurePosixPath("out"),
    PurePosixPath("out/returns"),
    PurePosixPath("warehouse"),
)
ANALYST_PATHS = (PurePosixPath("warehouse/analyst.duckdb"), PurePosixPath("out/analyst"))
OWNER_ONLY = (  # 0600: the analyst copy's pseudonym key; the workbench's accounts, sessions and queue
    PurePosixPath("warehouse/analyst.key"),
    PurePosixPath("warehouse/workbench.sqlite"),
    PurePosixPath("warehouse/workbench.sqlite-wal"),
    PurePosixPath("warehouse/workbench.sqlite-shm"),
)
LAYOUT = (
    "inbox",
    "registries",
    "reference",
    "out",
    "out/returns",
    "out/payments",
    "out/analyst",
    "warehouse",
)

DEFAULT_OPERATORS = "jiuzhu-operators"
DEFAULT_ANALYSTS = "jiuzhu-analysts"
DEFAULT_TOWN_PREFIX = "jiuzhu-town-"


@dataclass(frozen=True)
class Groups:
    """The group names of the policy (reference settings group_operators, group_analysts, group_town_prefix)."""

    operators: str = DEFAULT_OPERATORS
    analysts: str = DEFAULT_ANALYSTS
    town_prefix: str = DEFAULT_TOWN_PREFIX

    @classmethod
    def from_settings(cls, setting: Callable[[str, str], str | None]) -> Groups:
        return cls(
            operators=setting("group_operators", DEFAULT_OPERATORS) or DEFAULT_OPERATORS,
            analysts=setting("group_analysts", DEFAULT_ANALYSTS) or DEFAULT_ANALYSTS,
            town_prefix=setting("group_town_prefix", DEFAULT_TOWN_PREFIX) or DEFAULT_TOWN_PREFIX,
        )


def restrict_umask() -> None:
    """Our writers create nothing that others may read (umask 027, kept if already stricter)."""
    current = os.umask(UMASK)
    os.umask(current | UMASK)


def group_for(rel: PurePosixPath, groups: Groups) -> str:
    """The group that may read `rel` (a path relative to the home)."""
    if any(rel == p or p in rel.parents for p in ANALYST_PATHS):
        return groups.analysts
    parts = rel.parts
    if len(parts) >= 3 and parts[:2] == ("out", "returns") and parts[2].isdigit() and len(parts[2]) == 9:
        return groups.town_prefix + parts[2]
    return groups.operators


def mode_for(rel: PurePosixPath, is_dir: bool) -> int:
    if not is_dir:
        return 0o600 if rel in OWNER_ONLY else FILE_MODE
    return PASS_MODE if rel in PASS_THROUGH else DIR_MODE


_warned: set[tuple[str, ...]] = set()


@cache
def _gid(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def apply(root: Path, path: Path, groups: Groups) -> None:
    """Give one file or folder of the home at `root` its mode and group. Never raises for a path
    that vanished or that this process may not change (it logs instead)."""
    try:
        rel = PurePosixPath(path.relative_to(root).as_posix())
        st = path.lstat()
    except (ValueError, OSError):
        return
    if stat.S_ISLNK(st.st_mode):
        return
    is_dir = stat.S_ISDIR(st.st_mode)
    gid = _gid(group_for(rel, groups))
    try:
        if gid is not None and st.st_gid != gid:
            os.chown(path, -1, gid)
        want = mode_for(rel, is_dir)
        if stat.S_IMODE(st.st_mode) != want:
            os.chmod(path, want)
    except PermissionError as exc:
        if rel.parts[:1] not in _warned:  # once per top folder, not once per file
            _warned.add(rel.parts[:1])
            log.warning("cannot apply the file-permission policy to %s: %s", path, exc.strerror or exc)
    except FileNotFoundError:
        pass


def secure_paths(root: Path, paths: Iterable[Path], groups: Groups) -> None:
    for path in paths:
        apply(root, path, groups)


def secure_layout(root: Path, groups: Groups) -> None:
    """The home's own folders and each town's return folder (cheap: done at every flow start)."""
    root = Path(root)
    paths = [root, *(root / p for p in LAYOUT if (root / p).exists())]
    returns = root / "out" / "returns"
    if returns.is_dir():
        paths += [p for p in returns.iterdir() if p.is_dir()]
    secure_paths(root, paths, groups)


def make_town_folders(root: Path, town_codes: Iterable[str], groups: Groups) -> None:
    """Each town's return folder, made ahead so its group can be given before anything is written."""
    returns = Path(root) / "out" / "returns"
    for code in town_codes:
        (returns / code).mkdir(parents=True, exist_ok=True)
    secure_layout(root, groups)


def secure_tree(root: Path, groups: Groups) -> int:
    """Every file and folder of the home (`jiuzhu init` on an existing home, `jiuzhu restore`).
    Returns the number of paths visited."""
    root = Path(root)
    n = 0
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        apply(root, base, groups)
        n += 1
        for name in files:
            apply(root, base / name, groups)
            n += 1
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return n


def world_readable(root: Path) -> list[Path]:
    """Files under `root` that others may read or write, and folders they may list (for checks and tests)."""
    bad = []
    for folder, _dirs, files in os.walk(root):
        base = Path(folder)
        if base.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
            bad.append(base)
        for name in files:
            p = base / name
            if not p.is_symlink() and p.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
                bad.append(p)
    return bad
