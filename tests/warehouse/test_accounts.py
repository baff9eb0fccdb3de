"""Workbench accounts (core/accounts.py) and `jiuzhu users`: scrypt hashes, roles, the
sign-in throttle, sessions that end, tokens that only the account's own password gets,
resets that force a new password, and the queue of officers' actions in order."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest
from typer.testing import CliRunner

from core.accounts import (
    THROTTLE_PER_USER,
    AccountError,
    AccountStore,
    AuthFailed,
    Throttled,
    hash_password,
    verify_password,
)
from core.home import Home
from jiuzhu.commands.users import app

runner = CliRunner()
PASSWORD = "a-long-password"


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> AccountStore:
    s = AccountStore(tmp_path / "warehouse" / "workbench.sqlite", clock=clock)
    s.add("GZ001", "officer", PASSWORD)
    s.add("clerk_a", "clerk", PASSWORD, town_code="500110001")
    return s


def test_passwords_are_salted_scrypt_hashes(store):
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one.startswith("scrypt$16384$8$1$") and one != two and PASSWORD not in one
    assert verify_password(PASSWORD, one) and not verify_password("a-long-passworD", one)
    assert not verify_password(PASSWORD, None) and not verify_password(PASSWORD, "plain")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600  # owner only
    assert PASSWORD.encode() not in store.path.read_bytes()


def test_accounts_have_one_role_and_a_clerk_one_town(store):
    for args, kw in (
        (("x", "admin", PASSWORD), {}),
        (("x", "clerk", PASSWORD), {}),  # a clerk without a town
        (("x", "officer", PASSWORD), {"town_code": "500110001"}),
        (("x y", "auditor", PASSWORD), {}),
        (("x", "auditor", "short"), {}),
        (("gz001", "auditor", PASSWORD), {}),  # taken, whatever the case
    ):
        with pytest.raises(AccountError):
            store.add(*args, **kw)
    clerk = store.get("clerk_a")
    assert clerk.may_see_town("500110001") and not clerk.may_see_town("500110108")
    assert store.get("GZ001").may_see_town("500110108") and store.get("GZ001").sees_full_ids


def test_sign_in_is_throttled_per_account_and_per_client(store, clock):
    for _ in range(THROTTLE_PER_USER):
        with pytest.raises(AuthFailed):
            store.authenticate("GZ001", "wrong-wrong", client="10.0.0.1")
    with pytest.raises(Throttled) as refused:
        store.authenticate("GZ001", PASSWORD, client="10.0.0.2")
    assert 0 < refused.value.retry_after <= 15 * 60
    assert store.authenticate("clerk_a", PASSWORD, client="10.0.0.1").username == "clerk_a"
    clock.now += 15 * 60 + 1
    assert store.authenticate("GZ001", PASSWORD).username == "GZ001"
    store.set_active("clerk_a", False, by="test")
    with pytest.raises(AuthFailed):  # a disabled account says nothing more than a wrong password
        store.authenticate("clerk_a", PASSWORD)


def test_sessions_end_when_idle_old_disabled_or_reset(store, clock):
    cookie, csrf = store.create_session(store.get("GZ001"))
    account, got_csrf = store.session(cookie)
    assert account.username == "GZ001" and got_csrf == csrf
    clock.now += 29 * 60
    assert store.session(cookie) is not None
    clock.now += 31 * 60
    assert store.session(cookie) is None
    cookie, _ = store.create_session(store.get("GZ001"))
    store.set_password("GZ001", "another-long-one", must_change=True, by="cli")
    assert store.session(cookie) is None
    assert store.get("GZ001").must_change
    cookie, _ = store.create_session(store.get("clerk_a"))
    store.set_active("clerk_a", False, by="cli")
    assert store.session(cookie) is None
    assert store.session("made-up") is None and store.session(None) is None


def test_tokens_expire_and_end_with_the_account(store, clock):
    token = store.issue_token(store.get("GZ001"), hours=1)
    assert token.startswith("jzt_") and store.verify_token(token).username == "GZ001"
    clock.now += 3601
    with pytest.raises(AuthFailed):
        store.verify_token(token)
    token = store.issue_token(store.get("GZ001"))
    store.set_active("GZ001", False, by="cli")
    with pytest.raises(AuthFailed):
        store.verify_token(token)


def test_the_queue_keeps_order_and_every_outcome(store):
    officer = store.get("GZ001")
    first = store.enqueue(officer, "finding_clear", {"finding_id": "a" * 32, "reason": "x"}, date(2025, 4, 1),
                          via="web")
    second = store.enqueue(officer, "batch_void", {"batch_no": "B", "reason": "y"}, date(2025, 4, 2), via="cli")
    assert [a.action_id for a in store.queued()] == [first.action_id, second.action_id]
    store.finish_action(first.action_id, "applied", "已解除", "run1")
    store.finish_action(first.action_id, "refused", "again", None)  # a finished action is never changed
    assert store.action(first.action_id).status == "applied"
    assert [a.action_id for a in store.queued()] == [second.action_id]
    assert [a.kind for a in store.actions(target_key=("finding_id", "a" * 32))] == ["finding_clear"]
    events = [e[3] for e in store.unsynced_events()]
    assert events == ["account_added", "account_added"]


# ---------------------------------------------------------------- `jiuzhu users`


def users(home: Home, *args: str, stdin: str | None = None):
    return runner.invoke(app, [*args, "--home", str(home.root)], input=stdin)


def test_users_commands(tmp_path):
    home = Home(tmp_path).ensure()
    added = users(home, "add", "GZ002", "--role", "officer", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert added.exit_code == 0 and "added GZ002 (officer)" in added.output
    # a district officer's username is an officer number of the officers table
    stranger = users(home, "add", "wangjg", "--role", "officer", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert stranger.exit_code == 1 and "officer number" in stranger.output
    clerk = users(home, "add", "gunan01", "--role", "clerk", "--town", "500110001", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert clerk.exit_code == 0, clerk.output
    assert users(home, "add", "x1", "--role", "clerk", "--town", "500110004", "--password-stdin",
                 stdin=f"{PASSWORD}\n").exit_code == 1  # 万盛: no Qijiang town
    listed = users(home, "list")
    assert "GZ002" in listed.output and "gunan01" in listed.output and "共 2 个账号" in listed.output
    store = AccountStore.for_home(home)
    assert store.get("GZ002").display_name == "李秀英"
    # a token needs the account's own password
    assert users(home, "token", "GZ002", "--password-stdin", stdin="not-it-at-all\n").exit_code == 1
    token = users(home, "token", "GZ002", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert token.exit_code == 0 and store.verify_token(token.output.strip()).username == "GZ002"
    reset = users(home, "reset", "gunan01")
    temporary = reset.output.split(": ")[1].split()[0]
    assert store.authenticate("gunan01", temporary).must_change
    assert users(home, "disable", "GZ002").exit_code == 0
    with pytest.raises(AuthFailed):
        store.verify_token(token.output.strip())
    assert users(home, "disable", "nobody").exit_code == 1
    assert users(home, "actions").output.strip() == "共 0 项"


def test_a_backup_of_the_store_is_whole(store, tmp_path):
    store.enqueue(store.get("GZ001"), "batch_void", {"batch_no": "B", "reason": "y"}, date(2025, 4, 2), via="cli")
    copy = AccountStore(store.backup_to(tmp_path / "copy.sqlite"))
    assert [a.kind for a in copy.queued()] == ["batch_void"]
    assert copy.authenticate("GZ001", PASSWORD).role == "officer"
    assert stat.S_IMODE(os.stat(tmp_path / "copy.sqlite").st_mode) == 0o600


def test_the_workbench_refuses_a_home_without_accounts(tmp_path):
    from jiuzhu.commands.web import app as web_app

    home = Home(tmp_path).ensure()
    got = runner.invoke(web_app, ["--home", str(home.root)])
    assert got.exit_code == 1 and "jiuzhu users add" in got.output
