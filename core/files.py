"""The one atomic file write: a temporary file beside the target, renamed into place.

A reader never sees half a file, a crash leaves the old file (or none) and at most a
hidden `.<name>.<random>.tmp` beside it, and every file gets the home's mode
(core.permissions: 0640; mkstemp alone would make it 0600).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.permissions import FILE_MODE

TEMP_SUFFIX = ".tmp"
TEMP_NAME_EXTRA_BYTES = len(".") + len(".XXXXXXXX") + len(TEMP_SUFFIX)  # .<name>.<8 random>.tmp


def atomic_target(path: Path) -> Path:
    """A temporary file beside `path`, with the home's file mode, for the caller to rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends, rename it into place, or remove it
    if the block raised."""
    tmp = atomic_target(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> Path:
    """`text` as UTF-8, written atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


_HASHES: dict[tuple, str] = {}
_HASHES_LOCK = threading.Lock()


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, remembered within the process while the file is unchanged.

    An ingest named each file's hash three times (the run's input digest, known or new, the read),
    and the cross-check each extract's twice: 400 MB of submissions hashed three times is 3 s of the
    municipal month. The memory is keyed by the file's identity and every stamp a write changes
    (inode, size, modification and change times: a write moves the change time, which no tool sets
    back), so a file rewritten in place is hashed again."""
    st = path.stat()
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _HASHES_LOCK:
        known = _HASHES.get(key)
    if known is not None:
        return known
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    with _HASHES_LOCK:
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]
