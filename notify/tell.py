"""What each flow tells the towns at its end, and under which heading (SPEC §6 Notifications).

Every function queues the run's items through `notify.queue.notify_or_queue`
(sent at once, or by the cycle's last step when `cycle_id` is set) and returns
the delivery status per tag. The items are read from what the run committed
(notify/sources.py), so no personal data passes between a flow's steps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import duckdb
import polars as pl

from core.home import Home
from core.periods import period_text
from core.reference import Reference
from notify.digest import DigestItem
from notify.queue import notify_or_queue, open_counts_by_tag
from notify.sources import Items, ingest_items, inspection_items
from warehouse.sqlfiles import sql

# the heading of each flow's digest (the run label a town reads)
HEADINGS = {
    "ingest": "报送接收",
    "validate": "重新校验",
    "close-month": "月度发放",
    "inspections": "入户抽查结果登记",
    "sample": "入户抽查结果登记",
}
CROSSCHECK_HEADINGS = {"applications": "申请核对", "active": "动态管理核对", "all": "核对"}


def tell_ingest(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, as_of: date,
                cycle_id: str | None) -> dict[str, str]:
    """One digest per town about what an ingest run returned to it."""
    return notify_or_queue(con, home, ref, run_id, ingest_items(con, run_id), open_counts_by_tag(con),
                           HEADINGS["ingest"], as_of, cycle_id, "ingest")


def tell_inspections(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, as_of: date,
                     cycle_id: str | None, flow: str) -> dict[str, str]:
    """One digest per town with S01 findings first raised by this run (none when there are none)."""
    items = inspection_items(con, run_id)
    if not items:
        return {}
    return notify_or_queue(con, home, ref, run_id, items, open_counts_by_tag(con), HEADINGS[flow], as_of,
                           cycle_id, flow)


def tell_revalidation(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, as_of: date,
                      opened: pl.DataFrame) -> dict[str, str]:
    """One digest per town about findings re-validation newly opened on its current cases."""
    items: dict[str, list[DigestItem]] = defaultdict(list)
    for f in opened.iter_rows(named=True):
        kind = "hold" if f["blocks_payment"] else "other"
        items[f["town_code"]].append(DigestItem(kind, f["rule_id"], f["case_no"], f["message"], f["id_no"]))
    still_open: dict[str, dict[str, int]] = defaultdict(dict)
    for town_code, rule_id, n in con.execute(sql("notify/open_v_findings")).fetchall():
        still_open[town_code][rule_id] = n
    return notify_or_queue(con, home, ref, run_id, dict(items), still_open, HEADINGS["validate"], as_of, None,
                           "validate")


def tell_crosscheck(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, items: Items,
                    open_counts: dict, mode: str, as_of: date, cycle_id: str | None) -> dict[str, str]:
    """One digest per tag with something new from the cross-check of `mode`."""
    return notify_or_queue(con, home, ref, run_id, items, open_counts, CROSSCHECK_HEADINGS[mode], as_of, cycle_id,
                           "crosscheck")


def held_cases(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(town, case) of every case held so far: read before a close, to tell only new holds."""
    return {tuple(r) for r in con.execute(sql("notify/held_cases")).fetchall()}


def new_hold_items(con: duckdb.DuckDBPyConnection, period: date, prior_held: set) -> Items:
    """Digest items of a close: cases held for the first time, and lines to recover."""
    items: Items = {}
    for town, case, first, reason, n in con.execute(sql("notify/period_holds"), {"period": period}).fetchall():
        if (town, case) not in prior_held:
            items.setdefault(town, []).append(
                DigestItem("hold", "HOLD", case, f"自{period_text(first)}起暂停发放{n}个月：{reason}", count=n))
    for town, case, n, reason in con.execute(sql("notify/period_recoveries"), {"period": period}).fetchall():
        items.setdefault(town, []).append(DigestItem("hold", "RECOVER", case, f"{reason}（{n}笔）", count=n))
    return items


def tell_close(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, period: date,
               prior_held: set, as_of: date, cycle_id: str | None) -> dict[str, str]:
    """One digest per town about the cases a close held for the first time and its lines to recover."""
    return notify_or_queue(con, home, ref, run_id, new_hold_items(con, period, prior_held), open_counts_by_tag(con),
                           HEADINGS["close-month"], as_of, cycle_id, "close-month")
