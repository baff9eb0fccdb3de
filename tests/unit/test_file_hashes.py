"""A file's SHA-256 is taken once per process while the file is unchanged, and again when it is not."""

from __future__ import annotations

import hashlib
import os
import time

from core import files
from core.files import sha256_of


def test_a_file_is_hashed_once_and_again_when_rewritten_in_place(tmp_path, monkeypatch):
    path = tmp_path / "台账.csv"
    path.write_bytes(b"a,b\n1,2\n")
    stamp = path.stat().st_mtime_ns
    opened = []
    real_open = type(path).open

    def counted_open(self, mode="r", *a, **k):
        if mode == "rb":
            opened.append(self.name)
        return real_open(self, mode, *a, **k)

    monkeypatch.setattr(type(path), "open", counted_open)
    first = sha256_of(path)
    assert first == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert sha256_of(path) == first and opened == ["台账.csv"]  # the second time from memory

    time.sleep(0.02)  # past the file system's clock tick
    path.write_bytes(b"a,b\n9,9\n")  # same size, and the modification time set back as a copy tool would
    os.utime(path, ns=(stamp, stamp))
    assert sha256_of(path) == hashlib.sha256(b"a,b\n9,9\n").hexdigest()
    assert len(opened) == 2
    assert len([k for k in files._HASHES if k[0] == str(path.resolve())]) == 2
