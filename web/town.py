"""A town's pages: its clerk sees only these, and only for the own town (URL tampering with
another town's code or case gets 403). Officers and auditors may open any town's."""

from __future__ import annotations

import io
import os
from datetime import datetime
from typing import Annotated

import polars as pl
import xlsxwriter
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.accounts import Account
from core.home import SHANGHAI
from core.periods import period_text
from web import files
from web.common import (
    Forbidden,
    NotFound,
    check_csrf,
    current_user,
    labels,
    need,
    need_town,
    render,
    rows,
    show_id,
    wb_of,
)

router = APIRouter()
User = Annotated[Account, Depends(current_user)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/towns")
def towns(request: Request, user: User):
    need(user, "officer", "auditor")
    wb = wb_of(request)
    with wb.snapshots.reader() as cur:
        summary = {r["town_code"]: r for r in rows(cur, "towns_summary")}
    return render(request, "towns.html", "各镇街", summary=summary)


@router.get("/towns/{town}")
def town_home(request: Request, town: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    with wb.snapshots.reader() as cur:
        findings = rows(cur, "town_findings", town=town, overdue=False)
        overdue = rows(cur, "town_findings", town=town, overdue=True)
        holds = rows(cur, "town_holds", town=town)
        inspections = rows(cur, "town_inspections", town=town)
    return render(request, "town.html", f"{wb.towns[town]} 概况", town=town, findings=findings, overdue=overdue,
                  holds=holds, inspections=inspections)


@router.get("/towns/{town}/cases/{case_no:path}")
def case_page(request: Request, town: str, case_no: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    with wb.snapshots.reader() as cur:
        case = rows(cur, "case_current", town=town, case_no=case_no)
        if not case:
            raise NotFound("没有这个案件 (no such case)")
        members = rows(cur, "case_members", town=town, case_no=case_no)
        found = rows(cur, "case_findings", town=town, case_no=case_no, today=wb.today(), clerk=user.role == "clerk")
        payments = rows(cur, "case_payments", town=town, case_no=case_no)
        holds = rows(cur, "case_holds", town=town, case_no=case_no)
        inspections = [r for r in rows(cur, "town_inspections", town=town) if r["case_no"] == case_no]
    return render(request, "case.html", f"案件 {case_no}", town=town, case=case[0], members=members,
                  findings=found, payments=payments, holds=holds, inspections=inspections,
                  programs=labels(wb, "program"), statuses=labels(wb, "status"), relations=labels(wb, "relation"))


# ---------------------------------------------------------------- sending a submission


@router.get("/towns/{town}/upload")
def upload_form(request: Request, town: str, user: User, sent: str | None = None):
    wb = wb_of(request)
    need_town(user, town, wb)
    need(user, "clerk")
    return render(request, "upload.html", "报送台账", town=town, sent=sent, inbox=files.pending_uploads(wb.home, town),
                  ingest_running=wb.ingest.running(), ingest_status=wb.ingest.last_status)


@router.post("/towns/{town}/upload")
def upload(request: Request, town: str, user: User, file: Annotated[UploadFile, File()],
           csrf: Annotated[str, Form()] = ""):
    wb = wb_of(request)
    need_town(user, town, wb)
    need(user, "clerk")
    check_csrf(request, csrf)
    try:
        name = files.clean_name(file.filename, files.SUBMISSION_SUFFIXES)
        landed = files.land(wb.home.inbox / town, name, file.file, wb.max_upload_bytes)
    except files.UploadRefused as exc:
        return render(request, "upload.html", "报送台账", status_code=400, town=town, error=str(exc),
                      inbox=files.pending_uploads(wb.home, town), ingest_running=wb.ingest.running(),
                      ingest_status=wb.ingest.last_status)
    _arrive_on_as_of(wb, landed)
    return RedirectResponse(f"/towns/{town}/upload?sent=1", status_code=303)


def _arrive_on_as_of(wb, path) -> None:
    """With --as-of standing in for today, a file sent now arrives on that day (SPEC §1)."""
    if wb.as_of is not None:
        ts = datetime(wb.as_of.year, wb.as_of.month, wb.as_of.day, 12, tzinfo=SHANGHAI).timestamp()
        os.utime(path, (ts, ts))


@router.post("/ingest")
def run_ingest(request: Request, user: User, csrf: Annotated[str, Form()] = ""):
    """立即处理: start `jiuzhu run ingest` now (one at a time)."""
    need(user, "clerk", "officer")
    check_csrf(request, csrf)
    wb = wb_of(request)
    started = wb.ingest.start()
    back = f"/towns/{user.town_code}/upload" if user.role == "clerk" else "/runs"
    return RedirectResponse(f"{back}?ingest={'started' if started else 'running'}", status_code=303)


# ---------------------------------------------------------------- files back


@router.get("/towns/{town}/files")
def town_files(request: Request, town: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    return render(request, "files.html", "回执与核对报告", town=town, returns=files.town_returns(wb.home, town),
                  crosscheck=files.town_crosscheck(wb.home, town))


@router.get("/towns/{town}/files/returns/{name}")
def return_file(request: Request, town: str, name: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    if name.endswith(".问题.xlsx"):  # every row of the town's cases, IDs and accounts in full
        need(user, "clerk", "officer")
    path = files.find_in(wb.home.out / "returns" / town, name, (".问题.xlsx", ".回执.json"))
    if path is None:
        raise NotFound()
    return FileResponse(path, filename=name, media_type=XLSX if name.endswith(".xlsx") else "application/json")


@router.get("/towns/{town}/files/crosscheck/{check_date}")
def crosscheck_report(request: Request, town: str, check_date: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    if not (len(check_date) == 10 and check_date[4] == "-" and check_date[7] == "-"):
        raise NotFound()
    path = files.find_in(wb.home.out / "crosscheck" / check_date, f"{town}.核对报告.xlsx", (".xlsx",))
    if path is None:
        raise NotFound()
    return FileResponse(path, filename=f"{town}.{check_date}.核对报告.xlsx", media_type=XLSX)


@router.get("/towns/{town}/template.xlsx")
def template(request: Request, town: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    from publish.template import TEMPLATE_NAME, write_template

    path = write_template(wb.home, wb.ref, town, wb.today())  # the standards and limits of today
    return FileResponse(path, filename=f"{town}.{TEMPLATE_NAME}", media_type=XLSX)


# ---------------------------------------------------------------- the town's own payments (tekun)


@router.get("/towns/{town}/payments")
def town_payments(request: Request, town: str, user: User):
    wb = wb_of(request)
    need_town(user, town, wb)
    with wb.snapshots.reader() as cur:
        batches = rows(cur, "town_batches", town=town)
        holds = rows(cur, "town_holds", town=town)
        recoveries = rows(cur, "recoveries", town=town, status="open")
    for r in recoveries:
        r["id_shown"] = show_id(user, r.pop("id_no"))
    return render(request, "town_payments.html", "特困发放", town=town, batches=batches, holds=holds,
                  recoveries=recoveries, programs=labels(wb, "program"))


@router.get("/towns/{town}/payments/batches/{batch_no}/{kind}")
def town_batch_file(request: Request, town: str, batch_no: str, kind: str, user: User):
    """A batch the town pays itself: its bank file (full IDs and accounts) or manifest."""
    wb = wb_of(request)
    need_town(user, town, wb)
    with wb.snapshots.reader() as cur:
        mine = [b for b in rows(cur, "town_batches", town=town) if b["batch_no"] == batch_no]
    if not mine:
        raise Forbidden("这不是本镇街发放的批次 (not this town's batch)")
    return batch_download(request, user, batch_no, period_text(mine[0]["period"]), kind)


def batch_download(request: Request, user: Account, batch_no: str, period: str, kind: str):
    wb = wb_of(request)
    suffix = {"csv": ".csv", "xlsx": ".xlsx", "manifest": ".manifest.json"}.get(kind)
    if suffix is None:
        raise NotFound()
    if kind != "manifest":  # bank files carry IDs and accounts in full
        need(user, "clerk", "officer")
    path = files.find_in(wb.home.out / "payments" / period, f"{batch_no}{suffix}", (suffix,))
    if path is None:
        raise NotFound("文件尚未生成 (file not written yet)")
    media = {"csv": "text/csv", "xlsx": XLSX, "manifest": "application/json"}[kind]
    return FileResponse(path, filename=path.name, media_type=media)


@router.get("/towns/{town}/payments/{which}.xlsx")
def town_lists(request: Request, town: str, which: str, user: User):
    """The town's lines of the latest 暂停发放 list, or its open 应追回 lines, as a workbook."""
    wb = wb_of(request)
    need_town(user, town, wb)
    if which not in ("holds", "recoveries"):
        raise NotFound()
    with wb.snapshots.reader() as cur:
        if which == "holds":
            got = rows(cur, "town_holds", town=town)
            frame = pl.DataFrame([{"案件编号": r["case_no"], "首月": period_text(r["first_month"]),
                                   "末月": period_text(r["last_month"]), "月数": r["months"],
                                   "应发金额": str(r["amount"] or ""), "暂停原因": r["reasons"]} for r in got])
        else:
            got = rows(cur, "recoveries", town=town, status="open")
            frame = pl.DataFrame([{"案件编号": r["case_no"], "收款人身份证号": show_id(user, r["id_no"]),
                                   "所属期": period_text(r["period_owed"]), "批次号": r["batch_no"], "序号": r["line_no"],
                                   "应追回金额": str(r["amount_due"]), "尚欠金额": str(r["outstanding"]),
                                   "追回原因": r["reason"]} for r in got])
    name = "暂停发放" if which == "holds" else "应追回"
    return Response(_workbook(name, frame), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{which}.xlsx"})


def _workbook(sheet: str, frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                   "strings_to_urls": False})
    ws = wb.add_worksheet(sheet)
    bold = wb.add_format({"bold": True})
    for c, name in enumerate(frame.columns):
        ws.write_string(0, c, name, bold)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, value in enumerate(row):
            if isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, "" if value is None else str(value))
    wb.close()
    return buf.getvalue()
