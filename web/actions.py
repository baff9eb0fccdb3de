"""Officers' actions from the workbench: queued durably first, applied at once when the
warehouse is free (flows/officer_actions.py applies the queue, in order)."""

from __future__ import annotations

import logging
import threading

from core.accounts import Account, Action
from web.common import Workbench

log = logging.getLogger("jiuzhu.web")
_apply_lock = threading.Lock()


def try_apply(wb: Workbench, at_once: tuple[str, ...] = ()) -> bool:
    """Apply every queued action now if the warehouse is free (never waits for a flow);
    then serve a fresh snapshot. False when a flow holds the warehouse."""
    from flows.officer_actions import apply_queued_actions
    from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse

    if not wb.store.queued():
        return True
    with _apply_lock, wb.snapshots.exclusive():
        if not wb.store.queued():  # applied meanwhile by another thread
            return True
        try:
            # a second at most: enough for the workbench's own snapshot copy, never for a flow
            with open_warehouse(wb.home, flow="workbench", timeout=1.0, ref=wb.ref) as con:
                done = apply_queued_actions(con, wb.home, wb.ref, at_once=at_once)
        except (WarehouseBusy, WarehouseMissing):
            return False
    if done:
        wb.snapshots.refresh(force=True)
        for hook in wb.after_action:
            hook()
    return True


def submit(wb: Workbench, user: Account, kind: str, target: dict) -> Action:
    """Queue the action of the signed-in officer and try to apply it at once; returns its state."""
    action = wb.store.enqueue(user, kind, target, wb.today(), via="web")
    if wb.apply_at_once:
        try:
            try_apply(wb, at_once=(action.action_id,))
        except Exception:  # noqa: BLE001 - the action stays queued; the next writer applies it
            log.warning("applying queued actions failed; they stay queued", exc_info=False)
    return wb.store.action(action.action_id)


def pending_clear_by(wb: Workbench, finding_id: str, snapshot_says: str | None) -> str | None:
    """Who asked to clear this finding and awaits a second officer: what the snapshot says
    (`snapshot_says`, the cleared_by of an open finding with a clearing requested), unless an
    action newer than the snapshot (queued, or applied after the copy was taken) says otherwise."""
    snap = wb.snapshots.current
    taken = snap.taken_at if snap else 0.0
    for a in wb.store.actions(target_key=("finding_id", finding_id), limit=20):  # newest first
        if a.kind not in ("finding_clear", "finding_confirm") or a.status == "refused":
            continue
        if a.status == "applied" and (a.applied_at or 0) <= taken:
            break  # the snapshot already shows it
        return a.username if a.kind == "finding_clear" else None
    return snapshot_says


def background_apply(wb: Workbench) -> None:
    """Called by the snapshot thread: apply what waited for a flow, once the warehouse is free."""
    try:
        try_apply(wb)
    except Exception:  # noqa: BLE001 - retried on the next tick
        log.warning("background apply failed", exc_info=False)
