"""Resolving findings (SPEC §5): one lifecycle for every kind (P, V, X, M, S, B).

This module is the one writer of `checks.findings`: every statement that
raises, supersedes, clears, confirms or escalates a finding is a file in
`warehouse/sql/findings/`, run from here. The use cases call it: intake at
ingest (`record_submission_findings`, inside the load's transaction) and for
inspection results (`upsert_s01`), validation (`record_revalidated_findings`),
the cross-check (`apply_checked_findings`), payments for bank failures
(`raise_b01`, `clear_b01_after_account_change`, `clear_b01_reissued`), officers
(`clear_finding`, `confirm_clearing`).

A finding is identified by (rule_id, town_code, case_no, id_no, evidence key)
(`checks.findings.finding_id`), so a rule run again finds the same finding.

* Raised at ingest (P, V) as the file is loaded; seen again when the same
  file is read again. When a newer version becomes current, the open P- and
  V-findings of the case's older versions are superseded
  (`supersede_older_versions`).

* Seen again: the same row, last seen now. A finding cleared automatically
  comes back open (its cause is back) and is news again; one cleared by an
  officer stays cleared until its evidence changes (a new identity).
* Cleared automatically when a later submission or extract no longer trips
  the rule (`apply_checked_findings`); X01 (death) only when the case's
  current version no longer lists the member, or its 停发/终止 has taken
  effect, or it was 作废.
* Cleared by an officer with a reason (`clear_finding`). The officer is an
  authenticated account (core/accounts.py: the command line asks for a
  password or a token, the workbench for a signed-in session), whose username
  is an officer number listed in the officers table on the day. A finding that
  blocks payment then needs a second, different account to confirm
  (`confirm_clearing`); until then it stays open. Callers pass the
  authenticated username, never a name typed by whoever holds a shell.
* Escalation: X02–X04, X06, X07 errors on an active case block payment once
  open for `hold_escalation_days` (settings).
* When every open error of a rejected version has been cleared (and
  confirmed where needed), that version becomes current unless a newer one
  already is.

Every officer clearing, confirmation and released version is an
`audit.events` row; `clearing_counts` counts them for the monthly report.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from checks.findings import account_key, finding_id
from core.home import now_shanghai
from core.reference import Reference
from transforms.catalogue import RULES as CATALOGUE
from transforms.identifiers import scrub_text
from warehouse.audit import record_event
from warehouse.ingest_load import registered
from warehouse.sqlfiles import run, sql

DEFAULT_ESCALATION_DAYS = 30
MIN_ID_PREFIX = 8


class FindingError(ValueError):
    """An officer's request cannot be done; the message is one line, in Chinese, for the officer."""


@dataclass(frozen=True)
class Outcome:
    finding_id: str
    rule_id: str
    status: str  # cleared, pending_confirmation
    released_version: str | None = None


def escalation_days(ref: Reference) -> int:
    return ref.setting_int("hold_escalation_days", DEFAULT_ESCALATION_DAYS)


# ---------------------------------------------------------------- ingest


def record_submission_findings(
    con: duckdb.DuckDBPyConnection,
    touched: pl.DataFrame | None,
    *,
    findings: pl.DataFrame,
    file_sha256: str,
    replace: bool,
    as_of: date,
) -> None:
    """The P- and V-findings of one loaded submission, inside the load's transaction
    (`warehouse.ingest_load.load_file` runs it after the file's versions are in and
    the touched cases' current versions are known).

    replace: the file is read again on purpose (--reprocess); its earlier P/V findings
    go. A finding that exists already is seen again (and reopened if it had been
    superseded); then the open P/V findings of the touched cases' older versions are
    superseded."""
    if replace:
        run(con, "findings/delete_file_findings", {"sha": file_sha256})
    if findings.height:
        with registered(con, "new_findings", findings):
            con.execute(sql("findings/upsert_submission"))
    if touched is not None and touched.height:
        supersede_older_versions(con, touched, as_of)


def supersede_older_versions(con: duckdb.DuckDBPyConnection, touched: pl.DataFrame, as_of: date) -> None:
    """Open P/V findings of older versions of the `touched` cases (town_code, case_no) close as
    superseded once a newer version is current (inside the caller's transaction)."""
    with registered(con, "touched", touched):
        run(con, "findings/supersede_older_versions", {"as_of": as_of})


# ---------------------------------------------------------------- re-validation


def record_revalidated_findings(
    con: duckdb.DuckDBPyConnection,
    findings: pl.DataFrame,
    *,
    scope: pl.DataFrame,
    auto_clear_rules: dict[bool, list[str]] | None,
    as_of: date,
    cleared_by: str,
    reason: str,
) -> tuple[pl.DataFrame, list[tuple]]:
    """Record a re-validation's findings in one transaction: each seen again, reopened
    when it had been cleared automatically, or new.

    auto_clear_rules: {is_baseline: rule ids re-checked} when findings that no longer trip
    clear automatically (validate --all over `scope`, the version ids re-checked); None
    records without clearing. Returns how the findings stood before (finding_id, status,
    cleared_how) and the (finding_id, rule_id, town_code) of those cleared."""
    cleared: list[tuple] = []
    con.execute("BEGIN TRANSACTION")
    try:
        with registered(con, "new_findings", findings):
            before = con.sql(sql("findings/revalidated_before")).pl()
            con.execute(sql("findings/upsert_revalidated"))
            if auto_clear_rules is not None:
                with registered(con, "scope", scope):
                    for baseline, rules in auto_clear_rules.items():
                        params = {
                            "as_of": as_of,
                            "reason": reason,
                            "cleared_by": cleared_by,
                            "rules": rules,
                            "baseline": baseline,
                        }
                        cleared += run(con, "findings/auto_clear_revalidated", params).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return before, cleared


# ---------------------------------------------------------------- inspections


def upsert_s01(con: duckdb.DuckDBPyConnection, findings: pl.DataFrame) -> None:
    """S01 findings of one inspection result file, inside the caller's transaction: a finding
    that exists already is only seen again (an officer's clearing stands)."""
    if findings.height:
        with registered(con, "new_s01", findings):
            con.execute(sql("findings/upsert_s01"))


# ---------------------------------------------------------------- bank returns


def raise_b01(
    con: duckdb.DuckDBPyConnection,
    *,
    town_code: str,
    case_no: str,
    account_no: str | None,
    message: str,
    as_of: date,
    run_id: str,
) -> str:
    """B01: the bank failed a line paid to `account_no` (inside the caller's transaction).
    The evidence is a hash of the account, never the account. Returns the finding id."""
    rule = CATALOGUE["B01"]
    evidence = account_key(account_no)
    fid = finding_id("B01", town_code, case_no, None, evidence)
    run(con, "findings/raise_b01", {
        "finding_id": fid, "severity": rule.severity, "blocks_payment": rule.blocks_payment,
        "town_code": town_code, "case_no": case_no, "evidence_key": evidence, "message": message,
        "run_id": run_id, "as_of": as_of,
    })
    return fid


def clear_b01_after_account_change(con: duckdb.DuckDBPyConnection, *, as_of: date, run_id: str) -> int:
    """B01 clears when the case's current version carries another account. Returns how many cleared."""
    rows = con.sql(sql("findings/open_b01_accounts")).pl()
    changed = [
        fid for fid, evidence, account in rows.select("finding_id", "evidence_key", "account_no").iter_rows()
        if account_key(account) != evidence
    ]
    if changed:
        with registered(con, "b01_cleared", pl.DataFrame({"finding_id": changed}, schema={"finding_id": pl.String})):
            run(con, "findings/clear_b01_account_changed", {"as_of": as_of, "run_id": run_id})
    return len(changed)


def clear_b01_reissued(
    con: duckdb.DuckDBPyConnection, *, town_code: str, case_no: str, officer: str, reason: str, on: date
) -> None:
    """An officer re-issued a failed line of the case: its open B01 findings clear (inside the
    caller's transaction, which audits the re-issue)."""
    run(con, "findings/clear_b01_reissued", {
        "town_code": town_code, "case_no": case_no, "officer": officer, "reason": reason, "on": on,
    })


# ---------------------------------------------------------------- runs of rules


def apply_checked_findings(
    con: duckdb.DuckDBPyConnection,
    found: pl.DataFrame,
    *,
    run_id: str,
    as_of: date,
    populations: tuple[str, ...],
    rule_ids: tuple[str, ...],
    escalating_rules: tuple[str, ...],
    escalation_after_days: int,
    now: datetime | None = None,
) -> dict[str, int]:
    """Record one cross-check run's findings (needs the run's temp table xc_cases).

    found: finding_id, rule_id, severity, blocks_payment, town_code, case_no,
      id_no, evidence_key, message, source, evidence, version_id — every hit of
      `rule_ids` over the cases of `populations`.
    Returns counts: new, reopened, seen, kept_cleared, auto_cleared, escalated.
    """
    now = now or now_shanghai()
    params = {"run_id": run_id, "as_of": as_of, "now": now}
    con.register("xc_found", found.to_arrow())
    counts = {"new": 0, "reopened": 0, "seen": 0, "kept_cleared": 0, "auto_cleared": 0, "escalated": 0}
    con.execute("BEGIN TRANSACTION")
    try:
        for outcome, n in con.execute(sql("findings/classify_checked")).fetchall():
            counts[outcome] = n
        con.execute(sql("findings/upsert_checked"), params)
        cleared = con.execute(
            sql("findings/auto_clear"),
            {"as_of": as_of, "rule_ids": list(rule_ids), "populations": list(populations)},
        ).fetchall()
        counts["auto_cleared"] = len(cleared)
        escalated = con.execute(
            sql("findings/escalate"),
            {"as_of": as_of, "now": now, "rule_ids": list(escalating_rules), "days": escalation_after_days},
        ).fetchall()
        counts["escalated"] = len(escalated)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("xc_found")
    return counts


# ---------------------------------------------------------------- officers


def resolve_officer(ref: Reference, who: str, on: date) -> str:
    """The officer number of `who` if listed and active on `on`, else FindingError.

    `who` is the username of an authenticated officer account, which is its officer
    number (core/accounts.py); the number always wins over a name, and the two-officer
    rule compares the numbers returned here, so one person is one officer however named."""
    who = (who or "").strip()
    active = (pl.col("active_from").is_null() | (pl.col("active_from") <= on)) & (
        pl.col("active_to").is_null() | (pl.col("active_to") >= on))
    officers = ref["officers"].filter(active)
    t = officers.filter(pl.col("officer") == who)
    if t.height == 0:  # library callers and older audit rows may still name the officer
        t = officers.filter(pl.col("name") == who)
    if not who or t.height != 1:
        raise FindingError(f"{who or '（空）'} 不在可解除核对结果的人员名单中 (not a listed officer on {on})")
    return t["officer"][0]


def find_finding(con: duckdb.DuckDBPyConnection, finding_id: str) -> dict:
    """The finding with this id (or a unique prefix of at least 8 characters)."""
    key = (finding_id or "").strip().lower()
    if len(key) < MIN_ID_PREFIX or not all(c in "0123456789abcdef" for c in key):
        raise FindingError(
            f"核对结果编号 {finding_id!r} 无效：至少 {MIN_ID_PREFIX} 位十六进制字符 (bad finding id)"
        )
    rows = con.sql(sql("findings/by_prefix"), params={"prefix": key}).pl().to_dicts()
    if not rows:
        raise FindingError(f"没有编号为 {key} 的核对结果 (no such finding)")
    if len(rows) > 1:
        raise FindingError(f"编号 {key} 对应多条核对结果，请输入更长的编号 (ambiguous prefix)")
    return rows[0]


def needs_confirmation(f: dict) -> bool:
    """A finding that blocks payment (now, or by its rule: X08, V08, V12, B01 ...) takes two officers to clear."""
    rule = CATALOGUE.get(f["rule_id"])
    return bool(f["blocks_payment"]) or bool(rule and rule.blocks_payment)


def _detail(f: dict, **extra) -> dict:
    return {"finding_id": f["finding_id"], "rule_id": f["rule_id"], "town_code": f["town_code"]} | extra


def clear_finding(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    finding_id: str,
    officer: str,
    reason: str,
    on: date,
    *,
    run_id: str | None = None,
) -> Outcome:
    """An officer clears an open finding with a reason.

    A finding that blocks payment (or whose rule does) stays open, pending a
    second officer's confirmation; any other is cleared at once (and may release a rejected
    version whose last open error it was)."""
    code = resolve_officer(ref, officer, on)
    reason = scrub_text(" ".join((reason or "").split()))
    if not reason:
        raise FindingError("请填写解除理由 (--reason is required)")
    con.execute("BEGIN TRANSACTION")
    try:
        f = find_finding(con, finding_id)
        if f["status"] != "open":
            raise FindingError(f"核对结果 {f['finding_id']} 的状态是 {f['status']}，无需解除 (not open)")
        if f["clear_requested_on"] is not None:
            raise FindingError(
                f"核对结果 {f['finding_id']} 已由 {f['cleared_by']} 申请解除，等待另一名人员确认 "
                "(already cleared, waiting for confirmation)"
            )
        if needs_confirmation(f):
            run(con, "findings/request_clearing",
                {"officer": code, "reason": reason, "on": on, "finding_id": f["finding_id"]})
            record_event(con, run_id, "finding_clear_requested", _detail(f, officer=code, reason=reason))
            outcome = Outcome(f["finding_id"], f["rule_id"], "pending_confirmation")
        else:
            _mark_cleared(con, f["finding_id"], on, cleared_by=code, reason=reason)
            record_event(con, run_id, "finding_cleared", _detail(f, officer=code, reason=reason))
            released = release_version_if_cleared(con, f["version_id"], on, code, run_id=run_id)
            outcome = Outcome(f["finding_id"], f["rule_id"], "cleared", released)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return outcome


def confirm_clearing(
    con: duckdb.DuckDBPyConnection,
    ref: Reference,
    finding_id: str,
    officer: str,
    on: date,
    *,
    run_id: str | None = None,
) -> Outcome:
    """A second, different officer confirms the clearing of a payment-blocking finding."""
    code = resolve_officer(ref, officer, on)
    con.execute("BEGIN TRANSACTION")
    try:
        f = find_finding(con, finding_id)
        if f["status"] != "open" or f["clear_requested_on"] is None:
            raise FindingError(f"核对结果 {f['finding_id']} 没有待确认的解除申请 (nothing to confirm)")
        if f["cleared_by"] == code:
            raise FindingError("解除与确认须由两名不同人员办理 (a different officer must confirm)")
        run(con, "findings/confirm_clearing", {"officer": code, "on": on, "finding_id": f["finding_id"]})
        record_event(
            con, run_id, "finding_clear_confirmed", _detail(f, officer=code, requested_by=f["cleared_by"])
        )
        released = release_version_if_cleared(con, f["version_id"], on, code, run_id=run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Outcome(f["finding_id"], f["rule_id"], "cleared", released)


def _mark_cleared(
    con: duckdb.DuckDBPyConnection, fid: str, on: date, *, cleared_by: str, reason: str
) -> None:
    run(con, "findings/clear_by_officer", {"officer": cleared_by, "reason": reason, "on": on, "finding_id": fid})


def release_version_if_cleared(
    con: duckdb.DuckDBPyConnection,
    version_id: str | None,
    on: date,
    officer: str,
    *,
    run_id: str | None = None,
) -> str | None:
    """Make a rejected version current when none of its errors is open any more (inside the caller's transaction).

    Returns the version id when it became current; None otherwise (not
    rejected, errors still open, or a newer version is already current)."""
    if not version_id:
        return None
    rows = con.sql(sql("findings/version_open_errors"), params={"version_id": version_id}).pl().to_dicts()
    if not rows:
        return None
    v = rows[0]
    if v["acceptance"] != "rejected" or v["open_errors"] > 0:
        return None
    became = v["newer"] == 0
    run(con, "findings/record_released_version", {
        "version_id": version_id, "town_code": v["town_code"], "case_no": v["case_no"], "on": on,
        "officer": officer, "became": became,
    })
    if not became:
        return None
    run(con, "findings/release_version", {"version_id": version_id})
    _set_effective_month(con, version_id)
    touched = pl.DataFrame({"town_code": [v["town_code"]], "case_no": [v["case_no"]]})
    with registered(con, "touched", touched):
        con.execute(sql("ingest/refresh_current"))
    supersede_older_versions(con, touched, on)
    record_event(
        con,
        run_id,
        "version_released",
        {"version_id": version_id, "town_code": v["town_code"], "officer": officer},
    )
    return version_id


def _set_effective_month(con: duckdb.DuckDBPyConnection, version_id: str) -> None:
    """The released version's effective month, by the same rule as at ingest (SPEC §2)."""
    from transforms.versions import effective_month_expr
    from warehouse.ingest_load import previous_state

    v = con.sql(sql("findings/released_version_dates"), params={"version_id": version_id}).pl()
    prev = previous_state(con, v["town_code"][0], [v["case_no"][0]], v["seq"][0])
    floor = prev["death_floor"][0] if prev.height else None
    month = v.select(
        effective_month_expr(
            pl.col("is_first_approval"), baseline=pl.col("is_baseline"), arrived_on=pl.col("arrived_on"),
            death_floor=pl.lit(floor, pl.Date),
        )
    ).item()
    run(con, "findings/set_effective_month", {"month": month, "version_id": version_id})


# ---------------------------------------------------------------- reporting


def clearing_counts(con: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pl.DataFrame:
    """Clearings in [first_day, last_day] by rule and how (auto, officer, confirmed), for the monthly report."""
    return con.sql(
        sql("findings/clearing_counts"), params={"first_day": first_day, "last_day": last_day}
    ).pl()
