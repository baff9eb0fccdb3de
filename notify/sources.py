"""What a run has to tell, rebuilt from the facts it committed (issue 14 item 6).

A flow composes its digest items at its end, from what it wrote to the
warehouse: the P/V findings an ingest run raised first, the S01 findings of
an inspections or sample run, the holds and recoveries of a close. When the
run is killed after its facts were committed but before its items were
queued, those facts are still in the warehouse with the run's id; the next
run that notifies rebuilds the dead run's items with the functions below and
queues them (`notify.queue.sweep_dead_runs`), so nothing is lost.

The flows build the same items the same way (the item text is part of what
the queue compares to tell an item it already holds): `flows/ingest.py`,
`flows/sample.py` and `flows/close_month.py` may call these functions
directly.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from core.periods import period_text
from notify.digest import DigestItem
from warehouse.sqlfiles import sql

# tag (a town code) -> its items; or, where a run has many (an ingest that warned a million rows),
# the same as one frame of ITEM_COLUMNS, ordered by tag (`notify.queue.items_frame`)
Items = dict[str, list[DigestItem]] | pl.DataFrame
ITEM_COLUMNS = {
    "tag": pl.String,
    "kind": pl.String,
    "rule_id": pl.String,
    "case_no": pl.String,
    "message": pl.String,
    "member_id": pl.String,
    "n": pl.Int64,
}


def ingest_items(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """One item per town and case with P- or V-findings first raised by this ingest run (as a frame:
    the worst month warns every case)."""
    new = con.sql(sql("notify/new_submission_findings"), params={"run_id": run_id}).pl()
    return new.select(
        pl.col("town_code").alias("tag"),
        pl.lit("rejection").alias("kind"),
        pl.col("rules").alias("rule_id"),
        "case_no",
        "message",
        pl.lit(None, pl.String).alias("member_id"),
        pl.max_horizontal(pl.col("n"), 1).alias("n"),
    ).cast(ITEM_COLUMNS).sort("tag", maintain_order=True)


def inspection_items(con: duckdb.DuckDBPyConnection, run_id: str) -> Items:
    """One item per S01 finding first raised by this run (kind 'inspection')."""
    new = con.sql(sql("spotcheck/new_s01"), params={"run_id": run_id}).pl()
    items: Items = {}
    for r in new.iter_rows(named=True):
        items.setdefault(r["town_code"], []).append(
            DigestItem("inspection", "S01", r["case_no"], r["message"])
        )
    return items


def close_items(con: duckdb.DuckDBPyConnection, run_id: str) -> Items:
    """Cases a close run held for the first time, and its lines to recover (as flows/close_month.py
    tells them): only when the close committed, and leaving out holds already told."""
    holds = con.sql(sql("notify/close_hold_items"), params={"run_id": run_id}).fetchall()
    recover = con.sql(sql("notify/close_recovery_items"), params={"run_id": run_id}).fetchall()
    items: Items = {}
    for town, case, first, reason, n in holds:
        items.setdefault(town, []).append(
            DigestItem("hold", "HOLD", case, f"自{period_text(first)}起暂停发放{n}个月：{reason}", count=n)
        )
    for town, case, n, reason in recover:
        items.setdefault(town, []).append(DigestItem("hold", "RECOVER", case, f"{reason}（{n}笔）", count=n))
    return items


# flow name in audit.runs -> how to rebuild the items of one of its runs
SOURCES: dict[str, Callable[[duckdb.DuckDBPyConnection, str], Items]] = {
    "ingest": ingest_items,
    "inspections": inspection_items,
    "sample": inspection_items,
    "close-month": close_items,
}
