"""Resolving findings (SPEC §5): one lifecycle for every kind (P, V, X, M, S, B).

A finding is identified by (rule_id, town_code, case_no, id_no, evidence key)
(`checks.findings.finding_id`), so a rule run again finds the same finding.

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

from core.home import now_shanghai
from core.reference import Reference
from transforms.catalogue import RULES as CATALOGUE
from transforms.identifiers import scrub_text
from warehouse.audit import record_event
from warehouse.sqlfiles import sql

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


_FINDING = """
SELECT finding_id, rule_id, severity, blocks_payment, status, cleared_by, clear_requested_on, version_id,
       town_code, case_no
FROM checks.findings
WHERE finding_id LIKE $prefix || '%'
ORDER BY finding_id
LIMIT 2
"""


def find_finding(con: duckdb.DuckDBPyConnection, finding_id: str) -> dict:
    """The finding with this id (or a unique prefix of at least 8 characters)."""
    key = (finding_id or "").strip().lower()
    if len(key) < MIN_ID_PREFIX or not all(c in "0123456789abcdef" for c in key):
        raise FindingError(
            f"核对结果编号 {finding_id!r} 无效：至少 {MIN_ID_PREFIX} 位十六进制字符 (bad finding id)"
        )
    rows = con.sql(_FINDING, params={"prefix": key}).pl().to_dicts()
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
            con.execute(
                "UPDATE checks.findings SET cleared_by = $who, clear_reason = $reason, clear_requested_on = $on, "
                "cleared_amount = evidence_amount WHERE finding_id = $id",
                {"who": code, "reason": reason, "on": on, "id": f["finding_id"]},
            )
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
        con.execute(
            "UPDATE checks.findings SET status = 'cleared', cleared_how = 'officer', confirmed_by = $who, "
            "confirmed_on = $on, status_changed_on = $on WHERE finding_id = $id",
            {"who": code, "on": on, "id": f["finding_id"]},
        )
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
    con.execute(
        "UPDATE checks.findings SET status = 'cleared', cleared_how = 'officer', cleared_by = $who, "
        "clear_reason = $reason, status_changed_on = $on, cleared_amount = evidence_amount "
        "WHERE finding_id = $id",
        {"who": cleared_by, "reason": reason, "on": on, "id": fid},
    )


_VERSION = """
SELECT v.version_id, v.town_code, v.case_no, v.seq, v.acceptance,
       (SELECT count(*) FROM checks.findings f
        WHERE f.version_id = v.version_id AND f.status = 'open' AND f.severity = 'error') AS open_errors,
       (SELECT count(*) FROM core.case_versions n
        WHERE n.town_code = v.town_code AND n.case_no = v.case_no AND n.is_current AND n.seq > v.seq) AS newer
FROM core.case_versions v
WHERE v.version_id = $version_id
"""


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
    rows = con.sql(_VERSION, params={"version_id": version_id}).pl().to_dicts()
    if not rows:
        return None
    v = rows[0]
    if v["acceptance"] != "rejected" or v["open_errors"] > 0:
        return None
    became = v["newer"] == 0
    con.execute(
        "INSERT INTO checks.released_versions VALUES ($vid, $town, $case, $on, $officer, $became) "
        "ON CONFLICT DO NOTHING",
        {
            "vid": version_id,
            "town": v["town_code"],
            "case": v["case_no"],
            "on": on,
            "officer": officer,
            "became": became,
        },
    )
    if not became:
        return None
    con.execute(sql("findings/release_version"), {"version_id": version_id})
    _set_effective_month(con, version_id)
    touched = pl.DataFrame({"town_code": [v["town_code"]], "case_no": [v["case_no"]]})
    con.register("touched", touched.to_arrow())
    try:
        con.execute(sql("ingest/refresh_current"))
        con.execute(sql("ingest/supersede_findings"), {"as_of": on})
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("touched")
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
    con.execute("UPDATE core.case_versions SET effective_month = $m WHERE version_id = $v",
                {"m": month, "v": version_id})


# ---------------------------------------------------------------- reporting


def clearing_counts(con: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pl.DataFrame:
    """Clearings in [first_day, last_day] by rule and how (auto, officer, confirmed), for the monthly report."""
    return con.sql(
        sql("findings/clearing_counts"), params={"first_day": first_day, "last_day": last_day}
    ).pl()
