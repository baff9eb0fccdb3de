"""Durable notices: every digest item waits in the warehouse until it is delivered
(SPEC §6 Notifications, §9 "nothing is lost"; issue 14 item 6).

A flow that has something to tell calls `notify_or_queue` at its end:

1. `enqueue`: the run's own items go into `audit.notification_queue` with the
   run that produced them, masked, in one statement (a municipal first month
   queues a million); an item already queued for the run is not queued twice;
2. `sweep_dead_runs`: runs of the flows that tell towns (ingest, inspections,
   sample, close-month) that did not complete, killed before they queued their
   items, have those items rebuilt from the facts they committed
   (notify/sources.py) and queued now;
3. outside a district cycle, `deliver` sends at once; inside one (`cycle_id`),
   the cycle's last step calls `flush`, which sweeps and delivers.

`deliver` sends one digest per tag, whatever the batch: the tag's new items
(never tried: this run's, or those of a run or cycle killed before it sent
them) and, under "以下为上次未送达的提醒，再次发送", the items an earlier digest
failed to deliver. A tag whose only pending items failed before is sent again
once their backoff has passed (settings notify_backoff_minutes, doubling with
each attempt); after notify_max_attempts attempts an item is given up and the
district's digest lists it. An item is marked delivered only once its digest
went out: a crash between sending and recording re-sends it (at least once,
never lost). Without notify.yaml the digests go to out/outbox/ and count as
delivered. Each tag gets at most one digest per call, so one per run of a flow
and one per district cycle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Mapping
from datetime import date

import duckdb
import polars as pl

from core.home import Home, now_shanghai
from core.reference import Reference
from notify.delivery import DELIVERED, FAILED, DeliveryResult, Notifier
from notify.digest import DISTRICT_TAG, compose_digest, items_of
from notify.record import record_delivery
from notify.sources import ITEM_COLUMNS, SOURCES, Items
from transforms.identifiers import mask_member_expr, scrub_text
from warehouse.ingest_load import registered
from warehouse.sqlfiles import sql

log = logging.getLogger("jiuzhu.notify")

DISTRICT = DISTRICT_TAG
DISTRICT_NAME = "区民政局"
PENDING, GIVEN_UP, NO_TARGET_STATUS = "pending", "given_up", "no_target"
DEFAULT_MAX_ATTEMPTS, DEFAULT_BACKOFF_MINUTES = 12, 5

# Fault injection for the crash tests: JIUZHU_CRASH_AT=<point>[@<n>] kills this process
# with SIGKILL the n-th time (default 1st) it reaches <point>. Points: notify:start,
# notify:queued, notify:sending, notify:sent. Inert when the variable is unset.
CRASH_ENV = "JIUZHU_CRASH_AT"
_reached: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _name(ref: Reference, tag: str) -> str:
    if tag == DISTRICT:
        return DISTRICT_NAME
    town = ref.town(tag)
    return town["name"] if town else tag


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction, or the caller's when one is already open."""
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        yield
        return
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# ---------------------------------------------------------------- queueing

_SAME_ITEM = ["tag", "kind", "rule_id", "case_no", "message", "member", "n"]


def items_frame(items: Items) -> pl.DataFrame:
    """The items as one frame of ITEM_COLUMNS, in tag order (each tag's items in their own order)."""
    if isinstance(items, pl.DataFrame):
        return items.select(list(ITEM_COLUMNS)).cast(ITEM_COLUMNS)
    return pl.DataFrame(
        [
            (tag, i.kind, i.rule_id, i.case_no, i.message, i.member_id, i.count)
            for tag, tag_items in sorted(items.items())
            for i in tag_items
        ],
        schema=ITEM_COLUMNS,
        orient="row",
    )


def _scrubbed(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """ID- and account-like numbers in free text masked (only rows that hold a long digit run are touched)."""
    hit = frame[column].str.contains(r"\d{12}").fill_null(False)
    if not hit.any():
        return frame
    values = [scrub_text(v) if h else v for v, h in zip(frame[column].to_list(), hit.to_list(), strict=True)]
    return frame.with_columns(pl.Series(column, values, dtype=pl.String))


def enqueue(
    con: duckdb.DuckDBPyConnection,
    cycle_id: str,
    flow: str,
    items: Items,
    run_id: str | None = None,
) -> int:
    """Queue the items of `run_id` into batch `cycle_id` (the cycle, or the run outside one), masked.

    Returns how many were queued; items the queue already holds for the run are skipped."""
    frame = items_frame(items)
    if frame.is_empty():
        return 0
    frame = _scrubbed(_scrubbed(frame, "case_no"), "message")
    rows = frame.select(
        pl.int_range(0, pl.len()).alias("ord"),
        "tag",
        "kind",
        "rule_id",
        "case_no",
        "message",
        mask_member_expr(pl.col("member_id")).alias("member"),
        "n",
    ).with_columns(occurrence=pl.col("ord").cum_count().over(_SAME_ITEM).cast(pl.Int32))
    start = con.execute(
        "SELECT coalesce(max(seq), 0) FROM audit.notification_queue WHERE cycle_id = ?", [cycle_id]
    ).fetchall()[0][0]
    with registered(con, "queued_items", rows):
        queued = con.execute(
            sql("notify/enqueue"),
            {"batch": cycle_id, "start": start, "flow": flow, "now": now_shanghai(), "run_id": run_id},
        ).fetchall()
    return int(queued[0][0]) if queued else 0


def sweep_dead_runs(con: duckdb.DuckDBPyConnection, run_id: str | None, batch: str) -> int:
    """Queue (into `batch`) the items of runs that did not complete, rebuilt from their facts."""
    queued = 0
    dead = con.execute(sql("notify/dead_runs"), {"flows": list(SOURCES), "run_id": run_id or ""}).fetchall()
    for dead_run, flow, status in dead:
        n = enqueue(con, batch, flow, SOURCES[flow](con, dead_run), run_id=dead_run)
        if n:
            log.warning(
                "notifications: %d item(s) of the %s run %s (%s before its digest) queued now",
                n,
                flow,
                dead_run,
                status,
            )
        queued += n
        if status != "running":  # its process is gone for sure: nothing more will come from it
            con.execute(
                "INSERT INTO audit.notice_sweeps VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [dead_run, now_shanghai(), n],
            )
    return queued


# ---------------------------------------------------------------- delivering


class _Sender:
    """Sends digests and records what became of the items each one carried."""

    def __init__(
        self, con, home: Home, ref: Reference, run_id: str | None, notifier: Notifier | None
    ) -> None:
        self.con, self.home, self.ref, self.run_id = con, home, ref, run_id
        self._notifier = notifier
        self.max_attempts = ref.setting_int("notify_max_attempts", DEFAULT_MAX_ATTEMPTS)
        self.backoff_minutes = ref.setting_int("notify_backoff_minutes", DEFAULT_BACKOFF_MINUTES)

    @property
    def notifier(self) -> Notifier:
        # made on first use: a bad notify.yaml raises before any attempt is counted
        if self._notifier is None:
            self._notifier = Notifier(self.home, town_codes=self.ref.town_codes)
        return self._notifier

    def send(self, tag: str, digest, keys: pl.DataFrame) -> DeliveryResult:
        notifier = self.notifier
        now = now_shanghai()
        with registered(self.con, "sent_keys", keys):
            self.con.execute(sql("notify/mark_attempt"), {"now": now})
        crash_point("notify:sending")
        result = notifier.send(tag, digest)
        crash_point("notify:sent")
        with _transaction(self.con), registered(self.con, "sent_keys", keys):
            notification_id = record_delivery(self.con, self.run_id, digest, result)
            self.con.execute(
                sql("notify/record_outcome"),
                {
                    "status": result.status,
                    "sent_at": result.sent_at,
                    "now": now_shanghai(),
                    "max_attempts": self.max_attempts,
                    "backoff_minutes": self.backoff_minutes,
                    "notification_id": notification_id,
                },
            )
        if result.status == FAILED:
            given_up = self.con.execute(
                "SELECT count(*) FROM audit.notification_queue WHERE notification_id = ? AND status = ?",
                [notification_id, GIVEN_UP],
            ).fetchall()[0][0]
            if given_up:
                log.error(
                    "notifications: %d item(s) for %s given up after %d attempts; the district's digest "
                    "lists them",
                    given_up,
                    tag,
                    self.max_attempts,
                )
            else:
                log.warning("notifications: the digest to %s will be sent again by a later run", tag)
        return result


def deliver(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    run_id: str | None,
    batch: str,
    open_counts: Mapping[str, Mapping[str, int]],
    run_label: str,
    as_of: date,
    *,
    notifier: Notifier | None = None,
) -> dict[str, str]:
    """Send one digest per tag with pending items due (see the module doc); returns tag -> status."""
    pending = con.sql(sql("notify/pending_items"), params={"batch": batch, "now": now_shanghai()}).pl()
    sender = _Sender(con, home, ref, run_id, notifier)
    sent: dict[str, str] = {}
    tags = sorted(set(pending["tag"].to_list()) - {DISTRICT})
    for tag in tags:
        mine = pending.filter(pl.col("tag") == tag)
        digest = compose_digest(
            tag,
            _name(ref, tag),
            mine.filter(pl.col("attempts") == 0),
            open_counts.get(tag, {}),
            run_label,
            as_of,
            resent=mine.filter(pl.col("attempts") > 0),
        )
        sent[tag] = sender.send(tag, digest, mine.select("cycle_id", "seq")).status

    # the district last, so that it hears of items given up in this very round
    mine = pending.filter(pl.col("tag") == DISTRICT)
    given = con.sql(sql("notify/given_up_items")).pl()
    if mine.height or given.height:
        given_up = {
            f"{_name(ref, t)}（{t}）": items_of(given.filter(pl.col("tag") == t))
            for t in sorted(set(given["tag"].to_list()))
        }
        digest = compose_digest(
            DISTRICT,
            DISTRICT_NAME,
            mine.filter(pl.col("attempts") == 0),
            open_counts.get(DISTRICT, {}),
            run_label,
            as_of,
            resent=mine.filter(pl.col("attempts") > 0),
            given_up=given_up,
            max_attempts=sender.max_attempts,
        )
        result = sender.send(DISTRICT, digest, mine.select("cycle_id", "seq"))
        sent[DISTRICT] = result.status
        if result.status == DELIVERED and given.height:
            with registered(con, "sent_keys", given.select("cycle_id", "seq")):
                con.execute(sql("notify/mark_reported"), {"now": now_shanghai()})
    return sent


# ---------------------------------------------------------------- what the flows call


def deliver_now(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    run_id: str,
    items: Items,
    open_counts: Mapping[str, Mapping[str, int]],
    run_label: str,
    as_of: date,
    flow: str = "notify",
) -> dict[str, str]:
    """Queue the run's items, then send one digest per tag now; empty tags get nothing."""
    enqueue(con, run_id, flow, items, run_id=run_id)
    crash_point("notify:queued")
    return deliver(con, home, ref, run_id, run_id, open_counts, run_label, as_of)


def notify_or_queue(
    con,
    home: Home,
    ref: Reference,
    run_id: str,
    items: Items,
    open_counts: Mapping[str, Mapping[str, int]],
    run_label: str,
    as_of: date,
    cycle_id: str | None,
    flow: str,
) -> dict[str, str]:
    """Queue the run's items (and those of runs killed before theirs); send now outside a cycle."""
    crash_point("notify:start")
    batch = cycle_id or run_id
    n = enqueue(con, batch, flow, items, run_id=run_id)
    sweep_dead_runs(con, run_id, batch)  # after: what this run just told is not told again for a dead one
    crash_point("notify:queued")
    if cycle_id:
        return {"queued": str(n)}
    return deliver(con, home, ref, run_id, batch, open_counts, run_label, as_of)


def open_counts_by_tag(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """What is still open per town, by family of rule (ride-along counts of a digest)."""
    labels = {
        "P": "文件与数据问题",
        "V": "审核问题",
        "X": "核对异常",
        "M": "动态管理",
        "S": "抽查问题",
        "B": "银行退回",
    }
    rows = con.execute(
        "SELECT town_code, substr(rule_id, 1, 1), count(*) FROM checks.findings "
        "WHERE status = 'open' AND town_code IS NOT NULL GROUP BY ALL"
    ).fetchall()
    out: dict[str, dict[str, int]] = {}
    for town, family, n in rows:
        out.setdefault(town, {})[labels.get(family, family)] = n
    # the district is told of its own rules' findings (M03, the bureau's annual review): their open count
    from checks.crosscheck import RULES

    district_rules = sorted(r for r, rule in RULES.items() if rule.to_district)
    for rule_id, n in con.execute(
        "SELECT rule_id, count(*) FROM checks.findings WHERE status = 'open' AND list_contains($rules, rule_id) "
        "GROUP BY ALL ORDER BY 1", {"rules": district_rules}
    ).fetchall():
        out.setdefault("district", {})[f"{rule_id} {RULES[rule_id].title}"] = n
    return out


def flush(
    con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, run_id: str, cycle_id: str, as_of: date
) -> dict[str, str]:
    """The cycle's last step: one digest per tag with everything pending for it (this cycle's items,
    those of runs and cycles killed before they sent theirs, earlier failures due again)."""
    crash_point("notify:start")
    sweep_dead_runs(con, run_id, cycle_id)
    return deliver(con, home, ref, run_id, cycle_id, open_counts_by_tag(con), "区级周期", as_of)
