"""report.html in a real headless browser (Debian's chromium, installed by `make test`),
with the network unreachable: every chart is drawn with a size, and a screenshot is
saved under out/ for people to look at. Fails (never skips) when chromium is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from helpers import at, case_rows, drop_cases, ingest_all, make_id

from core.home import Home
from flows.close_month import close_month_flow
from flows.report import report_flow

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "out" / "report_screenshot.png"
TOWNS = ("500110001", "500110002", "500110108")
OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # nothing the page might ask for can be reached: every host is unresolvable, every proxy refused
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: `make test` installs it (apt-get install -y chromium fonts-noto-cjk)"
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    home = Home(tmp_path_factory.mktemp("browser")).ensure()
    n = 0
    for town in TOWNS:
        rows = []
        for i in range(1, 7):
            n += 1
            income = 100 + 10 * i
            person = (f"居民{n}", make_id("19800101", f"{n:03d}"), "户主", str(income))
            urban = i % 2 == 1
            rows += case_rows(
                f"C-{i}",
                town,
                [person],
                benefit=str((750 if urban else 610) - income),
                program="城市低保" if urban else "农村低保",
            )
        drop_cases(home, town, f"{town}.csv", rows, at(25))
    ingest_all(home, date(2025, 3, 25))
    close_month_flow.fn(home=str(home.root), period="2025-04", as_of="2025-04-01", notify=False)
    late = ("迟报", make_id("19900101", "901"), "户主", "0")  # filed in May, one of them in error
    bad = ("错号", "50011019900101902X", "户主", "0")
    drop_cases(
        home,
        TOWNS[0],
        "may.csv",
        [
            *case_rows("C-9", TOWNS[0], [late], benefit="750"),
            *case_rows("C-10", TOWNS[0], [bad], benefit="750"),
        ],
        at(10, 5),
    )
    ingest_all(home, date(2025, 5, 10))
    for month in (5, 6):
        close_month_flow.fn(home=str(home.root), period=f"2025-{month:02d}", as_of=f"2025-{month:02d}-20", notify=False)
    report_flow.fn(home=str(home.root), as_of="2025-07-03")
    return home.out / "reports" / "2025-06" / "report.html"


def run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), *OFFLINE, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_charts_render_with_a_size_in_a_real_browser_offline(page, tmp_path):
    result = run(
        ["--virtual-time-budget=5000", "--window-size=1400,2400", "--dump-dom", page.as_uri()],
        tmp_path / "profile",
    )
    dom = result.stdout
    assert "<svg" in dom, result.stderr[-2000:]
    figures = len(re.findall(r'<figure class="chart"', dom))
    drawn = re.search(r'data-charts-drawn="(\d+)"', dom)
    assert figures >= 6 and drawn is not None and int(drawn.group(1)) == figures
    sizes = [tuple(map(int, s)) for s in re.findall(r'data-rendered="(\d+)x(\d+)"', dom)]
    assert len(sizes) == figures and all(w > 100 and h > 100 for w, h in sizes), sizes
    marks = [int(m) for m in re.findall(r'data-marks="(\d+)"', dom)]
    assert sum(m > 0 for m in marks) >= figures - 1, marks  # lines, bars and points drawn
    assert "统计月报" in dom


def test_screenshot_is_saved_for_people_to_look_at(page, tmp_path):
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    result = run(
        [
            f"--screenshot={SCREENSHOT}",
            "--window-size=1400,2400",
            "--virtual-time-budget=5000",
            "--hide-scrollbars",
            page.as_uri(),
        ],
        tmp_path / "profile",
    )
    assert SCREENSHOT.exists(), result.stderr[-2000:]
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2400)
    assert len(data) > 30_000  # charts and text, not a blank page
