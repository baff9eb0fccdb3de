"""Workbench accounts: who signs in, as what, and the officers' actions waiting for the warehouse
(issue 17, SPEC §5 "Resolving findings", §8; docs/workbench.md).

Roles:

* ``clerk``   镇街经办人: one town (``town_code``), sees and sends only that town's data;
* ``officer`` 区局工作人员: a district officer; the username is the officer's number in the
  officers reference table (which stays the dated list of who may clear findings), so the
  audit trail names the authenticated account and the two-officer rule compares accounts;
* ``auditor`` 审计人员: reads everything, changes nothing, sees IDs and accounts masked.

Everything lives in one SQLite file, ``<home>/warehouse/workbench.sqlite`` (WAL, owner only):
the DuckDB warehouse cannot be opened at all while a flow writes it, yet people must sign in,
browse and act then. It holds the accounts (scrypt password hashes), API tokens for the command
line, web sessions, failed sign-ins (throttling), account events (mirrored into ``audit.events``
by the next writer) and the durable queue of officers' actions (``actions``), which the next
writer applies in order (``flows/officer_actions.py``). Standard library only: no web, no
DuckDB, no Prefect.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from core.home import SHANGHAI, Home

STORE_NAME = "workbench.sqlite"
ROLES: dict[str, str] = {"clerk": "镇街经办人", "officer": "区局工作人员", "auditor": "审计人员"}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
PASSWORD_MIN_CHARS = 10

# scrypt (memory-hard, standard library): N=2^14, r=8 -> 16 MiB and ~50 ms per check here
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024

# sign-in throttling: failures counted over a sliding window, per account and per client address
THROTTLE_WINDOW_S = 15 * 60
THROTTLE_PER_USER = 5
THROTTLE_PER_CLIENT = 20

SESSION_IDLE_S = 30 * 60  # an idle session ends after this
SESSION_MAX_S = 12 * 3600  # and any session after this
TOKEN_HOURS = 12  # API tokens of the command line
TOKEN_PREFIX = "jzt_"

ACTION_KINDS = ("finding_clear", "finding_confirm", "batch_void", "line_reissue", "recovery")
ACTION_STATUSES = ("queued", "applied", "refused")


class AccountError(ValueError):
    """A request about accounts that cannot be done; one line, for the operator."""


class AuthFailed(AccountError):
    """Wrong username, password or token, or a disabled account (never says which)."""

    def __init__(self, message: str = "用户名或密码错误 (wrong username or password)") -> None:
        super().__init__(message)


class Throttled(AccountError):
    """Too many failed sign-ins; `retry_after` seconds until the next attempt is heard."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试 (too many failed sign-ins)")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    account_id: int
    username: str
    role: str
    town_code: str | None
    display_name: str | None
    active: bool
    must_change: bool = False

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_officer(self) -> bool:
        return self.role == "officer"

    @property
    def sees_full_ids(self) -> bool:
        """Officers, and clerks (for their own town); auditors see IDs and accounts masked."""
        return self.role in ("officer", "clerk")

    def may_see_town(self, town_code: str) -> bool:
        return self.role in ("officer", "auditor") or (self.role == "clerk" and self.town_code == town_code)


@dataclass(frozen=True)
class Action:
    action_id: str
    seq: int
    username: str
    kind: str
    target: dict
    on: date  # the officer's day (Shanghai, or the --as-of stand-in)
    via: str  # web, cli
    status: str
    message: str | None
    requested_at: float
    applied_at: float | None
    run_id: str | None


# ---------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check of `password` against a stored hash (a missing hash still costs one scrypt)."""
    try:
        kind, n, r, p, salt, digest = (stored or "").split("$")
        if kind != "scrypt":
            raise ValueError
        n_, r_, p_ = int(n), int(r), int(p)
        salt_b, want = base64.b64decode(salt), base64.b64decode(digest)
    except ValueError:
        n_, r_, p_, salt_b, want = SCRYPT_N, SCRYPT_R, SCRYPT_P, b"\0" * 16, b"\1" * 32
        stored = None
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt_b, n=n_, r=r_, p=p_, maxmem=SCRYPT_MAXMEM,
                         dklen=len(want))
    return hmac.compare_digest(got, want) and stored is not None


def check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN_CHARS:
        raise AccountError(f"密码至少 {PASSWORD_MIN_CHARS} 个字符 (password too short)")
    if password.strip() != password or not password.isprintable():
        raise AccountError("密码不能以空格开头或结尾，也不能含控制字符 (bad characters in password)")


def generate_password() -> str:
    """A temporary password for `users reset` (must be changed at first sign-in)."""
    return secrets.token_urlsafe(12)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id    INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('clerk', 'officer', 'auditor')),
    town_code     TEXT,
    display_name  TEXT,
    pw_hash       TEXT NOT NULL,
    must_change   INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    disabled_at   REAL,
    CHECK ((role = 'clerk') = (town_code IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash    TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(account_id),
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash  TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(account_id),
    csrf          TEXT NOT NULL,
    created_at    REAL NOT NULL,
    last_seen     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    key           TEXT NOT NULL,
    at            REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
CREATE TABLE IF NOT EXISTS account_events (
    event_no      INTEGER PRIMARY KEY,
    at            REAL NOT NULL,
    username      TEXT NOT NULL,
    event         TEXT NOT NULL,
    detail_json   TEXT,
    synced        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS actions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id     TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    target_json   TEXT NOT NULL,
    on_day        TEXT NOT NULL,
    via           TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued',
    message       TEXT,
    requested_at  REAL NOT NULL,
    applied_at    REAL,
    run_id        TEXT
);
CREATE INDEX IF NOT EXISTS actions_status ON actions (status, seq);
"""
# The statements, written out whole (no SQL is formatted at run time; values are bound).
_ACCOUNT_BY_NAME = "SELECT account_id, username, role, town_code, display_name, active, must_change FROM accounts WHERE username = ?"
_ACCOUNT_BY_ID = "SELECT account_id, username, role, town_code, display_name, active, must_change FROM accounts WHERE account_id = ?"
_ACCOUNTS = "SELECT account_id, username, role, town_code, display_name, active, must_change FROM accounts ORDER BY role, username"
_ACCOUNT_WITH_HASH = "SELECT account_id, username, role, town_code, display_name, active, must_change, pw_hash FROM accounts WHERE username = ?"
_ACCOUNT_BY_TOKEN = ("SELECT a.account_id, a.username, a.role, a.town_code, a.display_name, a.active, a.must_change FROM tokens t "
                     "JOIN accounts a USING (account_id) WHERE t.token_hash = ? AND t.expires_at > ?")
_SESSION = ("SELECT a.account_id, a.username, a.role, a.town_code, a.display_name, a.active, a.must_change, s.csrf, s.last_seen, "
            "s.created_at FROM sessions s JOIN accounts a USING (account_id) WHERE s.session_hash = ?")
_ACTION_BY_ID = "SELECT action_id, seq, username, kind, target_json, on_day, via, status, message, requested_at, applied_at, run_id FROM actions WHERE action_id = ?"
_QUEUED_ACTIONS = "SELECT action_id, seq, username, kind, target_json, on_day, via, status, message, requested_at, applied_at, run_id FROM actions WHERE status = 'queued' ORDER BY seq"
_RECENT_ACTIONS = ("SELECT action_id, seq, username, kind, target_json, on_day, via, status, message, requested_at, applied_at, run_id FROM actions "
                   "WHERE (? IS NULL OR username = ?) AND (? IS NULL OR json_extract(target_json, ?) = ?) "
                   "ORDER BY seq DESC LIMIT ?")


def _account(row) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]))


def _action(row) -> Action:
    return Action(row[0], row[1], row[2], row[3], json.loads(row[4]), date.fromisoformat(row[5]), row[6],
                  row[7], row[8], row[9], row[10], row[11])




class AccountStore:
    """The workbench's SQLite store. Cheap to construct; each call opens its own connection
    (threads and processes share the file safely: WAL, a busy timeout)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._ready = False

    @classmethod
    def for_home(cls, home: Home, **kw) -> AccountStore:
        return cls(home.warehouse_dir / STORE_NAME, **kw)

    def exists(self) -> bool:
        return self.path.is_file()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # owner only: password hashes, session and token digests
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            if not self._ready:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(_SCHEMA)
                self._ready = True
            con.execute("PRAGMA foreign_keys = ON")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _event(self, con: sqlite3.Connection, username: str, event: str, detail: dict | None = None) -> None:
        con.execute("INSERT INTO account_events (at, username, event, detail_json) VALUES (?, ?, ?, ?)",
                    [self.clock(), username, event, json.dumps(detail or {}, ensure_ascii=False)])

    # ---- accounts

    def add(self, username: str, role: str, password: str, *, town_code: str | None = None,
            display_name: str | None = None, must_change: bool = False, by: str = "cli") -> Account:
        if not USERNAME.match(username or ""):
            raise AccountError("用户名须为 2–32 个字母、数字或 _ . -，以字母或数字开头 (bad username)")
        if role not in ROLES:
            raise AccountError(f"角色须为 {', '.join(ROLES)} 之一 (bad role {role!r})")
        if (role == "clerk") != bool(town_code):
            raise AccountError("镇街经办人须指定一个镇街（--town），其他角色不得指定 (a clerk has one town)")
        check_password_rules(password)
        now = self.clock()
        with self._tx() as con:
            if con.execute("SELECT 1 FROM accounts WHERE username = ?", [username]).fetchone():
                raise AccountError(f"用户 {username} 已存在 (account exists)")
            con.execute(
                "INSERT INTO accounts (username, role, town_code, display_name, pw_hash, must_change, active, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                [username, role, town_code, display_name, hash_password(password), int(must_change), now, now])
            self._event(con, username, "account_added", {"role": role, "town_code": town_code, "by": by})
        return self.get(username)

    def get(self, username: str) -> Account:
        with self._db() as con:
            row = con.execute(_ACCOUNT_BY_NAME, [username]).fetchone()
        if not row:
            raise AccountError(f"没有用户 {username} (no such account)")
        return _account(row)

    def get_by_id(self, account_id: int) -> Account | None:
        with self._db() as con:
            row = con.execute(_ACCOUNT_BY_ID, [account_id]).fetchone()
        return _account(row) if row else None

    def list(self) -> list[Account]:
        with self._db() as con:
            rows = con.execute(_ACCOUNTS).fetchall()
        return [_account(r) for r in rows]

    def all_rows(self) -> list[dict]:
        """Accounts without secrets, for the warehouse mirror (audit.accounts)."""
        with self._db() as con:
            rows = con.execute("SELECT username, role, town_code, active, created_at, updated_at, disabled_at "
                               "FROM accounts ORDER BY username").fetchall()
        keys = ("username", "role", "town_code", "active", "created_at", "updated_at", "disabled_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def set_password(self, username: str, password: str, *, must_change: bool, by: str) -> None:
        check_password_rules(password)
        with self._tx() as con:
            row = con.execute("SELECT account_id FROM accounts WHERE username = ?", [username]).fetchone()
            if not row:
                raise AccountError(f"没有用户 {username} (no such account)")
            con.execute("UPDATE accounts SET pw_hash = ?, must_change = ?, updated_at = ? WHERE account_id = ?",
                        [hash_password(password), int(must_change), self.clock(), row[0]])
            # a new password ends every session and token of the account
            con.execute("DELETE FROM sessions WHERE account_id = ?", [row[0]])
            con.execute("DELETE FROM tokens WHERE account_id = ?", [row[0]])
            con.execute("DELETE FROM login_failures WHERE key = ?", [f"user:{username.lower()}"])
            self._event(con, username, "password_reset" if by != username else "password_changed", {"by": by})

    def set_active(self, username: str, active: bool, *, by: str) -> None:
        now = self.clock()
        with self._tx() as con:
            row = con.execute("SELECT account_id FROM accounts WHERE username = ?", [username]).fetchone()
            if not row:
                raise AccountError(f"没有用户 {username} (no such account)")
            con.execute("UPDATE accounts SET active = ?, updated_at = ?, disabled_at = ? WHERE account_id = ?",
                        [int(active), now, None if active else now, row[0]])
            if not active:
                con.execute("DELETE FROM sessions WHERE account_id = ?", [row[0]])
                con.execute("DELETE FROM tokens WHERE account_id = ?", [row[0]])
            self._event(con, username, "account_enabled" if active else "account_disabled", {"by": by})

    # ---- signing in

    def _failures(self, con: sqlite3.Connection, key: str, now: float) -> list[float]:
        rows = con.execute("SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at",
                           [key, now - THROTTLE_WINDOW_S]).fetchall()
        return [r[0] for r in rows]

    def throttle_wait(self, username: str, client: str | None = None) -> int:
        """Seconds until a sign-in for `username` (from `client`) is heard again; 0: now."""
        now = self.clock()
        waits = [0.0]
        with self._db() as con:
            for key, limit in ((f"user:{username.lower()}", THROTTLE_PER_USER),
                               (f"client:{client}", THROTTLE_PER_CLIENT)):
                if key.endswith(":None"):
                    continue
                got = self._failures(con, key, now)
                if len(got) >= limit:
                    waits.append(got[-limit] + THROTTLE_WINDOW_S - now)
        return int(max(waits) + 0.999)

    def authenticate(self, username: str, password: str, *, client: str | None = None) -> Account:
        """The active account with this username and password; AuthFailed or Throttled otherwise.
        A throttled attempt is refused before the password is even checked."""
        username = (username or "").strip()
        wait = self.throttle_wait(username, client)
        if wait > 0:
            raise Throttled(wait)
        with self._db() as con:
            row = con.execute(_ACCOUNT_WITH_HASH,
                              [username]).fetchone()
        ok = verify_password(password or "", row[7] if row else None)
        if not ok or not row or not row[5]:
            now = self.clock()
            with self._tx() as con:
                con.execute("INSERT INTO login_failures VALUES (?, ?)", [f"user:{username.lower()}", now])
                if client:
                    con.execute("INSERT INTO login_failures VALUES (?, ?)", [f"client:{client}", now])
                con.execute("DELETE FROM login_failures WHERE at < ?", [now - 2 * THROTTLE_WINDOW_S])
                if row and len(self._failures(con, f"user:{username.lower()}", now)) == THROTTLE_PER_USER:
                    self._event(con, row[1], "sign_in_throttled", {})
            raise AuthFailed()
        with self._tx() as con:
            con.execute("DELETE FROM login_failures WHERE key = ?", [f"user:{username.lower()}"])
        return _account(row[:7])

    # ---- API tokens (the command line)

    def issue_token(self, account: Account, *, hours: float = TOKEN_HOURS) -> str:
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with self._tx() as con:
            con.execute("DELETE FROM tokens WHERE expires_at < ?", [now])
            con.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)",
                        [_sha(secret), account.account_id, now, now + hours * 3600])
            self._event(con, account.username, "token_issued", {"hours": hours})
        return secret

    def verify_token(self, token: str) -> Account:
        with self._db() as con:
            row = con.execute(
                _ACCOUNT_BY_TOKEN,
                [_sha((token or "").strip()), self.clock()]).fetchone()
        if not row or not row[5]:
            raise AuthFailed("令牌无效或已过期 (invalid or expired token)")
        return _account(row)

    # ---- web sessions

    def create_session(self, account: Account) -> tuple[str, str]:
        """A new session for the account: (cookie value, CSRF token). Only the cookie's digest is kept."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self._tx() as con:
            con.execute("DELETE FROM sessions WHERE last_seen < ? OR created_at < ?",
                        [now - SESSION_IDLE_S, now - SESSION_MAX_S])
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                        [_sha(cookie), account.account_id, csrf, now, now])
        return cookie, csrf

    def session(self, cookie: str | None, *, idle_s: float = SESSION_IDLE_S,
                touch_after_s: float = 30) -> tuple[Account, str] | None:
        """The account and CSRF token of a live session; None when unknown, idle too long,
        too old or the account is disabled. Seeing a session keeps it alive."""
        if not cookie:
            return None
        now = self.clock()
        key = _sha(cookie)
        with self._db() as con:
            row = con.execute(
                _SESSION,
                [key]).fetchone()
            if not row:
                return None
            if not row[5] or now - row[8] > idle_s or now - row[9] > SESSION_MAX_S:
                con.execute("DELETE FROM sessions WHERE session_hash = ?", [key])
                return None
            if now - row[8] > touch_after_s:
                con.execute("UPDATE sessions SET last_seen = ? WHERE session_hash = ?", [now, key])
        return _account(row[:7]), row[7]

    def end_session(self, cookie: str | None) -> None:
        if cookie:
            with self._db() as con:
                con.execute("DELETE FROM sessions WHERE session_hash = ?", [_sha(cookie)])

    # ---- account events (mirrored into the warehouse's audit.events)

    def unsynced_events(self) -> list[tuple[int, float, str, str, dict]]:
        with self._db() as con:
            rows = con.execute("SELECT event_no, at, username, event, detail_json FROM account_events "
                               "WHERE synced = 0 ORDER BY event_no").fetchall()
        return [(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}")) for r in rows]

    def mark_events_synced(self, event_nos: list[int]) -> None:
        if event_nos:
            with self._tx() as con:
                con.executemany("UPDATE account_events SET synced = 1 WHERE event_no = ?", [[n] for n in event_nos])

    # ---- the queue of officers' actions

    def enqueue(self, account: Account, kind: str, target: dict, on: date, *, via: str) -> Action:
        if kind not in ACTION_KINDS:
            raise AccountError(f"unknown action {kind!r}")
        action_id = uuid.uuid4().hex
        with self._tx() as con:
            con.execute(
                "INSERT INTO actions (action_id, username, kind, target_json, on_day, via, requested_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [action_id, account.username, kind, json.dumps(target, ensure_ascii=False, sort_keys=True),
                 on.isoformat(), via, self.clock()])
        return self.action(action_id)

    def action(self, action_id: str) -> Action:
        with self._db() as con:
            row = con.execute(_ACTION_BY_ID, [action_id]).fetchone()
        if not row:
            raise AccountError("no such action")
        return _action(row)

    def queued(self) -> list[Action]:
        """Actions not yet applied, oldest first (the order they must be applied in)."""
        if not self.exists():
            return []
        with self._db() as con:
            rows = con.execute(_QUEUED_ACTIONS).fetchall()
        return [_action(r) for r in rows]

    def actions(self, *, username: str | None = None, target_key: tuple[str, str] | None = None,
                limit: int = 50) -> list[Action]:
        """Recent actions, newest first: of one user, and/or about one target (key, value)."""
        path, value = (f"$.{target_key[0]}", target_key[1]) if target_key else (None, None)
        with self._db() as con:
            who = username or None
            rows = con.execute(_RECENT_ACTIONS, [who, who, path, path, value, limit]).fetchall()
        return [_action(r) for r in rows]

    def backup_to(self, target: Path) -> Path:
        """A consistent copy of the whole store (WAL included) into `target` (for `jiuzhu backup`)."""
        fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        os.close(fd)
        with self._db() as con:
            dest = sqlite3.connect(target)
            try:
                con.backup(dest)
            finally:
                dest.close()
        return Path(target)

    def finish_action(self, action_id: str, status: str, message: str | None, run_id: str | None) -> None:
        if status not in ("applied", "refused"):
            raise ValueError(status)
        with self._db() as con:
            con.execute("UPDATE actions SET status = ?, message = ?, applied_at = ?, run_id = ? "
                        "WHERE action_id = ? AND status = 'queued'",
                        [status, message, self.clock(), run_id, action_id])


def when(ts: float | None) -> str:
    """A store timestamp as Shanghai time, for people."""
    return "" if ts is None else datetime.fromtimestamp(ts, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def officer_listed(ref, username: str, on: date) -> bool:
    """An officer account's username must be an officer number in the officers reference table."""
    import polars as pl

    t = ref["officers"].filter(
        (pl.col("officer") == username)
        & (pl.col("active_from").is_null() | (pl.col("active_from") <= on))
        & (pl.col("active_to").is_null() | (pl.col("active_to") >= on)))
    return t.height > 0


# ---------------------------------------------------------------- the demo's accounts

DEMO_ACCOUNTS = (  # username, role, town, password: for the synthetic demo home only
    ("gunan", "clerk", "500110001", "gunan-demo-2025"),
    ("GZ001", "officer", None, "gz001-demo-2025"),
    ("GZ002", "officer", None, "gz002-demo-2025"),
    ("audit", "auditor", None, "audit-demo-2025"),
)


def add_demo_accounts(home: Home) -> list[str]:
    """Create the demo's workbench accounts (a clerk of 古南街道, two officers, an auditor) in a
    demo home, once; returns the lines `jiuzhu demo` prints. Never for a real home: the
    passwords are in the source."""
    store = AccountStore.for_home(home)
    lines = []
    for username, role, town, password in DEMO_ACCOUNTS:
        try:
            store.get(username)
        except AccountError:
            store.add(username, role, password, town_code=town, by="demo")
        where = f"，{town}" if town else ""
        lines.append(f"{ROLES[role]}{where}: {username} / {password}")
    return lines
