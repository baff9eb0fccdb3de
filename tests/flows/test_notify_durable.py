"""Durable notices (issue 14 item 6, SPEC §6, §9): what a town is told survives failed
deliveries, bad configuration and crashes.

The first tests run the flows' own notify steps in this process against a real
HTTP receiver on 127.0.0.1 and the outbox. The crash tests (marked `flow`) kill
real `jiuzhu run` processes with SIGKILL, mid-ingest and at the points of the
notification path (`JIUZHU_CRASH_AT`, notify/queue.py), run them again, and
compare what each town received with a clean run.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import at, drop, ingest_all, query, row

from core.home import Home
from core.reference import SHIPPED, load_reference
from notify import RESENT_HEADING, NotifyConfigError, check_notify_config
from transforms.identifiers import mask
from warehouse.connection import open_warehouse

GUNAN, WENLONG = "500110001", "500110002"
BAD_ID = "500110198001010011"  # fails V01 (check digit)
FULL_ID = re.compile(r"\d{17}[\dXx]")
DIGIT_RUN = re.compile(r"\d{12,19}")


def sensitive(text: str) -> list[str]:
    return FULL_ID.findall(text) + DIGIT_RUN.findall(text)


# ---------------------------------------------------------------- a receiver that may be down


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An HTTP server on 127.0.0.1:`port` recording the JSON apprise POSTs to it."""

    def __init__(self, port: int):
        self.posts: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append(json.loads(self.rfile.read(length).decode("utf-8")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(port: int) -> Receiver:
        made.append(Receiver(port))
        return made[-1]

    yield make
    for r in made:
        r.close()


def json_target(home: Home, port: int, tag: str = GUNAN) -> None:
    """notify.yaml: GUNAN on a json:// receiver (no retry inside a run: the runs retry); no other target."""
    home.notify_yaml.write_text(
        f"urls:\n  - json://127.0.0.1:{port}/?retry=0:\n      tag: '{tag}'\n", encoding="utf-8"
    )


def settings(home: Home, **values: int) -> None:
    text = (SHIPPED / "settings.csv").read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"^{key},[^,]*,", f"{key},{value},", text, flags=re.M)
        assert n == 1, key
    home.reference.mkdir(parents=True, exist_ok=True)
    (home.reference / "settings.csv").write_text(text, encoding="utf-8")


def ingest_and_notify(home: Home, day: int) -> dict:
    """Load the files that arrived by 2025-03-<day>, then the ingest flow's own notify step."""
    from flows.ingest import notify_towns

    as_of = date(2025, 3, day)
    ingest_all(home, as_of)
    return notify_towns.fn(str(home.root), f"run-{as_of}", as_of.isoformat())


def queue(home: Home) -> list[tuple]:
    return query(
        home,
        "SELECT tag, case_no, rule_id, status, attempts, member, message "
        "FROM audit.notification_queue ORDER BY tag, case_no",
    )


def outbox(home: Home, tag: str) -> list[str]:
    return [p.read_text("utf-8") for p in sorted((home.outbox / tag).glob("*.md"))]


def items_of(text: str) -> dict[str, list[str]]:
    """Item lines of a digest by level-2 section (the counts still open left out)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].split("（")[0]
        elif line.startswith("- ") and section != "仍未处理":
            out.setdefault(section, []).append(line)
    return out


# ---------------------------------------------------------------- failed deliveries


def test_unreachable_target_keeps_the_items_and_the_next_run_resends_them_marked(tmp_path, receivers):
    home = Home(tmp_path).ensure()
    port = free_port()  # nothing listens there yet: connection refused
    json_target(home, port)
    drop(home, GUNAN, "a.csv", [row(case="GN-001", id_no=BAD_ID)], at(5))
    drop(home, WENLONG, "w.csv", [row(case="WL-001", town=WENLONG, id_no=BAD_ID)], at(5))

    first = ingest_and_notify(home, 5)
    assert first == {GUNAN: "failed", WENLONG: "delivered"}  # 文龙 has no target in notify.yaml: the outbox
    assert [(t, c, s, a) for t, c, _r, s, a, *_ in queue(home)] == [
        (GUNAN, "GN-001", "pending", 1),
        (WENLONG, "WL-001", "delivered", 1),
    ]
    [(status, error)] = query(home, "SELECT status, error FROM audit.notifications WHERE tag = ?", [GUNAN])
    assert status == "failed" and "127.0.0.1" in error
    assert len(outbox(home, WENLONG)) == 1 and not (home.outbox / GUNAN).exists()

    up = receivers(port)  # the target is back
    drop(home, GUNAN, "b.csv", [row(case="GN-002", id_no=BAD_ID)], at(6))
    second = ingest_and_notify(home, 6)
    assert second == {GUNAN: "delivered"}
    [post] = up.posts  # one digest for the run: the new item and the one it failed to deliver
    assert post["title"] == "【救助】古南街道 2025-03-06 核对与审核提醒（新增 1 项，再次发送 1 项）"
    sections = items_of(post["message"])
    assert [line.split("｜")[0] for line in sections["新退回"]] == ["- 案件 GN-002"]
    assert [line.split("｜")[0] for line in sections[RESENT_HEADING]] == ["- 案件 GN-001"]
    assert "V01" in sections[RESENT_HEADING][0] and mask(BAD_ID).replace("*", "＊") in post["message"]
    assert sensitive(json.dumps(post, ensure_ascii=False)) == []
    assert {(c, s) for t, c, _r, s, *_ in queue(home) if t == GUNAN} == {
        ("GN-001", "delivered"),
        ("GN-002", "delivered"),
    }

    # nothing new, nothing pending: nobody is told again
    assert ingest_and_notify(home, 6) == {}
    assert len(up.posts) == 1 and len(outbox(home, WENLONG)) == 1


def test_a_failed_town_is_retried_after_its_backoff_then_given_up_and_the_district_told(
    tmp_path, monkeypatch
):
    import notify.queue as queue_module
    from core.home import now_shanghai
    from notify.queue import notify_or_queue

    home = Home(tmp_path).ensure()
    settings(home, notify_max_attempts=2, notify_backoff_minutes=5)
    json_target(home, free_port())  # never up
    drop(home, GUNAN, "a.csv", [row(case="GN-001", id_no=BAD_ID)], at(5))
    assert ingest_and_notify(home, 5) == {GUNAN: "failed"}
    [(next_at,)] = query(home, "SELECT next_attempt_at FROM audit.notification_queue")
    assert timedelta(minutes=4) < next_at - now_shanghai() <= timedelta(minutes=5)

    ref = load_reference(home.reference)

    def later_run(minutes: int) -> dict:
        clock = now_shanghai() + timedelta(minutes=minutes)
        monkeypatch.setattr(queue_module, "now_shanghai", lambda: clock)
        with open_warehouse(home, flow="test", ref=ref) as con:
            return notify_or_queue(
                con, home, ref, f"later-{minutes}", {}, {}, "核对", date(2025, 3, 6), None, "crosscheck"
            )

    assert later_run(1) == {}  # within its backoff, a town with nothing new is left alone
    assert later_run(6) == {GUNAN: "failed", "district": "delivered"}  # the 2nd and last attempt
    assert [(s, a) for _t, _c, _r, s, a, *_ in queue(home)] == [("given_up", 2)]
    [district] = outbox(home, "district")
    assert "1 项未能送达" in district.splitlines()[0]
    given = items_of(district)["多次发送仍未送达、已停止发送的提醒"]
    assert len(given) == 1 and "GN-001" in given[0] and "V01" in given[0]
    assert "古南街道（500110001）" in district and "已尝试 2 次" in district
    assert sensitive(district) == []
    assert later_run(60) == {}  # given up and told once: nothing more
    assert len(outbox(home, "district")) == 1


def test_a_close_killed_after_it_committed_has_its_new_holds_told_by_the_next_run(tmp_path):
    from helpers import approve as _approve
    from helpers import make_id

    ZHANG = ("张三", make_id("19800101", "001"), "户主", "300")

    from flows.close_month import close_month_flow
    from payments.close import run_close
    from warehouse.audit import start_run

    home = Home(tmp_path).ensure()
    _approve(
        home, "GN-1", GUNAN, [ZHANG], at(25), decided="2025-03-24", publicity=("2025-03-26", "2025-04-03")
    )
    ingest_all(home, date(2025, 3, 25))
    ref = load_reference(home.reference)
    with open_warehouse(home, flow="close-month", ref=ref) as con:  # the close, killed before its digest
        run_id = start_run(con, "close-month", date(2025, 4, 1), None, {"period": "2025-04"})
        run_close(con, home, ref, period=date(2025, 4, 1), as_of=date(2025, 4, 1), run_id=run_id)
    # run again: the hold is not new to the warehouse any more, but it was never told
    again = close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=True)
    assert again["notified"] == {GUNAN: "delivered"}
    [text] = outbox(home, GUNAN)
    [line] = items_of(text)["暂停发放"]
    assert line.startswith("- 案件 GN-1｜自2025-04起暂停发放") and "公示期未满" in line
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-02", notify=True)  # and only once
    assert len(outbox(home, GUNAN)) == 1


# ---------------------------------------------------------------- notify.yaml


def test_a_url_apprise_cannot_use_is_an_error_naming_its_line_and_no_item_is_lost(tmp_path):
    home = Home(tmp_path).ensure()
    good = "urls:\n  - json://127.0.0.1:9/:\n      tag: district\n"
    for bad, reason in [
        ("  - notaservice://x/:\n      tag: '500110001'\n", "line 4: apprise has no service notaservice://"),
        (
            "  - json://clerk:s3cret@127.0.0.1:port/:\n      tag: '500110001'\n",
            "line 4: apprise cannot use this json://",
        ),
        ("  - json//127.0.0.1/:\n      tag: '500110001'\n", "line 4: this entry of `urls:` holds no URL"),
    ]:
        home.notify_yaml.write_text(good + bad, encoding="utf-8")
        with pytest.raises(NotifyConfigError, match=re.escape(f"notify.yaml {reason}")) as err:
            check_notify_config(home.notify_yaml)
        assert "s3cret" not in str(err.value)
    home.notify_yaml.write_text(good + "  - json://h/:\n    tag: [a\n", encoding="utf-8")
    with pytest.raises(NotifyConfigError, match=r"notify.yaml line \d+: not valid YAML"):
        check_notify_config(home.notify_yaml)

    # a run that meets the bad file fails, but its items wait in the queue
    home.notify_yaml.write_text(good + "  - notaservice://x/:\n      tag: '500110001'\n", encoding="utf-8")
    drop(home, GUNAN, "a.csv", [row(case="GN-001", id_no=BAD_ID)], at(5))
    with pytest.raises(NotifyConfigError, match="line 4"):
        ingest_and_notify(home, 5)
    assert [(c, s, a) for _t, c, _r, s, a, *_ in queue(home)] == [("GN-001", "pending", 0)]
    # fixed (古南 has no target now): the next run sends them, as new, to its outbox
    home.notify_yaml.write_text(good, encoding="utf-8")
    assert check_notify_config(home.notify_yaml)[0].tags == frozenset({"district"})
    assert ingest_and_notify(home, 5) == {GUNAN: "delivered"}
    [text] = outbox(home, GUNAN)
    assert list(items_of(text)) == ["新退回"] and "GN-001" in text


def test_items_are_queued_masked_whatever_field_holds_the_id(tmp_path):
    from notify.digest import DigestItem
    from notify.queue import notify_or_queue

    home = Home(tmp_path).ensure()
    ref = load_reference(home.reference)
    item = DigestItem(
        "crosscheck_hit",
        "X02",
        BAD_ID,
        f"名下车辆，车主 {BAD_ID}，账号 6222021234567890128",
        member_id="50011019800101001X",
    )
    with open_warehouse(home, flow="test", ref=ref) as con:
        sent = notify_or_queue(
            con, home, ref, "run-1", {GUNAN: [item, item]}, {}, "核对", date(2025, 3, 5), None, "crosscheck"
        )
        stored = con.execute(
            "SELECT case_no, message, member, occurrence FROM audit.notification_queue"
        ).fetchall()
    assert sent == {GUNAN: "delivered"}
    assert len(stored) == 2 and [s[3] for s in stored] == [1, 2]  # two equal items stay two
    assert sensitive(json.dumps(stored, ensure_ascii=False)) == []
    assert stored[0][0] == mask(BAD_ID) and stored[0][2] == mask("50011019800101001X")
    [text] = outbox(home, GUNAN)
    assert "新增 2 项" in text and sensitive(text) == []


# ---------------------------------------------------------------- crashes (real processes)

JIUZHU = Path(sys.executable).parent / "jiuzhu"
AS_OF = "2025-01-25"  # the first close day of the synthetic year
TEST_SEED = "ab" * 32
RULE = re.compile(r"(?<![A-Za-z0-9])(?:[PVXMSB]\d{2}|HOLD|RECOVER)(?![A-Za-z0-9])")
CASE = re.compile(r"案件 ([^｜]+)")


def delivered(home: Path) -> dict[str, set[tuple[str, str]]]:
    """What each tag was told, from its digests in the outbox: (case, rule) of every item line."""
    told: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((home / "out" / "outbox").rglob("*.md")):
        for lines in items_of(path.read_text("utf-8")).values():
            for line in lines:
                case = CASE.search(line)
                for rule in RULE.findall(line):
                    told.setdefault(path.parent.name, set()).add((case.group(1) if case else "", rule))
    return told


def digests(home: Path) -> dict[str, int]:
    box = home / "out" / "outbox"
    return {p.name: len(list(p.glob("*.md"))) for p in box.iterdir()} if box.is_dir() else {}


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    from synth import generate

    root = tmp_path_factory.mktemp("durable") / "home"
    generate(root, households=40, seed=20250125)
    text = (SHIPPED / "settings.csv").read_text(encoding="utf-8")
    (root / "reference").mkdir(exist_ok=True)
    (root / "reference" / "settings.csv").write_text(
        text.replace("spot_check_test_seed,,", f"spot_check_test_seed,{TEST_SEED},"), encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def api_url(prefect_harness) -> str:
    """The harness's Prefect server, shared with the processes started here (no temporary server each)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def start(home: Path, flow: str, api_url: str, crash: str | None = None) -> subprocess.Popen:
    env = os.environ | {"PREFECT_API_URL": api_url}
    env.pop("JIUZHU_CRASH_AT", None)
    if crash:
        env["JIUZHU_CRASH_AT"] = crash
    return subprocess.Popen(
        [str(JIUZHU), "run", flow, "--home", str(home), "--as-of", AS_OF],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out.decode(errors="replace")[-4000:]


def killed(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == -signal.SIGKILL, out.decode(errors="replace")[-4000:]


def kill_mid_ingest(home: Path, proc: subprocess.Popen) -> None:
    """SIGKILL the process group once the first file has its receipt (ingest under way)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if any((home / "out" / "returns").rglob("*.回执.json")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    killed(proc)


def crashed_then_rerun(district: Path, dest: Path, flow: str, api_url: str, crash: str) -> Path:
    home = Path(shutil.copytree(district, dest, symlinks=True))
    proc = start(home, flow, api_url, None if crash == "mid-ingest" else crash)
    if crash == "mid-ingest":
        kill_mid_ingest(home, proc)
    else:
        killed(proc)
    before = digests(home)
    finish(start(home, flow, api_url))
    after = digests(home)
    assert all(after[tag] - before.get(tag, 0) <= 1 for tag in after), (before, after)  # one digest per run
    return home


def assert_masked(home: Path) -> None:
    for path in (home / "out" / "outbox").rglob("*.md"):
        assert sensitive(path.read_text("utf-8")) == [], path
    rows = query(Home(home), "SELECT tag, case_no, message, member FROM audit.notification_queue")
    assert sensitive(json.dumps(rows, ensure_ascii=False)) == []


@pytest.fixture(scope="module")
def clean_ingest(district, tmp_path_factory, api_url) -> dict:
    home = Path(shutil.copytree(district, tmp_path_factory.mktemp("clean-ingest") / "home", symlinks=True))
    finish(start(home, "ingest", api_url))
    told = delivered(home)
    assert told.get(GUNAN) and sum(len(v) for v in told.values()) >= 8
    return told


@pytest.mark.flow
@pytest.mark.parametrize("crash", ["mid-ingest", "notify:start", "notify:queued", "notify:sent"])
def test_an_ingest_killed_then_run_again_tells_each_town_what_a_clean_run_tells(
    district, tmp_path, api_url, clean_ingest, crash
):
    home = crashed_then_rerun(district, tmp_path / "home", "ingest", api_url, crash)
    assert delivered(home) == clean_ingest
    assert_masked(home)
    statuses = query(Home(home), "SELECT DISTINCT status FROM audit.notification_queue")
    assert statuses == [("delivered",)]


@pytest.fixture(scope="module")
def clean_cycle(district, tmp_path_factory, api_url) -> dict:
    home = Path(shutil.copytree(district, tmp_path_factory.mktemp("clean-cycle") / "home", symlinks=True))
    finish(start(home, "cycle", api_url))
    told = delivered(home)
    assert GUNAN in told and any(rule.startswith("X") for items in told.values() for _, rule in items)
    return told


@pytest.mark.flow
@pytest.mark.parametrize(
    "crash",
    [
        "mid-ingest",  # files loaded by the killed ingest were never queued: the rerun's cross-check sweeps them
        "notify:start@3",  # ingest and cross-check items queued in the cycle, the close committed, not yet told
        "notify:sent@1",  # the cycle's last step, after the first town's digest went out
    ],
)
def test_a_cycle_killed_then_run_again_tells_each_town_what_a_clean_cycle_tells(
    district, tmp_path, api_url, clean_cycle, crash
):
    home = crashed_then_rerun(district, tmp_path / "home", "cycle", api_url, crash)
    assert delivered(home) == clean_cycle
    assert_masked(home)
    statuses = query(Home(home), "SELECT DISTINCT status FROM audit.notification_queue")
    assert statuses == [("delivered",)]


def test_a_crash_point_kills_only_where_and_when_it_is_told(monkeypatch):
    import notify.queue as queue_module

    kills = []
    monkeypatch.setattr(queue_module.os, "kill", lambda pid, sig: kills.append((pid, sig)))
    monkeypatch.setattr(queue_module, "_reached", {})
    monkeypatch.delenv(queue_module.CRASH_ENV, raising=False)
    queue_module.crash_point("notify:sent")
    assert kills == []  # inert without the variable
    monkeypatch.setenv(queue_module.CRASH_ENV, "notify:sent@2")
    queue_module.crash_point("notify:start")
    queue_module.crash_point("notify:sent")
    assert kills == []
    queue_module.crash_point("notify:sent")
    assert kills == [(os.getpid(), signal.SIGKILL)]
