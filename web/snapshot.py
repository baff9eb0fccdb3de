"""What the workbench reads: an unmasked copy of the warehouse, taken whenever the warehouse
is free and has changed (docs/workbench.md).

DuckDB 2 lets nobody open the warehouse while a flow writes it, not even read-only, and
the analyst copy is masked. So the workbench copies `warehouse/jiuzhu.duckdb` (and a WAL
left beside it) under the jiuzhu writer lock, with no writer inside, into
`warehouse/workbench/snapshot-<n>.duckdb`, opens that read-only, and serves every page
from it; pages say "数据截至 <time of the copy>". A background thread takes a new copy
when the warehouse file changed and the lock is free (never waiting for it); an officer's
action that was applied takes one at once. Each copy is a new file: DuckDB caches open
databases by path, and readers of the previous copy finish on it (it is closed and
removed after a grace period). The snapshot sits beside the warehouse, under the same
file permissions: it is the warehouse's data, never the towns'.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from core.files import write_text_atomic
from core.home import SHANGHAI, Home

log = logging.getLogger("jiuzhu.web.snapshot")

FOLDER = "workbench"
META = "snapshot.json"
GRACE_S = 120.0  # an older copy stays open this long for the requests still reading it


@dataclass
class Snapshot:
    generation: int
    path: Path
    taken_at: float  # wall clock of the copy
    source_mtime: float  # the warehouse file's mtime when copied
    con: duckdb.DuckDBPyConnection

    @property
    def taken_label(self) -> str:
        return datetime.fromtimestamp(self.taken_at, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


class Snapshots:
    """The current snapshot and its refreshes. Thread-safe: each request takes `reader()`."""

    def __init__(self, home: Home, *, min_interval_s: float = 10.0, memory_limit: str = "1GB") -> None:
        self.home = home
        self.folder = home.warehouse_dir / FOLDER
        self.min_interval_s = min_interval_s
        self.memory_limit = memory_limit
        self._current: Snapshot | None = None
        self._retired: list[tuple[float, Snapshot]] = []
        self._lock = threading.RLock()  # one refresh (or one apply of the queue: `exclusive`) at a time
        self._swap = threading.Lock()
        self._last_try = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0

    # ---- reading

    @property
    def current(self) -> Snapshot | None:
        return self._current

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A cursor on the current copy for this thread (None when there is no copy yet)."""
        snap = self._current
        if snap is None:
            yield None
            return
        cur = snap.con.cursor()
        try:
            yield cur
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.close()

    # ---- refreshing

    def exclusive(self) -> threading.RLock:
        """Held while this process uses the warehouse lock (a copy, an apply of the queue), so the
        workbench never makes itself wait."""
        return self._lock

    def load_existing(self) -> bool:
        """At start: serve the newest copy left by an earlier run of the workbench, if any."""
        try:
            meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
            path = self.folder / meta["file"]
            if not path.is_file():
                return False
            self._install(Snapshot(int(meta["generation"]), path, float(meta["taken_at"]),
                                   float(meta["source_mtime"]), self._open(path)))
            return True
        except (OSError, ValueError, KeyError, duckdb.Error):
            return False

    def _open(self, path: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=True)
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET memory_limit = ?", [self.memory_limit])
        return con

    def stale(self) -> bool:
        try:
            mtime = self.home.warehouse.stat().st_mtime
        except OSError:
            return False
        snap = self._current
        return snap is None or mtime > snap.source_mtime

    def refresh(self, *, force: bool = False) -> bool:
        """Copy the warehouse when it changed (or `force`) and the writer lock is free right now.
        Returns True when a new copy is being served. Never waits for a flow."""
        from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse, read_holder

        if not self.home.warehouse.exists():
            return False
        if not force and (read_holder(self.home) or {}).get("mode") == "write":
            return False  # a flow writes: do not even ask (and log) for the lock
        now = time.time()
        if not force and (not self.stale() or now - self._last_try < self.min_interval_s):
            return False
        if not self._lock.acquire(blocking=force):
            return False
        try:
            self._last_try = now
            if not force and not self.stale():
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            generation = (self._current.generation + 1) if self._current else int(now * 1000)
            target = self.folder / f"snapshot-{generation}.duckdb"
            tmp = self.folder / f".snapshot-{generation}.duckdb.tmp"
            try:
                # a read-only open under the lock: no jiuzhu writer is inside while we copy
                with open_warehouse(self.home, flow="workbench-snapshot", read_only=True,
                                    timeout=1.0 if force else 0):
                    mtime = self.home.warehouse.stat().st_mtime
                    shutil.copyfile(self.home.warehouse, tmp)
                    wal = self.home.warehouse.with_name(self.home.warehouse.name + ".wal")
                    if wal.exists():
                        shutil.copyfile(wal, tmp.with_name(target.name + ".wal"))
            except (WarehouseBusy, WarehouseMissing):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                return False
            os.replace(tmp, target)
            snap = Snapshot(generation, target, time.time(), mtime, self._open(target))
            self._install(snap)
            write_text_atomic(self.folder / META, json.dumps({"generation": generation, "file": target.name,
                                                              "taken_at": snap.taken_at, "source_mtime": mtime}))
            self.refreshes += 1
            log.info("snapshot %s taken", generation)
            return True
        finally:
            self._lock.release()

    def _install(self, snap: Snapshot) -> None:
        with self._swap:
            old, self._current = self._current, snap
            if old is not None:
                self._retired.append((time.time(), old))
            self._close_retired()

    def _close_retired(self, *, everything: bool = False) -> None:
        keep = []
        for since, snap in self._retired:
            if everything or time.time() - since > GRACE_S:
                with contextlib.suppress(duckdb.Error):
                    snap.con.close()
                for p in (snap.path, snap.path.with_name(snap.path.name + ".wal")):
                    with contextlib.suppress(OSError):
                        p.unlink()
            else:
                keep.append((since, snap))
        self._retired = keep
        # copies of earlier workbench processes
        if self.folder.is_dir():
            live = {s.path.name for _t, s in self._retired} | ({self._current.path.name} if self._current else set())
            for p in self.folder.glob("snapshot-*.duckdb*"):
                if p.name.split(".duckdb")[0] + ".duckdb" not in live:
                    with contextlib.suppress(OSError):
                        p.unlink()

    def tidy(self) -> None:
        """Close and remove copies past their grace period (never while a refresh is writing one)."""
        if self._lock.acquire(blocking=False):
            try:
                with self._swap:
                    self._close_retired()
            finally:
                self._lock.release()

    # ---- background

    def start(self, interval_s: float = 3.0, also: Callable[[], None] | None = None) -> None:
        """Refresh in the background every `interval_s` (and call `also` first: the queue)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    if also is not None:
                        also()
                    self.refresh()
                    self.tidy()
                except Exception:  # noqa: BLE001 - the refresher must outlive a bad moment
                    log.warning("snapshot refresh failed", exc_info=False)

        self._thread = threading.Thread(target=loop, name="workbench-snapshot", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._swap:
            if self._current is not None:
                with contextlib.suppress(duckdb.Error):
                    self._current.con.close()
            self._close_retired(everything=True)
