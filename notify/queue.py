"""Digest items queued by the flows of a district cycle, sent once at its end.

Outside a cycle a flow sends its own digest at once (`deliver_now`). Inside a
cycle (`cycle_id` set) it queues the items, and the cycle's last step calls
`flush`, which sends one digest per tag with everything queued for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import duckdb
import polars as pl

from jiuzhu.home import Home, now_shanghai
from jiuzhu.reference import Reference
from notify.delivery import Notifier
from notify.digest import DigestItem, compose_digest
from notify.record import record_delivery
from transforms.identifiers import mask_member_expr
from warehouse.ingest_load import registered

DISTRICT = "district"
DISTRICT_NAME = "区民政局"


def _name(ref: Reference, tag: str) -> str:
    if tag == DISTRICT:
        return DISTRICT_NAME
    town = ref.town(tag)
    return town["name"] if town else tag


def deliver_now(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str,
                items: Mapping[str, list[DigestItem]], open_counts: Mapping[str, Mapping[str, int]],
                run_label: str, as_of: date) -> dict[str, str]:
    """One digest per tag, now; empty tags get nothing."""
    notifier = Notifier(home, town_codes=ref.town_codes)
    sent = {}
    for tag, tag_items in sorted(items.items()):
        if not tag_items:
            continue
        digest = compose_digest(tag, _name(ref, tag), tag_items, open_counts.get(tag, {}), run_label, as_of)
        result = notifier.send(tag, digest)
        record_delivery(con, run_id, digest, result)
        sent[tag] = result.status
    return sent


_QUEUE_SCHEMA = {"tag": pl.String, "kind": pl.String, "rule_id": pl.String, "case_no": pl.String,
                 "message": pl.String, "member_id": pl.String, "n": pl.Int64}


def enqueue(con: duckdb.DuckDBPyConnection, cycle_id: str, flow: str, items: Mapping[str, Iterable[DigestItem]]) -> int:
    """Queue the items in one statement (a municipal first month queues a million), members masked."""
    frame = pl.DataFrame(
        [(tag, i.kind, i.rule_id, i.case_no, i.message, i.member_id, i.count)
         for tag, tag_items in sorted(items.items()) for i in tag_items],
        schema=_QUEUE_SCHEMA, orient="row",
    )
    if frame.is_empty():
        return 0
    start = con.execute("SELECT coalesce(max(seq), 0) FROM audit.notification_queue WHERE cycle_id = ?",
                        [cycle_id]).fetchall()[0][0]
    rows = frame.select(
        pl.lit(cycle_id).alias("cycle_id"), (pl.int_range(1, frame.height + 1) + start).alias("seq"), "tag",
        pl.lit(flow).alias("flow"), "kind", "rule_id", "case_no", "message",
        mask_member_expr(pl.col("member_id")).alias("member"), "n", pl.lit(now_shanghai()).alias("queued_at"),
    )
    with registered(con, "queued_items", rows):
        con.execute("INSERT INTO audit.notification_queue (cycle_id, seq, tag, flow, kind, rule_id, case_no, "
                    "message, member, n, queued_at) SELECT * FROM queued_items")
    return rows.height


def notify_or_queue(con, home: Home, ref: Reference, run_id: str, items: Mapping[str, list[DigestItem]],
                    open_counts: Mapping[str, Mapping[str, int]], run_label: str, as_of: date,
                    cycle_id: str | None, flow: str) -> dict[str, str]:
    if cycle_id:
        n = enqueue(con, cycle_id, flow, items)
        return {"queued": str(n)}
    return deliver_now(con, home, ref, run_id, items, open_counts, run_label, as_of)


def open_counts_by_tag(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """What is still open per town, by family of rule (ride-along counts of a digest)."""
    labels = {"P": "文件与数据问题", "V": "审核问题", "X": "核对异常", "M": "动态管理", "S": "抽查问题", "B": "银行退回"}
    rows = con.execute("SELECT town_code, substr(rule_id, 1, 1), count(*) FROM checks.findings "
                       "WHERE status = 'open' AND town_code IS NOT NULL GROUP BY ALL").fetchall()
    out: dict[str, dict[str, int]] = {}
    for town, family, n in rows:
        out.setdefault(town, {})[labels.get(family, family)] = n
    return out


def flush(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, cycle_id: str,
          as_of: date) -> dict[str, str]:
    """Send one digest per tag with everything the cycle queued for it."""
    queued = con.sql("SELECT * FROM audit.notification_queue WHERE cycle_id = $c AND sent_at IS NULL ORDER BY seq",
                     params={"c": cycle_id}).pl()
    items: dict[str, list[DigestItem]] = {}
    for r in queued.iter_rows(named=True):
        items.setdefault(r["tag"], []).append(
            DigestItem(r["kind"], r["rule_id"], r["case_no"], r["message"], member_id=r["member"], count=r["n"]))
    sent = deliver_now(con, home, ref, run_id, items, open_counts_by_tag(con), "区级周期", as_of)
    con.execute("UPDATE audit.notification_queue SET sent_at = ? WHERE cycle_id = ? AND sent_at IS NULL",
                [now_shanghai(), cycle_id])
    return sent

