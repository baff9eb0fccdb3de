"""`close_month`: amounts owed, batches, holds, arrears, recoveries (SPEC §5–6).

Order of work, so that a crash never leaves anything half-done: plan in
memory, record batches and lines in one transaction (the warehouse's key
tables refuse any second live line for a case-month or a person-month), then
write the files. Files are rendered from the recorded lines, so a close that
died after its commit rebuilds the very same bytes on the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import duckdb
import polars as pl

from core.home import Home, now_shanghai
from core.periods import month_start, period_text
from core.reference import Reference
from publish.payments import (
    PendingBatchFiles,
    bank_csv_bytes,
    bank_frame,
    csv_sha256,
    payments_dir,
    start_batch_files,
    write_holds,
    write_recoveries,
)
from transforms.money import fen_to_decimal_expr
from transforms.payments import HOLD_NO_PROGRAM, batch_lines, plan_close
from warehouse.closes import go_live_month
from warehouse.ingest_load import registered
from warehouse.sqlfiles import run, sql

DEATHS_SCHEMA = {"id_no": pl.String, "died_on": pl.Date}


def recorded_deaths(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every recorded death (deaths accumulate; the earliest date per person)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'registry' AND table_name = 'deaths'"
    ).fetchall()[0][0]
    if not exists:
        return pl.DataFrame(schema=DEATHS_SCHEMA)
    got = con.sql(sql("close/recorded_deaths")).pl()
    return got.cast(DEATHS_SCHEMA)


def _frame(con, name: str, params: dict | None = None) -> pl.DataFrame:
    return con.sql(sql(name), params=params or {}).pl()


def close_inputs(con: duckdb.DuckDBPyConnection, ref: Reference, *, go_live: date, period: date,
                 as_of: date) -> dict[str, pl.DataFrame]:
    """What the warehouse knows for months go_live..period as of `as_of`: the versions in
    force, their details, covered members with deaths, holds and publicity."""
    in_force = _frame(con, "close/months_in_force", {"go_live": go_live, "period": period, "as_of": as_of})
    with registered(con, "in_force", in_force), registered(con, "deaths", recorded_deaths(con)):
        details = _frame(con, "close/version_details", {"as_of": as_of})
        covered = _frame(con, "close/covered_members")
    return {
        "in_force": in_force, "details": details, "covered": covered,
        "case_holds": _frame(con, "close/case_holds",
                             {"escalation_days": ref.setting_int("hold_escalation_days", 30), "as_of": as_of}),
        "publicity": _frame(con, "close/publicity_holds", {"as_of": as_of}),
    }


def run_close(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    ref: Reference,
    *,
    period: date,
    as_of: date,
    run_id: str,
    fail_after: Callable[[str], None] | None = None,
) -> dict:
    step = fail_after or (lambda _s: None)
    period = month_start(period)
    go_live = go_live_month(con, ref, period)
    if period < go_live:
        raise ValueError(f"cannot close {period_text(period)}: it is before the go-live month {period_text(go_live)}")
    inputs = close_inputs(con, ref, go_live=go_live, period=period, as_of=as_of)
    plan = plan_close(
        period=period, **inputs,
        live=_frame(con, "close/live_lines"),
        person_months=_frame(con, "close/live_person_months"),
        tables=ref.tables, go_live=go_live,
    )
    existing = run(con, "pay/supplements", {"period": period, "kind": "regular"}).fetchall()
    next_supplement = {(p, g): n + 1 for p, g, n in existing}
    payers = {"dibao": ref.setting("payer_dibao", "bureau"), "tekun": ref.setting("payer_tekun", "town")}
    lines = batch_lines(plan.lines, ref["programs"], payers, period, next_supplement)
    # second guard: a line that still cannot be batched is held with its reason, never aborts the close
    unbatched = lines.filter(pl.col("batch_no").is_null() | pl.col("line_no").is_null())
    lines = lines.filter(pl.col("batch_no").is_not_null() & pl.col("line_no").is_not_null())
    plan_holds = pl.concat([plan.holds, unbatched.select(
        "town_code", "case_no", "period_owed", "program", "amount_fen",
        reason=pl.lit(HOLD_NO_PROGRAM), rule_ids=pl.lit(None, pl.String))], how="vertical_relaxed")
    attempts = _frame(con, "close/attempts")
    now = now_shanghai()
    payments = (
        lines.join(attempts, on=["town_code", "case_no", "period_owed"], how="left")
        .with_columns(
            attempt=(pl.col("attempts").fill_null(0) + 1).cast(pl.Int32),
            amount=fen_to_decimal_expr(pl.col("amount_fen")),
            id_no=pl.col("head_id_no"),
            payee_name=pl.col("head_name"),
            status=pl.lit("exported"),
            occasion=pl.lit(None, pl.String),
            status_changed_at=pl.lit(now),
            bank_reason=pl.lit(None, pl.String),
        )
        .select("batch_no", "line_no", "period_owed", "payment_type", "town_code", "case_no", "version_id",
                "program", "id_no", "payee_name", "bank", "account_no", "account_holder", "amount",
                pl.col("covered_count").cast(pl.Int32), "occasion", "attempt", "status", "status_changed_at",
                "bank_reason", "payer", "supplement_no")
    )
    towns = dict(zip(ref["towns"]["code"], ref["towns"]["name"], strict=True))
    labels = dict(zip(ref["programs"]["program"], ref["programs"]["label"], strict=True))
    batches = []
    for (batch_no,), group in payments.group_by("batch_no", maintain_order=True):
        total = group["amount"].sum()
        batches.append({
            "batch_no": batch_no, "period": period, "payer": group["payer"][0], "program": group["program"][0],
            "kind": "regular", "occasion": None, "supplement_no": int(group["supplement_no"][0]),
            "count": group.height, "total": total, "sha256": csv_sha256(bank_frame(group, towns, labels)),
            "status": "exported", "created_at": now, "run_id": run_id,
        })
    holds = plan_holds.with_columns(period=pl.lit(period), amount=fen_to_decimal_expr(pl.col("amount_fen")))
    recoveries = plan.recoveries.with_columns(
        period=pl.lit(period), amount=fen_to_decimal_expr(pl.col("amount_fen")),
        paid_amount=fen_to_decimal_expr(pl.col("paid_fen")),
    )
    total_all = sum((b["total"] for b in batches), start=0)
    con.execute("BEGIN TRANSACTION")
    try:
        for b in batches:
            con.execute(sql("close/insert_batch"), b)
        step("batches")
        new_payments = payments.drop("payer", "supplement_no")
        with registered(con, "new_payments", new_payments):
            con.execute("INSERT INTO pay.payments BY NAME SELECT * FROM new_payments")
            con.execute(sql("close/record_live"))
            con.execute(sql("close/record_persons"))
        step("payments")
        con.execute("DELETE FROM pay.holds WHERE period = ?", [period])
        con.execute("DELETE FROM pay.recoveries WHERE period = ?", [period])
        with registered(con, "h", holds.drop("amount_fen")), registered(con, "r", recoveries.drop("amount_fen",
                                                                                                "paid_fen")):
            con.execute("INSERT INTO pay.holds BY NAME SELECT * FROM h")
            con.execute("INSERT INTO pay.recoveries BY NAME SELECT * EXCLUDE (paid_amount) FROM r")
            con.execute(sql("close/register_recoveries"), {"as_of": as_of})
        run(con, "close/record_close", {
            "period": period, "run_id": run_id, "as_of": as_of, "closed_at": now, "go_live": go_live,
            "lines": payments.height, "total": total_all,
            "held_cases": holds.select("town_code", "case_no").unique().height, "recoveries": recoveries.height,
        })
        step("closes")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    step("committed")
    written = write_period_files(con, home, ref, period)
    return {
        "period": period_text(period), "go_live": period_text(go_live), "new_batches": len(batches),
        "new_lines": payments.height, "new_total": f"{total_all:.2f}",
        "arrears_lines": int((payments["payment_type"] == "arrears").sum()),
        "held_cases": holds.select("town_code", "case_no").unique().height, "held_months": holds.height,
        "recoveries": recoveries.height, "files_written": written,
    }


def write_period_files(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, period: date) -> int:
    """(Re)write every file of a closed period from the warehouse: bank files of
    exported batches whose files are missing, and the hold and recovery lists."""
    towns = dict(zip(ref["towns"]["code"], ref["towns"]["name"], strict=True))
    labels = dict(zip(ref["programs"]["program"], ref["programs"]["label"], strict=True))
    label = period_text(period)
    folder = payments_dir(home, label)
    batches = con.sql("SELECT * FROM pay.batches WHERE period = $p ORDER BY batch_no", params={"p": period}).pl()
    missing = [b for b in batches.iter_rows(named=True)
               if not all((folder / f"{b['batch_no']}{s}").exists() for s in (".csv", ".xlsx", ".manifest.json"))]
    # every other batch's workbook is rendered by the worker process while this one renders the next
    pending: list[PendingBatchFiles] = []
    try:
        for i, batch in enumerate(missing):
            lines = con.sql("SELECT * FROM pay.payments WHERE batch_no = $b ORDER BY line_no",
                            params={"b": batch["batch_no"]}).pl()
            frame = bank_frame(lines, towns, labels)
            data = bank_csv_bytes(frame)
            if hashlib.sha256(data).hexdigest() != batch["sha256"]:
                raise RuntimeError(f"batch {batch['batch_no']}: rebuilt bank file does not match its recorded "
                                   "SHA-256")
            pending.append(start_batch_files(home, label, batch, frame, data,
                                             in_worker=i % 2 == 0 and i < len(missing) - 1))
            if pending[-1].job is None:
                pending.pop().finish()
        while pending:
            pending[0].finish()
            pending.pop(0)
    except BaseException:
        for p in pending:
            p.abandon()
        raise
    written = 3 * len(missing)
    holds = con.sql(sql("close/period_holds"), params={"period": period}).pl()
    write_holds(home, label, holds.select(
        pl.col("town_code").replace_strict(towns, default=pl.col("town_code")).alias("镇街"),
        pl.col("town_code").alias("镇街代码"), pl.col("case_no").alias("案件编号"),
        pl.col("period_owed").dt.strftime("%Y-%m").alias("所属期"),
        pl.col("program").replace_strict(labels, default=pl.col("program")).alias("类别"),
        pl.col("amount").alias("应发金额"), pl.col("reason").alias("暂停原因"),
    ))
    recoveries = con.sql(sql("close/open_recoveries"), params={"p": period}).pl()
    write_recoveries(home, label, recoveries.select(
        pl.col("town_code").replace_strict(towns, default=pl.col("town_code")).alias("镇街"),
        pl.col("case_no").alias("案件编号"), pl.col("id_no").alias("收款人身份证号"),
        pl.col("period_owed").dt.strftime("%Y-%m").alias("所属期"), pl.col("batch_no").alias("批次号"),
        pl.col("line_no").alias("序号"), pl.col("paid_amount").alias("已发金额"),
        pl.col("amount_due").alias("应追回金额"), pl.col("reason").alias("追回原因"),
        pl.col("raised_period").dt.strftime("%Y-%m").alias("首次列入"),
    ))
    return written + 2
