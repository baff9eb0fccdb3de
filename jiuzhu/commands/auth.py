"""Authenticating the officer behind a command that changes findings or payments (issue 17).

An officer proves who they are with their workbench account: `--user NAME` (or
JIUZHU_USER) and the password, asked for without echo, or a token from `jiuzhu users token`
(`--token`, better JIUZHU_TOKEN: a token on the command line shows in the process list).
Failed passwords count against the same sign-in throttle as the workbench. The account must
be an active district officer; the action is then queued under that account and applied at
once (flows/officer_actions.py), after any action that waited before it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from core.home import Home
from jiuzhu.commands import fail

UserOpt = Annotated[
    str | None,
    typer.Option("--user", envvar="JIUZHU_USER", show_default=False,
                 help="Your officer account (the password is asked for); or use a token."),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="JIUZHU_TOKEN", show_default=False, show_envvar=True,
                 help="A token from `jiuzhu users token` (prefer the JIUZHU_TOKEN variable)."),
]
GoneOfficerOpt = Annotated[
    str | None, typer.Option("--officer", hidden=True, show_default=False, help="Removed: officers authenticate."),
]


def authenticate_officer(home: Home, user: str | None, token: str | None, officer: str | None = None):
    """The authenticated officer account and how it was proved ('token' or 'password'); exits 1 otherwise."""
    from core.accounts import AccountError, AccountStore

    if officer is not None:
        fail("--officer is gone: officers authenticate with --user (password) or a token (JIUZHU_TOKEN); "
             "see `jiuzhu users --help`")
    store = AccountStore.for_home(home)
    if not store.exists():
        fail(f"no workbench accounts in {home.root} yet: create them with `jiuzhu users add`")
    try:
        if token:
            account, via = store.verify_token(token), "token"
        elif user:
            password = typer.prompt(f"{user} 的密码", hide_input=True, err=True)
            account, via = store.authenticate(user, password, client="cli"), "password"
        else:
            fail("this command changes findings or payments: authenticate with --user NAME (asks for the "
                 "password) or a token in JIUZHU_TOKEN")
    except AccountError as exc:
        fail(str(exc))
    if not account.is_officer:
        fail(f"{account.username} is a {account.role} account: only district officers may do this")
    return account, via


def run_officer_action(home: Home, account, via: str, kind: str, target: dict, day: date) -> tuple[str, str]:
    """Queue the action under the account and apply the queue now (waiting for the warehouse lock
    like every writer). Returns (status, message); 'queued' when the wait ran out."""
    from core.accounts import AccountStore
    from core.reference import load_reference
    from flows.officer_actions import FLOW_NAMES, apply_queued_actions
    from warehouse.connection import WarehouseBusy, WarehouseMissing, open_warehouse

    if not home.warehouse.exists():
        raise WarehouseMissing(f"no warehouse at {home.warehouse} yet: run a flow first")
    ref = load_reference(home.reference)
    store = AccountStore.for_home(home)
    action = store.enqueue(account, kind, target, day, via=f"cli-{via}")
    try:
        with open_warehouse(home, flow=FLOW_NAMES[kind], ref=ref) as con:
            apply_queued_actions(con, home, ref, at_once=(action.action_id,))
    except WarehouseBusy as exc:
        return "queued", f"仓库正被占用，操作已排队，下一次运行开始时生效 ({' '.join(str(exc).split())})"
    got = store.action(action.action_id)
    return got.status, got.message or ""


def report(status: str, message: str, subject: str) -> None:
    """Print the outcome; a refused action exits 1 with its one-line reason."""
    if status == "refused":
        fail(message)
    typer.echo(f"{subject}：{message}")
