"""The monthly close (issue 6): amounts owed, holds, arrears, recoveries, batches,
bank returns, voids, re-issues and one-off payments — to the fen."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest
from helpers import REF, at, ingest_all, make_id, query
from helpers import approve as _approve
from python_calamine import CalamineWorkbook

from core.home import Home
from flows.close_month import close_month_flow
from payments.actions import PaymentActionError, one_off, reissue_line, void_batch
from warehouse.connection import open_warehouse

ZHANG = ("张三", make_id("19800101", "001"), "户主", "300")  # alone: 750 - 300 = 450 (2025-03 standard)
LI = ("李四", make_id("19820202", "002"), "户主", "0")
WANG = ("王五", make_id("19830303", "003"), "户主", "100")


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path).ensure()


def close(home: Home, period: str, as_of: date, notify: bool = False) -> dict:
    return close_month_flow.fn(home=str(home.root), period=period, as_of=as_of.isoformat(), notify=notify)


def lines(home: Home, case: str | None = None):
    q = ("SELECT case_no, strftime(period_owed, '%Y-%m'), payment_type, amount, status, batch_no FROM pay.payments "
         + ("WHERE case_no = ? " if case else "") + "ORDER BY batch_no, line_no")
    return query(home, q, [case] if case else [])


def test_standard_rise_uprates_from_its_effective_month(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    for month, day in (("2025-04", date(2025, 4, 1)), ("2025-06", date(2025, 6, 1)), ("2025-07", date(2025, 7, 1))):
        close(home, month, day)
    got = [(p, t, a) for _, p, t, a, _, _ in lines(home)]
    assert got == [
        ("2025-04", "monthly", Decimal("450.00")),
        ("2025-05", "arrears", Decimal("450.00")),
        ("2025-06", "monthly", Decimal("450.00")),
        ("2025-07", "monthly", Decimal("470.00")),  # 770 - 750 = 20 more from July 2025
    ]


def test_late_filing_pays_missed_months_once_as_arrears_and_nothing_before_go_live(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))  # go-live: the first month closed
    # decided in January with benefit from February, filed only in May
    _approve(home, "GN-2", "500110001", [LI], at(5, 5), decided="2025-01-10",
             publicity=("2025-01-11", "2025-01-17"), benefit_from="2025-02", benefit="750",
             applied="2025-01-02", received="2025-01-03")
    ingest_all(home, date(2025, 5, 5))
    close(home, "2025-05", date(2025, 5, 6))
    close(home, "2025-05", date(2025, 5, 7))  # closing again pays nothing twice
    got = [(p, t) for _, p, t, _, _, _ in lines(home, "GN-2")]
    assert got == [("2025-04", "arrears"), ("2025-05", "monthly")]  # Feb and Mar are before go-live


def test_case_in_publicity_is_held_then_paid_with_arrears(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25), decided="2025-03-24",
             publicity=("2025-03-26", "2025-04-03"))
    ingest_all(home, date(2025, 3, 25))
    first = close(home, "2025-04", date(2025, 4, 1))
    assert first["held_cases"] == 1 and first["new_lines"] == 0
    held = query(home, "SELECT case_no, reason FROM pay.holds")
    assert held[0][0] == "GN-1" and "公示期未满" in held[0][1]
    close(home, "2025-05", date(2025, 5, 1))
    assert [(p, t) for _, p, t, _, _, _ in lines(home)] == [("2025-04", "arrears"), ("2025-05", "monthly")]


def test_death_month_paid_later_months_held_and_recovered_and_town_told(home):
    couple = [("赵一", make_id("19500101", "011"), "户主", "0"), ("钱二", make_id("19520202", "022"), "配偶", "0")]
    # two 75+ covered: (750 - 0) x 2 + 60 + 60 = 1620
    _approve(home, "GN-9", "500110001", couple, at(25), benefit="1620")
    ingest_all(home, date(2025, 3, 25))
    for month in (4, 5, 6):
        close(home, f"2025-{month:02d}", date(2025, month, 1))
    with open_warehouse(home, flow="test") as con:
        con.execute("INSERT INTO registry.deaths VALUES (?, '钱二', DATE '2025-05-10', DATE '2025-06-30', 'x')",
                    [couple[1][1]])
    summary = close(home, "2025-07", date(2025, 7, 1), notify=True)
    assert summary["recoveries"] == 1
    assert query(home, "SELECT strftime(period_owed, '%Y-%m'), amount, reason FROM pay.recoveries") == [
        ("2025-06", Decimal("1620.00"), "保障对象死亡后的月份已发放，应追回")]
    held = query(home, "SELECT strftime(period_owed, '%Y-%m'), reason FROM pay.holds WHERE period = DATE '2025-07-01'")
    assert held == [("2025-07", "保障对象已死亡，死亡次月起不再发放")]
    assert [p for _, p, _, _, _, _ in lines(home)] == ["2025-04", "2025-05", "2025-06"]  # May (death month) paid
    digest = next((home.outbox / "500110001").glob("*.md")).read_text("utf-8")
    assert "GN-9" in digest and "应追回" in digest
    book = CalamineWorkbook.from_path(str(home.out / "payments" / "2025-07" / "应追回.xlsx"))
    assert book.get_sheet_by_index(0).to_python()[1][1] == "GN-9"


def test_household_moved_to_another_town_is_not_paid_twice_for_a_month(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    # moved: terminated in town 1 from June (decided in May), approved in town 2 from May
    _approve(home, "GN-1", "500110001", [ZHANG], at(15, 5), status="终止", decided="2025-05-10")
    _approve(home, "WL-7", "500110002", [ZHANG], at(15, 5), decided="2025-04-20",
             publicity=("2025-04-21", "2025-04-27"), benefit_from="2025-05", benefit="450")
    ingest_all(home, date(2025, 5, 15))
    close(home, "2025-05", date(2025, 5, 16))
    close(home, "2025-06", date(2025, 6, 1))
    months = [(c, p) for c, p, _, _, _, _ in lines(home)]
    assert sorted(months) == [("GN-1", "2025-04"), ("GN-1", "2025-05"), ("WL-7", "2025-06")]
    assert query(home, "SELECT case_no, reason FROM pay.holds WHERE period = DATE '2025-05-01'") == [
        ("WL-7", "同一保障对象该月已在其他案件发放")]


def test_close_twice_writes_no_new_file_and_a_new_case_goes_to_a_supplementary_batch(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    folder = home.out / "payments" / "2025-04"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    again = close(home, "2025-04", date(2025, 4, 2))
    assert again["new_batches"] == 0
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()} == before
    _approve(home, "GN-2", "500110001", [LI], at(5, 4), decided="2025-03-28", publicity=("2025-03-29", "2025-04-04"),
             benefit="750")
    ingest_all(home, date(2025, 4, 5))
    close(home, "2025-04", date(2025, 4, 6))
    assert query(home, "SELECT batch_no, count FROM pay.batches ORDER BY 1") == [
        ("202504-QJ-dibao_urban-01", 1), ("202504-QJ-dibao_urban-02", 1)]


def test_void_then_reclose_pays_the_months_again_in_a_new_batch(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    with open_warehouse(home, flow="test") as con:
        with pytest.raises(PaymentActionError, match="not an officer"):
            void_batch(con, REF, "202504-QJ-dibao_urban-01", officer="nobody", reason="x", on=date(2025, 4, 2))
        assert void_batch(con, REF, "202504-QJ-dibao_urban-01", officer="GZ001", reason="金额有误",
                          on=date(2025, 4, 2)) == 1
    close(home, "2025-04", date(2025, 4, 3))
    assert [(p, s, b) for _, p, _, _, s, b in lines(home)] == [
        ("2025-04", "voided", "202504-QJ-dibao_urban-01"), ("2025-04", "exported", "202504-QJ-dibao_urban-02")]
    assert query(home, "SELECT kind FROM audit.events") == [("batch_voided",)]
    assert (home.out / "payments" / "2025-04" / "202504-QJ-dibao_urban-01.csv").exists()  # never rewritten


def _bank_return(home, name, rows, when):
    path = home.bank_inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "批次号,序号,账号,金额,状态,原因\n" + "\n".join(",".join(r) for r in rows) + "\n"
    path.write_text(body, encoding="utf-8")


def test_bank_failure_holds_until_the_account_changes_then_pays_arrears(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    _approve(home, "GN-2", "500110001", [LI], at(25), benefit="750", account="6228480402564890018")
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    _bank_return(home, "回盘1.csv", [
        ("202504-QJ-dibao_urban-01", "1", "6222021234567890128", "450.00", "失败", "账户已销户"),
        ("202504-QJ-dibao_urban-01", "2", "6228480402564890018", "750.00", "成功", ""),
        ("202504-QJ-dibao_urban-01", "9", "6228480402564890018", "750.00", "成功", ""),
    ], at(20, 4))
    summary = close(home, "2025-05", date(2025, 5, 1))
    assert summary["bank"] == {"files": 1, "paid": 1, "failed": 1, "unmatched": 1}
    assert query(home, "SELECT rule_id, case_no, status FROM checks.findings WHERE rule_id = 'B01'") == [
        ("B01", "GN-1", "open")]
    assert [(c, p, s) for c, p, _, _, s, _ in lines(home, "GN-1")] == [("GN-1", "2025-04", "failed")]
    receipt = json.loads(next((home.out / "returns" / "bank").glob("*.回执.json")).read_text("utf-8"))
    assert (receipt["rows_read"], receipt["rows_accepted"], receipt["rows_rejected"]) == (3, 2, 1)
    # the town files a new version with another account: the hold lifts, April and May are paid
    _approve(home, "GN-1", "500110001", [ZHANG], at(5, 5), account="6217000010000000007")
    ingest_all(home, date(2025, 5, 5))
    close(home, "2025-05", date(2025, 5, 6))
    assert [(p, t, s) for _, p, t, _, s, _ in lines(home, "GN-1")] == [
        ("2025-04", "monthly", "failed"), ("2025-04", "arrears", "exported"), ("2025-05", "monthly", "exported")]
    assert query(home, "SELECT attempt FROM pay.payments WHERE case_no = 'GN-1' ORDER BY batch_no, line_no") == [
        (1,), (2,), (1,)]


def test_officer_reissue_lifts_a_bank_failure(home):
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    _bank_return(home, "回盘.csv", [("202504-QJ-dibao_urban-01", "1", "", "450", "失败", "网络")], at(20, 4))
    close(home, "2025-04", date(2025, 4, 21))
    assert query(home, "SELECT count(*) FROM pay.holds WHERE period = DATE '2025-04-01'") == [(1,)]
    with open_warehouse(home, flow="test") as con:
        reissue_line(con, REF, "202504-QJ-dibao_urban-01", 1, officer="GZ002", reason="银行系统故障",
                     on=date(2025, 4, 22))
    summary = close(home, "2025-04", date(2025, 4, 22))
    assert summary["new_lines"] == 1 and summary["new_batches"] == 1


def test_one_off_run_twice_pays_once(home):
    _approve(home, "GN-1", "500110001", [ZHANG, ("李四", make_id("19820202", "002"), "配偶", "0")], at(25),
             benefit="1200")
    ingest_all(home, date(2025, 3, 25))
    with open_warehouse(home, flow="test") as con:
        first = one_off(con, home, REF, occasion="2026春节", as_of=date(2025, 4, 10), run_id="r1")
        second = one_off(con, home, REF, occasion="2026春节", as_of=date(2025, 4, 11), run_id="r2")
    assert (first["lines"], first["total"]) == (2, "100.00")
    assert (second["lines"], second["batches"]) == (0, [])


def test_failure_between_files_and_record_leaves_nothing_half_done(home):
    from core.reference import load_reference
    from payments.close import run_close

    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    ingest_all(home, date(2025, 3, 25))

    def boom(step):
        if step == "payments":
            raise RuntimeError("injected")

    with open_warehouse(home, flow="test") as con, pytest.raises(RuntimeError):
        run_close(con, home, load_reference(), period=date(2025, 4, 1), as_of=date(2025, 4, 1), run_id="r",
                  fail_after=boom)
    assert query(home, "SELECT count(*) FROM pay.batches") == [(0,)]
    assert query(home, "SELECT count(*) FROM pay.live_keys") == [(0,)]
    assert not (home.out / "payments" / "2025-04").exists()

    def crash_after_commit(step):
        if step == "committed":
            raise RuntimeError("crash after commit")

    with open_warehouse(home, flow="test") as con, pytest.raises(RuntimeError):
        run_close(con, home, load_reference(), period=date(2025, 4, 1), as_of=date(2025, 4, 1), run_id="r",
                  fail_after=crash_after_commit)
    assert not list((home.out / "payments").glob("2025-04/*.csv"))  # recorded, files not yet written
    close(home, "2025-04", date(2025, 4, 1))  # the re-run rebuilds them, byte for byte
    manifest = json.loads((home.out / "payments" / "2025-04" / "202504-QJ-dibao_urban-01.manifest.json").read_text())
    assert manifest["sha256"] == query(home, "SELECT sha256 FROM pay.batches")[0][0]


@pytest.mark.parametrize("worker", [False, True], ids=["here", "worker-process"])
def test_every_manifest_ties_out_to_files_and_warehouse_to_the_fen(home, worker, monkeypatch):
    import publish.payments

    submitted = []
    if worker:  # every other bank workbook rendered by the worker process, as a municipal close does
        monkeypatch.setattr(publish.payments, "WORKER_ROWS", 0)
        monkeypatch.setattr(publish.payments, "core_idle", lambda: True)
        real = publish.payments.render_worker
        monkeypatch.setattr(publish.payments, "render_worker", lambda: submitted.append(1) or real())
    _approve(home, "GN-1", "500110001", [ZHANG], at(25))
    _approve(home, "GN-2", "500110001", [LI], at(25), benefit="750")
    _approve(home, "SJ-3", "500110108", [WANG], at(25), benefit="510", program="农村低保")  # 610 - 100
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    folder = home.out / "payments" / "2025-04"
    manifests = sorted(folder.glob("*.manifest.json"))
    assert len(manifests) == 2
    for path in manifests:
        m = json.loads(path.read_text("utf-8"))
        data = (folder / f"{m['batch_no']}.csv").read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"]
        rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
        assert len(rows) == m["count"]
        assert sum(Decimal(r["金额"]) for r in rows) == Decimal(m["total"])
        (db_total, db_count), = query(home, "SELECT sum(amount), count(*) FROM pay.payments WHERE batch_no = ?",
                                      [m["batch_no"]])
        assert (db_total, db_count) == (Decimal(m["total"]), m["count"])
        sheet = CalamineWorkbook.from_path(str(folder / f"{m['batch_no']}.xlsx")).get_sheet_by_index(0).to_python()
        assert sheet[0][:3] == ["序号", "镇街", "户主姓名"] and len(sheet) == m["count"] + 1
        assert [(r[3], r[5], Decimal(str(r[7]))) for r in sheet[1:]] == [
            (r["身份证号"], r["账号"], Decimal(r["金额"])) for r in rows]
    assert not list(folder.glob("*.tmp*")) and not list(folder.glob(".*"))
    assert len(submitted) == (1 if worker else 0)  # the first of the two batches went to the worker
