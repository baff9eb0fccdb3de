"""Opening the warehouse: one user at a time, always migrated (SPEC §1, §7).

DuckDB 2 lets one process hold the file for writing, and then nobody else may
open it, not even read-only. So every caller, writer or reader, first takes an
exclusive OS lock on `<warehouse>.lock` (the `filelock` package) and waits for
it up to a timeout (reference setting `warehouse_lock_timeout_seconds`). While
it waits it logs one line naming the holder, read from the sidecar
`<warehouse>.lock.json` (pid, flow, since, host) that each holder writes. When
the wait runs out it raises `WarehouseBusy` with a one-line reason. The
connection is closed before the lock is released.

    with open_warehouse(home, flow="ingest") as con:
        con.execute(...)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from core import permissions
from core.files import write_text_atomic
from core.home import Home, now_shanghai
from core.reference import Reference, ReferenceError, load_reference
from warehouse.audit import mark_crashed_runs, other_live_runs, record_event
from warehouse.migrate import migrate, pending_migrations

log = logging.getLogger("jiuzhu.warehouse")

TIMEOUT_SETTING = "warehouse_lock_timeout_seconds"
DEFAULT_TIMEOUT_SECONDS = 600  # used only when the settings table lacks the key
_DUCKDB_RETRY_SECONDS = 0.5
_DUCKDB_LOCK_MESSAGE = re.compile(r"Could not set lock on file", re.IGNORECASE)
TEMP_GRACE_SECONDS = 3600  # while another run is live, a temporary file this old is still a leftover

# warehouses open in a thread of this process: (path, thread id) -> flow
_held: dict[tuple[str, int], str] = {}
_held_guard = threading.Lock()
# warehouses this process keeps open across its steps (`hold_warehouse`): path -> the hold
_holds: dict[str, _Hold] = {}
# warehouses this process has already cleaned up after killed writers
_recovered: set[str] = set()


class WarehouseBusy(TimeoutError):
    """Another process holds the warehouse and the wait ran out; the message says who."""


class WarehouseMissing(FileNotFoundError):
    """A read-only open (or one with create=False) found no warehouse."""


def lock_path(home: Home) -> Path:
    return home.warehouse.with_name(home.warehouse.name + ".lock")


def holder_path(home: Home) -> Path:
    return home.warehouse.with_name(home.warehouse.name + ".lock.json")


def read_holder(home: Home) -> dict | None:
    """Who holds (or last held) the warehouse lock, from the sidecar; None when unknown."""
    try:
        info = json.loads(holder_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def describe_holder(info: dict | None) -> str:
    if not info:
        return "held by another process (no holder record)"
    return (
        f"held by flow {info.get('flow')!r} (pid {info.get('pid')} on {info.get('host')}, "
        f"{info.get('mode', 'write')}, since {info.get('since')})"
    )


def lock_timeout(home: Home, ref: Reference | None = None) -> float:
    """The configured wait, in seconds, from the reference settings of this home."""
    ref = ref if ref is not None else load_reference(home.reference)
    return float(ref.setting_int(TIMEOUT_SETTING, DEFAULT_TIMEOUT_SECONDS))


def _write_holder(home: Home, info: dict) -> None:
    path = holder_path(home)
    write_text_atomic(path, json.dumps(info, ensure_ascii=False))


def _clear_holder(home: Home, token: str) -> None:
    info = read_holder(home)
    if info and info.get("token") == token:
        with contextlib.suppress(OSError):
            holder_path(home).unlink()


def _remaining(deadline: float) -> float:
    if math.isinf(deadline):
        return -1  # filelock: wait forever
    return max(0.0, deadline - time.monotonic())


def _connect(home: Home, read_only: bool, deadline: float, flow: str) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting while a program outside jiuzhu holds DuckDB's own lock."""
    while True:
        try:
            con = duckdb.connect(str(home.warehouse), read_only=read_only)
            con.execute("SET TimeZone = 'Asia/Shanghai'")
            return con
        except duckdb.IOException as exc:
            if not _DUCKDB_LOCK_MESSAGE.search(str(exc)):
                raise
            if time.monotonic() >= deadline:
                pid = re.search(r"PID (\d+)", str(exc))
                who = f"pid {pid.group(1)}" if pid else "another program"
                raise WarehouseBusy(
                    f"warehouse {home.warehouse} is busy: {who} has the DuckDB file open outside jiuzhu; "
                    f"flow {flow!r} gave up waiting"
                ) from None
            time.sleep(min(_DUCKDB_RETRY_SECONDS, max(0.01, deadline - time.monotonic())))


def _open_migrated(home: Home, read_only: bool, deadline: float, flow: str) -> duckdb.DuckDBPyConnection:
    if not read_only:
        con = _connect(home, False, deadline, flow)
        try:
            migrate(con)
        except BaseException:
            con.close()
            raise
        return con
    con = _connect(home, True, deadline, flow)
    try:
        todo = pending_migrations(con)
    except BaseException:
        con.close()
        raise
    if not todo:
        return con
    # an older warehouse opened by a reader: upgrade it in place (we hold the lock), then reopen
    con.close()
    writer = _connect(home, False, deadline, flow)
    try:
        migrate(writer)
    finally:
        writer.close()
    return _connect(home, True, deadline, flow)


class _Hold:
    """A warehouse kept open (and locked) by this process across several opens: each open is a
    new connection to the held database (`cursor()`: no file to read, nothing to migrate, no
    checkpoint on close). A fatal DuckDB error invalidates the database; the next open then
    opens the file afresh, as an open outside a hold would."""

    def __init__(self, home: Home, anchor: duckdb.DuckDBPyConnection, flow: str) -> None:
        self.home, self.anchor, self.flow = home, anchor, flow
        self.broken = False
        self.reopened: list[duckdb.DuckDBPyConnection] = []

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self.broken:
            with contextlib.suppress(duckdb.Error):
                self.anchor.close()
            self.anchor = _open_migrated(self.home, False, time.monotonic() + 60, self.flow)
            self.reopened.append(self.anchor)
            self.broken = False
        con = self.anchor.cursor()
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        return con


def _open_within(hold: _Hold, mine: tuple[str, int], flow: str, ref: Reference | None) -> Iterator[
        duckdb.DuckDBPyConnection]:
    """`open_warehouse` inside a hold: a connection to the held database (read-only asked or not:
    DuckDB opens one file one way per process; the hold already has the lock and the migrations)."""
    with _held_guard:
        _held[mine] = flow
    con = None
    try:
        con = hold.connect()
        yield con
    except (duckdb.FatalException, duckdb.InternalException):
        hold.broken = True
        raise
    finally:
        try:
            if con is not None:
                con.close()  # an open transaction is rolled back here
                secure_warehouse_files(hold.home, ref)
        finally:
            with _held_guard:
                _held.pop(mine, None)


@contextlib.contextmanager
def hold_warehouse(home: Home, *, flow: str, timeout: float | None = None,
                   ref: Reference | None = None) -> Iterator[None]:
    """Keep the warehouse open and locked while a run of several steps (the cycle) works on it.

    Every `open_warehouse` of this process inside it, from any thread, is a new connection to the
    held database: a district cycle opened the file about 30 times, and each open read the
    catalogue, checked the migrations and checkpointed on close (~60 ms each; 25 s of the demo).
    Other processes wait for the whole run instead of slipping in between its steps (the
    workbench queues officers' actions and copies its snapshot after). Nested holds are one hold.
    """
    key = str(home.warehouse)
    if key in _holds:
        yield
        return
    with open_warehouse(home, flow=flow, timeout=timeout, ref=ref) as anchor:
        with _held_guard:
            _held.pop((key, threading.get_ident()), None)  # the steps of this thread open it too
        hold = _Hold(home, anchor, flow)
        _holds[key] = hold
        try:
            yield
        finally:
            del _holds[key]
            for con in hold.reopened:
                with contextlib.suppress(duckdb.Error):
                    con.close()


def _warehouse_files(home: Home) -> list[Path]:
    w = home.warehouse
    return [w, w.with_name(w.name + ".wal"), lock_path(home), holder_path(home), home.analyst]


def secure_warehouse_files(home: Home, ref: Reference | None = None) -> None:
    """The file-permission policy on the warehouse, its lock files and the analyst copy."""
    try:
        groups = permissions.Groups.from_settings((ref or load_reference(home.reference)).setting)
    except ReferenceError:  # a bad override is reported by whoever uses it; the modes still apply
        groups = permissions.Groups()
    with contextlib.suppress(OSError):
        permissions.secure_paths(home.root, [p for p in _warehouse_files(home) if p.exists()], groups)


def recover_after_crash(home: Home, con: duckdb.DuckDBPyConnection, stale_holder: dict | None) -> dict:
    """What killed writers left: crashed runs marked, temporary files removed (we hold the write lock)."""
    crashed = mark_crashed_runs(con)
    for run_id, flow, pid in crashed:
        log.warning("run %s of flow %r (pid %s) ended without finishing: marked crashed", run_id[:12], flow, pid)
    if stale_holder:
        log.warning("the last holder of warehouse %s ended without releasing it: %s", home.warehouse,
                    describe_holder(stale_holder))
    key = str(home.warehouse)
    removed: list[Path] = []
    if crashed or stale_holder or key not in _recovered:
        _recovered.add(key)
        others = other_live_runs(con)
        for path in home.temp_files(older_than=TEMP_GRACE_SECONDS if others else None):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
        if removed:  # names of town files may hold personal names: counts and folders only
            folders = sorted({p.parent.relative_to(home.root).as_posix() for p in removed})
            log.warning("removed %d temporary file(s) left by killed writers in %s", len(removed),
                        ", ".join(folders))
    if crashed or removed:
        record_event(con, None, "crash_recovery", {"crashed_runs": [r for r, _f, _p in crashed],
                                                    "temp_files_removed": len(removed)})
    return {"crashed_runs": len(crashed), "temp_files_removed": len(removed)}


@contextlib.contextmanager
def open_warehouse(
    home: Home,
    *,
    flow: str,
    timeout: float | None = None,
    read_only: bool = False,
    ref: Reference | None = None,
    create: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection to `home.warehouse`, holding the warehouse lock while open.

    `flow` names the holder for whoever has to wait. `timeout` is the wait in
    seconds (None: the reference setting; 0: do not wait; negative: forever).
    `read_only` opens DuckDB read-only (still under the lock: DuckDB 2 lets
    nobody in while a writer has the file); a reader on a missing warehouse
    raises `WarehouseMissing`, on an older one upgrades it first. `ref` saves
    re-reading the reference tables for the timeout. `create=False` refuses to
    create a missing warehouse (`WarehouseMissing`); flows and commands check the
    home itself first (`Home.require`), so only `jiuzhu init`, the demo and tests
    create one.
    """
    if timeout is None:
        ref = ref if ref is not None else load_reference(home.reference)
        timeout = lock_timeout(home, ref)
    if read_only and not home.warehouse.exists():
        raise WarehouseMissing(f"no warehouse at {home.warehouse} yet: run a flow first")
    if not create and not home.warehouse.exists():
        raise WarehouseMissing(f"no warehouse at {home.warehouse}: create the home with `jiuzhu init`")
    permissions.restrict_umask()
    home.warehouse_dir.mkdir(parents=True, exist_ok=True)
    key = str(home.warehouse)
    mine = (key, threading.get_ident())
    with _held_guard:
        if mine in _held:
            raise RuntimeError(
                f"warehouse {home.warehouse} is already open in this thread (flow {_held[mine]!r}): "
                "pass that connection on instead of opening it again"
            )
    hold = _holds.get(key)
    if hold is not None:
        yield from _open_within(hold, mine, flow, ref)
        return

    started = time.monotonic()
    deadline = math.inf if timeout < 0 else started + timeout
    lock = FileLock(lock_path(home), thread_local=False, mode=permissions.FILE_MODE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        wait_text = "indefinitely" if timeout < 0 else f"up to {timeout:g} s"
        log.warning(
            "warehouse %s is busy: %s; flow %r waits %s",
            home.warehouse,
            describe_holder(read_holder(home)),
            flow,
            wait_text,
        )
        try:
            lock.acquire(timeout=_remaining(deadline))
        except Timeout:
            raise WarehouseBusy(
                f"warehouse {home.warehouse} is busy: {describe_holder(read_holder(home))}; "
                f"flow {flow!r} gave up after {time.monotonic() - started:.0f} s"
            ) from None

    token = uuid.uuid4().hex
    con: duckdb.DuckDBPyConnection | None = None
    stale_holder = read_holder(home)  # we hold the lock: a record left means its holder was killed
    try:
        _write_holder(
            home,
            {
                "pid": os.getpid(),
                "flow": flow,
                "since": now_shanghai().isoformat(timespec="seconds"),
                "host": socket.gethostname(),
                "mode": "read" if read_only else "write",
                "token": token,
            },
        )
        with _held_guard:
            _held[mine] = flow
        con = _open_migrated(home, read_only, deadline, flow)
        if not read_only:
            recover_after_crash(home, con, stale_holder)
        secure_warehouse_files(home, ref)
        yield con
    finally:
        try:
            if con is not None:
                con.close()  # an open transaction is rolled back here
                secure_warehouse_files(home, ref)  # a rebuilt analyst copy gets its group
        finally:
            with _held_guard:
                _held.pop(mine, None)
            _clear_holder(home, token)
            lock.release()
