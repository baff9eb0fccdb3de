"""`jiuzhu payments void|reissue|one-off|recovered|waive`: officers' payment actions (audited).

Each command authenticates the officer's workbench account (`--user` and the password, or a
token in JIUZHU_TOKEN: jiuzhu/commands/auth.py), never a typed name. void, reissue, recovered
and waive go through the same durable queue as the workbench (flows/officer_actions.py), so
they apply after any action that waited before them; one-off runs at once under the lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.home import Home, parse_as_of, today_shanghai
from jiuzhu.commands import AsOfOpt, HomeOpt, fail
from jiuzhu.commands.auth import GoneOfficerOpt, TokenOpt, UserOpt

app = typer.Typer(name="payments", help="Void a batch, re-issue a failed line, pay a one-off, record 应追回 recovered or waived.", no_args_is_help=True)

Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _day(as_of: str | None):
    try:
        return parse_as_of(as_of) or today_shanghai()
    except ValueError:
        fail(f"--as-of must be YYYY-MM-DD, got {as_of!r}")


def _queued(home: Path | None, as_of: str | None, kind: str, target: dict, user: str | None, token: str | None,
            officer: str | None, subject: str) -> None:
    from jiuzhu.commands.auth import authenticate_officer, report, run_officer_action
    from payments.actions import PaymentActionError
    from transforms.identifiers import scrub_text
    from warehouse.connection import WarehouseBusy, WarehouseMissing

    h = Home.resolve(home)
    day = _day(as_of)
    if "reason" in target and not " ".join(target["reason"].split()):
        fail("--reason is required")
    account, via = authenticate_officer(h, user, token, officer)
    target = {k: scrub_text(v) if isinstance(v, str) else v for k, v in target.items()}
    try:
        status, message = run_officer_action(h, account, via, kind, target, day)
    except (PaymentActionError, WarehouseBusy, WarehouseMissing, ValueError, OSError) as exc:
        fail(str(exc).splitlines()[0])
    report(status, message, subject)


@app.command()
def void(
    batch_no: Annotated[str, typer.Argument(help="Batch number to void.")],
    reason: Reason,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Void an exported batch (never rewritten): its months are paid again by the next close."""
    _queued(home, as_of, "batch_void", {"batch_no": batch_no, "reason": reason}, user, token, officer, batch_no)


@app.command()
def reissue(
    batch_no: Annotated[str, typer.Argument(help="Batch of the failed line.")],
    line_no: Annotated[int, typer.Argument(help="序号 of the failed line.")],
    reason: Reason,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Lift the B01 hold of a line the bank failed; the next close pays it again as arrears."""
    _queued(home, as_of, "line_reissue", {"batch_no": batch_no, "line_no": line_no, "reason": reason}, user, token,
            officer, f"{batch_no} #{line_no}")


@app.command("one-off")
def one_off_command(
    occasion: Annotated[str, typer.Option("--occasion", help="e.g. 2026春节; a person is paid once per occasion.")],
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Pay a one-off amount per covered person of every active case (amounts in settings)."""
    from core.reference import load_reference
    from flows.officer_actions import apply_queued_actions
    from jiuzhu.commands.auth import authenticate_officer
    from payments.actions import PaymentActionError, one_off
    from warehouse.audit import recorded_run
    from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse

    h = Home.resolve(home)
    day = _day(as_of)
    account, via = authenticate_officer(h, user, token, officer)
    try:
        ref = load_reference(h.reference)
        if not h.warehouse.exists():
            raise WarehouseMissing(f"no warehouse at {h.warehouse} yet: run a flow first")
        with open_warehouse(h, flow="payments", ref=ref) as con:
            apply_queued_actions(con, h, ref)
            with recorded_run(con, "payments-one-off", day, None,
                              {"occasion": occasion, "user": account.username, "via": f"cli-{via}"}) as (
                    run_id, summary):
                summary.update(one_off(con, h, ref, occasion=occasion, as_of=day, run_id=run_id,
                                       officer=account.username))
    except (PaymentActionError, WarehouseBusy, WarehouseMissing, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


Amount = Annotated[str | None, typer.Option("--amount", help="Yuan; default: all that is still outstanding.")]


@app.command()
def recovered(
    batch_no: Annotated[str, typer.Argument(help="Batch of the line on the 应追回 register.")],
    line_no: Annotated[int, typer.Argument(help="序号 of the line.")],
    reason: Reason,
    amount: Amount = None,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Record money of a 应追回 line as recovered (audited); the line leaves the list once settled."""
    _queued(home, as_of, "recovery", {"batch_no": batch_no, "line_no": line_no, "action": "recovered",
                                      "amount": amount, "reason": reason}, user, token, officer,
            f"{batch_no} #{line_no}")


@app.command()
def waive(
    batch_no: Annotated[str, typer.Argument(help="Batch of the line on the 应追回 register.")],
    line_no: Annotated[int, typer.Argument(help="序号 of the line.")],
    reason: Reason,
    amount: Amount = None,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
    user: UserOpt = None,
    token: TokenOpt = None,
    officer: GoneOfficerOpt = None,
) -> None:
    """Waive (part of) a 应追回 line, with the reason (audited); the line leaves the list once settled."""
    _queued(home, as_of, "recovery", {"batch_no": batch_no, "line_no": line_no, "action": "waived",
                                      "amount": amount, "reason": reason}, user, token, officer,
            f"{batch_no} #{line_no}")
