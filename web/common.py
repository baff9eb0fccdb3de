"""What every page of the workbench shares: the workbench's state, who is signed in, role
checks, CSRF, reading the snapshot, masking, rendering."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from starlette.templating import Jinja2Templates

from core.accounts import ROLES, Account, AccountStore, when
from core.home import SHANGHAI, Home, today_shanghai
from core.periods import period_text
from core.reference import Reference
from transforms.identifiers import mask, scrub_text
from warehouse.sqlfiles import sql as sqlfile
from web.jobs import IngestRunner
from web.snapshot import Snapshots

WEB_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "jz_session"
LOGIN_COOKIE = "jz_login"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


class NeedLogin(Exception):
    """No live session: sign in (again)."""


class MustChangePassword(Exception):
    """A reset password must be changed before anything else."""


class Forbidden(Exception):
    def __init__(self, message: str = "您无权访问此页面 (forbidden)") -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    def __init__(self, message: str = "没有找到 (not found)") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Workbench:
    home: Home
    store: AccountStore
    snapshots: Snapshots
    ref: Reference
    ingest: IngestRunner
    as_of: date | None = None
    idle_s: float = 30 * 60
    secure_cookies: bool = False
    prefect_ui: str | None = None
    max_upload_bytes: int = 256 * 1024 * 1024
    apply_at_once: bool = True
    after_action: list[Callable[[], None]] = field(default_factory=list)

    def today(self) -> date:
        return today_shanghai(self.as_of)

    @property
    def towns(self) -> dict[str, str]:
        return dict(zip(self.ref["towns"]["code"], self.ref["towns"]["name"], strict=True))


def wb_of(request: Request) -> Workbench:
    return request.app.state.wb


# ---------------------------------------------------------------- who is signed in


def current_user(request: Request) -> Account:
    """FastAPI dependency: the signed-in account (NeedLogin otherwise)."""
    wb = wb_of(request)
    got = wb.store.session(request.cookies.get(SESSION_COOKIE), idle_s=wb.idle_s)
    if got is None:
        raise NeedLogin()
    account, csrf = got
    request.state.user = account
    request.state.csrf = csrf
    if account.must_change and request.url.path not in ("/password", "/logout"):
        raise MustChangePassword()
    return account


def need(user: Account, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden()


def need_town(user: Account, town: str, wb: Workbench) -> None:
    if town not in wb.towns:
        raise NotFound("没有这个镇街 (no such town)")
    if not user.may_see_town(town):
        raise Forbidden("您只能查看本镇街的数据 (another town's data)")


def check_csrf(request: Request, token: str | None) -> None:
    """Every form carries the session's CSRF token; a cross-site Origin is refused too."""
    want = getattr(request.state, "csrf", None)
    if not want or not token or not hmac.compare_digest(want, token):
        raise Forbidden("表单已失效，请刷新页面后重试 (CSRF token missing or wrong)")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("跨站请求被拒绝 (cross-site request)")


# ---------------------------------------------------------------- reading and showing


def sql(name: str) -> str:
    """web/sql/<name>.sql, through the one loader (warehouse.sqlfiles)."""
    return sqlfile(name, folder=WEB_DIR / "sql")


def rows(cur, name: str, **params) -> list[dict]:
    """Run web/sql/<name>.sql with bound parameters on a snapshot cursor: a list of dicts."""
    if cur is None:
        return []
    rel = cur.execute(sql(name), params)
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def one(cur, name: str, **params) -> dict | None:
    got = rows(cur, name, **params)
    return got[0] if got else None


def show_id(user: Account, value: str | None) -> str:
    if not value:
        return "（全户）"
    return value if user.sees_full_ids else (mask(value) or "")


def show_text(user: Account, value: str | None) -> str:
    if value is None:
        return ""
    return str(value) if user.sees_full_ids else scrub_text(str(value))


def money(value) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f}"


def day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def month(value) -> str:
    return period_text(value) if isinstance(value, date) else (value or "")


templates.env.filters["money"] = money
templates.env.filters["day"] = day
templates.env.filters["month"] = month
templates.env.filters["ts"] = when

SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}
STATUS = {"open": "未处理", "cleared": "已解除", "superseded": "已被新版本取代", "pending": "待确认"}
ACTION_STATUS = {"queued": "排队中", "applied": "已生效", "refused": "被拒绝"}
ACTION_KIND = {"finding_clear": "解除核对结果", "finding_confirm": "确认解除", "batch_void": "作废批次",
               "line_reissue": "重新发放", "recovery": "应追回登记"}


def labels(wb: Workbench, field_name: str) -> dict[str, str]:
    c = wb.ref["codes"]
    return dict(zip(c.filter(c["field"] == field_name)["code"], c.filter(c["field"] == field_name)["label"],
                    strict=True))


def nav(user: Account) -> list[tuple[str, str]]:
    if user.role == "clerk":
        t = user.town_code
        return [(f"/towns/{t}", "本镇街概况"), (f"/towns/{t}/upload", "报送台账"), (f"/towns/{t}/files", "回执与核对报告"),
                (f"/towns/{t}/payments", "特困发放"), ("/actions", "我的操作")]
    items = [("/findings", "问题队列"), ("/towns", "各镇街"), ("/close", "发放前预览"), ("/recoveries", "应追回"),
             ("/batches", "发放批次"), ("/inspections", "入户抽查"), ("/bank", "银行回盘"), ("/reports", "统计月报"),
             ("/runs", "运行记录"), ("/actions", "操作记录")]
    return items


def render(request: Request, template: str, title: str, status_code: int = 200, **ctx):
    """A page: the template with who is signed in, their CSRF token, the menu, and how fresh the data is."""
    wb = wb_of(request)
    user: Account | None = getattr(request.state, "user", None)
    snap = wb.snapshots.current
    holder = _holder(wb)
    base = {
        "request": request, "title": title, "user": user, "csrf": getattr(request.state, "csrf", ""),
        "nav": nav(user) if user and not user.must_change else [], "roles": ROLES,
        "as_of_label": snap.taken_label if snap else None, "busy": holder,
        "towns": wb.towns, "SEVERITY": SEVERITY, "STATUS": STATUS, "ACTION_STATUS": ACTION_STATUS, "ACTION_KIND": ACTION_KIND,
        "show_id": (lambda v: show_id(user, v)) if user else None,
        "show_text": (lambda v: show_text(user, v)) if user else None,
        "today": wb.today(),
    }
    return templates.TemplateResponse(request, template, base | ctx, status_code=status_code)


def _holder(wb: Workbench) -> str | None:
    """Which flow holds the warehouse for writing right now (from the lock's sidecar, a small file)."""
    from warehouse.connection import read_holder

    info = read_holder(wb.home)
    if info and info.get("mode") == "write":
        return str(info.get("flow") or "")
    return None
