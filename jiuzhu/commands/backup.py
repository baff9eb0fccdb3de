"""`jiuzhu backup` and `jiuzhu restore` (issue 14): a consistent copy of a data home.

A backup is one tar file (gzip-compressed when its name ends in .tar.gz or
.tgz) holding:

* `warehouse/jiuzhu.duckdb`, copied while holding the writer lock with the
  DuckDB file closed after a CHECKPOINT: no flow writes while it is read, so
  the copy is the warehouse as it was between two runs;
* the home's state: `reference/` (the overrides), `notify.yaml`, the analyst
  copy's key `warehouse/analyst.key` (without it every pseudonym of the
  analysts' copy changes), and for a synthetic home `synth.json` and
  `ground_truth.csv`;
* with `--with-out`, everything under `out/`; with `--with-inputs`, `inbox/` and
  `registries/` (modification times kept: they are the files' arrival dates);
* `MANIFEST.json`, last: the format, when and from where, the code and DuckDB
  versions, the schema version, and every file's size and SHA-256.

Everything is read under the lock, so scheduled flows wait for the backup
(their lock timeout, 600 s by default) and never see half of it. The archive
is written beside its final name and renamed into place when complete; it is
0640 like every file the home holds.

`jiuzhu restore BACKUP --home NEWDIR` restores into a new or empty folder only.
It unpacks into a temporary folder beside NEWDIR (absolute names, `..`, links
and device files are refused), checks every file against the manifest, opens
the warehouse (bringing its schema up to date), marks the runs that were in
progress when the backup was taken as crashed, and only then renames the
folder into place, with the home's file permissions. The analyst copy and the
validation Data Docs are not in a backup: the next `report` and `validate`
rebuild them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import permissions
from core.home import HOME_MARKER, SYNTH_MANIFEST, Home, code_version, now_shanghai

FORMAT = "jiuzhu-backup/1"
MANIFEST = "MANIFEST.json"
WAREHOUSE = "warehouse/jiuzhu.duckdb"
STATE = ("reference", "notify.yaml", "warehouse/analyst.key", SYNTH_MANIFEST, "ground_truth.csv")
WITH_OUT = ("out",)
WITH_INPUTS = ("inbox", "registries")
_CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]


class BackupError(ValueError):
    """A backup or restore cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    sha256: str  # of the archive itself

    def describe(self) -> str:
        return (
            f"backup written: {self.path} ({self.files} files, {self.bytes / 1e6:,.1f} MB of data; "
            f"archive sha256 {self.sha256})"
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class _Hashing:
    """A file read through tarfile, hashed on the way."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.hash.update(data)
        return data


def _files_of(home: Home, names: tuple[str, ...]) -> list[Path]:
    """The regular files under each name (a file or a folder) of the home, sorted; links are skipped."""
    found: list[Path] = []
    for name in names:
        top = home.root / name
        if top.is_symlink():
            continue
        if top.is_file():
            found.append(top)
        elif top.is_dir():
            for folder, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if not (Path(folder) / d).is_symlink())
                found += [
                    Path(folder) / f
                    for f in sorted(files)
                    if (Path(folder) / f).is_file() and not (Path(folder) / f).is_symlink()
                ]
    return found


def _target(home: Home, to: Path | None) -> Path:
    name = f"jiuzhu-backup-{home.root.name}-{now_shanghai():%Y%m%dT%H%M%S}.tar"
    target = (Path(to).expanduser() if to else Path.cwd()).resolve()
    if target.is_dir():
        target = target / name
    if target == home.root or home.root in target.parents:
        raise BackupError(f"{target} is inside the home it backs up: write the backup elsewhere (--to)")
    if target.exists():
        raise BackupError(f"{target} exists already: choose another --to")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")
    return target


def _schema_version(con) -> int:
    return con.execute("SELECT coalesce(max(version), 0) FROM audit.schema_migrations").fetchall()[0][0]


def backup(
    home: Home,
    to: Path | None = None,
    *,
    with_out: bool = False,
    with_inputs: bool = False,
    progress: Progress | None = None,
) -> BackupResult:
    """Write a backup of `home` (see the module doc); returns where and what."""
    import duckdb

    from core.accounts import AccountStore
    from warehouse.audit import record_event
    from warehouse.connection import open_warehouse

    home.check()
    if not home.warehouse.is_file():
        raise BackupError(f"no warehouse at {home.warehouse}: nothing to back up")
    target = _target(home, to)
    compress = target.name.endswith((".tar.gz", ".tgz"))
    permissions.restrict_umask()
    fd, part_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    part = Path(part_name)
    os.chmod(part, permissions.FILE_MODE)
    names = STATE + (WITH_OUT if with_out else ()) + (WITH_INPUTS if with_inputs else ())
    entries: list[dict] = []
    try:
        with (
            open_warehouse(home, flow="backup", create=False) as con,
            tarfile.open(part, "w:gz" if compress else "w", format=tarfile.PAX_FORMAT) as tar,
        ):
            record_event(
                con,
                None,
                "backup",
                {"archive": target.name, "with_out": with_out, "with_inputs": with_inputs},
            )
            schema = _schema_version(con)
            con.execute("CHECKPOINT")
            con.close()  # the file is complete and still: we keep the lock until the end
            files = [home.warehouse, *_files_of(home, names)]
            wal = home.warehouse.with_name(home.warehouse.name + ".wal")
            if wal.is_file() and wal.stat().st_size:
                files.insert(1, wal)
            # the workbench's accounts, sessions and queued actions: SQLite's own consistent copy
            store = AccountStore.for_home(home)
            if store.exists():
                store_copy = part.with_name(part.name + ".workbench")
                store.backup_to(store_copy)
                files.append((store_copy, store.path.relative_to(home.root).as_posix()))
            for n, item in enumerate(files, 1):
                path, rel = item if isinstance(item, tuple) else (item, item.relative_to(home.root).as_posix())
                info = tar.gettarinfo(str(path), arcname=rel)
                with path.open("rb") as fh:
                    reader = _Hashing(fh)
                    tar.addfile(info, reader)
                entries.append({"path": rel, "bytes": info.size, "sha256": reader.hash.hexdigest()})
                if progress:
                    progress("backup", n, len(files))
            manifest = {
                "format": FORMAT,
                "created_at": now_shanghai().isoformat(timespec="seconds"),
                "home": str(home.root),
                "host": socket.gethostname(),
                "code_version": code_version(),
                "duckdb_version": duckdb.__version__,
                "schema_version": schema,
                "includes": list(names),
                "files": entries,
            }
            data = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = (
                len(data),
                permissions.FILE_MODE,
                int(now_shanghai().timestamp()),
            )
            tar.addfile(info, io.BytesIO(data))
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        part.with_name(part.name + ".workbench").unlink(missing_ok=True)
    return BackupResult(target, len(entries), sum(e["bytes"] for e in entries), _sha256(target))


# ---------------------------------------------------------------- restore


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"the archive has no readable {MANIFEST}: not a jiuzhu backup") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"the archive's {MANIFEST} is not of format {FORMAT}")
    return manifest


def verify(folder: Path, manifest: dict) -> None:
    """Every file of the manifest present with its SHA-256, and nothing else."""
    listed = {e["path"]: e for e in manifest.get("files", [])}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    if WAREHOUSE not in listed:
        raise BackupError(f"the archive holds no {WAREHOUSE}")
    if missing := sorted(set(listed) - present):
        raise BackupError(f"the archive lacks {missing[0]} (listed in its manifest){_more(missing)}")
    if extra := sorted(present - set(listed)):
        raise BackupError(f"the archive holds {extra[0]}, which its manifest does not list{_more(extra)}")
    for rel, entry in sorted(listed.items()):
        if _sha256(folder / rel) != entry["sha256"]:
            raise BackupError(
                f"{rel} in the archive does not match its manifest (sha256): the backup is damaged"
            )


def _more(items: list) -> str:
    return f" and {len(items) - 1} more" if len(items) > 1 else ""


def restore(archive: Path, root: Path, *, progress: Progress | None = None) -> dict:
    """Restore the backup `archive` into the new or empty folder `root`; returns counts."""
    from warehouse.audit import mark_all_running_crashed, record_event
    from warehouse.connection import open_warehouse

    archive = Path(archive).expanduser().resolve()
    home = Home(Path(root).expanduser().resolve())
    if home.root.exists() and (not home.root.is_dir() or any(home.root.iterdir())):
        raise BackupError(f"{home.root} is not empty: restore only into a new or empty folder")
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    home.root.parent.mkdir(parents=True, exist_ok=True)
    permissions.restrict_umask()
    stage = Path(tempfile.mkdtemp(dir=home.root.parent, prefix=f".{home.root.name}.restore.", suffix=".tmp"))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                for n, member in enumerate(members, 1):
                    tar.extract(member, stage, filter="data")
                    if progress:
                        progress("restore", n, len(members))
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{archive} cannot be unpacked: {' '.join(str(exc).split())}") from exc
        manifest = read_manifest(stage)
        verify(stage, manifest)
        (stage / MANIFEST).unlink()
        (stage / HOME_MARKER).write_text(
            "a jiuzhu data home (SPEC §1), restored from a backup\n", encoding="utf-8"
        )
        staged = Home(stage)
        with open_warehouse(staged, flow="restore", create=False) as con:
            crashed = mark_all_running_crashed(con, "in progress when the backup was taken")
            record_event(
                con,
                None,
                "restored",
                {
                    "archive": archive.name,
                    "backup_created_at": manifest["created_at"],
                    "backup_home": manifest.get("home"),
                },
            )
        if home.root.exists():
            home.root.rmdir()
        os.rename(stage, home.root)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    home.ensure()
    permissions.secure_tree(home.root, home.groups())
    return {
        "home": str(home.root),
        "files": len(manifest["files"]),
        "backup_created_at": manifest["created_at"],
        "runs_marked_crashed": crashed,
    }
