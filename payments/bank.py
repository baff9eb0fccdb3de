"""Bank return files (SPEC §6): lines marked paid or failed; failures raise B01.

`inbox/bank/*.csv|xlsx|xls` with 批次号, 序号, 账号, 金额, 状态 (成功/失败), 原因.
Each file is read once (by content hash). A line is matched by (批次号, 序号);
a return line that matches nothing, or whose account or amount differs from
what was exported, is rejected and listed in the file's return workbook. A
failed line releases its never-twice keys (a new attempt becomes possible)
and opens B01 on the case, which holds payment until a newer version changes
the account or an officer re-issues (`jiuzhu payments reissue`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from checks import lifecycle
from core.files import sha256_of
from core.home import Home, now_shanghai
from core.periods import period_text
from core.reference import load_reference
from intake.readers import FileLimits, read_submission
from publish.files import write_json, write_workbook
from publish.returns import stem
from transforms.money import parse_yuan_text, yuan_to_fen
from warehouse.sqlfiles import run

HEADERS = {"批次号": "batch_no", "序号": "line_no", "账号": "account_no", "金额": "amount", "状态": "status",
           "原因": "reason"}
REQUIRED = ["batch_no", "line_no", "status"]


def read_bank_returns(home: Home, con: duckdb.DuckDBPyConnection, *, as_of: date, run_id: str) -> dict:
    folder = home.bank_inbox
    summary = {"files": 0, "paid": 0, "failed": 0, "unmatched": 0}
    if not folder.is_dir():
        return summary
    known = {r[0] for r in con.execute("SELECT file_sha256 FROM pay.bank_returns").fetchall()}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(("~$", "."))):
        if path.is_symlink():
            continue
        sha = sha256_of(path)
        if sha in known:
            continue
        outcome = _apply_file(con, home, path, sha, as_of=as_of, run_id=run_id)
        known.add(sha)
        summary["files"] += 1
        for k in ("paid", "failed", "unmatched"):
            summary[k] += outcome[k]
    return summary


def _apply_file(con, home: Home, path: Path, sha: str, *, as_of: date, run_id: str) -> dict:
    result = read_submission(path, HEADERS, REQUIRED, limits=FileLimits.from_reference(load_reference(home.reference)))
    rel = path.relative_to(home.root).as_posix()
    problems: list[dict] = []
    paid = failed = 0
    rows = result.rows if result.ok else pl.DataFrame()
    if not result.ok:
        problems.append({"行号": None, "问题": result.problems[0].message_zh})
    con.execute("BEGIN TRANSACTION")
    try:
        for r in rows.iter_rows(named=True):
            outcome = _apply_line(con, r, as_of=as_of, run_id=run_id)
            if outcome == "paid":
                paid += 1
            elif outcome == "failed":
                failed += 1
            else:
                problems.append({"行号": r["source_row"], "批次号": r.get("batch_no"), "序号": r.get("line_no"),
                                 "问题": outcome})
        run(con, "pay/record_bank_return", {
            "file_sha256": sha, "rel_path": rel, "run_id": run_id, "ingested_on": as_of, "rows_read": rows.height,
            "rows_matched": paid + failed, "rows_unmatched": rows.height - paid - failed, "failed": failed,
        })
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    base = home.out / "returns" / "bank" / stem(path.name, sha)
    write_workbook(base.with_name(base.name + ".问题.xlsx"), {"未匹配": pl.DataFrame(problems, infer_schema_length=None)
                                                               if problems else pl.DataFrame({"行号": [], "问题": []})})
    receipt = {"file": rel, "sha256": sha, "rows_read": rows.height, "rows_accepted": paid + failed,
               "rows_rejected": rows.height - paid - failed, "paid": paid, "failed": failed}
    if not result.ok:
        receipt["error"] = result.problems[0].message_zh
    write_json(base.with_name(base.name + ".回执.json"), receipt)
    return {"paid": paid, "failed": failed, "unmatched": rows.height - paid - failed}


def _apply_line(con, r: dict, *, as_of: date, run_id: str) -> str:
    """'paid', 'failed', or the reason the line matches nothing (Chinese)."""
    try:
        line_no = int(str(r.get("line_no") or "").strip())
    except ValueError:
        return f"序号“{r.get('line_no')}”无法识别"
    found = run(con, "pay/payment_line", {"batch_no": (r.get("batch_no") or "").strip(), "line_no": line_no}
                ).fetchall()
    if not found:
        return f"批次{r.get('batch_no')}中没有序号{line_no}的发放记录"
    town, case, period_owed, account, amount, status = found[0]
    given_account = (r.get("account_no") or "").replace(" ", "")
    if given_account and given_account != (account or ""):
        return "账号与发放文件不一致"
    given_amount = parse_yuan_text(r.get("amount"))
    if given_amount is not None and given_amount != yuan_to_fen(amount):
        return "金额与发放文件不一致"
    state = (r.get("status") or "").strip()
    if status != "exported":
        return f"该行状态为{status}，不能再次回盘"
    now = now_shanghai()
    key = {"batch_no": r["batch_no"].strip(), "line_no": line_no}
    if state == "成功":
        run(con, "pay/mark_paid", {"now": now, **key})
        return "paid"
    if state == "失败":
        reason = (r.get("reason") or "").strip() or "银行未说明原因"
        run(con, "pay/mark_failed", {"now": now, "reason": reason, **key})
        release_line_keys(con, key["batch_no"], key["line_no"])
        raise_b01(con, town, case, account, period_owed, reason, as_of=as_of, run_id=run_id)
        return "failed"
    return f"状态“{state}”不是“成功”或“失败”"


def release_line_keys(con, batch_no: str, line_no: int) -> None:
    """A failed or voided line no longer counts as paid: a new attempt may be made."""
    for statement in ("pay/release_live_person_months", "pay/release_live_keys", "pay/release_one_off_keys"):
        run(con, statement, {"batch_no": batch_no, "line_no": line_no})


def raise_b01(con, town: str, case: str, account: str | None, period_owed: date, reason: str, *, as_of: date,
              run_id: str) -> None:
    message = f"{period_text(period_owed)}发放失败（{reason}），请核实银行账号后重新报送或申请重新发放"
    lifecycle.raise_b01(con, town_code=town, case_no=case, account_no=account, message=message, as_of=as_of,
                        run_id=run_id)


def clear_b01_after_account_change(con, *, as_of: date, run_id: str) -> int:
    """B01 clears when the case's current version carries another account (checks.lifecycle)."""
    return lifecycle.clear_b01_after_account_change(con, as_of=as_of, run_id=run_id)
