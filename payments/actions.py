"""Officers' payment actions: void a batch, re-issue a failed line, one-off payments.

Every action is audited (audit.events). An exported batch is never rewritten:
a void marks it and its lines voided and releases their never-twice keys, so
the next close pays what is still owed in a new batch.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from checks.lifecycle import clear_b01_reissued
from core.home import Home, now_shanghai
from core.periods import month_start
from core.reference import Reference
from payments.bank import release_line_keys
from publish.payments import bank_frame, csv_sha256
from transforms.money import fen_to_decimal_expr, yuan_to_fen
from warehouse.audit import record_event
from warehouse.ingest_load import registered
from warehouse.sqlfiles import run, sql


class PaymentActionError(ValueError):
    """An action that cannot be taken; the message says why, in one line."""


def _officer(ref: Reference, officer: str, on: date) -> str:
    """The officer number of the authenticated account acting (the command line and the workbench
    authenticate it: core/accounts.py); it must be listed in the officers table on `on`."""
    from checks.lifecycle import FindingError, resolve_officer

    try:
        return resolve_officer(ref, officer, on)
    except FindingError:
        raise PaymentActionError(
            f"{officer!r} is not an officer in the officers reference table on {on}") from None


def void_batch(con: duckdb.DuckDBPyConnection, ref: Reference, batch_no: str, *, officer: str, reason: str,
               on: date, run_id: str | None = None) -> int:
    officer = _officer(ref, officer, on)
    if not reason.strip():
        raise PaymentActionError("voiding a batch needs a reason")
    rows = con.execute("SELECT status FROM pay.batches WHERE batch_no = ?", [batch_no]).fetchall()
    if not rows:
        raise PaymentActionError(f"no batch {batch_no}")
    if rows[0][0] == "voided":
        raise PaymentActionError(f"batch {batch_no} is already voided")
    paid = con.execute("SELECT count(*) FROM pay.payments WHERE batch_no = ? AND status = 'paid'",
                       [batch_no]).fetchall()[0][0]
    if paid:
        raise PaymentActionError(f"batch {batch_no} has {paid} line(s) the bank reported paid: it cannot be voided")
    now = now_shanghai()
    con.execute("BEGIN TRANSACTION")
    try:
        lines = con.execute("SELECT line_no FROM pay.payments WHERE batch_no = ? AND status = 'exported'",
                            [batch_no]).fetchall()
        for (line_no,) in lines:
            release_line_keys(con, batch_no, line_no)
        run(con, "pay/void_lines", {"now": now, "batch_no": batch_no})
        run(con, "pay/void_batch", {"now": now, "officer": officer, "reason": reason, "batch_no": batch_no})
        record_event(con, run_id, "batch_voided", {"batch_no": batch_no, "officer": officer, "reason": reason,
                                                 "lines": len(lines)})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(lines)


def reissue_line(con: duckdb.DuckDBPyConnection, ref: Reference, batch_no: str, line_no: int, *, officer: str,
                 reason: str, on: date, run_id: str | None = None) -> None:
    """Lift the B01 hold of a failed line so the next close pays the month again (as arrears)."""
    officer = _officer(ref, officer, on)
    rows = con.execute("SELECT town_code, case_no, status FROM pay.payments WHERE batch_no = ? AND line_no = ?",
                       [batch_no, line_no]).fetchall()
    if not rows:
        raise PaymentActionError(f"no line {line_no} in batch {batch_no}")
    town, case, status = rows[0]
    if status != "failed":
        raise PaymentActionError(f"line {line_no} of {batch_no} is {status}, not failed: nothing to re-issue")
    con.execute("BEGIN TRANSACTION")
    try:
        clear_b01_reissued(con, town_code=town, case_no=case, officer=officer, reason=f"重新发放：{reason}", on=on)
        record_event(con, run_id, "line_reissued", {"batch_no": batch_no, "line_no": line_no, "officer": officer,
                                                  "reason": reason})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def one_off_people(con: duckdb.DuckDBPyConnection, ref: Reference, as_of: date) -> pl.DataFrame:
    """Covered members of the cases active in the occasion's month and not held then (the
    close's own holds), never a person recorded dead before the occasion date (SPEC §6)."""
    from payments.close import close_inputs
    from transforms.payments import payable_months
    from warehouse.closes import go_live_month

    month = month_start(as_of)
    inputs = close_inputs(con, ref, go_live=month, period=month, as_of=as_of)
    payable = payable_months(**inputs, tables=ref.tables, go_live=go_live_month(con, ref, month)).filter(
        pl.col("reason").is_null())
    return (
        payable.select("town_code", "case_no", "program", "version_id", "bank", "account_no", "account_holder")
        .join(inputs["covered"], on="version_id")
        .filter(pl.col("died_on").is_null() | (pl.col("died_on") >= as_of))
        .select("town_code", "case_no", "program", "version_id", "bank", "account_no", "account_holder",
                "id_no", "name")
        .sort("town_code", "case_no", "id_no")
    )


def one_off(con: duckdb.DuckDBPyConnection, home: Home, ref: Reference, *, occasion: str, as_of: date,
            run_id: str, officer: str | None = None) -> dict:
    """One line per covered person of every active case, keyed by (id_no, occasion):
    run twice, it pays once. Amounts per person from settings (dibao 50, tekun 70).
    `officer`: the authenticated officer who ordered it (`jiuzhu payments one-off`), audited."""
    from payments.close import write_period_files

    officer = _officer(ref, officer, as_of) if officer is not None else None
    if not occasion.strip():
        raise PaymentActionError("a one-off payment needs an occasion, e.g. 2026春节")
    family = dict(zip(ref["programs"]["program"], ref["programs"]["family"], strict=True))
    per_person = {f: yuan_to_fen(ref.setting(f"one_off_{f}_per_person", "0")) for f in ("dibao", "tekun")}
    people = one_off_people(con, ref, as_of)
    done = con.execute("SELECT id_no FROM pay.one_off_keys WHERE occasion = ?", [occasion]).fetchall()
    people = (
        people.filter(~pl.col("id_no").is_in([d[0] for d in done]))
        .unique("id_no", keep="first", maintain_order=True)
        .with_columns(amount_fen=pl.col("program").replace_strict(family).replace_strict(per_person))
        .filter(pl.col("amount_fen") > 0)
    )
    period = month_start(as_of)
    payers = {"dibao": ref.setting("payer_dibao", "bureau"), "tekun": ref.setting("payer_tekun", "town")}
    people = people.with_columns(
        payer=pl.when(pl.col("program").replace_strict(family).replace_strict(payers) == "town")
        .then(pl.col("town_code")).otherwise(pl.lit("bureau"))
    )
    existing = run(con, "pay/supplements", {"period": period, "kind": "one_off"}).fetchall()
    nxt = {(p, g): n + 1 for p, g, n in existing}
    now = now_shanghai()
    towns = dict(zip(ref["towns"]["code"], ref["towns"]["name"], strict=True))
    labels = dict(zip(ref["programs"]["program"], ref["programs"]["label"], strict=True))
    batches, lines = [], []
    for (payer, program), group in people.sort("town_code", "case_no", "id_no").group_by(
            ["payer", "program"], maintain_order=True):
        n = nxt.get((payer, program), 1)
        label = "QJ" if payer == "bureau" else payer
        batch_no = f"{period:%Y%m}-{label}-{program}-Y{n:02d}"
        g = group.with_columns(
            batch_no=pl.lit(batch_no), line_no=pl.int_range(1, pl.len() + 1).cast(pl.Int32),
            period_owed=pl.lit(period), payment_type=pl.lit("one_off"), payee_name=pl.col("name"),
            amount=fen_to_decimal_expr(pl.col("amount_fen")), covered_count=pl.lit(1, pl.Int32),
            occasion=pl.lit(occasion), attempt=pl.lit(1, pl.Int32), status=pl.lit("exported"),
            status_changed_at=pl.lit(now), bank_reason=pl.lit(None, pl.String),
        )
        lines.append(g)
        batches.append({"batch_no": batch_no, "period": period, "payer": payer, "program": program,
                        "kind": "one_off", "occasion": occasion, "supplement_no": n, "count": g.height,
                        "total": g["amount"].sum(), "sha256": csv_sha256(bank_frame(g, towns, labels)),
                        "status": "exported", "created_at": now, "run_id": run_id})
    con.execute("BEGIN TRANSACTION")
    try:
        for b in batches:
            con.execute(sql("close/insert_batch"), b)
        for g in lines:
            cols = ["batch_no", "line_no", "period_owed", "payment_type", "town_code", "case_no", "version_id",
                    "program", "id_no", "payee_name", "bank", "account_no", "account_holder", "amount",
                    "covered_count", "occasion", "attempt", "status", "status_changed_at", "bank_reason"]
            with registered(con, "new_one_off", g.select(cols)):
                run(con, "pay/insert_one_off_lines")
                run(con, "pay/insert_one_off_keys")
        record_event(con, run_id, "one_off_exported", {"occasion": occasion, "batches": len(batches),
                                                       "lines": sum(g.height for g in lines),
                                                       **({"officer": officer} if officer else {})})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    write_period_files(con, home, ref, period)
    return {"occasion": occasion, "batches": [b["batch_no"] for b in batches],
            "lines": sum(g.height for g in lines), "total": f"{sum((b['total'] for b in batches), start=0):.2f}"}


RECOVERY_ACTIONS = ("recovered", "waived")


def record_recovery(con: duckdb.DuckDBPyConnection, ref: Reference, batch_no: str, line_no: int, *,
                    action: str, officer: str, reason: str, on: date, amount: str | None = None,
                    run_id: str | None = None) -> dict:
    """An officer records money of a line on the 应追回 register as recovered or waived
    (audited, with the amount). Without an amount, what is still outstanding. The line
    leaves the list once recovered and waived amounts reach what was due."""
    if action not in RECOVERY_ACTIONS:
        raise PaymentActionError(f"action must be recovered or waived, got {action!r}")
    code = _officer(ref, officer, on)
    if not (reason or "").strip():
        raise PaymentActionError("recording a recovery or a waiver needs a reason")
    con.execute("BEGIN TRANSACTION")
    try:
        rows = con.sql(sql("pay/recovery_line"), params={"b": batch_no, "l": line_no}).pl().to_dicts()
        if not rows:
            raise PaymentActionError(f"line {line_no} of {batch_no} is not on the 应追回 register")
        r = rows[0]
        if r["status"] != "open":
            raise PaymentActionError(f"line {line_no} of {batch_no} is already {r['status']}")
        outstanding = yuan_to_fen(r["amount_due"]) - yuan_to_fen(r["recovered_amount"]) - yuan_to_fen(
            r["waived_amount"])
        fen = outstanding if amount is None else yuan_to_fen(amount)
        if fen <= 0 or fen > outstanding:
            raise PaymentActionError(
                f"amount must be above 0 and at most the {outstanding / 100:.2f} still outstanding on this line")
        done = fen == outstanding
        con.execute(sql("pay/record_recovery"),
                    {"b": batch_no, "l": line_no, "amount": f"{fen / 100:.2f}", "who": code, "on": on,
                     "note": reason.strip(), "status": action if done else "open", "action": action})
        record_event(con, run_id, f"recovery_{action}", {
            "batch_no": batch_no, "line_no": line_no, "officer": code, "amount": f"{fen / 100:.2f}",
            "on": on.isoformat(), "reason": reason.strip(), "closed": done})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"batch_no": batch_no, "line_no": line_no, action: f"{fen / 100:.2f}",
            "outstanding": f"{(outstanding - fen) / 100:.2f}", "status": action if done else "open"}
