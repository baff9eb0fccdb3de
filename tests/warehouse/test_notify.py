"""Notifications (SPEC §6, §9): masked digests, delivery through apprise to real local receivers."""

from __future__ import annotations

import email
import http.server
import json
import logging
import re
import socket
import threading
from datetime import date
from email.header import decode_header, make_header
from pathlib import Path

import duckdb
import markdown
import pytest

from core.home import Home
from notify import (
    DELIVERED,
    FAILED,
    NO_TARGET,
    DigestItem,
    Notifier,
    NotifyConfigError,
    body_sha256,
    compose_digest,
    last_delivered_at,
    record_delivery,
    register_outbox,
)
from transforms.identifiers import mask

MIGRATION = Path(__file__).resolve().parents[2] / "warehouse" / "migrations" / "0002_notifications.sql"

ID_A = "11010519491231002X"
ID_B = "50011019800101001X"
ID_C = "500222194512310025"
ID_C_LEGACY15 = "500222451231002"  # the 15-digit form of a real ID
ACCOUNT = "6222020200112233445"
ACCOUNT_16 = "6217000010001234"

FULL_ID = re.compile(r"\d{17}[\dXx]")
DIGIT_RUN = re.compile(r"\d{12,19}")
AS_OF = date(2026, 11, 29)
TOWN, TOWN_NAME, OTHER_TOWN = "500110001", "古南街道", "500110002"


def sensitive(text: str) -> list[str]:
    return FULL_ID.findall(text) + DIGIT_RUN.findall(text)


def sample_items() -> list[DigestItem]:
    return [
        DigestItem("rejection", "V01", "GN-2026-001", f"身份证号 {ID_A} 校验位错误", member_id=ID_A),
        DigestItem("crosscheck_hit", "X02", "GN-2026-007", "名下有在用机动车，请入户核实", member_id=ID_B),
        DigestItem("hold", "V12", "GN-2026-009", f"账号 {ACCOUNT} 与户 {ACCOUNT_16} 相同，暂停发放", count=2),
        DigestItem("overdue", "M02", "GN-2026-011", "申请已超过办理时限仍未审批", member_id=ID_C_LEGACY15),
        DigestItem("inspection", "S01", "GN-2026-002", f"抽查不属实：{ID_C}/{ACCOUNT}"),
    ]


def digest(town=TOWN, name=TOWN_NAME, items=None, open_counts=None, **kw):
    return compose_digest(
        town,
        name,
        sample_items() if items is None else items,
        {"rejection": 4, "crosscheck_hit": 2} if open_counts is None else open_counts,
        "核对",
        AS_OF,
        **kw,
    )


# ---------------------------------------------------------------- composition


def shown(value: str) -> str:
    """A masked value as digests show it: full-width asterisks, which no Markdown reads as markup."""
    return mask(value).replace("*", "＊")


def test_digest_masks_every_id_and_account_and_shows_masked_forms():
    d = digest()
    assert sensitive(d.title) == []
    assert sensitive(d.body) == []
    for value in (ID_A, ID_B, ID_C, ACCOUNT, ACCOUNT_16):
        assert value not in d.body
        assert shown(value) in d.body
    # a 15-digit legacy ID is upgraded to 18 before masking
    assert shown(ID_C) in d.body and "5002＊＊＊＊＊＊＊＊＊＊0025" in d.body


def test_digest_title_and_sections_read_like_a_clerk_expects():
    d = digest()
    assert d.title == "【救助】古南街道 2026-11-29 核对与审核提醒（新增 5 项）"
    assert d.item_count == 5 and d.tag == TOWN
    headings = [line for line in d.body.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 新退回（1 项）",
        "## 核对异常（1 项）",
        "## 暂停发放（1 项）",
        "## 逾期事项（1 项）",
        "## 抽查结果（1 项）",
        "## 仍未处理",
    ]
    line = next(x for x in d.body.splitlines() if "GN-2026-007" in x)
    assert line == f"- 案件 GN-2026-007｜X02｜成员 {shown(ID_B)}｜名下有在用机动车，请入户核实"
    assert "（共 2 处）" in next(x for x in d.body.splitlines() if "GN-2026-009" in x)
    tail = d.body.split("## 仍未处理", 1)[1]
    assert "- 新退回：4 项" in tail and "- 核对异常：2 项" in tail


def test_digest_without_new_items_is_empty_and_open_counts_say_none():
    d = digest(items=[], open_counts={"rejection": 0})
    assert d.is_empty
    assert "新增 0 项" in d.title
    assert d.body.split("## 仍未处理", 1)[1].strip().startswith("- 无")


def test_digest_caps_the_list_and_says_how_many_more():
    items = [DigestItem("rejection", "V05", f"C{i:04d}", "日期先后顺序不对") for i in range(250)]
    d = digest(items=items, max_lines=200)
    item_lines = [x for x in d.body.splitlines() if x.startswith("- 案件 C")]
    assert len(item_lines) == 200
    assert "- ……另有 50 项，详见退回文件" in d.body
    assert "新增 250 项" in d.title


def test_digest_is_deterministic_whatever_the_item_order():
    items = sample_items()
    assert digest(items=items).body == digest(items=list(reversed(items))).body


def test_a_frame_of_items_gives_the_digest_its_list_gives():
    """The queue hands compose_digest its items as a frame (a million warned rows never become
    objects): the same text, order, caps and counts as the same items as a list."""
    import random

    import polars as pl

    from notify.digest import ITEM_FRAME_COLUMNS

    rng = random.Random(7)
    kinds = ["rejection", "crosscheck_hit", "hold", "overdue", "inspection", "other"]
    items = sample_items() + [
        DigestItem(rng.choice(kinds), rng.choice(["V16", "X02", "HOLD", ""]),
                   rng.choice([None, "古南-07", "GN-2026-0", f"GN-{rng.randint(1, 40):03d}"]),
                   rng.choice(["原件", "身份证号 " + ID_A, "乙", "甲"]),
                   member_id=rng.choice([None, ID_B, ID_C]), count=rng.randint(1, 3))
        for _ in range(400)
    ]
    frame = pl.DataFrame([(i.kind, i.rule_id, i.case_no, i.message, i.member_id, i.count) for i in items],
                         schema=list(ITEM_FRAME_COLUMNS), orient="row")
    for cap in (200, 7, 0):
        as_list = digest(items=items[:300], resent=items[300:], max_lines=cap)
        as_frame = digest(items=frame.head(300), resent=frame.slice(300), max_lines=cap)
        assert as_frame == as_list
    assert as_list.item_count == len(items) and sum(as_list.counts_by_kind.values()) == len(items)
    with pytest.raises(ValueError, match="kind"):
        digest(items=frame.with_columns(kind=pl.lit("gossip")))


def test_masked_values_survive_markdown_rendering_and_markup_is_neutralised():
    items = [
        DigestItem(
            "crosscheck_hit", "X09", "<b>GN-1</b>", f"账号 {ACCOUNT} 与 {ACCOUNT_16} 重复", member_id=ID_A
        )
    ]
    html = markdown.markdown(digest(items=items).body)
    for value in (ID_A, ACCOUNT, ACCOUNT_16):
        assert shown(value) in html
    assert "<b>" not in html
    assert sensitive(html) == []


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        DigestItem("gossip", "X01", "C1", "…")


# ---------------------------------------------------------------- outbox default

OUTBOX_NAME = re.compile(r"^\d{8}T\d{6}-\d{3}-.+\.md$")


def test_without_notify_yaml_digests_go_to_the_outbox_per_tag(tmp_path):
    home = Home(tmp_path)
    notifier = Notifier(home, backoff_seconds=0)
    assert notifier.source == "outbox"
    targets = notifier.targets()
    assert targets["district"] == 1 and targets[TOWN] == 1 and len(targets) == 22

    d = digest()
    first = notifier.send(TOWN, d)
    second = notifier.send(TOWN, d)  # the same second: must not overwrite
    district = notifier.send("district", digest(town="district", name="区民政局"))
    assert (first.status, first.attempts, second.status, district.status) == (
        DELIVERED,
        1,
        DELIVERED,
        DELIVERED,
    )

    files = sorted((home.outbox / TOWN).iterdir())
    assert len(files) == 2 and all(OUTBOX_NAME.match(f.name) for f in files)
    assert files[0].name != files[1].name
    assert files[0].read_text(encoding="utf-8") == d.markdown()
    assert sensitive(files[0].read_text(encoding="utf-8")) == []
    assert len(list((home.outbox / "district").iterdir())) == 1
    assert not (home.outbox / OTHER_TOWN).exists()


def test_outbox_registration_is_idempotent_and_the_folder_comes_from_the_url(tmp_path):
    register_outbox()
    register_outbox()
    a = Notifier(Home(tmp_path / "a"), backoff_seconds=0, town_codes=[TOWN])
    b = Notifier(Home(tmp_path / "b b"), backoff_seconds=0, town_codes=[TOWN])
    assert a.send(TOWN, digest()).status == DELIVERED
    assert b.send(TOWN, digest()).status == DELIVERED
    assert len(list((tmp_path / "a" / "out" / "outbox" / TOWN).glob("*.md"))) == 1
    assert len(list((tmp_path / "b b" / "out" / "outbox" / TOWN).glob("*.md"))) == 1


def test_a_tag_with_no_target_is_no_target_not_a_failure(tmp_path, caplog):
    notifier = Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])
    with caplog.at_level(logging.WARNING, logger="jiuzhu.notify"):
        result = notifier.send(OTHER_TOWN, digest(town=OTHER_TOWN, name="文龙街道"))
    assert (result.status, result.attempts, result.error) == (NO_TARGET, 0, None)
    mine = [r for r in caplog.records if r.name == "jiuzhu.notify"]
    assert mine and all(r.levelno == logging.WARNING for r in mine)


def test_a_notify_yaml_that_is_not_yaml_is_an_error_naming_the_line(tmp_path):
    # issue 14 item 6: it used to fall back to the outbox without a word an operator would see
    (tmp_path / "notify.yaml").write_text("urls: [ : broken\n", encoding="utf-8")
    with pytest.raises(NotifyConfigError, match=r"notify.yaml line 1: not valid YAML"):
        Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])


# ---------------------------------------------------------------- real receivers


class _Receiver:
    """An HTTP server on 127.0.0.1 that records POSTed JSON and answers with fixed codes."""

    def __init__(self, codes=(200,)):
        self.posts: list[dict] = []
        self.paths: list[str] = []
        codes = list(codes)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append(json.loads(self.rfile.read(length).decode("utf-8")))
                receiver.paths.append(self.path)
                code = codes[min(len(receiver.posts), len(codes)) - 1]
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(codes=(200,)):
        r = _Receiver(codes)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def test_json_target_from_notify_yaml_receives_the_masked_digest(tmp_path, receiver):
    http_ok = receiver()
    # an unquoted 9-digit tag is read by YAML as a number: apprise still matches it
    (tmp_path / "notify.yaml").write_text(
        f"urls:\n  - json://127.0.0.1:{http_ok.port}/:\n      tag: {TOWN}\n", encoding="utf-8"
    )
    notifier = Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])
    assert notifier.source == "yaml"
    d = digest()
    result = notifier.send(TOWN, d)
    assert (result.status, result.attempts, result.targets) == (DELIVERED, 1, 1)
    assert len(http_ok.posts) == 1
    post = http_ok.posts[0]
    assert post["title"] == d.title
    assert post["message"].strip() == d.body.strip()
    assert sensitive(json.dumps(post, ensure_ascii=False)) == []
    assert shown(ID_A) in post["message"]
    assert not (tmp_path / "out" / "outbox").exists()


def test_http_500_is_retried_then_failed_without_raising_and_others_still_go(tmp_path, receiver):
    broken, healthy = receiver(codes=(500,)), receiver()
    (tmp_path / "notify.yaml").write_text(
        "urls:\n"
        f"  - json://127.0.0.1:{broken.port}/:\n      tag: '{TOWN}'\n"
        f"  - json://127.0.0.1:{healthy.port}/:\n      tag: '{OTHER_TOWN}'\n",
        encoding="utf-8",
    )
    notifier = Notifier(Home(tmp_path), attempts=3, backoff_seconds=0)
    results = notifier.send_all([digest(), digest(town=OTHER_TOWN, name="文龙街道"), digest(items=[])])
    assert [(r.tag, r.status) for r in results] == [(TOWN, FAILED), (OTHER_TOWN, DELIVERED)]
    failed = results[0]
    assert failed.attempts == 3 and len(broken.posts) == 3
    assert "FAILURE" in failed.error and "500" in failed.error
    assert len(healthy.posts) == 1


def test_one_target_failing_among_two_is_delivered_with_the_error_noted(tmp_path, receiver):
    broken, healthy = receiver(codes=(500,)), receiver()
    (tmp_path / "notify.yaml").write_text(
        "urls:\n"
        f"  - json://127.0.0.1:{broken.port}/:\n      tag: '{TOWN}'\n"
        f"  - json://127.0.0.1:{healthy.port}/:\n      tag: '{TOWN}'\n",
        encoding="utf-8",
    )
    result = Notifier(Home(tmp_path), attempts=2, backoff_seconds=0).send(TOWN, digest())
    assert result.status == DELIVERED and result.targets == 2
    assert result.error and "PARTIAL" in result.error
    assert len(healthy.posts) == 1 and len(broken.posts) == 2  # the healthy one is never re-sent


def test_an_exception_inside_apprise_is_a_failed_result(tmp_path, monkeypatch):
    notifier = Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])

    def boom(**kwargs):
        raise RuntimeError(f"socket closed while sending {ID_A}")

    monkeypatch.setattr(notifier.apprise, "notify", boom)
    result = notifier.send(TOWN, digest())
    assert result.status == FAILED
    assert ID_A not in result.error and mask(ID_A) in result.error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mailto_target_reaches_a_local_smtp_server(tmp_path):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        (tmp_path / "notify.yaml").write_text(
            "urls:\n"
            f"  - mailto://127.0.0.1:{controller.port}?from=jiuzhu@bureau.example&to=clerk@town.example"
            "&mode=insecure:\n"
            "      tag: district\n",
            encoding="utf-8",
        )
        notifier = Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])
        d = digest(town="district", name="区民政局")
        result = notifier.send("district", d)
    finally:
        controller.stop()
    assert result.status == DELIVERED
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["clerk@town.example"]
    message = email.message_from_bytes(envelope.content)
    assert str(make_header(decode_header(message["Subject"]))) == d.title
    texts = [
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        for part in message.walk()
        if part.get_content_maintype() == "text"
    ]
    assert texts and all(sensitive(t) == [] for t in texts)
    assert any(shown(ID_A) in t for t in texts)
    # the plain-text part keeps each masked ID inside its line (an HTML code span used to break it out)
    assert all(not line.strip().startswith(shown(ID_A)[:4]) for t in texts for line in t.splitlines())
    assert any("仍未处理" in t for t in texts)


# ---------------------------------------------------------------- recording


def test_record_delivery_writes_one_row_without_the_body(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(MIGRATION.read_text(encoding="utf-8"))
    notifier = Notifier(Home(tmp_path), backoff_seconds=0, town_codes=[TOWN])
    d = digest()
    result = notifier.send(TOWN, d)
    nid = record_delivery(con, "run-1", d, result)
    missing = notifier.send(OTHER_TOWN, d)
    record_delivery(con, "run-1", d, missing)

    rows = con.execute(
        "SELECT notification_id, run_id, tag, title, items, status, attempts, error, body_sha256 "
        "FROM audit.notifications ORDER BY tag"
    ).fetchall()
    assert rows[0] == (nid, "run-1", TOWN, d.title, 5, "delivered", 1, None, body_sha256(d))
    assert rows[1][2:8] == (OTHER_TOWN, d.title, 5, "no_target", 0, None)
    columns = [c[0] for c in con.execute("DESCRIBE audit.notifications").fetchall()]
    assert "body" not in columns
    # hashes and uuids are hex and may hold long digit runs by chance: scan the text columns
    text = json.dumps(
        con.execute("SELECT run_id, tag, title, status, error FROM audit.notifications").fetchall(),
        ensure_ascii=False,
    )
    assert "仍未处理" not in text and sensitive(text) == []
    assert last_delivered_at(con, TOWN) == result.sent_at
    assert last_delivered_at(con, OTHER_TOWN) is None
    # the migration can run again (a warehouse that already has it)
    con.execute(MIGRATION.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the cycle's queue


def test_queued_items_are_stored_masked_in_order_and_flushed_as_one_digest_per_town(tmp_path):
    from core.reference import load_reference
    from notify.queue import enqueue, flush
    from transforms.identifiers import mask_member
    from warehouse.connection import open_warehouse

    home = Home(tmp_path).ensure()
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="test", ref=ref) as con:
        first = enqueue(con, "cyc-1", "ingest", {TOWN: sample_items()[:2], OTHER_TOWN: sample_items()[3:4]})
        second = enqueue(con, "cyc-1", "crosscheck", {TOWN: sample_items()[2:3]})
        assert (first, second, enqueue(con, "cyc-1", "report", {TOWN: []})) == (3, 1, 0)
        queued = con.execute("SELECT seq, tag, flow, rule_id, member, n FROM audit.notification_queue "
                             "WHERE cycle_id = 'cyc-1' ORDER BY seq").fetchall()
        assert [q[0] for q in queued] == [1, 2, 3, 4]  # the second call goes on from the first
        assert [(q[1], q[3]) for q in queued] == [(TOWN, "V01"), (TOWN, "X02"), (OTHER_TOWN, "M02"), (TOWN, "V12")]
        # IDs are stored only masked; the 15-digit ID as its 18-digit form; no member -> null
        assert [q[4] for q in queued] == [mask(ID_A), mask(ID_B), mask(ID_C), None]
        assert mask_member(ID_C_LEGACY15) == mask(ID_C) and mask_member("  ") is None
        assert queued[3][5] == 2
        sent = flush(con, home, ref, "run-9", "cyc-1", AS_OF)
        assert sent == {TOWN: "delivered", OTHER_TOWN: "delivered"}
        left = con.execute("SELECT count(*) FROM audit.notification_queue WHERE sent_at IS NULL").fetchall()[0][0]
        assert left == 0
    bodies = {p.parent.name: p.read_text("utf-8") for p in home.outbox.rglob("*.md")}
    assert set(bodies) == {TOWN, OTHER_TOWN}
    assert "新增 3 项" in bodies[TOWN] and "GN-2026-009" in bodies[TOWN] and "GN-2026-011" not in bodies[TOWN]
    assert all(sensitive(b) == [] for b in bodies.values())


def test_digest_lines_say_each_thing_once_and_show_no_internal_codes():
    items = [
        DigestItem("rejection", "V11", "TK-1", "案件TK-1：特困供养人员未填写自理能力"),
        DigestItem("hold", "HOLD", "DB-1", "自2025-06起暂停发放2个月：缺少银行账号", count=2),
        DigestItem("rejection", "P01", None, "文件“三月台账.xlsx”：文件无法读取：Excel文件已损坏"),
        DigestItem("rejection", "P02", None, "文件“补报.csv”：缺少必填列：身份证号"),
    ]
    lines = [x for x in digest(items=items).body.splitlines() if x.startswith("- ")]
    assert "- 案件 TK-1｜V11｜特困供养人员未填写自理能力" in lines
    assert "- 案件 DB-1｜自2025-06起暂停发放2个月：缺少银行账号（共 2 处）" in lines
    assert any("三月台账.xlsx" in x for x in lines) and any("补报.csv" in x for x in lines)  # one line a file
    assert "HOLD" not in digest(items=items).body


def test_the_districts_digest_counts_its_open_annual_reviews(tmp_path):
    from notify.queue import open_counts_by_tag
    from warehouse.connection import open_warehouse

    with open_warehouse(Home(tmp_path).ensure(), flow="test") as con:
        con.execute("INSERT INTO checks.findings (finding_id, rule_id, severity, town_code, case_no, evidence_key, "
                    "message, first_seen_run, last_seen_run, status, first_seen_on) VALUES "
                    "('f1', 'M03', 'info', '500110001', 'TK-1', '2024-01-01', 'm', 'r', 'r', 'open', DATE '2025-01-01')")
        counts = open_counts_by_tag(con)
    assert counts["district"] == {"M03 特困人员逾期未年度核查": 1}
