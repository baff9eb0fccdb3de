"""Scale-out smoke test: ingest with the parse-only work on Prefect's Dask task
runner (a local cluster of worker processes) ends exactly as the one-process
ingest: same versions, rows, findings and return files."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from core.home import SHANGHAI, Home
from warehouse.connection import open_warehouse

pytestmark = pytest.mark.flow

HEADER = "案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,姓名,身份证号,与户主关系,是否保障对象,月收入"

FILES = {
    ("500110001", "三月.csv", 3): [
        "DK-1,500110001,城市低保,已受理,2025-03-01,2025-03-02,张三,50011019800101001X,户主,是,300",
        "DK-1,500110001,城市低保,已受理,2025-03-01,2025-03-02,张小,500110201001010016,子女,是,0",
        "DK-2,500110001,城市低保,已受理,2025-03-01,2025-03-02,李四,500222194512310024,户主,是,0",
        "DK-3,500110002,城市低保,已受理,2025-03-01,2025-03-02,王五,11010519491231002X,户主,是,0",
    ],
    ("500110002", "补报.csv", 4): [
        "DK-9,500110002,农村特困,已受理,2025-03-03,2025-03-03,赵六,500110195003070013,户主,是,0",
        "DK-8,500110002,火星低保,已受理,2025-03-03,2025-03-03,钱七,500110195003070021,户主,是,abc",
    ],
}


def _fill(root: Path) -> Home:
    home = Home(root).ensure()
    for (town, name, day), lines in FILES.items():
        path = home.inbox / town / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        os.utime(path, (datetime(2025, 3, day, 9, tzinfo=SHANGHAI).timestamp(),) * 2)
    broken = home.inbox / "500110003" / "坏文件.xlsx"  # not a workbook: P01, the other files go on
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"this is not a zip file")
    os.utime(broken, (datetime(2025, 3, 4, 9, tzinfo=SHANGHAI).timestamp(),) * 2)
    return home


def _business_state(home: Home) -> dict:
    with open_warehouse(home, flow="test") as con:
        return {
            "files": con.execute(
                "SELECT rel_path, status, error, rows_read, rows_accepted, rows_rejected, rows_warned, cases "
                "FROM raw.files ORDER BY rel_path"
            ).fetchall(),
            "versions": con.execute(
                "SELECT town_code, case_no, acceptance, is_current, program, status, content_sha256 "
                "FROM core.case_versions ORDER BY town_code, case_no"
            ).fetchall(),
            "members": con.execute(
                "SELECT case_no, member_no, id_no, monthly_income FROM core.member_versions ORDER BY 1, 2"
            ).fetchall(),
            "findings": con.execute(
                "SELECT rule_id, town_code, case_no, source_row, field, message FROM checks.findings "
                "ORDER BY ALL"
            ).fetchall(),
        }


def _returns(home: Home) -> dict[str, bytes]:
    out = home.out / "returns"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_parse_on_a_local_dask_cluster_ends_as_the_one_process_ingest(tmp_path, prefect_harness):
    from flows.ingest import ingest_flow

    plain, spread = _fill(tmp_path / "plain"), _fill(tmp_path / "dask")
    one = ingest_flow(home=str(plain.root), as_of="2025-03-05", notify=False)
    many = ingest_flow(home=str(spread.root), as_of="2025-03-05", notify=False, parse_workers=2)

    assert many["parsed_ahead"] == 3 and "parsed_ahead" not in one  # all three files parsed by the workers
    for key in ("files_new", "rows_read", "rows_accepted", "rows_rejected", "rows_warned"):
        assert many[key] == one[key], key
    assert many["files_new"] == 3 and many["rows_read"] == 6
    assert _business_state(spread) == _business_state(plain)
    state = _business_state(spread)
    assert ("inbox/500110003/坏文件.xlsx", "unreadable") in [(f[0], f[1]) for f in state["files"]]
    assert {f[0] for f in state["findings"]} >= {"P01", "V02"}
    returned = _returns(spread)
    assert returned and returned == _returns(plain)  # the same return workbooks and receipts, byte for byte
    assert {"read", "normalise", "validate", "load"} <= set(many["seconds"])

    again = ingest_flow(home=str(spread.root), as_of="2025-03-05", notify=False, parse_workers=2)
    assert again["files_new"] == 0 and again["files_known"] == 3 and again["parsed_ahead"] == 0


def test_an_unreachable_dask_cluster_slows_the_ingest_but_never_stops_it(tmp_path, prefect_harness):
    from flows.ingest import ingest_flow

    home = _fill(tmp_path / "h")
    out = ingest_flow(home=str(home.root), as_of="2025-03-05", notify=False, dask_address="tcp://127.0.0.1:9")
    assert out["parsed_ahead"] == 0  # nothing came back from the cluster
    assert out["files_new"] == 3 and out["rows_read"] == 6  # every file read by the writer itself
    assert _business_state(home)["versions"]
