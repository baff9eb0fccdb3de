"""`jiuzhu users add|list|disable|enable|reset|token|actions`: the workbench's accounts (issue 17).

Accounts live in `<home>/warehouse/workbench.sqlite` (owner only), so only the operator who
owns the data home manages them; every change is an account event, mirrored into
`audit.events` by the next writer. A district officer's username is their officer number in
the officers reference table (which stays the dated list of who may clear findings): the
audit trail and the two-officer rule then name accounts, never typed names. `reset` gives a
temporary password that must be changed at the next sign-in. Never imports Prefect.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from core.home import Home, today_shanghai
from jiuzhu.commands import HomeOpt, fail

app = typer.Typer(
    name="users",
    help="Workbench accounts: town clerks, district officers, auditors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UserArg = Annotated[str, typer.Argument(help="Username (for a district officer: the officer number, e.g. GZ001).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


def _store(home):
    from core.accounts import AccountStore

    return AccountStore.for_home(Home.resolve(home))


def _password(stdin: bool, confirm: bool = True) -> str:
    if stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return typer.prompt("密码", hide_input=True, confirmation_prompt=confirm, err=True)


def _guard(call):
    from core.accounts import AccountError
    from core.reference import ReferenceError

    try:
        return call()
    except (AccountError, ReferenceError, OSError) as exc:
        fail(str(exc))


@app.command()
def add(
    username: UserArg,
    role: Annotated[str, typer.Option("--role", help="clerk (镇街经办人), officer (区局工作人员) or auditor (审计人员).")],
    town: Annotated[str | None, typer.Option("--town", help="A clerk's town code (9 digits).", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name (an officer's comes from the officers table).",
                                             show_default=False)] = None,
    must_change: Annotated[bool, typer.Option("--must-change", help="Ask for a new password at first sign-in.")] = False,
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """Create an account; the password is asked for twice (or read from stdin)."""
    from core.accounts import ROLES, officer_listed
    from core.reference import load_reference

    h = Home.resolve(home)
    ref = _guard(lambda: load_reference(h.reference))
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "clerk" and town not in ref.town_codes:
        fail(f"a clerk needs --town, one of the 21 town codes (got {town!r})")
    if role != "clerk" and town:
        fail("--town belongs to clerks only")
    if role == "officer":
        if not officer_listed(ref, username, today_shanghai()):
            fail(f"{username} is not an active officer number in the officers reference table "
                 "(reference/officers.csv): a district officer's username is their officer number")
        listed = ref["officers"].filter(ref["officers"]["officer"] == username)
        name = name or listed["name"][0]
    password = _password(password_stdin)
    account = _guard(lambda: _store(home).add(username, role, password, town_code=town, display_name=name,
                                              must_change=must_change))
    typer.echo(f"added {account.username} ({account.role}{', ' + account.town_code if account.town_code else ''})")


@app.command("list")
def list_users(home: HomeOpt = None) -> None:
    """Every account: username, role, town, active."""
    from core.accounts import ROLES

    store = _store(home)
    if not store.exists():
        typer.echo("共 0 个账号")
        return
    accounts = _guard(store.list)
    for a in accounts:
        state = "active" if a.active else "disabled"
        change = "  must change password" if a.must_change else ""
        typer.echo(f"{a.username:<16} {a.role:<8} {ROLES[a.role]:<6} {a.town_code or '':<10} {state}{change}")
    typer.echo(f"共 {len(accounts)} 个账号")


@app.command()
def disable(username: UserArg, home: HomeOpt = None) -> None:
    """Disable an account: its sessions and tokens end at once."""
    _guard(lambda: _store(home).set_active(username, False, by="cli"))
    typer.echo(f"disabled {username}")


@app.command()
def enable(username: UserArg, home: HomeOpt = None) -> None:
    """Enable a disabled account again."""
    _guard(lambda: _store(home).set_active(username, True, by="cli"))
    typer.echo(f"enabled {username}")


@app.command()
def reset(username: UserArg, password_stdin: PasswordStdin = False, home: HomeOpt = None) -> None:
    """Give an account a new password (printed once, or read from stdin); it must be changed at the
    next sign-in, and every session and token of the account ends."""
    from core.accounts import generate_password

    store = _store(home)
    _guard(lambda: store.get(username))
    password = _password(True) if password_stdin else generate_password()
    _guard(lambda: store.set_password(username, password, must_change=True, by="cli"))
    if password_stdin:
        typer.echo(f"password of {username} reset; it must be changed at the next sign-in")
    else:
        typer.echo(f"temporary password of {username}: {password}  (must be changed at the next sign-in)")


@app.command()
def token(
    username: UserArg,
    hours: Annotated[float, typer.Option("--hours", min=0.1, max=24 * 7, help="How long the token is valid.")] = 12,
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """A token for the commands that change findings or payments (export JIUZHU_TOKEN=...).
    Asks for the account's own password: nobody gets a token for someone else."""
    store = _store(home)
    password = _password(password_stdin, confirm=False)
    account = _guard(lambda: store.authenticate(username, password, client="cli"))
    secret = _guard(lambda: store.issue_token(account, hours=hours))
    typer.echo(secret)


@app.command()
def actions(
    username: Annotated[str | None, typer.Option("--user", help="Only this account's.", show_default=False)] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    home: HomeOpt = None,
) -> None:
    """Officers' actions (workbench and command line): queued, applied or refused, and why."""
    from core.accounts import when

    store = _store(home)
    if not store.exists():
        typer.echo("共 0 项")
        return
    got = _guard(lambda: store.actions(username=username, limit=limit))
    for a in got:
        subject = a.target.get("finding_id") or a.target.get("batch_no") or ""
        typer.echo(f"{when(a.requested_at)}  {a.username:<10} {a.kind:<16} {subject[:16]:<16} {a.status:<8} "
                   f"{a.message or ''}")
    typer.echo(f"共 {len(got)} 项")
