"""The district's pages: the findings queue and the two-officer rule, what the close would
hold, the 应追回 register, payment batches, inspections, bank returns, the report, runs.
Officers act; auditors read (IDs and accounts masked) and every form is refused to them."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from core.accounts import Account
from core.periods import month_start, period_text, to_month
from transforms.identifiers import scrub_text
from web import files
from web.actions import pending_clear_by, submit
from web.common import (
    Forbidden,
    NotFound,
    check_csrf,
    current_user,
    labels,
    need,
    one,
    render,
    rows,
    show_id,
    show_text,
    wb_of,
)
from web.town import _arrive_on_as_of, batch_download

router = APIRouter()
User = Annotated[Account, Depends(current_user)]
READERS = ("officer", "auditor")
PAGE = 100
EVENT_LABELS = {"finding_clear_requested": "申请解除", "finding_cleared": "解除", "finding_clear_confirmed": "确认解除",
                "version_released": "版本生效"}
FID = re.compile(r"^[0-9a-f]{16,64}$")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _reason(text: str) -> str:
    reason = scrub_text(" ".join((text or "").split()))[:500]
    if not reason:
        raise Forbidden("请填写理由 (a reason is required)")
    return reason


# ---------------------------------------------------------------- the findings queue


@router.get("/findings")
def queue(request: Request, user: User, town: str | None = None, rule: str | None = None,
          severity: str | None = None, status: str = "open", min_age: str | None = None,
          max_age: str | None = None, blocking: str | None = None, page: int = 1):
    need(user, *READERS)
    wb = wb_of(request)
    status = status if status in ("open", "pending", "cleared", "superseded", "all") else "open"
    severity = severity if severity in ("error", "warning", "info") else None
    town = town if town in wb.towns else None
    rule = (rule or "").strip().upper()[:3] or None
    page = max(1, page)
    with wb.snapshots.reader() as cur:
        got = rows(cur, "findings_queue", status=status, town=town, rule=rule, severity=severity,
                   blocking=bool(blocking), min_age=_int(min_age), max_age=_int(max_age), today=wb.today(),
                   limit=PAGE, offset=(page - 1) * PAGE)
    total = got[0]["total"] if got else 0
    filters = {"town": town or "", "rule": rule or "", "severity": severity or "", "status": status,
               "min_age": min_age or "", "max_age": max_age or "", "blocking": "1" if blocking else ""}
    return render(request, "findings.html", "问题队列", findings=got, total=total, page=page, pages=-(-total // PAGE),
                  filters=filters)


@router.get("/findings/{finding_id}")
def finding(request: Request, finding_id: str, user: User, action: str | None = None):
    need(user, *READERS)
    if not FID.match(finding_id):
        raise NotFound()
    return _finding_page(request, user, finding_id, action_id=action)


def _finding_page(request: Request, user: Account, finding_id: str, *, action_id: str | None = None,
                  error: str | None = None, status_code: int = 200):
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        f = one(cur, "finding", finding_id=finding_id)
        history = rows(cur, "finding_history", finding_id=finding_id) if f else []
    if f is None:
        raise NotFound("没有这条核对结果 (no such finding)")
    from checks.lifecycle import needs_confirmation
    from transforms.catalogue import RULES

    queued = [a for a in wb.store.actions(target_key=("finding_id", finding_id), limit=20) if a.status == "queued"]
    done = None
    if action_id:
        mine = [a for a in wb.store.actions(username=user.username, limit=50) if a.action_id == action_id]
        done = mine[0] if mine else None
    for h in history:
        try:
            detail = json.loads(h["detail_json"] or "{}")
        except ValueError:
            detail = {}
        h["label"] = EVENT_LABELS.get(h["kind"], h["kind"])
        h["officer"] = detail.get("officer") or ""
        h["reason"] = detail.get("reason") or ""
    requested_by = pending_clear_by(wb, finding_id, _requested(f))
    return render(request, "finding.html", f"核对结果 {f['rule_id']}", status_code=status_code, f=f,
                  history=history, rule_title=RULES[f["rule_id"]].title_zh if f["rule_id"] in RULES else "",
                  two_officers=needs_confirmation(f), queued=queued, done=done, error=error,
                  requested_by=requested_by)


def _requested(f: dict) -> str | None:
    """The officer whose clearing of an open finding awaits confirmation, per the snapshot."""
    return f["cleared_by"] if f["status"] == "open" and f["clear_requested_on"] else None


@router.post("/findings/{finding_id}/clear")
def clear(request: Request, finding_id: str, user: User, csrf: Annotated[str, Form()] = "",
          reason: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    if not FID.match(finding_id):
        raise NotFound()
    with wb.snapshots.reader() as cur:
        f = one(cur, "finding", finding_id=finding_id)
    if f is None:
        raise NotFound("没有这条核对结果 (no such finding)")
    if pending_clear_by(wb, finding_id, _requested(f)):
        return _finding_page(request, user, finding_id, status_code=409,
                             error="已有解除申请，等待另一名人员确认 (already cleared, waiting for confirmation)")
    a = submit(wb, user, "finding_clear", {"finding_id": finding_id, "reason": _reason(reason)})
    return RedirectResponse(f"/findings/{finding_id}?action={a.action_id}", status_code=303)


@router.post("/findings/{finding_id}/confirm")
def confirm(request: Request, finding_id: str, user: User, csrf: Annotated[str, Form()] = ""):
    """The second officer. The same account that asked to clear is refused here (403), before
    anything is queued; the lifecycle refuses it again when the action is applied."""
    need(user, "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    if not FID.match(finding_id):
        raise NotFound()
    with wb.snapshots.reader() as cur:
        f = one(cur, "finding", finding_id=finding_id)
    if f is None:
        raise NotFound("没有这条核对结果 (no such finding)")
    requested_by = pending_clear_by(wb, finding_id, _requested(f))
    if requested_by is None:
        return _finding_page(request, user, finding_id, status_code=409,
                             error="没有待确认的解除申请 (nothing to confirm)")
    if requested_by == user.username:
        return _finding_page(request, user, finding_id, status_code=403,
                             error="解除与确认须由两名不同人员办理：您不能确认自己申请的解除 "
                                   "(a different officer must confirm)")
    a = submit(wb, user, "finding_confirm", {"finding_id": finding_id})
    return RedirectResponse(f"/findings/{finding_id}?action={a.action_id}", status_code=303)


# ---------------------------------------------------------------- before the close

_preview_cache: dict[tuple, tuple[float, list[dict]]] = {}


@router.get("/close")
def close_preview(request: Request, user: User, period: str | None = None):
    """What a close as of today would hold, and why (computed on the snapshot; nothing written)."""
    need(user, *READERS)
    wb = wb_of(request)
    today = wb.today()
    month = month_start(today)
    if period and re.fullmatch(r"\d{4}-\d{2}", period):
        month = to_month(period)
    snap = wb.snapshots.current
    key = (snap.generation if snap else None, month, today)
    hit = _preview_cache.get(key)
    error = None
    if hit is None:
        try:
            with wb.snapshots.reader() as cur:
                held = _plan_holds(cur, wb, month, today) if cur is not None else []
            _preview_cache.clear()
            _preview_cache[key] = (time.time(), held)
        except ValueError as exc:
            held, error = [], str(exc)
    else:
        held = hit[1]
    return render(request, "close.html", "发放前预览", held=held, month=month, error=error,
                  programs=labels(wb, "program"))


def _plan_holds(cur, wb, month: date, as_of: date) -> list[dict]:
    import polars as pl

    from payments.close import _frame, close_inputs
    from transforms.payments import plan_close
    from warehouse.closes import go_live_month

    go_live = go_live_month(cur, wb.ref, month)
    if month < go_live:
        raise ValueError(f"{period_text(month)} 早于上线月份 {period_text(go_live)}")
    inputs = close_inputs(cur, wb.ref, go_live=go_live, period=month, as_of=as_of)
    plan = plan_close(period=month, **inputs, live=_frame(cur, "close/live_lines"),
                      person_months=_frame(cur, "close/live_person_months"), tables=wb.ref.tables, go_live=go_live)
    grouped = (
        plan.holds.group_by("town_code", "case_no")
        .agg(pl.col("period_owed").min().alias("first_month"), pl.col("period_owed").max().alias("last_month"),
             pl.len().alias("months"), (pl.col("amount_fen").sum() / 100).alias("amount"),
             pl.col("program").first(), pl.col("reason").unique().sort().str.join("；").alias("reasons"))
        .sort("town_code", "case_no")
    )
    return grouped.to_dicts()


# ---------------------------------------------------------------- 应追回


@router.get("/recoveries")
def recoveries(request: Request, user: User, town: str | None = None, status: str = "open",
               action: str | None = None):
    need(user, *READERS)
    wb = wb_of(request)
    status = status if status in ("open", "recovered", "waived", "all") else "open"
    with wb.snapshots.reader() as cur:
        got = rows(cur, "recoveries", town=town if town in wb.towns else None, status=status)
    for r in got:
        r["id_shown"] = show_id(user, r.pop("id_no"))
    done = _my_action(wb, user, action)
    return render(request, "recoveries.html", "应追回", recoveries=got, status=status, town=town or "", done=done)


@router.post("/recoveries/{batch_no}/{line_no}")
def record_recovery(request: Request, batch_no: str, line_no: int, user: User, csrf: Annotated[str, Form()] = "",
                    action: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "",
                    reason: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    if action not in ("recovered", "waived"):
        raise Forbidden("请选择追回或核销 (recovered or waived)")
    amount = amount.strip() or None
    if amount is not None:
        try:
            if Decimal(amount) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise Forbidden("金额须为正数 (amount must be positive)") from None
    wb = wb_of(request)
    a = submit(wb, user, "recovery", {"batch_no": batch_no, "line_no": line_no, "action": action,
                                      "amount": amount, "reason": _reason(reason)})
    return RedirectResponse(f"/recoveries?action={a.action_id}", status_code=303)


def _my_action(wb, user: Account, action_id: str | None):
    if not action_id:
        return None
    mine = [a for a in wb.store.actions(username=user.username, limit=50) if a.action_id == action_id]
    return mine[0] if mine else None


# ---------------------------------------------------------------- payment batches


@router.get("/batches")
def batches(request: Request, user: User):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        got = rows(cur, "batches")
    return render(request, "batches.html", "发放批次", batches=got, programs=labels(wb, "program"))


@router.get("/batches/{batch_no}")
def batch(request: Request, batch_no: str, user: User, action: str | None = None):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        b = one(cur, "batch", batch_no=batch_no)
        lines = rows(cur, "batch_lines", batch_no=batch_no) if b else []
    if b is None:
        raise NotFound("没有这个批次 (no such batch)")
    for line in lines:
        line["id_shown"] = show_id(user, line.pop("id_no"))
        line["account_shown"] = show_id(user, line.pop("account_no")) if line.get("account_no") else ""
        line["payee_shown"] = line.pop("payee_name") if user.sees_full_ids else "＊"
    return render(request, "batch.html", f"批次 {batch_no}", b=b, lines=lines, done=_my_action(wb, user, action),
                  programs=labels(wb, "program"))


@router.get("/batches/{batch_no}/files/{kind}")
def batch_file(request: Request, batch_no: str, kind: str, user: User):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        b = one(cur, "batch", batch_no=batch_no)
    if b is None:
        raise NotFound()
    return batch_download(request, user, batch_no, period_text(b["period"]), kind)


@router.post("/batches/{batch_no}/void")
def void(request: Request, batch_no: str, user: User, csrf: Annotated[str, Form()] = "",
         reason: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    a = submit(wb_of(request), user, "batch_void", {"batch_no": batch_no, "reason": _reason(reason)})
    return RedirectResponse(f"/batches/{batch_no}?action={a.action_id}", status_code=303)


@router.post("/batches/{batch_no}/lines/{line_no}/reissue")
def reissue(request: Request, batch_no: str, line_no: int, user: User, csrf: Annotated[str, Form()] = "",
            reason: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    a = submit(wb_of(request), user, "line_reissue", {"batch_no": batch_no, "line_no": line_no,
                                                      "reason": _reason(reason)})
    return RedirectResponse(f"/batches/{batch_no}?action={a.action_id}", status_code=303)


# ---------------------------------------------------------------- inspections


@router.get("/inspections")
def inspections(request: Request, user: User, period: str | None = None, sent: str | None = None):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        periods = rows(cur, "spotcheck_periods")
        chosen = period if period in {p["period"] for p in periods} else (periods[0]["period"] if periods else None)
        cases = rows(cur, "spotcheck_cases", period=chosen) if chosen else []
        received = rows(cur, "inspection_files")
    return render(request, "inspections.html", "入户抽查", periods=periods, chosen=chosen, cases=cases,
                  received=received, sent=sent)


RESULT_HEADER = ["案件编号", "镇街代码", "核查日期", "核查结论", "问题类型", "处理意见"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@router.post("/inspections")
def enter_inspection(request: Request, user: User, csrf: Annotated[str, Form()] = "",
                     case_no: Annotated[str, Form()] = "", town_code: Annotated[str, Form()] = "",
                     inspected_on: Annotated[str, Form()] = "", conclusion: Annotated[str, Form()] = "",
                     problem_type: Annotated[str, Form()] = "", action: Annotated[str, Form()] = ""):
    """One spot-inspection result typed in: written as a results file into inbox/inspections/,
    read by the next run like any other (with its receipt in out/returns/inspections/)."""
    need(user, "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    values = [v.strip() for v in (case_no, town_code, inspected_on, conclusion, problem_type, action)]
    if not all(values[:4]) or values[1] not in wb.towns or values[3] not in ("属实", "不属实"):
        raise Forbidden("请填写案件编号、镇街、核查日期和核查结论（属实/不属实） (missing fields)")
    try:
        date.fromisoformat(values[2])
    except ValueError:
        raise Forbidden("核查日期格式须为 YYYY-MM-DD (bad date)") from None
    if any(v.startswith(_FORMULA) for v in values):
        raise Forbidden("内容不能以 = + - @ 开头 (formula-like text)")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(RESULT_HEADER)
    w.writerow(values)
    data = ("\ufeff" + buf.getvalue()).encode("utf-8")
    name = f"workbench-{wb.today():%Y%m%d}-{time.strftime('%H%M%S')}-{user.account_id}.csv"
    landed = files.land(wb.home.inspections_inbox, name, io.BytesIO(data), wb.max_upload_bytes)
    _arrive_on_as_of(wb, landed)
    return RedirectResponse("/inspections?sent=1", status_code=303)


@router.post("/inspections/upload")
def upload_inspections(request: Request, user: User, file: Annotated[UploadFile, File()],
                       csrf: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    return _land_upload(request, wb, wb.home.inspections_inbox, file, "/inspections?sent=1")


def _land_upload(request: Request, wb, folder, file: UploadFile, back: str):
    try:
        name = files.clean_name(file.filename, files.TABLE_SUFFIXES)
        landed = files.land(folder, name, file.file, wb.max_upload_bytes)
    except files.UploadRefused as exc:
        return render(request, "message.html", "上传失败", status_code=400, message=str(exc), back=back.split("?")[0])
    _arrive_on_as_of(wb, landed)
    return RedirectResponse(back, status_code=303)


# ---------------------------------------------------------------- bank returns


@router.get("/bank")
def bank(request: Request, user: User, sent: str | None = None):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        got = rows(cur, "bank_returns")
    waiting = files.listing(wb.home.bank_inbox, files.TABLE_SUFFIXES)
    return render(request, "bank.html", "银行回盘", returns=got, waiting=waiting, sent=sent)


@router.post("/bank")
def upload_bank(request: Request, user: User, file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = ""):
    need(user, "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    return _land_upload(request, wb, wb.home.bank_inbox, file, "/bank?sent=1")


# ---------------------------------------------------------------- the monthly report


@router.get("/reports")
def reports(request: Request, user: User):
    need(user, *READERS)
    wb = wb_of(request)
    root = wb.home.out / "reports"
    months = [{"month": m, "files": files.listing(root / m, (".html", ".xlsx"))} for m in files.period_folders(root)]
    return render(request, "reports.html", "统计月报", months=months)


@router.get("/reports/{month}/{name}")
def report_file(request: Request, month: str, name: str, user: User):
    need(user, *READERS)
    wb = wb_of(request)
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise NotFound()
    path = files.find_in(wb.home.out / "reports" / month, name, (".html", ".xlsx"))
    if path is None:
        raise NotFound()
    if name.endswith(".html"):  # the report draws its charts with its own inline script
        return HTMLResponse(path.read_text(encoding="utf-8"), headers={
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                       "img-src data:; font-src data:; frame-ancestors 'none'; base-uri 'none'"})
    return FileResponse(path, filename=name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------- runs


@router.get("/runs")
def runs(request: Request, user: User, ingest: str | None = None):
    need(user, *READERS)
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        got = rows(cur, "runs")
    for r in got:
        r["error"] = show_text(user, r["error"])
    return render(request, "runs.html", "运行记录", runs=got, prefect=bool(wb.prefect_ui), ingest=ingest,
                  ingest_running=wb.ingest.running(), ingest_status=wb.ingest.last_status)


@router.get("/runs/{run_id}/prefect")
def prefect_link(request: Request, run_id: str, user: User):
    """The run in the Prefect UI: the flow run of that flow that started closest to it."""
    need(user, *READERS)
    wb = wb_of(request)
    if not wb.prefect_ui or not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise NotFound()
    with wb.snapshots.reader() as cur:
        r = cur.execute("SELECT flow, started_at FROM audit.runs WHERE run_id = ?", [run_id]).fetchall() if cur else []
    if not r:
        raise NotFound()
    flow, started = r[0]
    target = f"{wb.prefect_ui}/runs"
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if api:
        try:
            body = {"flows": {"name": {"any_": [flow]}},
                    "flow_runs": {"start_time": {"before_": (started.timestamp() + 120),
                                                 "after_": (started.timestamp() - 120)}},
                    "sort": "START_TIME_DESC", "limit": 1}
            body["flow_runs"]["start_time"] = {k: _iso(v) for k, v in body["flow_runs"]["start_time"].items()}
            got = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=3).json()
            if got and isinstance(got, list):
                target = f"{wb.prefect_ui}/runs/flow-run/{got[0]['id']}"
        except (httpx.HTTPError, ValueError, KeyError):
            pass
    return RedirectResponse(target, status_code=303)


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()
