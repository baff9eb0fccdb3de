"""A temporary Prefect server for one command (the demo), started before Prefect is imported.

Without PREFECT_API_URL, Prefect starts a temporary server itself when the first flow runs:
the command then imports Prefect's server modules (3 s here) only to launch it, and waits for
it to boot (another 5 s) before any work. `jiuzhu demo` instead launches the same server
(Prefect's own `SubprocessASGIServer` command: uvicorn with `create_app`, no UI, the
ephemeral services) as soon as it starts, sets PREFECT_API_URL to it, and builds its
synthetic district while the server boots on the other core. The server keeps its runs in
PREFECT_HOME, as the temporary one does, and is stopped when the command ends (at exit, after
Prefect has sent the logs and events it still holds, as Prefect stops its own).
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path

STARTUP_TIMEOUT_S = 180.0  # as flows.runtime raises Prefect's own
_BIND_FAILED = 3  # uvicorn's exit code when the port is taken


class LocalServer:
    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._at_exit = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> str:
        """Launch the server; returns its API URL (not yet answering: `wait` for it)."""
        self.port = _free_port()
        prefect_dir = Path(find_spec("prefect").origin).parent  # without importing Prefect
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_dir.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env,
        )
        if not self._at_exit:
            atexit.register(self.stop)
            self._at_exit = True
        return self.api_url

    def wait(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Until the server answers /health. A port taken between choosing it and binding it is an
        error, not a retry elsewhere: Prefect has read PREFECT_API_URL by then (the demo imports its
        flows while the server boots)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == _BIND_FAILED:
                raise RuntimeError(f"port {self.port} was taken while the local Prefect server started: run again")
            if code is not None:
                raise RuntimeError(f"the local Prefect server exited with code {code} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the local Prefect server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
