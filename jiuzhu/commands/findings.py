"""`jiuzhu findings list|show|clear|confirm` (SPEC §5 "Resolving findings", §8).

Officers look at findings and clear them with a reason; a finding that blocks
payment takes a second, different officer to confirm. `clear` and `confirm`
authenticate the officer's workbench account (`--user` and the password, or a
token: jiuzhu/commands/auth.py), never a typed name, and go through the same
durable queue as the workbench (flows/officer_actions.py). Every clearing is an
audited run. Never imports Prefect. IDs are shown masked (first 4, last 4).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from core.home import Home, parse_as_of, today_shanghai
from jiuzhu.commands import AsOfOpt, HomeOpt, fail
from jiuzhu.commands.auth import GoneOfficerOpt, TokenOpt, UserOpt

app = typer.Typer(
    name="findings",
    help="Findings of every rule: list, show, clear (with a reason), confirm a clearing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FindingArg = Annotated[str, typer.Argument(help="Finding id (or a unique prefix of at least 8 characters).")]

STATUSES = ("open", "cleared", "superseded", "pending", "all")
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def _sql(name: str) -> str:
    """jiuzhu/sql/<name>.sql, through the one loader (imported here: `--help` loads no warehouse)."""
    from warehouse.sqlfiles import sql

    return sql(name, folder=SQL_DIR)


def _day(as_of: str | None) -> date:
    try:
        return parse_as_of(as_of) or today_shanghai()
    except ValueError:
        fail(f"--as-of must be YYYY-MM-DD, got {as_of!r}")


def _guarded(call):
    from checks.lifecycle import FindingError
    from core.reference import ReferenceError
    from warehouse.connection import WarehouseBusy, WarehouseMissing
    from warehouse.migrate import MigrationError

    try:
        return call()
    except (FindingError, ReferenceError, WarehouseBusy, WarehouseMissing, MigrationError, OSError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _read(home: Path | None, query):
    from warehouse.connection import open_warehouse

    h = Home.resolve(home)

    def go():
        with open_warehouse(h, flow="findings", read_only=True) as con:
            return query(con)

    return _guarded(go)




@app.command("list")
def list_findings(
    home: HomeOpt = None,
    status: Annotated[
        str, typer.Option(help="open, cleared, superseded, pending (awaiting confirmation), all.")
    ] = "open",
    rule: Annotated[
        str | None, typer.Option(help="Rule id, or its letter (X, M, V ...).", show_default=False)
    ] = None,
    town: Annotated[str | None, typer.Option(help="Town code.", show_default=False)] = None,
    case: Annotated[str | None, typer.Option("--case", help="Case number.", show_default=False)] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List findings (IDs masked), newest rules first by town and case."""
    if status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    from transforms.identifiers import mask, scrub_text

    params = {"status": status, "rule": rule.upper() if rule else None, "town": town, "case": case}
    rows = _read(home, lambda con: con.execute(_sql("findings_list"), params).fetchall())
    total = len(rows)
    shown = rows if limit <= 0 else rows[:limit]
    for fid, rule_id, severity, blocks, town_code, case_no, id_no, st, seen, pending, message in shown:
        member = mask(id_no) if id_no else "（全户）"
        state = "pending" if st == "open" and pending else st
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "finding_id": fid,
                        "rule_id": rule_id,
                        "severity": severity,
                        "blocks_payment": blocks,
                        "town_code": town_code,
                        "case_no": case_no,
                        "member": member,
                        "status": state,
                        "first_seen_on": seen.isoformat() if seen else None,
                        "message": scrub_text(message),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            hold = " 暂停发放" if blocks else ""
            typer.echo(
                f"{fid}  {rule_id} {severity}{hold}  {town_code} {case_no}  {member}  {state}  "
                f"{seen}  {scrub_text(message)}"
            )
    if not as_json:
        more = f"（仅显示 {len(shown)} 条，可用 --limit 0 显示全部）" if len(shown) < total else ""
        typer.echo(f"共 {total} 条{more}")


_LABELS = {
    "finding_id": "编号",
    "rule_id": "规则",
    "severity": "严重程度",
    "blocks_payment": "暂停发放",
    "town_code": "镇街代码",
    "case_no": "案件编号",
    "member": "成员",
    "evidence_key": "证据键",
    "message": "说明",
    "status": "状态",
    "first_seen_on": "首次发现",
    "last_seen_on": "最近发现",
    "status_changed_on": "状态变更",
    "source": "数据来源",
    "evidence": "依据",
    "escalated_on": "升级为暂停发放",
    "cleared_how": "解除方式",
    "cleared_by": "解除人",
    "clear_reason": "解除理由",
    "clear_requested_on": "申请解除日期",
    "confirmed_by": "确认人",
    "confirmed_on": "确认日期",
}


@app.command()
def show(finding_id: FindingArg, home: HomeOpt = None) -> None:
    """Everything about one finding, and its clearing history."""
    from checks.lifecycle import FindingError
    from transforms.catalogue import RULES
    from transforms.identifiers import mask, scrub_text

    key = finding_id.strip().lower()

    def query(con):
        rows = con.sql(_sql("finding_show"), params={"prefix": key}).pl().to_dicts() if len(key) >= 8 else []
        if len(rows) != 1:
            raise FindingError(
                f"没有编号为 {key} 的核对结果 (no such finding)"
                if not rows
                else f"编号 {key} 对应多条核对结果，请输入更长的编号 (ambiguous prefix)"
            )
        history = con.execute(_sql("finding_history"), {"fid": rows[0]["finding_id"]}).fetchall()
        return rows[0], history

    f, history = _read(home, query)
    f["member"] = mask(f.pop("id_no")) if f.get("id_no") else "（全户）"
    if f["rule_id"] == "X09":
        f["evidence_key"] = "（账号摘要）"
    pending = f["status"] == "open" and f["clear_requested_on"] is not None
    title = RULES[f["rule_id"]].title_zh if f["rule_id"] in RULES else ""
    typer.echo(f"{f['rule_id']} {title}")
    for k, label in _LABELS.items():
        value = f.get(k)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "是" if value else "否"
        typer.echo(f"  {label}：{scrub_text(str(value))}")
    if pending:
        typer.echo(
            f"  待确认：须由 {f['cleared_by']} 以外的人员执行 jiuzhu findings confirm {f['finding_id']} --user …"
        )
    for occurred_at, kind, detail in history:
        typer.echo(f"  记录 {occurred_at:%Y-%m-%d %H:%M} {kind} {scrub_text(detail or '')}")


def _act(home: Path | None, as_of: str | None, kind: str, finding_id: str, target: dict, user: str | None,
         token: str | None, officer: str | None) -> tuple[str, str]:
    from jiuzhu.commands.auth import authenticate_officer, run_officer_action

    h = Home.resolve(home)
    day = _day(as_of)
    key = finding_id.strip().lower()
    if len(key) < 8 or any(c not in "0123456789abcdef" for c in key):
        fail(f"finding id must be at least 8 hexadecimal characters, got {finding_id!r}")
    account, via = authenticate_officer(h, user, token, officer)
    from transforms.identifiers import scrub_text

    target = {"finding_id": key} | {k: scrub_text(v) for k, v in target.items()}
    return _guarded(lambda: run_officer_action(h, account, via, kind, target, day))


@app.command()
def clear(
    finding_id: FindingArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the finding does not hold (kept in the audit trail).")
    ],
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Clear an open finding with a reason, as the authenticated officer (--user asks for the password,
    or JIUZHU_TOKEN). One that blocks payment then needs `confirm` by another officer."""
    from jiuzhu.commands.auth import report

    if not " ".join((reason or "").split()):
        fail("请填写解除理由 (--reason is required)")
    status, message = _act(home, as_of, "finding_clear", finding_id, {"reason": reason}, user, token, officer)
    report(status, message, finding_id.strip().lower())


@app.command()
def confirm(
    finding_id: FindingArg,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Confirm another officer's clearing of a finding that blocks payment, as the authenticated officer."""
    from jiuzhu.commands.auth import report

    status, message = _act(home, as_of, "finding_confirm", finding_id, {}, user, token, officer)
    report(status, message, finding_id.strip().lower())
