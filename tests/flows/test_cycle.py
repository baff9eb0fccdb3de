"""The district cycle as an operator runs it (issue 9): `jiuzhu run cycle` in
real processes — two started at once end as if run one after the other, and a
cycle killed mid-way and started again ends like an uninterrupted one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.home import Home
from core.reference import SHIPPED
from warehouse.connection import open_warehouse

pytestmark = pytest.mark.flow
JIUZHU = Path(sys.executable).parent / "jiuzhu"
AS_OF = "2025-01-25"  # the first close day of the synthetic year
TEST_SEED = "ab" * 32

# business tables and the columns that are about when or by which run, not what
TABLES = {
    "raw.files": {"received_at", "run_id"},
    "raw.submission_rows": set(),
    "core.case_versions": {"run_id"},
    "core.member_versions": set(),
    "checks.findings": {"first_seen_run", "last_seen_run", "notice_at"},
    "pay.batches": {"created_at", "run_id"},
    "pay.payments": {"status_changed_at"},
    "pay.holds": set(),
    "pay.recoveries": set(),
}


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    from synth import generate

    root = tmp_path_factory.mktemp("district") / "home"
    generate(root, households=40, seed=20250125)
    settings = (SHIPPED / "settings.csv").read_text(encoding="utf-8")
    settings = settings.replace("spot_check_test_seed,,", f"spot_check_test_seed,{TEST_SEED},")
    (root / "reference").mkdir(exist_ok=True)
    (root / "reference" / "settings.csv").write_text(settings, encoding="utf-8")
    return root


def _copy(district: Path, dest: Path) -> Path:
    shutil.copytree(district, dest, symlinks=True)
    return dest


def _cycle(home: Path) -> subprocess.Popen:
    env = os.environ | {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    return subprocess.Popen([str(JIUZHU), "run", "cycle", "--home", str(home), "--as-of", AS_OF],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out.decode(errors="replace")[-4000:]


def business_state(home: Path) -> dict[str, str]:
    """A digest of every business table (ordered rows, run and clock columns left out)."""
    digests = {}
    with open_warehouse(Home(home), flow="test") as con:
        for table, volatile in TABLES.items():
            rows = con.table(table).pl()
            rows = rows.drop([c for c in rows.columns if c in volatile])
            rows = rows.sort(rows.columns, nulls_last=True)
            digests[table] = hashlib.sha256(rows.write_csv().encode()).hexdigest()
    return digests


def produced_files(home: Path) -> dict[str, str]:
    """Files for people, by content (digests, Data Docs and the HTML report carry clock times, so they are
    left out; so is the analyst copy, rebuilt by every report)."""
    out = {}
    for path in sorted((home / "out").rglob("*")):
        rel = path.relative_to(home / "out").as_posix()
        if not path.is_file() or rel.startswith(("outbox/", "validation/", "analyst/")) or rel.endswith(".html"):
            continue
        data = path.read_bytes()
        if rel.endswith("manifest.json"):  # bank and sample manifests: the clock time of the first export or draw
            data = json.dumps({k: v for k, v in json.loads(data).items() if k not in ("created_at", "drawn_at")}).encode()
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def test_two_cycles_started_at_once_end_as_if_run_one_after_the_other(district, tmp_path):
    together, apart = _copy(district, tmp_path / "together"), _copy(district, tmp_path / "apart")
    first, second = _cycle(together), _cycle(together)
    _finish(first)
    _finish(second)
    _finish(_cycle(apart))
    _finish(_cycle(apart))
    state = business_state(together)
    assert state == business_state(apart)
    assert any((together / "out" / "payments").rglob("*.manifest.json"))  # the close ran and paid


def test_a_cycle_killed_mid_way_and_started_again_ends_like_an_uninterrupted_one(district, tmp_path):
    killed, whole = _copy(district, tmp_path / "killed"), _copy(district, tmp_path / "whole")
    proc = _cycle(killed)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if any((killed / "out" / "returns").rglob("*.回执.json")):  # ingest is under way
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the cycle ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    _finish(_cycle(killed))
    _finish(_cycle(whole))
    assert business_state(killed) == business_state(whole)
    assert produced_files(killed) == produced_files(whole)
