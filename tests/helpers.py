"""Small builders shared by the tests: town submissions as CSV, ingest, queries."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

from core.home import SHANGHAI, Home
from core.reference import load_reference
from intake.discover import discover
from intake.pipeline import IngestSettings, ingest_file
from warehouse.connection import open_warehouse

REF = load_reference()
HEADER = ("案件编号,镇街代码,村社区,救助类别,案件状态,申请日期,受理日期,审批日期,公示开始日期,公示结束日期,"
          "审批层级,月保障金额,起始发放月份,开户银行,银行账号,开户人,备注,姓名,身份证号,与户主关系,是否保障对象,月收入")


def row(case="GN-001", town="500110001", status="批准", remark="", name="张三", id_no="50011019800101001X",
        relation="户主", income="300", program="城市低保", benefit="1260", received="2025-03-02"):
    return (f"{case},{town},新街社区,{program},{status},2025/3/1,{received},2025-03-20,2025-03-21,2025-03-27,镇街,"
            f"{benefit},2025-04,农行,6222021234567890128,张三,{remark},{name},{id_no},{relation},是,{income}")


SPOUSE = dict(name="李四", id_no="11010519491231002X", relation="配偶", income="0")


def drop(home: Home, folder: str, name: str, lines: list[str], when: datetime) -> Path:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    ts = when.timestamp()
    os.utime(path, (ts, ts))
    return path


def ingest_all(home: Home, as_of: date, **kw):
    found = discover(home, frozenset(REF.town_codes), as_of)
    out = []
    with open_warehouse(home, flow="test") as con:
        for c in found.candidates:
            out.append(ingest_file(con, home, REF, c, IngestSettings(as_of, f"run-{as_of}"), **kw))
    return out


def query(home: Home, q: str, params=None):
    with open_warehouse(home, flow="test") as con:
        return con.execute(q, params or []).fetchall()


def at(day: int, month: int = 3, year: int = 2025) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=SHANGHAI)




def make_id(birth: str = "19800101", seq: str = "001", area: str = "500110") -> str:
    """A valid resident ID for a birth date (YYYYMMDD) and sequence."""
    from transforms.identifiers import id_check_char

    first17 = f"{area}{birth}{seq}"
    return first17 + id_check_char(first17)


CASE_HEADER = ("案件编号,镇街代码,救助类别,案件状态,申请日期,受理日期,审批日期,公示开始日期,公示结束日期,审批层级,"
               "月保障金额,起始发放月份,开户银行,银行账号,开户人,姓名,身份证号,与户主关系,是否保障对象,月收入")


def case_rows(case: str, town: str, members: list[tuple[str, str, str, str]], *, status: str = "批准",
              decided: str = "2025-03-20", publicity: tuple[str, str] = ("2025-03-21", "2025-03-27"),
              benefit: str = "450", benefit_from: str = "2025-04", account: str = "6222021234567890128",
              program: str = "城市低保", applied: str = "2025-03-01", received: str = "2025-03-02") -> list[str]:
    """CSV rows of one case; members are (name, id_no, relation, income)."""
    return [
        f"{case},{town},{program},{status},{applied},{received},{decided},{publicity[0]},{publicity[1]},镇街,"
        f"{benefit},{benefit_from},农行,{account},{members[0][0]},{name},{id_no},{relation},是,{income}"
        for name, id_no, relation, income in members
    ]


def drop_cases(home: Home, folder: str, name: str, lines: list[str], when: datetime) -> Path:
    path = home.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([CASE_HEADER, *lines]) + "\n", encoding="utf-8")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def approve(home: Home, case: str, town: str, members: list[tuple[str, str, str, str]], when: datetime, **kw) -> Path:
    """One approved case in its own file (`case_rows` options), arrived at `when`."""
    return drop_cases(home, town, f"{case}-{when:%m%d}.csv", case_rows(case, town, members, **kw), when)
