"""Starting `jiuzhu run ingest` from the workbench (a clerk's "立即处理", an officer's button).

One run at a time per workbench process: a second press while one runs is told so. The run
is the ordinary command in its own process (its own Prefect, its own wait for the warehouse
lock), its output in `warehouse/logs/`. Tests and the load bench pass `target` instead: a
function run on a thread.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date

from core.home import Home, now_shanghai


class IngestRunner:
    def __init__(self, home: Home, *, as_of: date | None = None, target: Callable[[], object] | None = None) -> None:
        self.home = home
        self.as_of = as_of
        self.target = target
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.last_status: str | None = None  # completed, failed

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "jiuzhu.cli", "run", "ingest", "--home", str(self.home.root)]
        if self.as_of:
            cmd += ["--as-of", self.as_of.isoformat()]
        return cmd

    def running(self) -> bool:
        with self._lock:
            return self._running()

    def _running(self) -> bool:
        if self._proc is not None:
            code = self._proc.poll()
            if code is None:
                return True
            self.last_status = "completed" if code == 0 else "failed"
            self.finished_at = self.finished_at or time.time()
            self._proc = None
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a run; False when one is already running."""
        with self._lock:
            if self._running():
                return False
            self.started_at, self.finished_at, self.last_status = time.time(), None, None
            if self.target is not None:
                self._thread = threading.Thread(target=self._run_target, name="workbench-ingest", daemon=True)
                self._thread.start()
                return True
            logs = self.home.warehouse_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            log_path = logs / f"{now_shanghai():%Y%m%dT%H%M%S}-workbench-ingest.log"
            with log_path.open("ab") as out:
                self._proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)
            return True

    def _run_target(self) -> None:
        try:
            self.target()
            self.last_status = "completed"
        except Exception:  # noqa: BLE001 - the page says it failed; the details are the run's own
            self.last_status = "failed"
        finally:
            self.finished_at = time.time()

    def wait(self, timeout: float = 600) -> str | None:
        """Wait for the current run (tests)."""
        deadline = time.time() + timeout
        while self.running() and time.time() < deadline:
            time.sleep(0.05)
        return self.last_status
