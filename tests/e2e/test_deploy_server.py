"""A real Prefect server on 127.0.0.1: deploy from prefect.yaml, trigger a run
through the API, a process worker runs it, and the run completes (issue 9)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.home import Home

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.flow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback only
        return json.loads(r.read() or b"null")


def _post(url: str, body: dict):
    """POST, asking again while the server answers 503 (its SQLite busy on a loaded machine)."""
    for attempt in range(6):
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback only
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == 5:
                raise
            time.sleep(2)
    return None


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    env = os.environ.copy()
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_CLI_PROMPT": "false",
        "JIUZHU_REPO": str(REPO),
        "JIUZHU_HOME": str(tmp_path / "home"),
    })
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/api/health") is True:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("prefect server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
            time.sleep(1)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_deploy_from_prefect_yaml_and_run_through_the_api(prefect_server, tmp_path):
    env = prefect_server
    api = env["PREFECT_API_URL"]

    def cli(*args, timeout=300):
        done = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done.stdout

    cli("work-pool", "create", "jiuzhu", "--type", "process")
    cli("deploy", "--all")
    deployments = _post(f"{api}/deployments/filter", {})
    names = {d["name"] for d in deployments}
    assert {"ingest", "crosscheck", "close-month", "sample", "report", "cycle", "reference"} <= names
    ingest = next(d for d in deployments if d["name"] == "ingest")
    assert ingest["schedules"][0]["schedule"]["timezone"] == "Asia/Shanghai"

    reference = next(d for d in deployments if d["name"] == "reference")
    Home(tmp_path / "home").ensure()  # a flow run against a missing home is refused (jiuzhu init makes one)
    run = _post(f"{api}/deployments/{reference['id']}/create_flow_run",
                {"parameters": {"home": str(tmp_path / "home")}})
    worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "jiuzhu", "--type", "process"],
                              env=env, cwd=REPO, stdout=(tmp_path / "worker.log").open("w"),
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        state = None
        while time.monotonic() < deadline:
            state = _get(f"{api}/flow_runs/{run['id']}")["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-3000:]
    assert (tmp_path / "home" / "warehouse" / "jiuzhu.duckdb").exists()

    # `jiuzhu serve` now would take the worker's deployments over and drop their pull steps:
    # it refuses in one line and serves nothing
    served = subprocess.run([str(BIN / "jiuzhu"), "serve", "--home", str(tmp_path / "home")], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines()[-1].startswith("jiuzhu: these deployments were registered by "
                                                             "`prefect deploy` for a worker: ingest/ingest")
    assert _get(f"{api}/deployments/{reference['id']}")["pull_steps"]  # untouched
