"""The demo's temporary Prefect server: started before Prefect is imported, answers, records runs, stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from flows.local_server import LocalServer
from flows.prefect_db import seed_prefect_home

REPO = Path(__file__).resolve().parents[2]

FLOW = """
import flows  # the runtime defaults
from prefect import flow

@flow(name="hello-local-server")
def hello():
    return 41 + 1

print(hello())
"""


def test_a_local_server_answers_records_a_flow_run_and_stops(tmp_path, monkeypatch):
    prefect_home = tmp_path / "prefect"
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    seed_prefect_home(prefect_home)  # as the demo does (a fresh home migrates itself otherwise)
    server = LocalServer()
    url = server.start()
    try:
        server.wait()
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
        env = {**os.environ, "PREFECT_API_URL": url, "PREFECT_UI_URL": ""}
        ran = subprocess.run([sys.executable, "-c", FLOW], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=300)
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert ran.stdout.strip().endswith("42")
        assert "View at" not in ran.stderr  # no links to a server without a UI
        request = urllib.request.Request(f"{url}/flow_runs/filter", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            runs = json.loads(response.read())
        assert [r["state_type"] for r in runs] == ["COMPLETED"]
    finally:
        server.stop()
    assert server.process.poll() is not None  # stopped, nothing left behind
    assert (prefect_home / "prefect.db").exists()  # the runs stay in the Prefect home
