"""Return files rendered in a worker process (issue 18): the same files as in the writer process,
and nothing half-made when the load fails after the rows were read for them."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import SPOUSE, at, drop, ingest_all, make_id, row
from python_calamine import CalamineWorkbook

import publish.returns
import warehouse.ingest_load
from core.home import Home
from publish.files import LARGE_ROWS


def _submission(home: Home, cases: int) -> None:
    """`cases` households of two; every fifth with a bad relation (V03, rejected), so the sheet
    has both 已接收 and 退回 rows, case-level and row-level problems."""
    lines = []
    for i in range(cases):
        seq, block = f"{i % 999 + 1:03d}", f"{10 + i // 999}"
        spouse = SPOUSE | {"relation": "表亲" if i % 5 == 0 else "配偶",
                           "id_no": make_id(birth="19491231", seq=seq, area=f"1101{block}")}
        lines += [row(case=f"GN-{i:05d}", id_no=make_id(seq=seq, area=f"5001{block}")),
                  row(case=f"GN-{i:05d}", **spouse)]
    drop(home, "500110001", "台账.csv", lines, at(5))


def _files(home: Home) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((home.out / "returns").rglob("*")) if p.is_file()}


def _cells(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


# the xlsxwriter sheet, then the Rust writer's (a large file: the full tier)
@pytest.mark.parametrize("cases", [40, pytest.param(LARGE_ROWS // 2 + 10, marks=pytest.mark.slow)])
def test_worker_writes_the_same_return_files(tmp_path, monkeypatch, cases):
    here, there = Home(tmp_path / "here").ensure(), Home(tmp_path / "there").ensure()
    for home in (here, there):
        _submission(home, cases)
    [o] = ingest_all(here, date(2025, 3, 5))
    monkeypatch.setattr(publish.returns, "WORKER_ROWS", 0)  # every sheet to the worker process
    monkeypatch.setattr(publish.returns, "core_idle", lambda: True)
    [p] = ingest_all(there, date(2025, 3, 5))
    assert publish.returns._WORKER is not None  # the worker process rendered it
    assert o.counts() | {"seconds": {}} == p.counts() | {"seconds": {}}
    assert o.rows_rejected == 2 * ((cases + 4) // 5), o.findings_by_rule
    mine, theirs = _files(here), _files(there)
    assert sorted(mine) == sorted(theirs) and len(mine) == 2
    workbook = next(n for n in mine if n.endswith(".xlsx"))
    assert _cells(here.out / "returns" / "500110001" / workbook) == _cells(
        there.out / "returns" / "500110001" / workbook)
    if cases * 2 <= LARGE_ROWS:  # xlsxwriter with a fixed date: the same bytes, cell comments included
        assert mine == theirs
    else:  # the Rust writer stamps the time: the receipts are the same bytes
        assert {n: b for n, b in mine.items() if n.endswith(".json")} == {
            n: b for n, b in theirs.items() if n.endswith(".json")}


def test_failure_after_the_rows_were_read_leaves_no_file_and_the_next_run_writes_them(tmp_path, monkeypatch):
    home = Home(tmp_path).ensure()
    _submission(home, 30)
    monkeypatch.setattr(publish.returns, "WORKER_ROWS", 0)
    monkeypatch.setattr(publish.returns, "core_idle", lambda: True)
    real = warehouse.ingest_load.record_path

    def boom(*args, **kwargs):  # after the commit, before the files are put in place
        raise RuntimeError("injected")

    monkeypatch.setattr(warehouse.ingest_load, "record_path", boom)
    with pytest.raises(RuntimeError, match="injected"):
        ingest_all(home, date(2025, 3, 5))
    folder = home.out / "returns" / "500110001"
    assert not folder.exists() or not any(folder.iterdir())  # neither the files nor a temporary one
    monkeypatch.setattr(warehouse.ingest_load, "record_path", real)
    [o] = ingest_all(home, date(2025, 3, 5))  # the file is known: its lost return files are written
    assert o.status == "known"
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".xlsx"]


def test_a_file_without_findings_gets_the_same_empty_sheet_without_reading_its_rows(tmp_path):
    import polars as pl
    from helpers import REF

    from publish.returns import chinese_headers, render_return_workbook
    from transforms.returns import RAW_FIELDS

    rows = pl.DataFrame({f: [f"{f}{i}" for i in range(5)] for f in RAW_FIELDS}).with_columns(
        source_row=pl.int_range(2, 7, dtype=pl.Int32), row_status=pl.lit("accepted"), case_key=pl.col("case_no"))
    findings = pl.DataFrame(schema={"case_key": pl.String, "source_row": pl.Int32, "field": pl.String,
                                    "rule_id": pl.String, "message": pl.String})
    read, skipped = tmp_path / "read.xlsx", tmp_path / "skipped.xlsx"
    render_return_workbook(str(read), chinese_headers(REF), rows, findings)
    render_return_workbook(str(skipped), chinese_headers(REF), rows.clear(), findings)
    assert read.read_bytes() == skipped.read_bytes()


def _three_files(home: Home) -> None:
    _submission(home, 12)
    lines = [row(case="DS-00001", id_no=make_id(seq="501", area="500102"))]
    drop(home, "500110002", "补报.csv", lines, at(6))
    drop(home, "500110003", "台账.csv", [row(case="SG-00001", id_no=make_id(seq="502", area="500103"),
                                             relation="表亲")], at(7))


def _ingest_step(home: Home, as_of: date):
    from helpers import REF

    from flows.ingest import ingest_new_files
    from intake.ingest_run import new_submissions

    found = new_submissions(home, REF, as_of)
    return ingest_new_files.fn(str(home.root), list(found["candidates"].values()), as_of.isoformat(), "run-1",
                               False)


def test_return_files_rendered_while_the_next_files_load_are_the_same(tmp_path, monkeypatch):
    """The ingest step leaves every file's sheet to the worker process and goes on with the next
    file; each workbook and receipt is put in place once rendered: the same bytes as one written
    file by file in the writer."""
    here, there = Home(tmp_path / "here").ensure(), Home(tmp_path / "there").ensure()
    for home in (here, there):
        _three_files(home)
    monkeypatch.setattr(publish.returns, "core_idle", lambda: False)
    inline, failed = _ingest_step(here, date(2025, 3, 10))
    assert not failed and len(inline) == 3
    monkeypatch.setattr(publish.returns, "core_idle", lambda: True)
    later, failed = _ingest_step(there, date(2025, 3, 10))
    assert publish.returns._WORKER is not None and not failed
    strip = [o | {"seconds": {}} for o in inline]
    assert strip == [o | {"seconds": {}} for o in later]
    assert _files(here) == _files(there) and len(_files(here)) == 6


def test_a_return_file_that_cannot_be_put_in_place_fails_its_file_only(tmp_path, monkeypatch):
    home = Home(tmp_path).ensure()
    _three_files(home)
    monkeypatch.setattr(publish.returns, "core_idle", lambda: True)
    real = publish.returns.PendingReturn.finish

    def finish(self):
        if "500110002" in str(self.receipt):
            raise OSError("disk full")
        real(self)

    monkeypatch.setattr(publish.returns.PendingReturn, "finish", finish)
    loaded, failed = _ingest_step(home, date(2025, 3, 10))
    assert list(failed) == ["inbox/500110002/补报.csv"] and isinstance(failed["inbox/500110002/补报.csv"], OSError)
    assert sorted(o["folder"] for o in loaded) == ["500110001", "500110003"]
    assert not (home.out / "returns" / "500110002").exists() or not any((home.out / "returns" / "500110002").iterdir())


@pytest.mark.slow  # a writer process killed outright: the full tier
def test_the_worker_leaves_when_its_writer_is_killed(tmp_path):
    """A writer killed outright cannot shut its worker down: the worker notices and exits (else it
    waits for work for ever, holding the killed command's output open)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, signal, publish.returns as r\n"
        "w = r.render_worker(); w.submit(os.getpid).result()\n"
        "print(next(iter(w._processes)), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=os.getcwd())
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError(f"worker {worker} outlived its writer")


def test_what_a_failed_file_left_rendering_is_never_put_in_place_under_the_next_file():
    from flows.ingest import ReturnsLater

    class Left:
        abandoned = finished = False

        def abandon(self):
            self.abandoned = True

        def finish(self):
            self.finished = True

        def ready(self):
            return True

    outcomes, failed = [], {}
    returns = ReturnsLater(outcomes, failed)
    left = Left()
    returns.pending.append(left)  # the file raised after its return files were started
    returns.raised("inbox/a.csv", RuntimeError("late"))
    returns.loaded("inbox/b.csv", {"rel_path": "inbox/b.csv"})
    returns.finish(wait=True)
    assert left.abandoned and not left.finished
    assert list(failed) == ["inbox/a.csv"] and outcomes == [{"rel_path": "inbox/b.csv"}]


def test_workbooks_the_worker_has_not_started_are_rendered_by_the_writer_at_the_end(tmp_path):
    """Once every file is loaded, the writer takes back the queued workbooks (last first) instead of
    waiting for the one worker to render them all; each is put in place with its receipt all the same."""
    import json
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    import polars as pl
    from helpers import REF

    from flows.ingest import ReturnsLater
    from publish.returns import PendingReturn, chinese_headers, render_return_workbook
    from transforms.returns import RAW_FIELDS

    rows = pl.DataFrame({f: [f"{f}{i}" for i in range(5)] for f in RAW_FIELDS}).with_columns(
        source_row=pl.int_range(2, 7, dtype=pl.Int32), row_status=pl.lit("accepted"), case_key=pl.col("case_no"))
    findings = pl.DataFrame({"case_key": ["case_no0"], "source_row": [2], "field": ["id_no"], "rule_id": ["V16"],
                             "message": ["V16：首次纳入"]}, schema_overrides={"source_row": pl.Int32})
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        pool.submit(time.sleep, 1.5)  # the worker is busy with an earlier file
        pending = []
        for i in range(4):
            p = PendingReturn(tmp_path / f"f{i}.问题.xlsx", tmp_path / f"f{i}.回执.json", {"file": i},
                              staged=tmp_path / f".f{i}.part", render=(chinese_headers(REF), rows, findings))
            p.job = pool.submit(render_return_workbook, str(p.staged), *p.render)
            pending.append(p)
        later = ReturnsLater([{"rel_path": f"f{i}"} for i in range(4)], {})
        later.rendering = [(f"f{i}", p) for i, p in enumerate(pending)]
        later.finish(wait=True)
    finally:
        pool.shutdown()
    taken_back = [p.job.cancelled() for p in pending]  # (the first was in the worker's pipe already)
    assert taken_back[-1] and sum(taken_back) >= 2, taken_back
    assert not later.rendering and not later.failed
    for i in range(4):
        assert json.loads((tmp_path / f"f{i}.回执.json").read_text()) == {"file": i}
        assert _cells(tmp_path / f"f{i}.问题.xlsx") == _cells(tmp_path / "f0.问题.xlsx")
    assert not list(tmp_path.glob(".f*"))
