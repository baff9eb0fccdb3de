"""The workbench (issue 17; docs/workbench.md): a small server-rendered web app where towns
file and officers decide, with real sign-ins.

    app = create_app(Home.resolve("jiuzhu-data"))
    uvicorn.run(app, host="127.0.0.1", port=8800)   # what `jiuzhu web` does

FastAPI with Jinja2 templates and plain HTML forms (no script on any page). Pages read an
unmasked snapshot of the warehouse (web/snapshot.py), so they load while a flow writes;
officers' actions go through the durable queue (flows/officer_actions.py). Sessions are
HttpOnly, SameSite=Strict cookies with an idle timeout, every form carries a CSRF token,
failed sign-ins are throttled. Logs carry the method, the route's path, the status and the
role: never a query string, a name, an ID or an account.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from core.accounts import Account, AccountError, AccountStore, AuthFailed, Throttled
from core.home import Home
from core.reference import load_reference
from web import officer, town
from web.actions import background_apply
from web.common import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    WEB_DIR,
    Forbidden,
    MustChangePassword,
    NeedLogin,
    NotFound,
    Workbench,
    check_csrf,
    current_user,
    render,
    wb_of,
)
from web.jobs import IngestRunner
from web.snapshot import Snapshots

log = logging.getLogger("jiuzhu.web")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def prefect_ui_url() -> str | None:
    """The Prefect UI, when a server is configured (PREFECT_UI_URL, else PREFECT_API_URL without /api)."""
    ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/")
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if ui:
        return ui
    if api.endswith("/api"):
        return api[: -len("/api")]
    return None


def create_app(home: Home, *, as_of: date | None = None, idle_minutes: float = 30, secure_cookies: bool = False,
               store: AccountStore | None = None, ingest: IngestRunner | None = None,
               background: bool = True, snapshot_interval_s: float = 3.0) -> FastAPI:
    home = home.check()
    ref = load_reference(home.reference)
    wb = Workbench(
        home=home, store=store or AccountStore.for_home(home), snapshots=Snapshots(home), ref=ref,
        ingest=ingest or IngestRunner(home, as_of=as_of), as_of=as_of, idle_s=idle_minutes * 60,
        secure_cookies=secure_cookies, prefect_ui=prefect_ui_url(),
        max_upload_bytes=ref.setting_int("max_file_bytes", 256 * 1024 * 1024),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if not wb.snapshots.load_existing():
            wb.snapshots.refresh(force=True)
        if background:
            wb.snapshots.start(snapshot_interval_s, also=lambda: background_apply(wb))
        yield
        wb.snapshots.close()

    app = FastAPI(title="救助工作台", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.wb = wb
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.include_router(town.router)
    app.include_router(officer.router)
    _auth_routes(app)
    _errors(app)

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        user = getattr(request.state, "user", None)
        # the path only (a case number or finding id at most), never the query string or a name
        log.info("%s %s %s %.0fms %s", request.method, request.url.path, response.status_code,
                 (time.perf_counter() - started) * 1000, user.role if user else "-")
        return response

    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin):
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(MustChangePassword)
    async def must_change(request: Request, exc: MustChangePassword):
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        return render(request, "message.html", "无权访问", status_code=403, message=exc.message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return render(request, "message.html", "没有找到", status_code=404, message=exc.message)


User = Annotated[Account, Depends(current_user)]


def _set_cookie(response: Response, wb: Workbench, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=wb.secure_cookies, path="/")


def _auth_routes(app: FastAPI) -> None:
    @app.get("/")
    def index(request: Request, user: User):
        if user.role == "clerk":
            return RedirectResponse(f"/towns/{user.town_code}", status_code=303)
        return RedirectResponse("/findings", status_code=303)

    @app.get("/login")
    def login_form(request: Request):
        wb = wb_of(request)
        if wb.store.session(request.cookies.get(SESSION_COOKIE), idle_s=wb.idle_s):
            return RedirectResponse("/", status_code=303)
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = render(request, "login.html", "登录", login_csrf=token)
        _set_cookie(response, wb, LOGIN_COOKIE, token)
        return response

    @app.post("/login")
    def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              csrf: Annotated[str, Form()] = ""):
        wb = wb_of(request)
        want = request.cookies.get(LOGIN_COOKIE)
        if not want or not csrf or not secrets.compare_digest(want, csrf):
            raise Forbidden("登录表单已失效，请刷新页面后重试 (CSRF token missing or wrong)")
        client = request.client.host if request.client else None
        try:
            account = wb.store.authenticate(username, password, client=client)
        except Throttled as exc:
            response = render(request, "login.html", "登录", status_code=429, error=str(exc), login_csrf=want)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except AuthFailed as exc:
            return render(request, "login.html", "登录", status_code=401, error=str(exc), login_csrf=want)
        cookie, _csrf = wb.store.create_session(account)
        response = RedirectResponse("/password" if account.must_change else "/", status_code=303)
        _set_cookie(response, wb, SESSION_COOKIE, cookie)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, user: User, csrf: Annotated[str, Form()] = ""):
        check_csrf(request, csrf)
        wb_of(request).store.end_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/password")
    def password_form(request: Request, user: User):
        return render(request, "password.html", "修改密码")

    @app.post("/password")
    def change_password(request: Request, user: User, csrf: Annotated[str, Form()] = "",
                        current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "",
                        again: Annotated[str, Form()] = ""):
        check_csrf(request, csrf)
        wb = wb_of(request)
        client = request.client.host if request.client else None
        try:
            wb.store.authenticate(user.username, current, client=client)
            if new != again:
                raise AccountError("两次输入的新密码不一致 (passwords differ)")
            if new == current:
                raise AccountError("新密码不能与原密码相同 (same password)")
            wb.store.set_password(user.username, new, must_change=False, by=user.username)
        except AccountError as exc:
            return render(request, "password.html", "修改密码", status_code=400, error=str(exc))
        cookie, _csrf = wb.store.create_session(wb.store.get(user.username))  # every old session ended
        response = RedirectResponse("/", status_code=303)
        _set_cookie(response, wb, SESSION_COOKIE, cookie)
        return response

    @app.get("/actions")
    def actions(request: Request, user: User):
        wb = wb_of(request)
        mine = wb.store.actions(username=user.username, limit=100)
        queued = wb.store.queued() if user.role in ("officer", "auditor") else []
        return render(request, "actions.html", "操作记录", mine=mine, queued=queued)
