"""A small data home for the workbench tests (HTTP and browser): two towns, a case held by a
payment-blocking V08 finding at the April close, a warning that one officer may clear alone,
and one account per role. Built through the real ingest and close (no Prefect server)."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from helpers import CASE_HEADER, at, case_rows, drop_cases, ingest_all, make_id, query

from core.accounts import AccountStore
from core.home import Home

TOWN_A, TOWN_B = "500110001", "500110108"  # 古南街道, 石角镇
AS_OF = date(2025, 4, 10)
HEAD_A = ("张三", make_id("19800101", "001"), "户主", "300")  # 750 - 300 = 450
HEAD_HELD = ("李四", make_id("19820202", "002"), "户主", "0")
HEAD_B = ("王五", make_id("19830303", "003"), "户主", "100")
TEKUN_HEAD = ("钱六", make_id("19400505", "005"), "户主", "0")
PASSWORDS = {
    "clerk_a": "clerk-a-pass-2025",
    "clerk_b": "clerk-b-pass-2025",
    "GZ001": "officer-one-pass",
    "GZ002": "officer-two-pass",
    "audit1": "auditor-pass-2025",
}
ROLES = {"clerk_a": ("clerk", TOWN_A), "clerk_b": ("clerk", TOWN_B), "GZ001": ("officer", None),
         "GZ002": ("officer", None), "audit1": ("auditor", None)}


def close(home: Home, period: str, as_of: date) -> dict:
    from flows.close_month import close_month_flow

    return close_month_flow.fn(home=str(home.root), period=period, as_of=as_of.isoformat(), notify=False)


def build_home(root: Path, *, clock=time.time) -> Home:
    home = Home(root).ensure()
    a_rows = case_rows("GN-1", TOWN_A, [HEAD_A], benefit="450")
    # decided by the town in 2021, before its authority date (2021-12-01): V08, loaded and held
    a_rows += case_rows("GN-HELD", TOWN_A, [HEAD_HELD], benefit="620", decided="2021-06-01",
                        applied="2021-05-10", received="2021-05-20", publicity=("2021-06-02", "2021-06-08"),
                        benefit_from="2021-07", account="6222021234567890136")
    drop_cases(home, TOWN_A, "gunan-march.csv", a_rows, at(20))
    b_rows = case_rows("SJ-1", TOWN_B, [HEAD_B], benefit="510", program="农村低保")
    b_rows = [f"{r}," for r in b_rows]  # no 自理能力
    # tekun at home, paid by the town itself: 975 + 200 (半护理); the head is 85
    b_rows += [f"{r},半护理" for r in case_rows("SJ-T", TOWN_B, [TEKUN_HEAD], benefit="1175", program="分散特困")]
    path = drop_cases(home, TOWN_B, "shijiao-march.csv", b_rows, at(20))
    text = path.read_text(encoding="utf-8").replace(CASE_HEADER, CASE_HEADER + ",自理能力", 1)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (at(20).timestamp(), at(20).timestamp()))
    ingest_all(home, date(2025, 3, 25))
    close(home, "2025-04", date(2025, 4, 1))
    store = AccountStore.for_home(home, clock=clock)
    for user, (role, town) in ROLES.items():
        store.add(user, role, PASSWORDS[user], town_code=town)
    return home


def finding_id(home: Home, rule: str, case_no: str) -> str:
    return query(home, "SELECT finding_id FROM checks.findings WHERE rule_id = ? AND case_no = ?",
                 [rule, case_no])[0][0]


def held(home: Home, case_no: str, period: str) -> int:
    return query(home, "SELECT count(*) FROM pay.holds WHERE case_no = ? AND strftime(period, '%Y-%m') = ?",
                 [case_no, period])[0][0]


def return_workbook(content: str) -> bytes:
    """A small submission with one case in error (V01: a bad ID), as a clerk would upload it."""
    bad = ("赵六", "500110198001010000", "户主", "0")
    return ("\n".join([CASE_HEADER, *case_rows(content, TOWN_A, [bad], benefit="750")]) + "\n").encode("utf-8")
