"""The workbench over HTTP (FastAPI's TestClient): every role against every page (allowed or
403), a clerk's URL tampering, CSRF on every form, idle sessions, sign-in throttling, the
two-officer rule and the hold it lifts at the next close, actions queued while a flow holds
the warehouse (applied once, by the next writer), masking for auditors, names and IDs kept
out of titles and logs, and what a clerk sees of spot inspections."""

from __future__ import annotations

import logging
import re
import shutil
import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient
from helpers import query
from web_home import (
    AS_OF,
    HEAD_A,
    HEAD_HELD,
    PASSWORDS,
    TOWN_A,
    TOWN_B,
    build_home,
    close,
    finding_id,
    held,
    return_workbook,
)

from core.accounts import AccountStore
from core.home import Home
from core.reference import load_reference
from flows.officer_actions import apply_queued_actions
from warehouse.connection import open_warehouse
from web.app import create_app
from web.jobs import IngestRunner

REF = load_reference()
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Home:
    home = build_home(tmp_path_factory.mktemp("web-template"))
    # files a clerk or an officer may fetch: a 核对报告 and a monthly report
    (home.out / "crosscheck" / "2025-03-25").mkdir(parents=True)
    (home.out / "crosscheck" / "2025-03-25" / f"{TOWN_A}.核对报告.xlsx").write_bytes(b"PK fake")
    (home.out / "reports" / "2025-03").mkdir(parents=True)
    (home.out / "reports" / "2025-03" / "report.html").write_text("<html><body>统计月报</body></html>", "utf-8")
    return home


@pytest.fixture
def home(template, tmp_path) -> Home:
    shutil.copytree(template.root, tmp_path / "home")
    return Home(tmp_path / "home")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(home, clock):
    ran = []
    app = create_app(home, as_of=AS_OF, background=False, idle_minutes=30,
                     store=AccountStore.for_home(home, clock=clock),
                     ingest=IngestRunner(home, target=lambda: ran.append(1)))
    with TestClient(app) as c:
        c.app_state = app.state.wb
        yield c


def login(c: TestClient, user: str, password: str | None = None):
    page = c.get("/login")
    token = CSRF.search(page.text).group(1)
    return c.post("/login", data={"username": user, "password": password or PASSWORDS[user], "csrf": token},
                  follow_redirects=False)


def session_csrf(c: TestClient) -> str:
    return CSRF.search(c.get("/actions").text).group(1)


def as_user(app_client_factory, user: str) -> tuple[TestClient, str]:
    c = app_client_factory()
    assert login(c, user).status_code == 303
    return c, session_csrf(c)


# ---------------------------------------------------------------- every role, every page


def test_every_role_against_every_page(home, client):
    wb = client.app_state
    fid = finding_id(home, "V16", "GN-1")
    receipt = next((home.out / "returns" / TOWN_A).glob("*.回执.json")).name
    workbook = next((home.out / "returns" / TOWN_A).glob("*.问题.xlsx")).name
    tekun = "202504-500110108-tekun_home-01"
    dibao = "202504-QJ-dibao_urban-01"
    A, B = TOWN_A, TOWN_B
    ok, no = 200, 403
    # path: expected status per role (clerk_a is of town A, clerk_b of town B)
    gets = {
        "/towns": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/cases/GN-1": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/upload": dict(clerk_a=ok, clerk_b=no, GZ001=no, audit1=no),
        f"/towns/{A}/files": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/files/returns/{workbook}": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=no),
        f"/towns/{A}/files/returns/{receipt}": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/files/crosscheck/2025-03-25": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/template.xlsx": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/payments": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/payments/holds.xlsx": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{A}/payments/recoveries.xlsx": dict(clerk_a=ok, clerk_b=no, GZ001=ok, audit1=ok),
        f"/towns/{B}/payments/batches/{tekun}/xlsx": dict(clerk_a=no, clerk_b=ok, GZ001=ok, audit1=no),
        f"/towns/{B}/payments/batches/{tekun}/csv": dict(clerk_a=no, clerk_b=ok, GZ001=ok, audit1=no),
        f"/towns/{B}/payments/batches/{tekun}/manifest": dict(clerk_a=no, clerk_b=ok, GZ001=ok, audit1=ok),
        f"/towns/{B}/payments/batches/{dibao}/xlsx": dict(clerk_a=no, clerk_b=no, GZ001=no, audit1=no),
        "/findings": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        f"/findings/{fid}": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/close": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/recoveries": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/batches": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        f"/batches/{dibao}": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        f"/batches/{dibao}/files/xlsx": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=no),
        f"/batches/{dibao}/files/csv": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=no),
        f"/batches/{dibao}/files/manifest": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/inspections": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/bank": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/reports": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/reports/2025-03/report.html": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/runs": dict(clerk_a=no, clerk_b=no, GZ001=ok, audit1=ok),
        "/actions": dict(clerk_a=ok, clerk_b=ok, GZ001=ok, audit1=ok),
        "/password": dict(clerk_a=ok, clerk_b=ok, GZ001=ok, audit1=ok),
    }
    csv_file = ("x.csv", return_workbook("UP-1"), "text/csv")
    # path: (form, files, expected per role); allowed forms redirect (303) or say why not (409)
    posts = {
        f"/towns/{A}/upload": ({}, {"file": csv_file}, dict(clerk_a=303, clerk_b=no, GZ001=no, audit1=no)),
        "/ingest": ({}, None, dict(clerk_a=303, clerk_b=303, GZ001=303, audit1=no)),
        f"/findings/{fid}/confirm": ({}, None, dict(clerk_a=no, clerk_b=no, GZ001=409, audit1=no)),
        f"/findings/{fid}/clear": ({"reason": "已核实"}, None, dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/recoveries/NOPE/1": ({"action": "recovered", "reason": "x"}, None,
                               dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/batches/NOPE/void": ({"reason": "x"}, None, dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/batches/NOPE/lines/1/reissue": ({"reason": "x"}, None, dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/inspections": ({"case_no": "GN-1", "town_code": A, "inspected_on": "2025-04-09", "conclusion": "属实"},
                         None, dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/inspections/upload": ({}, {"file": ("r.csv", b"a,b\n", "text/csv")},
                                dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
        "/bank": ({}, {"file": ("bank.csv", b"a,b\n", "text/csv")}, dict(clerk_a=no, clerk_b=no, GZ001=303, audit1=no)),
    }
    seen = 0
    for user in ("clerk_a", "clerk_b", "GZ001", "audit1"):
        c = TestClient(client.app)
        assert login(c, user).status_code == 303
        token = session_csrf(c)
        for path, want in gets.items():
            got = c.get(path, follow_redirects=False)
            assert got.status_code == want[user], (user, path, got.status_code)
            seen += 1
        for path, (form, files, want) in posts.items():
            got = c.post(path, data={**form, "csrf": token}, files=files, follow_redirects=False)
            assert got.status_code == want[user], (user, path, got.status_code, got.text[-300:])
            seen += 1
        home_page = c.get("/", follow_redirects=False)
        assert home_page.status_code == 303
        assert home_page.headers["location"] == ("/findings" if user in ("GZ001", "audit1")
                                                 else f"/towns/{TOWN_A if user == 'clerk_a' else TOWN_B}")
    assert seen == 4 * (len(gets) + len(posts))
    # nobody is let in without signing in
    anonymous = TestClient(client.app)
    for path in gets:
        assert anonymous.get(path, follow_redirects=False).headers["location"] == "/login"
    assert wb.ingest.wait() == "completed"


def test_a_clerk_never_sees_another_towns_case_however_the_url_is_made(home, client):
    c = TestClient(client.app)
    login(c, "clerk_b")
    forbidden = [f"/towns/{TOWN_A}", f"/towns/{TOWN_A}/cases/GN-HELD", f"/towns/{TOWN_A}/cases/GN-1",
                 f"/towns/{TOWN_A}/payments", f"/towns/{TOWN_A}/files", f"/towns/{TOWN_A}/payments/recoveries.xlsx",
                 f"/findings?town={TOWN_A}", f"/findings/{finding_id(home, 'V08', 'GN-HELD')}"]
    for path in forbidden:
        got = c.get(path)
        assert got.status_code == 403, path
        assert HEAD_HELD[1] not in got.text and HEAD_HELD[0] not in got.text and "GN-HELD" not in got.text
    # the own town's URL with another town's case number: no such case there
    assert c.get(f"/towns/{TOWN_B}/cases/GN-HELD").status_code == 404
    # a path out of the town's folder is never followed
    for sneaky in (f"/towns/{TOWN_B}/files/returns/..%2F{TOWN_A}%2Fx.回执.json",
                   f"/towns/{TOWN_B}/files/returns/%2E%2E%2F%2E%2E%2Fwarehouse%2Fjiuzhu.duckdb"):
        assert c.get(sneaky).status_code in (403, 404)
    assert c.get(f"/towns/{TOWN_B}/cases/SJ-1").status_code == 200


# ---------------------------------------------------------------- CSRF, sessions, throttling


def test_every_form_needs_the_sessions_csrf_token(home, client):
    fid = finding_id(home, "V16", "GN-1")
    officer = TestClient(client.app)
    login(officer, "GZ001")
    other = TestClient(client.app)
    login(other, "GZ002")
    foreign = session_csrf(other)
    for token in (None, "", "forged", foreign):
        data = {"reason": "已核实"} | ({"csrf": token} if token is not None else {})
        got = officer.post(f"/findings/{fid}/clear", data=data, follow_redirects=False)
        assert got.status_code == 403 and "表单已失效" in got.text
    mine = session_csrf(officer)
    cross_site = officer.post(f"/findings/{fid}/clear", data={"reason": "x", "csrf": mine},
                              headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert cross_site.status_code == 403
    assert query(home, "SELECT status FROM checks.findings WHERE finding_id = ?", [fid]) == [("open",)]
    # signing in needs the login form's own token too (no login CSRF)
    stranger = TestClient(client.app)
    got = stranger.post("/login", data={"username": "GZ001", "password": PASSWORDS["GZ001"], "csrf": "x"},
                        follow_redirects=False)
    assert got.status_code == 403
    # logging out is a form as well
    assert officer.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert officer.post("/logout", data={"csrf": mine}, follow_redirects=False).status_code == 303
    assert officer.get("/findings", follow_redirects=False).headers["location"] == "/login"


def test_the_session_cookie_is_httponly_samesite_and_ends_when_idle(client, clock):
    c = TestClient(client.app)
    got = login(c, "GZ001")
    cookie = got.headers["set-cookie"]
    assert "jz_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "GZ001" not in cookie
    clock.now += 29 * 60
    assert c.get("/findings").status_code == 200  # activity keeps it alive
    clock.now += 29 * 60
    assert c.get("/findings").status_code == 200
    clock.now += 31 * 60
    expired = c.get("/findings", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"] == "/login"
    assert login(c, "GZ001").status_code == 303  # signing in again works
    statuses = []
    for _ in range(40):  # busy every 20 minutes: still no session lives longer than 12 hours
        clock.now += 20 * 60
        statuses.append(c.get("/findings", follow_redirects=False).status_code)
    assert statuses[:35] == [200] * 35 and statuses[-1] == 303


def test_failed_sign_ins_are_throttled(client, clock):
    c = TestClient(client.app)
    for _ in range(5):
        assert login(c, "GZ002", "wrong-password").status_code == 401
    refused = login(c, "GZ002")  # the right password, too late
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert login(TestClient(client.app), "GZ001").status_code == 303  # another account is not locked out
    clock.now += 15 * 60 + 1
    assert login(c, "GZ002").status_code == 303
    # one client guessing across many accounts is throttled as a client
    guesser = TestClient(client.app)
    for n in range(20):
        assert login(guesser, f"nobody{n}", "guess-guess").status_code == 401
    assert login(guesser, "clerk_a").status_code == 429


# ---------------------------------------------------------------- two officers, and the hold lifted


def test_two_officers_clear_a_blocking_finding_and_the_hold_lifts_at_the_next_close(home, client):
    v08 = finding_id(home, "V08", "GN-HELD")
    assert held(home, "GN-HELD", "2025-04") == 1
    a, b = TestClient(client.app), TestClient(client.app)
    login(a, "GZ001")
    login(b, "GZ002")
    ta, tb = session_csrf(a), session_csrf(b)
    assert b.post(f"/findings/{v08}/confirm", data={"csrf": tb}, follow_redirects=False).status_code == 409
    done = a.post(f"/findings/{v08}/clear", data={"csrf": ta, "reason": "区局已补办审批手续"})
    assert done.status_code == 200 and "须由另一名人员确认" in done.text
    assert query(home, "SELECT status, cleared_by FROM checks.findings WHERE finding_id = ?", [v08]) == [
        ("open", "GZ001")]
    again = a.post(f"/findings/{v08}/confirm", data={"csrf": ta})
    assert again.status_code == 403 and "两名不同人员" in again.text
    ok = b.post(f"/findings/{v08}/confirm", data={"csrf": tb})
    assert ok.status_code == 200 and "已确认解除" in ok.text
    assert query(home, "SELECT status, cleared_by, confirmed_by FROM checks.findings WHERE finding_id = ?",
                 [v08]) == [("cleared", "GZ001", "GZ002")]
    runs = query(home, "SELECT flow, json_extract_string(params_json, '$.user'), json_extract_string(params_json, "
                       "'$.via') FROM audit.runs WHERE flow LIKE 'findings-%' ORDER BY started_at")
    assert runs == [("findings-clear", "GZ001", "web"), ("findings-confirm", "GZ002", "web")]
    assert query(home, "SELECT username, kind, outcome, queued FROM audit.officer_actions ORDER BY applied_at") == [
        ("GZ001", "finding_clear", "applied", False), ("GZ002", "finding_confirm", "applied", False)]
    # the page the officer sees afterwards is served from a fresh snapshot
    assert "已解除" in a.get(f"/findings/{v08}").text
    close(home, "2025-05", date(2025, 5, 1))
    assert held(home, "GN-HELD", "2025-05") == 0
    paid = query(home, "SELECT strftime(period_owed, '%Y-%m'), payment_type FROM pay.payments "
                       "WHERE case_no = 'GN-HELD' ORDER BY period_owed")
    assert paid == [("2025-04", "arrears"), ("2025-05", "monthly")]


def test_a_warning_is_cleared_by_one_officer_and_an_auditor_changes_nothing(home, client):
    fid = finding_id(home, "V16", "SJ-1")
    auditor = TestClient(client.app)
    login(auditor, "audit1")
    page = auditor.get(f"/findings/{fid}").text
    assert 'action="/findings/' not in page  # no form for an auditor
    assert auditor.post(f"/findings/{fid}/clear", data={"csrf": session_csrf(auditor), "reason": "x"}).status_code == 403
    officer = TestClient(client.app)
    login(officer, "GZ002")
    done = officer.post(f"/findings/{fid}/clear", data={"csrf": session_csrf(officer), "reason": "县级备案"})
    assert "已生效：已解除" in done.text
    assert query(home, "SELECT status, cleared_by FROM checks.findings WHERE finding_id = ?", [fid]) == [
        ("cleared", "GZ002")]


# ---------------------------------------------------------------- while a flow holds the warehouse


def test_pages_load_and_actions_queue_while_a_flow_holds_the_warehouse(home, client):
    v08 = finding_id(home, "V08", "GN-HELD")
    officer = TestClient(client.app)
    login(officer, "GZ001")
    token = session_csrf(officer)
    holding, release = threading.Event(), threading.Event()

    def flow():
        with open_warehouse(home, flow="cycle"):
            holding.set()
            release.wait(30)

    t = threading.Thread(target=flow)
    t.start()
    try:
        assert holding.wait(10)
        page = officer.get("/findings")
        assert page.status_code == 200 and "数据截至" in page.text and "流程 cycle 正在运行" in page.text
        queued = officer.post(f"/findings/{v08}/clear", data={"csrf": token, "reason": "已补办手续"})
        assert queued.status_code == 200 and "排队中" in queued.text
        # the same officer cannot confirm a clearing still waiting in the queue either
        assert officer.post(f"/findings/{v08}/confirm", data={"csrf": token}).status_code == 403
    finally:
        release.set()
        t.join()
    assert query(home, "SELECT clear_requested_on FROM checks.findings WHERE finding_id = ?", [v08]) == [(None,)]
    # the next writer applies the queue before it reads anything (here: what the close calls first)
    with open_warehouse(home, flow="close-month") as con:
        done = apply_queued_actions(con, home, REF)
        again = apply_queued_actions(con, home, REF)
    assert [s for s, _m in done.values()] == ["applied"] and again == {}
    assert query(home, "SELECT cleared_by FROM checks.findings WHERE finding_id = ?", [v08]) == [("GZ001",)]
    assert query(home, "SELECT queued FROM audit.officer_actions") == [(True,)]
    assert "已生效" in officer.get("/actions").text


def test_an_action_is_applied_once_even_if_the_writer_died_before_marking_it(home, client, monkeypatch):
    store = AccountStore.for_home(home)
    fid = finding_id(home, "V16", "GN-1")
    store.enqueue(store.get("GZ001"), "finding_clear", {"finding_id": fid, "reason": "已核实"}, AS_OF, via="web")

    def killed(*_a, **_k):
        raise KeyboardInterrupt  # the process died after the warehouse committed the clearing

    with monkeypatch.context() as m:
        m.setattr(AccountStore, "finish_action", killed)
        with pytest.raises(KeyboardInterrupt), open_warehouse(home, flow="ingest") as con:
            apply_queued_actions(con, home, REF)
    with open_warehouse(home, flow="ingest") as con:
        done = apply_queued_actions(con, home, REF)
    assert [s for s, _m in done.values()] == ["applied"]
    assert query(home, "SELECT count(*) FROM audit.events WHERE kind = 'finding_cleared'") == [(1,)]
    assert store.queued() == []


# ---------------------------------------------------------------- privacy


def test_auditors_see_ids_masked_and_titles_and_logs_carry_no_names(home, client, caplog):
    path = f"/towns/{TOWN_A}/cases/GN-1"
    auditor, officer, clerk = TestClient(client.app), TestClient(client.app), TestClient(client.app)
    login(auditor, "audit1")
    login(officer, "GZ001")
    login(clerk, "clerk_a")
    caplog.set_level(logging.INFO, logger="jiuzhu.web")
    for c in (officer, clerk):
        text = c.get(path).text
        assert HEAD_A[1] in text and "6222021234567890128" in text
    masked = auditor.get(path).text
    assert HEAD_A[1] not in masked and HEAD_A[1][:4] + "**********" + HEAD_A[1][-4:] in masked
    assert "6222021234567890128" not in masked and HEAD_A[0] not in masked
    batch = auditor.get("/batches/202504-QJ-dibao_urban-01").text
    assert HEAD_A[1] not in batch and "6222021234567890128" not in batch
    for c in (officer, clerk, auditor):
        for page in ("/", path, f"/towns/{TOWN_A}", "/findings"):
            title = re.search(r"<title>(.*?)</title>", c.get(page).text)
            if title:
                assert HEAD_A[0] not in title.group(1) and HEAD_A[1] not in title.group(1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /towns/500110001/cases/GN-1 200" in logged
    for secret in (HEAD_A[0], HEAD_A[1], "6222021234567890128", "GZ001", "clerk_a", "town="):
        assert secret not in logged


def test_a_clerk_sees_inspected_cases_only_once_the_results_are_in(home, client):
    with open_warehouse(home, flow="test") as con:
        version = con.execute("SELECT version_id FROM core.cases_current WHERE case_no = 'GN-1'").fetchall()[0][0]
        con.execute("INSERT INTO checks.spotcheck_cases VALUES ('2025-03', ?, 'GN-1', 'dibao_urban', ?, ?, "
                    "DATE '2025-03-25', false, false, NULL, false, 'ab', true, 1)", [TOWN_A, version, version])
    wb = client.app_state
    wb.snapshots.refresh(force=True)
    clerk, officer = TestClient(client.app), TestClient(client.app)
    login(clerk, "clerk_a")
    login(officer, "GZ001")
    assert "GN-1" in officer.get("/inspections?period=2025-03").text  # the bureau knows its sample
    assert "暂无入户抽查结果" in clerk.get(f"/towns/{TOWN_A}").text
    assert "入户抽查" not in clerk.get(f"/towns/{TOWN_A}/cases/GN-1").text
    assert clerk.get("/inspections").status_code == 403
    with open_warehouse(home, flow="test") as con:
        con.execute("INSERT INTO checks.inspection_results (file_sha256, source_row, town_code, case_no, period, "
                    "inspected_on, conclusion, row_status) VALUES ('f', 2, ?, 'GN-1', '2025-03', DATE '2025-04-08', "
                    "'true', 'accepted')", [TOWN_A])
    wb.snapshots.refresh(force=True)
    town = clerk.get(f"/towns/{TOWN_A}").text
    assert "2025-03</td><td>GN-1</td><td>2025-04-08</td><td>属实" in town
    assert "入户抽查结果" in clerk.get(f"/towns/{TOWN_A}/cases/GN-1").text


# ---------------------------------------------------------------- uploads


def test_an_upload_lands_whole_in_the_clerks_town_folder_and_nowhere_else(home, client):
    c = TestClient(client.app)
    login(c, "clerk_a")
    token = session_csrf(c)
    body = return_workbook("UP-2")
    got = c.post(f"/towns/{TOWN_A}/upload", data={"csrf": token},
                 files={"file": ("../../500110108/台账 4月.csv", body, "text/csv")}, follow_redirects=False)
    assert got.status_code == 303
    landed = home.inbox / TOWN_A / "台账 4月.csv"
    assert landed.read_bytes() == body
    assert not list((home.inbox / TOWN_A).glob(".*"))  # no temporary file left
    assert not (home.inbox / TOWN_B / "台账 4月.csv").exists()
    again = c.post(f"/towns/{TOWN_A}/upload", data={"csrf": token}, files={"file": ("台账 4月.csv", b"other", "text/csv")},
                   follow_redirects=False)
    assert again.status_code == 303 and landed.read_bytes() == body  # never overwritten
    assert len(list((home.inbox / TOWN_A).glob("台账 4月*.csv"))) == 2
    for name, data in (("x.exe", b"MZ"), ("empty.csv", b"")):
        refused = c.post(f"/towns/{TOWN_A}/upload", data={"csrf": token}, files={"file": (name, data, "text/plain")})
        assert refused.status_code == 400


def test_a_reset_password_must_be_changed_before_anything_else(home, client):
    client.app_state.store.set_password("clerk_a", "temporary-pass-1", must_change=True, by="cli")
    c = TestClient(client.app)
    got = login(c, "clerk_a", "temporary-pass-1")
    assert got.headers["location"] == "/password"
    assert c.get(f"/towns/{TOWN_A}", follow_redirects=False).headers["location"] == "/password"
    token = CSRF.search(c.get("/password").text).group(1)
    same = c.post("/password", data={"csrf": token, "current": "temporary-pass-1", "new": "temporary-pass-1",
                                     "again": "temporary-pass-1"})
    assert same.status_code == 400
    done = c.post("/password", data={"csrf": token, "current": "temporary-pass-1", "new": "my-own-pass-2025",
                                     "again": "my-own-pass-2025"}, follow_redirects=False)
    assert done.status_code == 303
    assert c.get(f"/towns/{TOWN_A}").status_code == 200
    assert login(TestClient(client.app), "clerk_a", "my-own-pass-2025").headers["location"] == "/"
