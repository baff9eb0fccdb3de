"""Whole flows through Prefect (a few; most tests call functions directly)."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from core.home import SHANGHAI, Home
from warehouse.connection import open_warehouse

pytestmark = pytest.mark.flow

HEADER = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象"


def _drop(home: Home, folder: str, name: str, lines: list[str], day: int) -> None:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = datetime(2025, 3, day, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))


def test_ingest_flow_accounts_rows_notifies_once_and_is_idempotent(tmp_path, prefect_harness):
    from flows.ingest import ingest_flow

    home = Home(tmp_path).ensure()
    _drop(home, "500110001", "a.csv", [
        "GN-1,500110001,城市低保,已受理,2025-03-01,2025-03-02,张三,50011019800101001X,户主,是",
        "GN-2,500110001,城市低保,已受理,2025-03-01,2025-03-02,李四,500222194512310024,户主,是",
        "GN-3,500110002,城市低保,已受理,2025-03-01,2025-03-02,王五,11010519491231002X,户主,是",
    ], 5)
    first = ingest_flow(home=str(home.root), as_of="2025-03-05")
    assert first["rows_read"] == first["rows_accepted"] + first["rows_rejected"] == 3
    assert first["files_new"] == 1
    digests = list((home.outbox / "500110001").glob("*.md"))
    assert len(digests) == 1
    text = digests[0].read_text("utf-8")
    assert "GN-3" in text and "V02" in text
    assert "11010519491231002X" not in text and "500222194512310024" not in text

    second = ingest_flow(home=str(home.root), as_of="2025-03-05")
    assert second["files_new"] == 0 and second["files_known"] == 1
    assert len(list((home.outbox / "500110001").glob("*.md"))) == 1  # nothing new, no digest
    with open_warehouse(home, flow="test") as con:
        runs = con.execute("SELECT flow, status FROM audit.runs ORDER BY started_at").fetchall()
    assert runs == [("ingest", "completed"), ("ingest", "completed")]
