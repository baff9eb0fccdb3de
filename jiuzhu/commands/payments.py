"""`jiuzhu payments void|reissue|one-off|recovered|waive`: officers' payment actions (audited)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jiuzhu.commands import AsOfOpt, HomeOpt, OfficerOpt, fail
from jiuzhu.home import Home, parse_as_of, today_shanghai

app = typer.Typer(name="payments", help="Void a batch, re-issue a failed line, pay a one-off, record 应追回 recovered or waived.", no_args_is_help=True)

Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _run(home: Path | None, as_of: str | None, action):
    from jiuzhu.reference import load_reference
    from payments.actions import PaymentActionError
    from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse

    h = Home.resolve(home)
    try:
        day = parse_as_of(as_of) or today_shanghai()
        ref = load_reference(h.reference)
        if not h.warehouse.exists():
            raise WarehouseMissing(f"no warehouse at {h.warehouse} yet: run a flow first")
        with open_warehouse(h, flow="payments", ref=ref) as con:
            return action(con, h, ref, day)
    except (PaymentActionError, WarehouseBusy, WarehouseMissing, ValueError) as exc:
        fail(str(exc).splitlines()[0])


@app.command()
def void(
    batch_no: Annotated[str, typer.Argument(help="Batch number to void.")],
    officer: OfficerOpt,
    reason: Reason,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Void an exported batch (never rewritten): its months are paid again by the next close."""
    from payments.actions import void_batch

    n = _run(home, as_of, lambda con, h, ref, day: void_batch(con, ref, batch_no, officer=officer, reason=reason,
                                                                 on=day))
    typer.echo(f"voided {batch_no}: {n} line(s) released; the next close pays what is still owed")


@app.command()
def reissue(
    batch_no: Annotated[str, typer.Argument(help="Batch of the failed line.")],
    line_no: Annotated[int, typer.Argument(help="序号 of the failed line.")],
    officer: OfficerOpt,
    reason: Reason,
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Lift the B01 hold of a line the bank failed; the next close pays it again as arrears."""
    from payments.actions import reissue_line

    _run(home, as_of, lambda con, h, ref, day: reissue_line(con, ref, batch_no, line_no, officer=officer,
                                                            reason=reason, on=day))
    typer.echo(f"line {line_no} of {batch_no} will be paid again by the next close")


@app.command("one-off")
def one_off_command(
    occasion: Annotated[str, typer.Option("--occasion", help="e.g. 2026春节; a person is paid once per occasion.")],
    home: HomeOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Pay a one-off amount per covered person of every active case (amounts in settings)."""
    from payments.actions import one_off
    from warehouse.audit import recorded_run

    def act(con, h, ref, day):
        with recorded_run(con, "payments-one-off", day, None, {"occasion": occasion}) as (run_id, summary):
            summary.update(one_off(con, h, ref, occasion=occasion, as_of=day, run_id=run_id))
        return summary

    typer.echo(json.dumps(_run(home, as_of, act), ensure_ascii=False, indent=2))


def _recovery(action: str, batch_no: str, line_no: int, officer: str, reason: str, amount: str | None,
              home: Path | None, as_of: str | None) -> None:
    from payments.actions import record_recovery

    got = _run(home, as_of, lambda con, h, ref, day: record_recovery(
        con, ref, batch_no, line_no, action=action, officer=officer, reason=reason, on=day, amount=amount))
    typer.echo(json.dumps(got, ensure_ascii=False))


Amount = Annotated[str | None, typer.Option("--amount", help="Yuan; default: all that is still outstanding.")]
Batch = Annotated[str, typer.Argument(help="Batch of the line on the 应追回 register.")]
Line = Annotated[int, typer.Argument(help="序号 of the line.")]


def _recovery_command(name: str, action: str, summary: str) -> None:
    def command(batch_no: Batch, line_no: Line, officer: OfficerOpt, reason: Reason, amount: Amount = None,
                home: HomeOpt = None, as_of: AsOfOpt = None) -> None:
        _recovery(action, batch_no, line_no, officer, reason, amount, home, as_of)

    command.__doc__ = summary
    app.command(name)(command)


_recovery_command("recovered", "recovered",
                  "Record money of a 应追回 line as recovered (audited); the line leaves the list once settled.")
_recovery_command("waive", "waived",
                  "Waive (part of) a 应追回 line, with the reason (audited); the line leaves the list once settled.")
