"""Officers' actions from the workbench and the command line, applied by whoever holds the
warehouse (issue 17; docs/workbench.md "It works while flows run").

Every action (clear or confirm a finding, void a batch, re-issue a failed line, record an
应追回 line recovered or waived) is first written to the durable queue in
`<home>/warehouse/workbench.sqlite` (core/accounts.py), with the authenticated account
that asked. Whoever holds the warehouse next applies every queued action in order:

* the workbench itself, at once, when the warehouse is free;
* the command line (`jiuzhu findings clear` ...), before its own action;
* every writer flow, by calling `apply_queued_actions(con, home, ref)` first thing after
  opening the warehouse — above all the close, before it reads holds.

Each action is one audited run (`audit.runs`, flow findings-clear, payments-void ...,
params: action id, account, via) whose business effect and `audit.events` rows commit in
one transaction; a row of `audit.officer_actions` follows. An action whose run already
left events is never applied again (a crash between the commit and the queue update), so
each action takes effect exactly once. A refused action (another officer must confirm, the
batch has paid lines ...) is recorded with its one-line reason and shown to the officer.

No Prefect here: the workbench and the commands import this module.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

import duckdb

from core.accounts import AccountStore, Action
from core.home import SHANGHAI, Home
from core.reference import Reference
from transforms.identifiers import scrub_text
from warehouse.audit import record_event, recorded_run

log = logging.getLogger("jiuzhu.officer_actions")

FLOW_NAMES = {
    "finding_clear": "findings-clear",
    "finding_confirm": "findings-confirm",
    "batch_void": "payments-void",
    "line_reissue": "payments-reissue",
    "recovery": "payments-recovery",
}

_APPLIED_BEFORE = """
SELECT r.run_id, count(e.event_id) AS events
FROM audit.runs r LEFT JOIN audit.events e ON e.run_id = r.run_id
WHERE r.flow = $flow AND json_extract_string(r.params_json, '$.action_id') = $action_id
GROUP BY r.run_id
ORDER BY events DESC
LIMIT 1
"""
_RECORD = """
INSERT INTO audit.officer_actions
VALUES ($action_id, $username, $kind, $target, $via, $requested_at, $applied_at, $queued, $outcome, $message, $run_id)
ON CONFLICT DO NOTHING
"""
_MIRROR = """
INSERT OR REPLACE INTO audit.accounts
VALUES ($username, $role, $town_code, $active, $created_at, $updated_at, $disabled_at)
"""


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, SHANGHAI)


def sync_accounts(con: duckdb.DuckDBPyConnection, store: AccountStore) -> int:
    """Mirror the accounts (no secrets) into audit.accounts, and account events into audit.events."""
    rows = store.all_rows()
    known = dict(con.execute("SELECT username, epoch(updated_at) FROM audit.accounts").fetchall())
    changed = [r for r in rows if known.get(r["username"]) is None
               or abs(known[r["username"]] - r["updated_at"]) > 0.001]
    for r in changed:
        con.execute(_MIRROR, {**r, "active": bool(r["active"]), "created_at": _ts(r["created_at"]),
                              "updated_at": _ts(r["updated_at"]), "disabled_at": _ts(r["disabled_at"])})
    events = store.unsynced_events()
    for _no, at, username, event, detail in events:
        record_event(con, None, f"account_{event}" if not event.startswith("account_") else event,
                     {"username": username, "at": _ts(at).isoformat(timespec="seconds"), **detail})
    store.mark_events_synced([e[0] for e in events])
    return len(changed)


def _outcome_text(kind: str, result) -> str:
    if kind in ("finding_clear", "finding_confirm"):
        if result.status == "pending_confirmation":
            text = "已申请解除；该结果暂停发放，须由另一名人员确认后生效"
        elif kind == "finding_confirm":
            text = "已确认解除"
        else:
            text = "已解除"
        return text + ("；该版本的错误已全部解除，已作为当前版本生效" if result.released_version else "")
    if kind == "batch_void":
        return f"批次已作废，释放 {result} 笔；下次月度发放将补发仍应发的月份"
    if kind == "line_reissue":
        return "已解除银行退回暂停，下次月度发放将重新发放（补发）"
    return (f"已登记{'追回' if 'recovered' in result else '核销'} {result.get('recovered') or result.get('waived')} 元，"
            f"尚余 {result['outstanding']} 元")


def _dispatch(con: duckdb.DuckDBPyConnection, ref: Reference, a: Action, run_id: str):
    from checks.lifecycle import clear_finding, confirm_clearing
    from payments.actions import record_recovery, reissue_line, void_batch

    t = a.target
    if a.kind == "finding_clear":
        return clear_finding(con, ref, t["finding_id"], a.username, t["reason"], a.on, run_id=run_id)
    if a.kind == "finding_confirm":
        return confirm_clearing(con, ref, t["finding_id"], a.username, a.on, run_id=run_id)
    if a.kind == "batch_void":
        return void_batch(con, ref, t["batch_no"], officer=a.username, reason=t["reason"], on=a.on, run_id=run_id)
    if a.kind == "line_reissue":
        return reissue_line(con, ref, t["batch_no"], int(t["line_no"]), officer=a.username, reason=t["reason"],
                            on=a.on, run_id=run_id)
    if a.kind == "recovery":
        return record_recovery(con, ref, t["batch_no"], int(t["line_no"]), action=t["action"], officer=a.username,
                               reason=t["reason"], on=a.on, amount=t.get("amount"), run_id=run_id)
    raise ValueError(f"unknown action {a.kind!r}")


def _refusals() -> tuple[type[BaseException], ...]:
    from checks.lifecycle import FindingError
    from payments.actions import PaymentActionError

    return FindingError, PaymentActionError


def apply_queued_actions(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, *,
                         at_once: Collection[str] = ()) -> dict[str, tuple[str, str]]:
    """Apply every queued officer action in order, on a writer's connection (outside any
    transaction). Returns {action_id: (status, message)} of the actions handled now.
    `at_once`: the actions whose own request or command applies them now (the workbench, the
    command line); every other one waited in the queue (audit.officer_actions.queued).
    Cheap when nothing is queued (one SQLite read); never creates the store."""
    store = AccountStore.for_home(home)
    if not store.exists():
        return {}
    sync_accounts(con, store)
    done: dict[str, tuple[str, str]] = {}
    for a in store.queued():
        flow = FLOW_NAMES[a.kind]
        status, message, run_id = "refused", "", None
        before = con.execute(_APPLIED_BEFORE, {"flow": flow, "action_id": a.action_id}).fetchall()
        if before and before[0][1] > 0:  # its effect committed before a crash: never twice
            status, message, run_id = "applied", "已生效", before[0][0]
        else:
            try:
                with recorded_run(con, flow, a.on, None,
                                  {"action_id": a.action_id, "user": a.username, "via": a.via}) as (run_id, summary):
                    result = _dispatch(con, ref, a, run_id)
                    summary["kind"] = a.kind
                status, message = "applied", _outcome_text(a.kind, result)
            except _refusals() as exc:
                message = scrub_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            except Exception as exc:  # noqa: BLE001 - one bad action must never stop the writer that applies it
                log.error("officer action %s (%s) failed: %s", a.action_id[:12], a.kind, type(exc).__name__)
                message = f"未能执行（{type(exc).__name__}），请重新提交或联系系统管理员"
        applied_at = store.clock()
        con.execute(_RECORD, {
            "action_id": a.action_id, "username": a.username, "kind": a.kind,
            "target": scrub_text(_target_json(a)), "via": a.via, "requested_at": _ts(a.requested_at),
            "applied_at": _ts(applied_at), "queued": a.action_id not in at_once,
            "outcome": status, "message": message, "run_id": run_id,
        })
        store.finish_action(a.action_id, status, message, run_id)
        log.info("officer action %s (%s, via %s): %s", a.action_id[:12], a.kind, a.via, status)
        done[a.action_id] = (status, message)
    return done


def _target_json(a: Action) -> str:
    import json

    return json.dumps(a.target, ensure_ascii=False, sort_keys=True)
