"""Files in and out of the workbench: uploads land atomically in the inbox; downloads are
looked up by name inside one known folder, never by a path from the request."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from core.home import SHANGHAI, Home, now_shanghai

CHUNK = 1024 * 1024
SUBMISSION_SUFFIXES = (".xlsx", ".xls", ".csv", ".json")
TABLE_SUFFIXES = (".xlsx", ".xls", ".csv")
_BAD_NAME = re.compile(r"[\\/\x00-\x1f\x7f:*?\"<>|]")


class UploadRefused(ValueError):
    """An upload that cannot land; the message is for the person, in Chinese."""


def clean_name(name: str | None, suffixes: tuple[str, ...]) -> str:
    """A safe file name from what the browser sent: no folders, no control characters, no leading
    dot or ~$ (those are ignored by the readers), an allowed extension, at most 120 characters."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    base = _BAD_NAME.sub("_", base).lstrip(".~$ ")
    stem, dot, ext = base.rpartition(".")
    if not dot or f".{ext.lower()}" not in suffixes:
        raise UploadRefused(f"只接受 {'、'.join(suffixes)} 文件 (file type not accepted)")
    stem = stem[:100] or "upload"
    return f"{stem}.{ext.lower()}"


def land(folder: Path, name: str, source: BinaryIO, max_bytes: int) -> Path:
    """Write an upload into `folder` atomically: a dotfile the readers ignore, fsynced, then renamed
    into place (never over an existing file: a name taken gets the time appended). Returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    size = 0
    try:
        with tmp.open("xb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"文件超过 {max_bytes // (1024 * 1024)} MB 上限 (file too large)")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadRefused("文件是空的 (empty file)")
        target = folder / name
        if target.exists():
            stem, _, ext = name.rpartition(".")
            target = folder / f"{stem}-{now_shanghai():%Y%m%d%H%M%S}-{secrets.token_hex(2)}.{ext}"
        os.link(tmp, target)  # fails rather than replace a file that appeared meanwhile
        tmp.unlink()
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return target
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _stamp(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def town_returns(home: Home, town: str) -> list[dict]:
    """The receipts of a town's submissions, newest first, each with its return file if any."""
    folder = home.out / "returns" / town
    out = []
    if not folder.is_dir():
        return out
    for receipt in folder.glob("*.回执.json"):
        try:
            data = json.loads(receipt.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        stem = receipt.name[: -len(".回执.json")]
        workbook = folder / f"{stem}.问题.xlsx"
        out.append({
            "receipt": receipt.name, "workbook": workbook.name if workbook.exists() else None,
            "file": Path(str(data.get("file") or stem)).name, "ingested_on": data.get("ingested_on"),
            "rows_read": data.get("rows_read"), "rows_accepted": data.get("rows_accepted"),
            "rows_rejected": data.get("rows_rejected"), "rows_warned": data.get("rows_warned"),
            "cases": data.get("cases"), "error": data.get("error"), "written": _stamp(receipt),
            "mtime": receipt.stat().st_mtime,
        })
    return sorted(out, key=lambda r: r["mtime"], reverse=True)


def town_crosscheck(home: Home, town: str) -> list[dict]:
    folder = home.out / "crosscheck"
    if not folder.is_dir():
        return []
    found = [{"date": p.parent.name, "name": p.name} for p in folder.glob(f"*/{town}.核对报告.xlsx")]
    return sorted(found, key=lambda r: r["date"], reverse=True)


def pending_uploads(home: Home, town: str) -> list[str]:
    """Names in the town's inbox folder (what it has sent; the receipts say what became of them)."""
    folder = home.inbox / town
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def find_in(folder: Path, name: str, suffixes: tuple[str, ...]) -> Path | None:
    """The file `name` directly inside `folder` (no separators, no dotfiles, an allowed ending)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        return None
    if not name.endswith(suffixes):
        return None
    path = folder / name
    try:
        if path.is_symlink() or not path.is_file() or path.resolve().parent != folder.resolve():
            return None
    except OSError:
        return None
    return path


def period_folders(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name)),
                  reverse=True)


def listing(folder: Path, suffixes: tuple[str, ...]) -> list[dict]:
    if not folder.is_dir():
        return []
    return [{"name": p.name, "size": p.stat().st_size, "written": _stamp(p)}
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".") and p.name.endswith(suffixes)]
